//! Cases for the customer tables on disk: base files and night directories
//! written by a test, the job run on them through the binary (`--identities`,
//! `--purchases`, `--deltas`), the oracle's states after each night, and the
//! change feeds of the customer tables replayed onto an earlier table.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{
    assert_customers_match, compare_tables, expected_tables, parts, read_customer_tables, Expected,
    Inputs, Kind, Params, Tables, CUSTOMER_TABLES,
};
use crate::common::csv_fields;

/// A case: base texts by kind (a kind left out is not given to the job)
/// and nights of (file name, text), named so that they sort in order.
#[derive(Clone, Debug, Default)]
pub struct Case {
    pub base: Vec<(Kind, String)>,
    pub nights: Vec<(String, Vec<(String, String)>)>,
    pub params: Params,
}

fn flag(kind: Kind) -> &'static str {
    match kind {
        Kind::Friendships => "--friendships",
        Kind::Adoptions => "--adoptions",
        Kind::Identities => "--identities",
        Kind::Purchases => "--purchases",
    }
}

impl Case {
    /// Writes the case under `dir` (`base/`, `nights/`) and returns the
    /// arguments of `reach run` for it (without --output and workers);
    /// `--deltas` only when it has nights.
    pub fn write(&self, dir: &Path) -> Vec<OsString> {
        let base = dir.join("base");
        std::fs::create_dir_all(&base).unwrap();
        let mut args: Vec<OsString> = vec!["-q".into()];
        for (kind, text) in &self.base {
            let path = base.join(&flag(*kind)[2..]).with_extension("txt");
            std::fs::write(&path, text).unwrap();
            args.extend([flag(*kind).into(), path.into()]);
        }
        if !self.nights.is_empty() {
            let nights = dir.join("nights");
            for (name, files) in &self.nights {
                let night = nights.join(name);
                std::fs::create_dir_all(&night).unwrap();
                for (file, text) in files {
                    std::fs::write(night.join(file), text).unwrap();
                }
            }
            args.extend(["--deltas".into(), nights.into()]);
        }
        let p = &self.params;
        for set in [
            format!("super_connector_min={}", p.t),
            format!("connector_min={}", p.c),
            format!("window_days={}", p.w),
            format!("top_k={}", p.k),
        ] {
            args.extend(["--set".into(), set.into()]);
        }
        args
    }

    /// The arguments of a batch run over the base only (no nights).
    pub fn base_only(&self, dir: &Path) -> Vec<OsString> {
        Case {
            nights: Vec::new(),
            ..self.clone()
        }
        .write(dir)
    }

    /// The oracle's input states: the base, then after each night.
    pub fn states(&self) -> Vec<Inputs> {
        let mut state = Inputs::default();
        for (kind, text) in &self.base {
            state.apply(*kind, text, false);
        }
        let mut states = vec![state.clone()];
        for (_, files) in &self.nights {
            let mut files = files.clone();
            files.sort();
            for (file, text) in files {
                state.apply(Kind::of_file(&file).unwrap(), &text, true);
            }
            states.push(state.clone());
        }
        states
    }

    /// The night names in order.
    pub fn night_names(&self) -> Vec<String> {
        self.nights.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// `reach run ARGS --output OUTPUT -w WORKERS`, which must succeed.
pub fn reach_run(args: &[OsString], output: &Path, workers: usize) {
    let out = Command::new(env!("CARGO_BIN_EXE_reach"))
        .arg("run")
        .args(args)
        .arg("--output")
        .arg(output)
        .args(["-w", &workers.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reach run {args:?} -w {workers}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Applies the change feed of `night` for the customer tables
/// (`changes/<night>/<table>/`, `op` then the table's columns) to `tables`:
/// the rows that left (`-`, each must be present), then the rows that
/// arrived (`+`, each must be absent). A row both leaving and arriving is
/// refused: it did neither (an update changes the row).
pub fn apply_feed(tables: &mut Tables, output: &Path, night: &str) {
    for (table, header) in CUSTOMER_TABLES {
        let dir = output.join("changes").join(night).join(table);
        assert!(dir.is_dir(), "no feed {}", dir.display());
        let (mut left, mut arrived) = (Vec::new(), Vec::new());
        for part in parts(&dir) {
            let text = std::fs::read_to_string(&part).unwrap();
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some(format!("op,{header}").as_str()));
            for line in lines {
                let mut row = csv_fields(line);
                match row.remove(0).as_str() {
                    "-" => left.push(row),
                    "+" => arrived.push(row),
                    op => panic!("{}: op {op:?}", part.display()),
                }
            }
        }
        let feed = dir.display();
        if let Some(row) = left.iter().find(|r| arrived.contains(r)) {
            panic!("{feed}: {row:?} both leaves and arrives (an unchanged row)");
        }
        let rows = tables.get_mut(table);
        for row in left {
            let Some(i) = rows.iter().position(|r| *r == row) else {
                panic!("{feed}: - of {row:?}, which is not in the table");
            };
            rows.remove(i);
        }
        for row in arrived {
            assert!(
                !rows.contains(&row),
                "{feed}: + of {row:?}, already in the table"
            );
            rows.push(row);
        }
    }
    *tables = std::mem::take(tables).canonical();
}

/// The files of the customer tables and of their change feeds, with bytes.
pub fn customer_files(output: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut dirs: Vec<PathBuf> = CUSTOMER_TABLES
        .iter()
        .map(|(t, _)| output.join(t))
        .collect();
    for night in parts(&output.join("changes")) {
        dirs.extend(CUSTOMER_TABLES.iter().map(|(t, _)| night.join(t)));
    }
    let mut files = BTreeMap::new();
    for dir in dirs {
        for part in parts(&dir) {
            let rel = part.strip_prefix(output).unwrap().display().to_string();
            files.insert(rel, std::fs::read(&part).unwrap());
        }
    }
    files
}

/// Checks a run with nights against the oracle's state after each night:
/// `base` (the customer tables of a run over the base alone) with the
/// feeds of nights 1..=k applied equals the oracle after night k, and the
/// feeds of every night give the run's final tables.
pub fn assert_nights_match(output: &Path, base: &Tables, case: &Case, expected: &[Expected]) {
    let mut tables = base.clone();
    for (k, night) in case.night_names().iter().enumerate() {
        apply_feed(&mut tables, output, night);
        if let Err(e) = compare_tables(&tables, &expected_tables(&expected[k + 1])) {
            panic!("{}, after night {night}: {e}", output.display());
        }
    }
    assert_eq!(
        tables,
        read_customer_tables(output),
        "{}: the feeds compose to the final tables",
        output.display()
    );
    assert_customers_match(output, expected.last().unwrap());
}

/// Asserts two outputs hold the same customer files, naming the first file
/// that differs and showing both as text.
pub fn assert_same_customer_files(got: &Path, want: &Path) {
    let (got, want) = (customer_files(got), customer_files(want));
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "the customer files");
    for (name, bytes) in &want {
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        assert!(
            got[name] == *bytes,
            "{name} differs:\n--- got\n{}\n--- want\n{}",
            text(&got[name]),
            text(bytes)
        );
    }
}
