//! `mmarray man [COMMAND]`: the manual page, as roff on stdout, generated
//! from the same clap definition that parses the command line (by
//! `clap_mangen`): `mmarray(1)` lists the subcommands, and `mmarray man
//! COMMAND` is the page of one, `mmarray-COMMAND(1)`, with its arguments
//! and flags. Each page also has the two sections clap cannot know: EXIT
//! STATUS (the codes every command shares) and EXAMPLES (the page's own,
//! the ones the README shows), before VERSION.
//!
//! ```sh
//! mmarray man > ~/.local/share/man/man1/mmarray.1
//! mmarray man info > ~/.local/share/man/man1/mmarray-info.1
//! ```

use clap::CommandFactory;
use roff::{Roff, bold, roman};

use crate::args::{Cli, ManArgs};
use crate::common::{CliError, print_out};

pub fn run(args: &ManArgs) -> Result<(), CliError> {
    // As clap_mangen's own generator: no `help` subcommand in the pages,
    // and built, so that subcommands have their `mmarray-NAME` names.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let page = match &args.command {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let names: Vec<&str> = command.get_subcommands().map(|s| s.get_name()).collect();
                return Err(CliError::Usage(format!(
                    "no subcommand {name:?} (one of: {})",
                    names.join(", ")
                )));
            }
        },
    };
    let examples = examples(args.command.as_deref());
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(concat!("mmarray ", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)?;
    let page = String::from_utf8_lossy(&roff);
    // Before VERSION (the order of man-pages(7)); at the end if a page has
    // none.
    let at = page.find("\n.SH VERSION").map_or(page.len(), |i| i + 1);
    let sections = extra_sections(examples);
    print_out(&format!("{}{sections}{}", &page[..at], &page[at..]))
}

/// The EXIT STATUS and EXAMPLES sections, as roff for a page clap_mangen
/// rendered (with roff's two-line preamble again, which defines the
/// apostrophe its text uses, as the page's own does).
fn extra_sections(examples: &[(&str, &str)]) -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        roff.control("TP", [])
            .text([bold(*code)])
            .text([roman(*meaning)]);
    }
    roff.control("SH", ["EXAMPLES"]);
    for (command, what) in examples {
        roff.control("TP", [])
            .text([bold(*command)])
            .text([roman(*what)]);
    }
    roff.render()
}

/// What each exit code means, for every command.
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "Bad input: a file that is missing, unreadable, malformed or of an unsupported kind, \
         a file truncated while it was read, or an error from the operating system (a full disk, \
         a file-size limit). The error is one line on standard error naming the file. \
         info of a store lists every array it can and exits 1 when one could not be read.",
    ),
    (
        "2",
        "Bad usage: an unknown command or flag, a value a flag does not take, \
         or a --slice that does not fit the array.",
    ),
    (
        "101",
        "An internal error (a bug in mmarray: please report the one line printed).",
    ),
];

