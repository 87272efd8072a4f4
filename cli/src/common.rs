//! What the subcommands share: the error type and exit codes, argument
//! parsers, human-readable sizes, progress bars, stdout handling, escaping
//! of what is printed, the input path (a store's `DIR/NAME` resolved to its
//! file), and writing an output file safely (never over an input, replaced
//! only once complete).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use mmarray::{ByteOrder, DType, Element, Order, Scalar};
use ndarray::{ArrayViewD, IxDyn, ShapeBuilder};

/// Work over this many bytes gets a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD_BYTES: u64 = 256 << 20;

/// A command's failure: bad input (exit 1) or bad usage (exit 2).
#[derive(Debug)]
pub enum CliError {
    /// The files or the operating system said no.
    Input(Box<dyn std::error::Error>),
    /// The command line is wrong in a way clap cannot see.
    Usage(String),
}

impl CliError {
    /// Prints the error as one line on stderr and gives the exit code.
    /// Control characters left in the message (a newline or an escape
    /// byte in a file name) are printed escaped (see [`escape`]), so that
    /// the error is always one line and never drives the terminal.
    pub fn report(&self) -> ExitCode {
        match self {
            CliError::Input(e) => {
                eprintln!("mmarray: error: {}", escape(&with_sources(e.as_ref())));
                ExitCode::from(1)
            }
            CliError::Usage(message) => {
                eprintln!("mmarray: usage error: {}", escape(message));
                ExitCode::from(2)
            }
        }
    }
}

/// `e`'s message followed by its sources' (an I/O error's reason), as one
/// line, not yet escaped.
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        // Some messages already end with their source's text.
        let text = s.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line
}

/// A library error as the command line reports it (see
/// [`CliError::from`]), for errors that are shown rather than returned:
/// the one line `report` would print after `mmarray: error: `, not yet
/// escaped.
pub fn error_line(e: &mmarray::Error) -> String {
    advice(e).unwrap_or_else(|| with_sources(e))
}

impl From<mmarray::Error> for CliError {
    /// The library's errors, with the way out the command line offers where
    /// it differs from the library's (a flag or a command instead of a
    /// function).
    fn from(e: mmarray::Error) -> Self {
        match advice(&e) {
            // Escaped when reported, as every line is.
            Some(line) => CliError::Input(line.into()),
            None => CliError::Input(Box::new(e)),
        }
    }
}

/// The message for `e` where the command line's way out differs from the
/// library's; `None` where the library's message stands.
fn advice(e: &mmarray::Error) -> Option<String> {
    use mmarray::Error;
    match e {
        Error::AlreadyExists { path } => Some(format!(
            "{}: an array already exists here; to replace it, pass --force",
            path.display()
        )),
        Error::SidecarMissing { path, sidecar } => Some(format!(
            "{}: no sidecar describes this file (looked for {}); describe it with `mmarray sidecar {} --dtype DTYPE --shape SHAPE`, or open a .npy file",
            path.display(),
            sidecar.display(),
            path.display()
        )),
        Error::NonNativeByteOrder { path, dtype } => Some(format!(
            "{}: dtype {dtype} is not in this machine's byte order, so it cannot be viewed in place; convert the file with `mmarray convert --byte-order native`",
            path.display()
        )),
        _ => None,
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Input(Box::new(e))
    }
}

