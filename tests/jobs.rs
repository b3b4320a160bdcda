//! The job files in jobs/ parse and resolve, and flags override them.

use std::path::Path;

use reach::job::{Customers, Job, Overrides, Source};

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

/// Resolves a job file with the given text; the error message.
fn job_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.toml");
    std::fs::write(&path, text).unwrap();
    let error = Job::resolve(Some(&path), Overrides::default())
        .expect_err("the job file is refused")
        .to_string();
    assert!(
        error.contains(&*path.to_string_lossy()),
        "names the file: {error}"
    );
    error
}

/// The names of Rust types never reach the user: a wrong type is said in
/// the job file's words.
#[test]
fn type_errors_speak_of_the_job_file() {
    let rust_words = [
        "usize", "u32", "u64", "f64", "struct", "Spec", "enum", "Params",
    ];
    for (text, expected) in [
        (
            "[output]\ndir = \"o\"\nparts = -1\n",
            "expected a whole number (0 or more)",
        ),
        (
            "[params]\ntop_k = \"ten\"\n",
            "expected a whole number from 0 to 4294967295",
        ),
        ("[generate]\nmean_degree = \"high\"\n", "expected a number"),
        ("output = 3\n", "expected the table [output]"),
        (
            "[params]\nshuffle_seed = 1.5\n",
            "expected a whole number (0 or more)",
        ),
        (
            "[input]\nfriendships = 7\n",
            "expected a path (a quoted string)",
        ),
        ("[output]\nformat = 1\n", "expected a quoted value"),
        (
            "[output]\nformat = \"xml\"\n",
            "expected `csv` or `parquet`",
        ),
    ] {
        let error = job_error(text);
        assert!(error.contains(expected), "{text:?}: {error}");
        for word in rust_words {
            assert!(!error.contains(word), "{text:?} says {word}: {error}");
        }
    }
}

#[test]
fn input_and_generate_together_are_an_error_naming_both() {
    let error = job_error(
        "[input]\nfriendships = \"f.csv\"\n[generate]\nusers = 10\n[output]\ndir = \"o\"\n",
    );
    assert!(
        error.contains("both [input]") && error.contains("[generate]"),
        "{error}"
    );
    // [generate] alone, and [input] alone, resolve.
    for text in [
        "[generate]\nusers = 10\n[output]\ndir = \"o\"\n",
        "[input]\nfriendships = \"f.csv\"\n[output]\ndir = \"o\"\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        std::fs::write(&path, text).unwrap();
        Job::resolve(Some(&path), Overrides::default()).unwrap();
    }
}

#[test]
fn set_of_a_flag_points_to_the_flag() {
    let resolve = |set: &str| {
        Job::resolve(
            None,
            Overrides {
                friendships: Some("f.csv".into()),
                output: Some("o".into()),
                sets: vec![set.to_string()],
                ..Overrides::default()
            },
        )
        .unwrap_err()
        .to_string()
    };
    let error = resolve("workers=4");
    assert!(error.contains("give --workers 4 instead"), "{error}");
    let error = resolve("report=true");
    assert!(error.contains("give --report instead"), "{error}");
    let error = resolve("wrokers=4");
    assert!(error.contains("unknown parameter"), "{error}");
}

/// The fields a table of the job file accepts, as the parser lists them on
/// meeting an unknown one (`None`: the tables themselves).
fn accepted(section: Option<&str>) -> Vec<String> {
    let text = match section {
        Some(section) => format!("[{section}]\nno_such_field = 1\n"),
        None => "no_such_field = 1\n".to_string(),
    };
    let error = job_error(&text);
    let listed = error
        .split_once("expected")
        .unwrap_or_else(|| panic!("lists the fields: {error}"))
        .1
        .lines()
        .next()
        .unwrap();
    listed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `jobs/example.toml` says it shows every field: each field the parser
/// accepts, in each table, is there (set or commented out), and nothing else.
#[test]
fn example_job_lists_every_field() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs/example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut shown: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim_start_matches('#').trim();
        let head = line.split('#').next().unwrap().trim();
        if let Some(name) = head.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            section = name.to_string();
            shown.entry(section.clone()).or_default();
        } else if let Some((key, value)) = head.split_once('=') {
            let key = key.trim();
            if !key.is_empty()
                && !value.trim().is_empty()
                && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                shown
                    .entry(section.clone())
                    .or_default()
                    .push(key.to_string());
            }
        }
    }
    let mut tables = accepted(None);
    tables.sort();
    assert_eq!(shown.keys().cloned().collect::<Vec<_>>(), tables);
    for table in tables {
        let mut fields = accepted(Some(&table));
        fields.sort();
        let mut listed = shown[&table].clone();
        listed.sort();
        assert_eq!(listed, fields, "[{table}] in jobs/example.toml");
    }
}

