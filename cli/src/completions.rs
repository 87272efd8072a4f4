//! `mmarray completions bash|zsh|fish`: a completion script for the shell,
//! on stdout, generated from the same clap definition that parses the
//! command line (by `clap_complete`), so it completes exactly the
//! subcommands, flags and values `mmarray` accepts.
//!
//! ```sh
//! mmarray completions bash > ~/.local/share/bash-completion/completions/mmarray
//! mmarray completions zsh > ~/.zfunc/_mmarray     # a directory on $fpath
//! mmarray completions fish > ~/.config/fish/completions/mmarray.fish
//! ```

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};
use crate::common::{CliError, print_out};

pub fn run(args: &CompletionsArgs) -> Result<(), CliError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "mmarray", &mut script);
    print_out(&String::from_utf8_lossy(&script))
}