/// `text` with every control character (newline, tab, ESC, DEL, C1
/// controls) written as Rust writes it in a string literal (`\n`,
/// `\u{1b}`); other characters, backslashes included, are kept as they
/// are. For one-line messages that must not drive the terminal.
pub fn escape(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// A path as printed in messages and summaries: lossy UTF-8, escaped (see
/// [`escape`]).
pub fn show_path(path: &Path) -> String {
    escape(&path.display().to_string())
}

/// How to name one array of the store or archive at `dir`, as printed:
/// `DIR/NAME` with one slash, however many `dir` was given with (`runs/`
/// gives `runs/NAME`, not `runs//NAME`).
pub fn name_within(dir: &Path) -> String {
    let shown = show_path(dir);
    match shown.trim_end_matches('/') {
        // `/` itself.
        "" => format!("{shown}NAME"),
        trimmed => format!("{trimmed}/NAME"),
    }
}

/// The file a command's input `path` names: for `DIR/NAME` with `DIR` a
/// store, array `NAME`'s data file (see [`mmarray::Store::resolve`]);
/// otherwise `path` itself. A directory is refused in one line saying what
/// to pass instead: one of its arrays for a store, a file for any other.
pub fn resolve_input(path: &Path) -> Result<PathBuf, CliError> {
    if let Some(file) = mmarray::Store::resolve(path)? {
        return Ok(file);
    }
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let message = if mmarray::Store::is_store(path) {
        format!(
            "{}: a store of arrays, not one array; name one as {} (`mmarray info {}` lists them)",
            path.display(),
            name_within(path),
            path.display()
        )
    } else {
        format!(
            "{}: a directory, not an array, and not a store (a store has a {} file); pass an array's file",
            path.display(),
            mmarray::store::STORE_FILE
        )
    };
    Err(CliError::Input(message.into()))
}

/// Refuses to write `dest` when it is the same file as one of `inputs`:
/// the same device and inode once symbolic links are followed (a link to
/// an input, or a hard link, is the input). A `dest` that does not exist
/// (or is a dangling link) is no input. `what` names the writing command's
/// output in the message (`the PNG`).
pub fn refuse_same_file(dest: &Path, inputs: &[&Path], what: &str) -> Result<(), CliError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(out) = fs::metadata(dest) else {
        return Ok(());
    };
    for input in inputs {
        if let Ok(m) = fs::metadata(input)
            && (m.dev(), m.ino()) == (out.dev(), out.ino())
        {
            return Err(CliError::Input(
                format!(
                    "{}: refusing to write {what} there: it is the same file as the input {}",
                    dest.display(),
                    input.display()
                )
                .into(),
            ));
        }
    }
    Ok(())
}

/// Writes a new `dest` through `write`: into a hidden temporary file in the
/// same directory, synced, then renamed over `dest`. A failure removes the
/// temporary file and leaves `dest` as it was; the error names `dest` (not
/// the temporary name) and says `doing`. A `dest` that is a symbolic link
/// is replaced by the file; the link's target is untouched.
pub fn write_replacing(
    dest: &Path,
    doing: &str,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), CliError> {
    let fail =
        |e: io::Error| CliError::Input(format!("{}: {doing} failed: {e}", dest.display()).into());
    let temp = create_temp_beside(dest).map_err(fail)?;
    let (mut file, temp_path) = temp;
    let result = write(&mut file)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            fs::rename(&temp_path, dest)
        });
    if let Err(e) = result {
        let _ = fs::remove_file(&temp_path);
        return Err(fail(e));
    }
    Ok(())
}

/// A new, hidden file beside `dest`: `.NAME.PID.N.tmp`, created exclusively.
fn create_temp_beside(dest: &Path) -> io::Result<(File, PathBuf)> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let path = dir.join(temp_name);
        match File::options().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A usage error with a message.
pub fn usage(message: impl fmt::Display) -> CliError {
    CliError::Usage(message.to_string())
}

/// Prints panics as one line, without a backtrace: a panic is a bug in
/// mmarray, and the user should see what to report, not a Rust trace.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        eprintln!(
            "mmarray: internal error (please report): {}",
            escape(&message)
        );
    }));
}

/// Parses `D0,D1,...` (spaces allowed, optionally in brackets; empty for a
/// 0-d array). As in a Python tuple, one trailing comma is allowed (`7,`
/// and `(7,)` are `[7]`); an empty dimension elsewhere (`3,,4`, `,3`, `,`)
/// is an error.
pub fn parse_shape(s: &str) -> Result<Vec<usize>, String> {
    let t = s.trim();
    let t = t
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| t.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
        .unwrap_or(t)
        .trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    let body = t.strip_suffix(',').unwrap_or(t);
    body.split(',')
        .map(str::trim)
        .map(|d| {
            if d.is_empty() {
                return Err(format!(
                    "{s:?} has an empty dimension; write the dimensions separated by single commas, e.g. 3,4"
                ));
            }
            d.parse::<usize>()
                .map_err(|_| format!("{d:?} is not a dimension (a non-negative integer)"))
        })
        .collect()
}

