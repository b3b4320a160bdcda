//! The subcommands as library calls, so the binary stays a thin shell.

use crate::cli::{GenerateArgs, ReportArgs, RunArgs, ServeArgs};
use crate::error::{Error, Result};
use crate::generate;
use crate::job::Job;

/// `reach run`: resolve the job, run it, print a one-line summary.
pub fn run(args: &RunArgs) -> Result<()> {
    let job = Job::resolve(args.job.as_deref(), args.overrides())?;
    let report = crate::run::run(&job, args.quiet)?;
    if let (Some(summary), false) = (&report.summary, args.quiet) {
        println!(
            "reach: {} users, {} friendships, {} super-connectors in {:.2} s -> {}",
            summary.counts.users,
            summary.counts.friendships,
            summary.counts.super_connectors,
            report.seconds,
            report.output.display()
        );
    }
    Ok(())
}

/// `reach serve`: apply nights from the inbox until drained or stopped.
pub fn serve(args: &ServeArgs) -> Result<()> {
    let job = Job::resolve(args.run.job.as_deref(), args.overrides())?;
    let report = crate::serve::serve(&job, args.drain, args.run.quiet)?;
    if !args.run.quiet {
        println!(
            "reach serve: stopped; {} nights applied, {} refused this run -> {}",
            report.applied.len(),
            report.rejected.len(),
            job.output.display()
        );
    }
    Ok(())
}

/// `reach generate`: write a synthetic dataset.
pub fn generate(args: &GenerateArgs) -> Result<()> {
    let params = generate::Params {
        users: args.users,
        mean_degree: args.mean_degree,
        seed: args.seed,
        ..generate::Params::default()
    };
    let model = generate::Model::new(&params).map_err(Error::Config)?;
    let bar = (!args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("generating {bar:40} {percent}% eta {eta}")
                .expect("valid template"),
        );
        bar
    });
    let started = std::time::Instant::now();
    let written = generate::write_dataset(&model, &args.out, &mut |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    })
    .map_err(|e| Error::io(&args.out, e))?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let nights = generate::write_nights(&model, &args.out, args.nights)
        .map_err(|e| Error::io(&args.out, e))?;
    if !args.quiet && args.nights > 0 {
        println!(
            "reach generate: {} nights ({} friendship and {} adoption changes) -> {}",
            nights.nights.len(),
            nights.friendship_changes,
            nights.adoption_changes,
            args.out.join("nights").display()
        );
    }
    if !args.quiet {
        println!(
            "reach generate: {} friendship lines, {} adoptions, {} planted seeds in {:.1} s -> {}",
            written.friendships,
            written.adoptions,
            written.planted,
            started.elapsed().as_secs_f64(),
            args.out.display()
        );
    }
    Ok(())
}

/// `reach report`: build the HTML report of a published output.
pub fn report(args: &ReportArgs) -> Result<()> {
    let path = crate::report::write(&args.output, args.html.as_deref(), args.topics)?;
    println!("reach report: {}", path.display());
    Ok(())
}
