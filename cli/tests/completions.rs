//! `mmarray completions SHELL` and `mmarray man [COMMAND]`, run for real:
//! each script is the shell's kind and names every subcommand (bash's is
//! checked by `bash -n` when bash is on PATH), the man pages are roff, and
//! a shell or command that does not exist is a usage error (exit 2).

use std::process::{Command, Output};

/// Every subcommand, as `mmarray --help` lists them.
const SUBCOMMANDS: &[&str] = &[
    "info",
    "stats",
    "create",
    "sidecar",
    "convert",
    "demo",
    "show",
    "plot",
    "zarr",
    "completions",
    "man",
];

fn mmarray(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmarray"))
        .args(args)
        .output()
        .expect("the mmarray binary runs")
}

fn stdout(args: &[&str]) -> String {
    let out = mmarray(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn assert_names_every_subcommand(text: &str, what: &str) {
    for name in SUBCOMMANDS {
        assert!(text.contains(name), "{what} does not name {name:?}");
    }
}

#[test]
fn the_subcommand_list_here_is_the_one_help_shows() {
    let help = stdout(&["--help"]);
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&name| name != "help")
        .collect();
    assert_eq!(listed, SUBCOMMANDS, "{help}");
}

#[test]
fn bash_completions_complete_every_subcommand_and_parse() {
    let script = stdout(&["completions", "bash"]);
    assert!(script.contains("complete "), "{script}");
    assert!(script.contains("mmarray"));
    assert_names_every_subcommand(&script, "the bash script");
    // Flags of a subcommand are completed too.
    assert!(script.contains("--json") && script.contains("--force"));

    // `bash -n`: the script parses, where bash is installed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mmarray.bash");
    std::fs::write(&path, &script).unwrap();
    match Command::new("bash").arg("-n").arg(&path).output() {
        Ok(out) => assert!(
            out.status.success(),
            "bash -n: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("bash is not on PATH: `bash -n` not run")
        }
        Err(e) => panic!("running bash: {e}"),
    }
}

#[test]
fn zsh_and_fish_completions_are_theirs() {
    let zsh = stdout(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef mmarray"), "{zsh}");
    assert_names_every_subcommand(&zsh, "the zsh script");

    let fish = stdout(&["completions", "fish"]);
    assert!(fish.contains("complete -c mmarray"), "{fish}");
    assert_names_every_subcommand(&fish, "the fish script");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    for args in [&["completions", "tcsh"][..], &["completions"][..]] {
        let out = mmarray(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("error:"), "{stderr}");
    }
    let stderr = String::from_utf8(mmarray(&["completions", "tcsh"]).stderr).unwrap();
    assert!(
        stderr.contains("invalid value 'tcsh'") && stderr.contains("bash"),
        "{stderr}"
    );
}

#[test]
fn the_man_page_is_roff_naming_every_subcommand() {
    let page = stdout(&["man"]);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH"),
        "{page}"
    );
    let title = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH title line");
    assert!(title.starts_with(".TH mmarray 1"), "{title}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(page.contains(section), "no {section}: {page}");
    }
    // Each subcommand is listed by its own page's name.
    for name in SUBCOMMANDS {
        assert!(
            page.contains(&format!("mmarray\\-{name}(1)")),
            "{name}: {page}"
        );
    }
    assert!(
        !page.contains("mmarray\\-help"),
        "no help subcommand in the pages"
    );
}

#[test]
fn a_subcommands_man_page_has_its_flags() {
    let page = stdout(&["man", "info"]);
    let title = page.lines().find(|l| l.starts_with(".TH ")).unwrap();
    assert!(title.starts_with(".TH mmarray-info 1"), "{title}");
    assert!(
        title.contains(concat!("\"mmarray ", env!("CARGO_PKG_VERSION"), "\"")),
        "{title}"
    );
    assert!(page.contains("\\-\\-json"), "{page}");
    for name in SUBCOMMANDS {
        let page = stdout(&["man", name]);
        assert!(page.contains(".TH"), "{name}");
    }

    let out = mmarray(&["man", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("mmarray: usage error: no subcommand \"nonsense\" (one of: info, stats"),
        "{stderr}"
    );
}

/// Every page, mmarray(1) and each command's, has EXIT STATUS (0, 1 and 2
/// as the commands use them) and EXAMPLES of its own command, before
/// VERSION; groff formats each page without a warning (when groff is on
/// PATH).
#[test]
fn every_man_page_has_exit_status_and_examples() {
    let pages = std::iter::once(None).chain(SUBCOMMANDS.iter().map(Some));
    for name in pages {
        let args: Vec<&str> = std::iter::once("man").chain(name.copied()).collect();
        let page = stdout(&args);
        let at = |section: &str| {
            page.find(section)
                .unwrap_or_else(|| panic!("{name:?}: no {section}: {page}"))
        };
        let (status, examples, version) = (
            at(".SH \"EXIT STATUS\"\n"),
            at(".SH EXAMPLES\n"),
            at(".SH VERSION\n"),
        );
        assert!(status < examples && examples < version, "{name:?}: {page}");
        let exit_status = &page[status..examples];
        for code in ["0", "1", "2"] {
            assert!(
                exit_status.contains(&format!(".TP\n\\fB{code}\\fR\n")),
                "{name:?}: no exit code {code}: {exit_status}"
            );
        }
        assert!(exit_status.contains("Bad usage"), "{exit_status}");
        let command = match name {
            Some(name) => format!(".TP\n\\fBmmarray {name}"),
            None => ".TP\n\\fBmmarray ".to_string(),
        };
        assert!(
            page[examples..version].matches(&command).count() >= 2,
            "{name:?}: {}",
            &page[examples..version]
        );
        if let Ok(out) = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(page.as_bytes())?;
                child.wait_with_output()
            })
        {
            assert!(out.status.success(), "groff on {name:?}");
            assert!(
                out.stderr.is_empty(),
                "groff warns on {name:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The modules of `cli/src` import one another without a circle: the clap
/// definition is a module of its own (`args`), which `main`, `completions`
/// and `man` import, and no module imports `main` (a `crate::NAME` that is
/// not a module is an item of `main`).
#[test]
fn the_cli_modules_import_no_circle() {
    use std::collections::BTreeMap;
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Module name -> its source text (a folder module: all its files).
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = if path.is_dir() {
            let mut all = String::new();
            for file in std::fs::read_dir(&path).unwrap() {
                all += &std::fs::read_to_string(file.unwrap().path()).unwrap();
            }
            all
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        modules.insert(name, text);
    }
    assert!(modules.contains_key("args") && modules.contains_key("main"));
    // `crate::a::...`, `crate::{a, b::c}`: the first path segment of each.
    let imports = |text: &str| -> Vec<String> {
        let mut found = Vec::new();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let group = match rest.strip_prefix('{') {
                Some(inner) => inner[..inner.find('}').unwrap()].to_string(),
                None => rest.to_string(),
            };
            for item in group.split(',') {
                let first: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !first.is_empty() {
                    found.push(first);
                }
                if rest.starts_with('{').not() {
                    break;
                }
            }
        }
        found
    };
    use std::ops::Not;
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, text) in &modules {
        let mut to: Vec<String> = imports(text)
            .into_iter()
            .map(|m| {
                if modules.contains_key(&m) {
                    m
                } else {
                    "main".into()
                }
            })
            .filter(|m| m != name)
            .collect();
        to.sort();
        to.dedup();
        edges.insert(name.clone(), to);
    }
    for m in ["completions", "man"] {
        assert!(
            edges[m].contains(&"args".to_string()),
            "{m}: {:?}",
            edges[m]
        );
    }
    for (name, to) in &edges {
        assert!(
            !to.contains(&"main".to_string()),
            "{name} imports main: {to:?}"
        );
    }
    // Depth-first search for a cycle.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, Vec<String>>,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) {
        if let Some(start) = path.iter().position(|&n| n == node) {
            panic!("import circle: {:?} -> {node}", &path[start..]);
        }
        if done.contains(node) {
            return;
        }
        path.push(node);
        for next in &edges[node] {
            visit(next, edges, path, done);
        }
        path.pop();
        done.insert(node);
    }
    let mut done = Default::default();
    for name in edges.keys() {
        visit(name, &edges, &mut Vec::new(), &mut done);
    }
}
