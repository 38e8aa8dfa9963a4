//! `watchword completions SHELL` and `watchword man`: shell completions and the man page,
//! generated from the clap definition so they always match the commands. The .deb installs
//! them (README, "Packaging"); they need no config.

use anyhow::Context;
use clap::CommandFactory;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(super) fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "watchword", &mut script);
    super::print_out(&String::from_utf8_lossy(&script));
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write watchword.1 and one page per subcommand (watchword-once.1, …) into this
    /// directory instead of printing watchword.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
}

/// The man pages, section 1, in roff: watchword.1 names every subcommand, whose own page is
/// watchword-NAME.1.
pub(super) fn man(args: &ManArgs) -> anyhow::Result<()> {
    let command = Cli::command();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(command, dir)
            .with_context(|| format!("cannot write the man pages to {}", dir.display()))?;
        return Ok(());
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command.disable_help_subcommand(true)).render(&mut page)?;
    super::print_out(&String::from_utf8_lossy(&page));
    Ok(())
}