/// Writes a job file with the given text into `dir`; its path.
fn job_file(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("job.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `[input] identities` / `purchases` and `--identities` / `--purchases`
/// resolve into `Job.customers`, flags first; with files or with [generate].
#[test]
fn customer_inputs_resolve_from_the_file_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = job_file(
        dir.path(),
        "[input]\nfriendships = \"f.csv\"\nidentities = \"crm/ids.csv\"\n\
         purchases = \"crm/purchases\"\n[output]\ndir = \"o\"\n",
    );
    let from_file = Job::resolve(Some(&path), Overrides::default()).unwrap();
    assert_eq!(
        from_file.customers,
        Customers {
            identities: Some("crm/ids.csv".into()),
            purchases: Some("crm/purchases".into()),
        }
    );
    let flagged = Job::resolve(
        Some(&path),
        Overrides {
            purchases: Some("other.csv".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(flagged.customers.identities, Some("crm/ids.csv".into()));
    assert_eq!(flagged.customers.purchases, Some("other.csv".into()));
    let flagged = Job::resolve(
        Some(&path),
        Overrides {
            identities: Some("other-ids.csv".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(flagged.customers.identities, Some("other-ids.csv".into()));
    assert_eq!(flagged.customers.purchases, Some("crm/purchases".into()));

    // With [generate]: the customer inputs are allowed beside it.
    let path = job_file(
        dir.path(),
        "[input]\nidentities = \"ids.csv\"\n[generate]\nusers = 10\n[output]\ndir = \"o\"\n",
    );
    let generated = Job::resolve(Some(&path), Overrides::default()).unwrap();
    assert!(matches!(generated.source, Source::Generated(_)));
    assert_eq!(generated.customers.identities, Some("ids.csv".into()));
    assert!(generated.customers.any());

    // Neither: none.
    let plain = Job::resolve(
        None,
        Overrides {
            friendships: Some("f.csv".into()),
            output: Some("o".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(plain.customers, Customers::default());
    assert!(!plain.customers.any());
}

/// Customer inputs alone are no job: the message says they come with a graph.
#[test]
fn customer_inputs_need_a_social_input() {
    let error = Job::resolve(
        None,
        Overrides {
            purchases: Some("p.csv".into()),
            output: Some("o".into()),
            ..Overrides::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("no input")
            && error.contains("--identities and --purchases join a social graph"),
        "{error}"
    );
}

/// The output can never be, hold or lie inside a customer input.
#[test]
fn the_output_stays_apart_from_customer_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let crm = dir.path().join("crm");
    let job = Job::resolve(
        None,
        Overrides {
            friendships: Some(dir.path().join("f.csv")),
            identities: Some(crm.join("ids.csv")),
            purchases: Some(dir.path().join("purchases")),
            output: Some(crm.clone()),
            ..Overrides::default()
        },
    )
    .unwrap();
    let paths = job.input_paths();
    assert!(paths.contains(&("--identities", crm.join("ids.csv").as_path())));
    assert!(paths.contains(&("--purchases", dir.path().join("purchases").as_path())));
    let error = reach::output::guard::check(&job.output, &paths, true)
        .unwrap_err()
        .to_string();
    assert!(error.contains("contains the input --identities"), "{error}");
    let error = reach::output::guard::check(&dir.path().join("purchases"), &paths, true)
        .unwrap_err()
        .to_string();
    assert!(error.contains("is the input --purchases"), "{error}");
}

/// A misspelt key of `[input]` is still refused, naming the new keys.
#[test]
fn unknown_input_keys_are_refused() {
    let error = job_error("[input]\npurchase = \"p.csv\"\n");
    assert!(
        error.contains("unknown field `purchase`")
            && error.contains("`identities`")
            && error.contains("`purchases`"),
        "{error}"
    );
}