/// The examples of the page of `command` (`None`: mmarray(1), a few of
/// each command's).
fn examples(command: Option<&str>) -> &'static [(&'static str, &'static str)] {
    match command {
        None => &[
            (
                "mmarray info train.bin",
                "Format, dtype, shape, order, offset, size and attrs.",
            ),
            (
                "mmarray stats runs.npz/loss --json",
                "Statistics of one member of a .npz archive, as JSON.",
            ),
            (
                "mmarray create x.dat --dtype float32 --shape 1000,3",
                "A new zero-filled array (a sparse file) and its sidecar.",
            ),
            (
                "mmarray convert x.npy x.dat --dtype int32",
                "A raw copy with a sidecar, cast as numpy's astype casts.",
            ),
            (
                "mmarray show x.npy --slice \"0:5, :, 3\"",
                "Part of an array, printed as numpy prints it.",
            ),
            (
                "mmarray man info > ~/.local/share/man/man1/mmarray-info.1",
                "Install a command's manual page.",
            ),
        ],
        Some("info") => &[
            (
                "mmarray info train.bin",
                "Format, dtype, shape, order, offset, size and attrs of one array.",
            ),
            (
                "mmarray info runs.npz --json",
                "The members of a .npz archive: name, dtype, shape, order, nbytes, compressed.",
            ),
            (
                "mmarray info runs.npz/loss",
                "One member, stored (np.savez) or compressed (np.savez_compressed).",
            ),
            (
                "mmarray info runs/",
                "A store's attrs and arrays; exit status 1 if one could not be read.",
            ),
        ],
        Some("stats") => &[
            (
                "mmarray stats train.bin",
                "count, nan_count, min, max, sum, mean and std, in one pass over the file.",
            ),
            (
                "mmarray stats big.dat --json > s.json",
                "As JSON (integers exact); the progress bar stays on standard error.",
            ),
            (
                "mmarray stats runs/loss",
                "An array of a store, named DIR/NAME.",
            ),
        ],
        Some("create") => &[
            (
                "mmarray create x.dat --dtype float32 --shape 1000,3",
                "A raw file (sparse) and its sidecar x.dat.json.",
            ),
            (
                "mmarray create x.npy --dtype int16 --shape 10,10 --fill 7",
                "A .npy file (by its name, or --npy) filled with 7.",
            ),
            (
                "mmarray create x.dat --dtype f8 --shape 100 --order F --force",
                "Replace an existing array.",
            ),
        ],
        Some("sidecar") => &[
            (
                "mmarray sidecar raw.bin --dtype '<i8' --shape 10,4",
                "Describe what numpy's a.tofile(\"raw.bin\") wrote.",
            ),
            (
                "mmarray sidecar raw.bin --dtype float32 --shape 256 --offset 128",
                "Data after a 128-byte header of another format.",
            ),
        ],
        Some("convert") => &[
            (
                "mmarray convert x.npy x.dat",
                "A raw file with a sidecar from a .npy file.",
            ),
            (
                "mmarray convert x.dat x.npy --dtype int32 --order F",
                "Cast and change the memory order.",
            ),
            (
                "mmarray convert runs.npz/w w.npy",
                "A member of a .npz archive, compressed or not, as a .npy file.",
            ),
            (
                "mmarray convert big.npy big.dat --byte-order big",
                "Big-endian output.",
            ),
        ],
        Some("demo") => &[
            (
                "mmarray demo",
                "Create, fill, flush and reopen 1 GiB in a temporary directory, with timings.",
            ),
            (
                "mmarray demo --dir /scratch --size 4GiB --force",
                "A larger run in a chosen directory.",
            ),
        ],
        Some("show") => &[
            (
                "mmarray show x.npy",
                "The whole array, elided as numpy elides large ones.",
            ),
            (
                "mmarray show x.npy --slice \"0:5, :, -1\"",
                "Part of it, with numpy's basic indexing.",
            ),
        ],
        Some("plot") => &[
            (
                "mmarray plot x.npy -o x.png",
                "A line plot (1-D) or a heatmap (2-D).",
            ),
            (
                "mmarray plot x.npy -o x.png --slice 0 --cmap magma --log",
                "A 2-D slice on a log colour scale.",
            ),
        ],
        Some("zarr") => &[
            (
                "mmarray zarr x.dat x.zarr",
                "A zarr v3 array directory whose one chunk, the whole array, is a hard link to x.dat. A zarr reader reads all of it even for one element; mmarray.zarr.Store (Python) serves chunks of about 64 MiB over the same file for reading slices.",
            ),
            (
                "mmarray zarr x.dat x.zarr --force",
                "Replace an existing zarr array directory x.zarr (a .npy file is first made a raw file: mmarray convert x.npy x.dat).",
            ),
        ],
        Some("completions") => &[
            (
                "mmarray completions bash > ~/.local/share/bash-completion/completions/mmarray",
                "Completion for bash.",
            ),
            (
                "mmarray completions fish > ~/.config/fish/completions/mmarray.fish",
                "Completion for fish.",
            ),
        ],
        Some("man") => &[
            (
                "mmarray man > ~/.local/share/man/man1/mmarray.1",
                "Install this page.",
            ),
            (
                "mmarray man info > ~/.local/share/man/man1/mmarray-info.1",
                "Install a command's page.",
            ),
        ],
        Some(_) => &[],
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// `line` split into words as a POSIX shell splits it, for the
    /// quoting the examples use: '...' and "..." with \" inside.
    fn words(line: &str) -> Vec<String> {
        let (mut out, mut word, mut quote, mut started) = (Vec::new(), String::new(), None, false);
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, ' ') => {
                    if started {
                        out.push(std::mem::take(&mut word));
                    }
                    started = false;
                }
                (None, '\'' | '"') => (quote, started) = (Some(c), true),
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => word.extend(chars.next()),
                (_, c) => {
                    word.push(c);
                    started = true;
                }
            }
        }
        assert!(quote.is_none(), "unbalanced quotes in {line:?}");
        if started {
            out.push(word);
        }
        out
    }

    /// Every example on every page is a command line mmarray accepts (the
    /// part before a redirection), and runs the command of its page.
    #[test]
    fn every_example_parses_as_its_pages_command() {
        let mut pages: Vec<Option<&str>> = vec![None];
        let command = Cli::command();
        let names: Vec<String> = command
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        pages.extend(names.iter().map(|n| Some(n.as_str())));
        for page in pages {
            let examples = examples(page);
            assert!(examples.len() >= 2, "{page:?} has too few examples");
            for (line, what) in examples {
                assert!(what.ends_with('.'), "{what:?}");
                let argv = words(line.split(" > ").next().unwrap());
                assert_eq!(argv[0], "mmarray", "{line}");
                if let Some(name) = page {
                    assert_eq!(argv[1], name, "{line:?} is not an example of {name}");
                }
                if let Err(e) = Cli::try_parse_from(&argv) {
                    panic!("{line:?}: {e}");
                }
            }
        }
        assert!(examples(Some("nonsense")).is_empty());
    }

    #[test]
    fn words_split_as_a_shell_does() {
        assert_eq!(
            words(r#"a 'b c' "d \"e\"" f"#),
            ["a", "b c", "d \"e\"", "f"]
        );
    }
}
