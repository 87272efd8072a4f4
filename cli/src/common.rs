//! What the subcommands share: the error type and exit codes, argument
//! parsers, human-readable sizes, progress bars and stdout handling.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use mmarray::{ByteOrder, DType, Order, Scalar};

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
    pub fn report(&self) -> ExitCode {
        match self {
            CliError::Input(e) => {
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
                eprintln!("mmarray: error: {line}");
                ExitCode::from(1)
            }
            CliError::Usage(message) => {
                eprintln!("mmarray: usage error: {message}");
                ExitCode::from(2)
            }
        }
    }
}

impl From<mmarray::Error> for CliError {
    fn from(e: mmarray::Error) -> Self {
        CliError::Input(Box::new(e))
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Input(Box::new(e))
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
        eprintln!("mmarray: internal error (please report): {message}");
    }));
}

/// Parses `D0,D1,...` (spaces allowed; empty for a 0-d array).
pub fn parse_shape(s: &str) -> Result<Vec<usize>, String> {
    let s = s
        .trim()
        .trim_start_matches(['(', '['])
        .trim_end_matches([')', ']']);
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
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
    /// Comma-separated dimensions, e.g. 1000,3 (empty for a 0-d array).
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
        info.path().display(),
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
/// (`1+2j`, `-0.5j`).
pub fn parse_value(s: &str) -> Result<Scalar, String> {
    let t = s.trim();
    let bad = || format!("{s:?} is not a number (examples: 3, -1.5, nan, true, 1+2j)");
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
        let re: f64 = re.parse().map_err(|_| bad())?;
        let im: f64 = im.trim_start_matches('+').parse().map_err(|_| bad())?;
        return Ok(Scalar::Complex(re, im));
    }
    t.parse::<f64>().map(Scalar::Float).map_err(|_| bad())
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

/// Parses `1GiB`, `512MiB`, `4096`, `2G` into bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size (examples: 1GiB, 512MiB, 4096)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        "t" | "tib" | "tb" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?} (use KiB, MiB, GiB or TiB)"
            ));
        }
    };
    Ok((number * scale as f64) as u64)
}

/// A progress bar over `total` elements of `itemsize` bytes, drawn on
/// stderr only when stderr is a terminal, `json` is off and the work is
/// over 256 MiB; otherwise a hidden bar that costs nothing.
pub fn progress_bar(total: u64, itemsize: usize, json: bool, what: &str) -> ProgressBar {
    if json
        || !io::stderr().is_terminal()
        || total.saturating_mul(itemsize as u64) < PROGRESS_THRESHOLD_BYTES
    {
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
    }

    #[test]
    fn shapes_and_sizes() {
        assert_eq!(parse_shape("3, 4,5").unwrap(), vec![3, 4, 5]);
        assert_eq!(parse_shape("").unwrap(), Vec::<usize>::new());
        assert_eq!(parse_shape("(7,)").unwrap(), vec![7]);
        assert!(parse_shape("3,-1").is_err());
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
        assert_eq!(human_bytes(100), "100 bytes");
    }
}
