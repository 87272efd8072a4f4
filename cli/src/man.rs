//! `mmarray man [COMMAND]`: the manual page, as roff on stdout, generated
//! from the same clap definition that parses the command line (by
//! `clap_mangen`): `mmarray(1)` lists the subcommands, and `mmarray man
//! COMMAND` is the page of one, `mmarray-COMMAND(1)`, with its arguments
//! and flags.
//!
//! ```sh
//! mmarray man > ~/.local/share/man/man1/mmarray.1
//! mmarray man info > ~/.local/share/man/man1/mmarray-info.1
//! ```

use clap::CommandFactory;

use crate::common::{CliError, print_out};

#[derive(clap::Args)]
pub struct Args {
    /// A subcommand whose page to write (`mmarray-COMMAND(1)`) instead of
    /// the page of `mmarray` itself.
    command: Option<String>,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    // As clap_mangen's own generator: no `help` subcommand in the pages,
    // and built, so that subcommands have their `mmarray-NAME` names.
    let mut command = crate::Cli::command().disable_help_subcommand(true);
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
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(concat!("mmarray ", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)?;
    print_out(&String::from_utf8_lossy(&roff))
}