/// Parses a dtype: a numpy type string (`<f4`, `|u1`) or name (`float32`).
pub fn parse_dtype(s: &str) -> Result<DType, String> {
    s.parse::<DType>()
        .map_err(|e| format!("{e}; use a numpy type string such as <f4 or a name such as float32"))
}

/// The arguments that describe an array's layout, shared by `create` and
/// `sidecar`.
#[derive(clap::Args)]
pub struct LayoutArgs {
    /// Element type: a numpy type string (<f4, >i8, |u1) or name (float32).
    #[arg(long, value_parser = parse_dtype)]
    pub dtype: DType,
    /// Comma-separated dimensions, e.g. 1000,3 (empty for a 0-d array). One
    /// trailing comma is allowed, as in a Python tuple (7, is one dimension);
    /// an empty dimension (3,,4) is an error.
    #[arg(long, value_parser = parse_shape, allow_hyphen_values = true)]
    pub shape: std::vec::Vec<usize>,
    /// Memory order.
    #[arg(long, default_value = "C", value_parser = parse_order)]
    pub order: Order,
}

/// One line saying what was written: `{verb} PATH (format, dtype shape order, size)`.
pub fn summary(verb: &str, info: &mmarray::ArrayInfo) -> String {
    let layout = info.layout();
    format!(
        "{verb} {} ({}, {} {:?} {} order, {})\n",
        show_path(info.path()),
        info.format(),
        layout.dtype(),
        layout.shape(),
        layout.order(),
        human_bytes(layout.nbytes() as u64)
    )
}

/// A `--dtype` argument, remembering whether it spelled out a byte order
/// (`>f4`) or left it open (`float32`, `f4`).
#[derive(Clone, Copy, Debug)]
pub struct DTypeArg {
    pub dtype: DType,
    pub explicit_byte_order: bool,
}

/// Parses a `--dtype` argument into a [`DTypeArg`].
pub fn parse_dtype_arg(s: &str) -> Result<DTypeArg, String> {
    Ok(DTypeArg {
        dtype: parse_dtype(s)?,
        explicit_byte_order: s.starts_with(['<', '>']),
    })
}

/// Parses `C` or `F`.
pub fn parse_order(s: &str) -> Result<Order, String> {
    s.to_ascii_uppercase().parse()
}

/// Parses `little`, `big` or `native`.
pub fn parse_byte_order(s: &str) -> Result<ByteOrder, String> {
    match s {
        "little" => Ok(ByteOrder::Little),
        "big" => Ok(ByteOrder::Big),
        "native" => Ok(ByteOrder::NATIVE),
        other => Err(format!(
            "byte order must be little, big or native, not {other:?}"
        )),
    }
}

/// Parses a value for an element: `true`/`false`, an integer (exact), a
/// float (`1.5`, `nan`, `-inf`), or a complex number in Python's notation
/// (`1+2j`, `-0.5j`). Infinity must be spelled `inf` (or `infinity`): a
/// number too large for a float64 (`1e999`) is an error, not infinity.
pub fn parse_value(s: &str) -> Result<Scalar, String> {
    let t = s.trim();
    let bad = || format!("{s:?} is not a number (examples: 3, -1.5, nan, true, 1+2j)");
    let float = |text: &str| -> Result<f64, String> {
        let f: f64 = text.parse().map_err(|_| bad())?;
        let spelled_inf = text
            .trim_start_matches(['+', '-'])
            .to_ascii_lowercase()
            .starts_with("inf");
        if f.is_infinite() && !spelled_inf {
            return Err(format!(
                "{s:?} is beyond the largest float64 (about 1.8e308); write inf for infinity"
            ));
        }
        Ok(f)
    };
    match t.to_ascii_lowercase().as_str() {
        "true" => return Ok(Scalar::Int(1)),
        "false" => return Ok(Scalar::Int(0)),
        _ => {}
    }
    if let Ok(i) = t.parse::<i128>() {
        return Ok(Scalar::Int(i));
    }
    if let Some(body) = t.strip_suffix(['j', 'J']) {
        let body = body.trim_start_matches('(');
        // Split "re+im" / "re-im" at the last sign that is not an exponent's.
        let split = body
            .char_indices()
            .skip(1)
            .filter(|&(i, c)| {
                (c == '+' || c == '-') && !matches!(body.as_bytes()[i - 1], b'e' | b'E')
            })
            .map(|(i, _)| i)
            .last();
        let (re, im) = match split {
            Some(i) => (&body[..i], &body[i..]),
            None => ("0", body),
        };
        let im = if im == "+" || im.is_empty() {
            "1"
        } else if im == "-" {
            "-1"
        } else {
            im
        };
        let re = float(re)?;
        let im = float(im.trim_start_matches('+'))?;
        return Ok(Scalar::Complex(re, im));
    }
    float(t).map(Scalar::Float)
}

