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
