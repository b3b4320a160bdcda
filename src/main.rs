//! The `reach` binary: parse the command line, call the library, map the
//! outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use reach::cli::{Cli, Command};

fn main() -> ExitCode {
    keep_freed_memory();
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

/// mimalloc: differential's batchers and the topical half joins allocate
/// and free many small vectors; glibc's allocator spent a quarter of the
/// topical stage in malloc/free (perf, 100k users).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tells mimalloc to keep freed memory instead of handing it back to the
/// operating system after 10 ms: differential's merge batchers free and
/// reallocate large buffers continuously, and returning them made a third of
/// a friendships run the kernel zeroing fresh pages (perf, 100k users).
fn keep_freed_memory() {
    // `mi_option_purge_delay`: its index in mimalloc v3's option enum
    // (checked against `MIMALLOC_VERBOSE=1`, which lists options in enum
    // order; libmimalloc-sys is pinned so the C library cannot move under it).
    const PURGE_DELAY_V3: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: plain calls into mimalloc's C API with valid arguments.
    unsafe {
        if libmimalloc_sys::mi_version() >= 30000 {
            libmimalloc_sys::mi_option_set(PURGE_DELAY_V3, -1);
        }
    }
}