/// `1.5 GiB`-style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Parses a size into bytes, each unit meaning what it says: a byte count
/// (`4096`, `4096B`), SI units in powers of 1000 (`KB`, `MB`, `GB`, `TB`:
/// `1GB` is 10^9 bytes) and binary units in powers of 1024 (`KiB`, `MiB`,
/// `GiB`, `TiB`: `1GiB` is 2^30 bytes). Letters ignore case; the number may
/// have up to 18 decimals (`1.5GiB`), computed exactly, with a fraction of
/// a byte dropped; spaces around the number and before the unit are allowed. A
/// bare `K`, `M`, `G` or `T` is ambiguous and refused, as are signs,
/// exponents (`1e9`) and sizes over 2^64 - 1 bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim_start();
    let not_a_size = || format!("{s:?} is not a size (examples: 4096, 1.5GiB, 512MiB, 1GB)");
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (number.contains('.') && !digits(fraction)) {
        return Err(not_a_size());
    }
    let scale: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        prefix @ ("k" | "m" | "g" | "t" | "ki" | "mi" | "gi" | "ti") => {
            let p = prefix[..1].to_ascii_uppercase();
            return Err(format!(
                "{s:?}: the unit {unit:?} does not say which it means: write {p}B (powers of 1000) or {p}iB (powers of 1024)"
            ));
        }
        _ => {
            return Err(format!(
                "{s:?}: unknown size unit {unit:?} (use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)"
            ));
        }
    };
    let too_large = || format!("{s:?} is too large (the largest size is 2^64 - 1 bytes)");
    // Exact in integers: 18 decimals times a unit of at most 2^40 bytes fit
    // in a u128.
    if fraction.len() > 18 {
        return Err(format!("{s:?} has more than 18 decimals"));
    }
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let fraction_bytes = if fraction.is_empty() {
        0
    } else {
        let numerator: u128 = fraction.parse().map_err(|_| not_a_size())?;
        numerator * scale / 10u128.pow(fraction.len() as u32)
    };
    let bytes = whole
        .checked_mul(scale)
        .and_then(|b| b.checked_add(fraction_bytes))
        .ok_or_else(too_large)?;
    u64::try_from(bytes).map_err(|_| too_large())
}

/// Whether a job over `bytes` gets a progress bar: only when stderr, where
/// the bar is drawn, is a terminal, and the job is 256 MiB or more.
/// Nothing else counts: `stats big.dat --json > s.json` in a terminal
/// shows the bar (stdout is the file, stderr the terminal), and a bar never
/// mixes with what goes to stdout.
pub fn shows_progress(stderr_is_terminal: bool, bytes: u64) -> bool {
    stderr_is_terminal && bytes >= PROGRESS_THRESHOLD_BYTES
}

