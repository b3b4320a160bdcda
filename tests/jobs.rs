//! The job files in jobs/ parse and resolve, and flags override them.

use std::path::Path;

use reach::job::{Job, Overrides, Source};

fn job(name: &str) -> Job {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("jobs")
        .join(name);
    Job::resolve(Some(&path), Overrides::default()).unwrap()
}

#[test]
fn every_job_file_resolves() {
    let quickstart = job("quickstart.toml");
    assert!(matches!(quickstart.source, Source::Generated(_)));
    assert_eq!(quickstart.output, Path::new("out/quickstart"));
    assert_eq!(quickstart.workers, 2);

    let example = job("example.toml");
    assert_eq!(example.params, reach::params::Params::default());
    assert_eq!(example.parts, 4);
    assert_eq!(example.cluster.connect_timeout, 60);

    let nightly = job("nightly.toml");
    let serve = nightly.serve.expect("nightly.toml has a [serve] table");
    assert_eq!(serve.inbox, Path::new("data/demo/nights"));
    assert_eq!(serve.applied, Path::new("data/demo/applied"));
    assert_eq!(serve.rejected, Path::new("data/demo/rejected"));
    assert_eq!(serve.ready, reach::job::Ready::Marker);
    assert!(
        serve.return_memory,
        "a service gives memory back by default"
    );
    assert_eq!(serve.keep_feeds, 30);
}

#[test]
fn flags_override_the_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs/example.toml");
    let job = Job::resolve(
        Some(&path),
        Overrides {
            workers: Some(3),
            sets: vec!["top_k=7".to_string()],
            output: Some("elsewhere".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(job.workers, 3);
    assert_eq!(job.params.top_k, 7);
    assert_eq!(job.output, Path::new("elsewhere"));
}

#[test]
fn unknown_fields_are_errors_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[run]\nworker = 2\n").unwrap();
    let error = Job::resolve(Some(&path), Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("line 2") && error.contains("unknown field `worker`"),
        "{error}"
    );
}
