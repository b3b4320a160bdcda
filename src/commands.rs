//! The subcommands as library calls, so the binary stays a thin shell.

use crate::cli::{GenerateArgs, ReportArgs, RunArgs, ServeArgs};
use crate::engine::summary::Summary;
use crate::error::{Error, Result};
use crate::generate;
use crate::job::Job;
use crate::report::format::int;

/// `reach run`: resolve the job, run it, print a one-line summary.
pub fn run(args: &RunArgs) -> Result<()> {
    let job = Job::resolve(args.job.as_deref(), args.overrides())?;
    let report = crate::run::run(&job, args.quiet)?;
    if let (Some(summary), false) = (&report.summary, args.quiet) {
        println!("{}", run_line(summary, report.seconds, &report.output));
    }
    Ok(())
}

/// The final line of `reach run`: what was computed (users, friendships,
/// super-connectors, adoptions and topics when there are any), the nights
/// applied and the bad lines skipped when there are any, the time and where
/// it went. Counts carry thousands separators.
pub fn run_line(summary: &Summary, seconds: f64, output: &std::path::Path) -> String {
    let counts = &summary.counts;
    let mut line = format!(
        "reach: {}, {}, {}",
        count(counts.users, "user"),
        count(counts.friendships, "friendship"),
        count(counts.super_connectors, "super-connector")
    );
    if counts.adoptions > 0 {
        line += &format!(
            ", {} of {}",
            count(counts.adoptions, "adoption"),
            count(counts.topics, "topic")
        );
    }
    if !summary.nights.is_empty() {
        line += &format!(", {} applied", count(summary.nights.len() as u64, "night"));
    }
    let skipped = summary.lines.bad_lines_skipped;
    if skipped > 0 {
        line += &format!(", {} skipped (rejects.csv)", count(skipped, "bad line"));
    }
    line + &format!(" in {seconds:.2} s -> {}", output.display())
}

/// `1,234 users`, `1 user`.
fn count(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", int(n))
    }
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
        customers: args.customers,
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
    if args.text_ids {
        crate::handles::rewrite_dataset(&args.out, args.customers)
            .map_err(|e| Error::io(&args.out, e))?;
    }
    if !args.quiet && args.nights > 0 {
        println!(
            "reach generate: {} nights ({} friendship and {} adoption changes{}) -> {}",
            nights.nights.len(),
            nights.friendship_changes,
            nights.adoption_changes,
            if args.customers {
                format!(
                    ", {} identity and {} purchase changes",
                    nights.identity_changes, nights.purchase_changes
                )
            } else {
                String::new()
            },
            args.out.join("nights").display()
        );
    }
    if !args.quiet {
        let customers = if args.customers {
            format!(
                ", {} identities, {} purchases",
                written.identities, written.purchases
            )
        } else {
            String::new()
        };
        println!(
            "reach generate: {} friendship lines, {} adoptions, {} planted seeds{customers} in {:.1} s -> {}",
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
