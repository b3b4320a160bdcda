//! The `reach` binary: parse the command line, call the library, map the
//! outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use reach::cli::{Cli, Command};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => reach::commands::run(&args),
        Command::Generate(args) => reach::commands::generate(&args),
        Command::Serve(args) => reach::commands::serve(&args),
        Command::Report(args) => reach::commands::report(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