/// A progress bar over `total` elements of `itemsize` bytes, drawn on
/// stderr when [`shows_progress`] says so; otherwise a hidden bar that
/// costs nothing.
pub fn progress_bar(total: u64, itemsize: usize, what: &str) -> ProgressBar {
    if !shows_progress(
        io::stderr().is_terminal(),
        total.saturating_mul(itemsize as u64),
    ) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("{msg} {wide_bar} {percent:>3}% {elapsed_precise} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn print_out(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// For an array that cannot be viewed in place but can be read as a copy
/// (a `.npz` member compressed by `np.savez_compressed`, or elements at an
/// offset their type is not aligned to, as `np.savez` stores many members
/// and as a valid `.npy` file may hold them), its element type, so that
/// `show` and `plot` read it as a copy ([`mmarray::read_array`]) instead;
/// `None` for every other error.
pub fn element_to_copy(err: &mmarray::Error) -> Option<mmarray::ElementType> {
    use mmarray::Error;
    match err {
        Error::MisalignedOffset { dtype, .. } => Some(dtype.element_type()),
        Error::CompressedMember { path, member } => mmarray::Npz::open(path)
            .ok()?
            .members()
            .ok()?
            .into_iter()
            .find(|m| m.name() == member)
            .map(|m| m.layout().dtype().element_type()),
        _ => None,
    }
}

/// The elements of `src` viewed in place as `T` as they are stored, for a
/// file in the other byte order than this machine's: every value read from
/// the view must be swapped ([`Element::byte_swapped`]) before use. `None`
/// when the file does not hold `T` or its elements are not aligned for `T`
/// in the mapping (then read a converted copy with
/// [`mmarray::read_array`]).
pub fn stored_view<T: Element>(src: &mmarray::Source) -> Option<ArrayViewD<'_, T>> {
    let layout = src.info().layout();
    if layout.dtype().element_type() != T::TYPE {
        return None;
    }
    let elements = bytemuck::checked::try_cast_slice::<u8, T>(src.as_bytes()).ok()?;
    let shape = IxDyn(layout.shape()).set_f(layout.order() == Order::F);
    ArrayViewD::from_shape(shape, elements).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_value("3").unwrap(), Scalar::Int(3));
        assert_eq!(parse_value("-1.5").unwrap(), Scalar::Float(-1.5));
        assert!(matches!(parse_value("nan").unwrap(), Scalar::Float(f) if f.is_nan()));
        assert_eq!(parse_value("True").unwrap(), Scalar::Int(1));
        assert_eq!(parse_value("1+2j").unwrap(), Scalar::Complex(1.0, 2.0));
        assert_eq!(
            parse_value("1e-3-2.5j").unwrap(),
            Scalar::Complex(1e-3, -2.5)
        );
        assert_eq!(parse_value("-0.5j").unwrap(), Scalar::Complex(0.0, -0.5));
        assert!(parse_value("abc").is_err());
        assert_eq!(
            parse_value("-inf").unwrap(),
            Scalar::Float(f64::NEG_INFINITY)
        );
        assert_eq!(
            parse_value("Infinity").unwrap(),
            Scalar::Float(f64::INFINITY)
        );
    }

    #[test]
    fn values_too_large_for_float64_are_errors_not_infinity() {
        assert!(parse_value("1e999").unwrap_err().contains("1e999"));
        assert!(parse_value("-1e400").is_err());
        assert!(parse_value("1e999j").is_err());
    }

    #[test]
    fn empty_dimensions_are_errors_but_one_trailing_comma_is_a_tuple() {
        for bad in ["3,,4", ",3", ",", "3,,", "(,)", "3, ,4"] {
            assert!(parse_shape(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(parse_shape("3,").unwrap(), vec![3]);
        assert_eq!(parse_shape("3,4,").unwrap(), vec![3, 4]);
        assert_eq!(parse_shape("()").unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn escape_shows_control_characters_only() {
        assert_eq!(escape("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(escape("tab\there"), "tab\\there");
        assert_eq!(escape("é ü 数 \\ back"), "é ü 数 \\ back");
        assert_eq!(escape("\u{7f}\u{9b}"), "\\u{7f}\\u{9b}");
    }

    #[test]
    fn same_file_is_found_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.npy");
        fs::write(&input, b"x").unwrap();
        let link = dir.path().join("link.png");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let hard = dir.path().join("hard.png");
        fs::hard_link(&input, &hard).unwrap();
        let other = dir.path().join("other.png");
        fs::write(&other, b"y").unwrap();
        for dest in [&input, &link, &hard] {
            assert!(refuse_same_file(dest, &[&input], "it").is_err(), "{dest:?}");
        }
        assert!(refuse_same_file(&other, &[&input], "it").is_ok());
        assert!(refuse_same_file(&dir.path().join("new.png"), &[&input], "it").is_ok());
    }

    #[test]
    fn write_replacing_leaves_nothing_on_failure_and_replaces_links() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.png");
        let err = write_replacing(&dest, "writing", |f| {
            f.write_all(b"half")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        let CliError::Input(e) = err else { panic!() };
        assert!(
            e.to_string().starts_with(&dest.display().to_string()),
            "{e}"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let target = dir.path().join("target");
        fs::write(&target, b"keep").unwrap();
        std::os::unix::fs::symlink(&target, &dest).unwrap();
        write_replacing(&dest, "writing", |f| f.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert!(
            !fs::symlink_metadata(&dest)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn sizes_mean_what_their_units_say() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("4096B").unwrap(), 4096);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1gib").unwrap(), 1 << 30);
        assert_eq!(parse_size("1GB").unwrap(), 1_000_000_000);
        assert_eq!(parse_size("1gb").unwrap(), 1_000_000_000);
        assert_eq!(parse_size(" 512 MiB ").unwrap(), 512 << 20);
        assert_eq!(parse_size("2TB").unwrap(), 2_000_000_000_000);
        assert_eq!(parse_size("3TiB").unwrap(), 3 << 40);
        assert_eq!(parse_size("4KB").unwrap(), 4000);
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("0.1KB").unwrap(), 100);
        // A fraction of a byte is dropped, exactly (no float rounding).
        assert_eq!(parse_size("1.0001KiB").unwrap(), 1024);
        assert_eq!(parse_size("0.3MB").unwrap(), 300_000);
        assert_eq!(parse_size("0").unwrap(), 0);
        assert_eq!(
            parse_size("0.999999999999999999TiB").unwrap(),
            (1 << 40) - 1
        );
        assert!(parse_size("0.9999999999999999999TiB").is_err());
        assert_eq!(
            parse_size("16777216TiB").unwrap_err(),
            "\"16777216TiB\" is too large (the largest size is 2^64 - 1 bytes)"
        );
        assert_eq!(parse_size("18446744073709551615").unwrap(), u64::MAX);
        assert!(parse_size("18446744073709551616").is_err());
        assert!(parse_size("99999999999999999999999999999999999999999").is_err());
        for ambiguous in ["1G", "512m", "2k", "1T", "1Gi"] {
            let e = parse_size(ambiguous).unwrap_err();
            assert!(e.contains("powers of 1000") && e.contains("1024"), "{e}");
        }
        for bad in [
            "", "GiB", "-1GiB", "+1", "1e9", "1.", ".5GiB", "1.2.3", "1 G iB", "1PiB", "x",
            "1GiBs", "١",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn the_bar_depends_on_stderr_and_size_alone() {
        let big = PROGRESS_THRESHOLD_BYTES;
        assert!(shows_progress(true, big));
        assert!(shows_progress(true, u64::MAX));
        assert!(!shows_progress(true, big - 1));
        assert!(!shows_progress(false, big));
        assert!(!shows_progress(false, 0));
    }

    #[test]
    fn shapes_and_sizes() {
        assert_eq!(parse_shape("3, 4,5").unwrap(), vec![3, 4, 5]);
        assert_eq!(parse_shape("").unwrap(), Vec::<usize>::new());
        assert_eq!(parse_shape("(7,)").unwrap(), vec![7]);
        assert!(parse_shape("3,-1").is_err());
        assert_eq!(parse_shape("[2, 3]").unwrap(), vec![2, 3]);
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
        assert_eq!(human_bytes(100), "100 bytes");
    }

    #[test]
    fn one_slash_before_name_however_the_dir_ends() {
        for dir in ["runs", "runs/", "runs//"] {
            assert_eq!(name_within(Path::new(dir)), "runs/NAME");
        }
        assert_eq!(name_within(Path::new("/")), "/NAME");
        assert_eq!(name_within(Path::new("a/b.npz")), "a/b.npz/NAME");
    }
}
