//! The worked example of docs/crm.md. The doc is the source: its input
//! blocks, its command and its `expected` tables are parsed from the
//! markdown, so the doc and this test cannot drift apart.
//!
//! - `the_job_writes_the_docs_tables`: runs the doc's command (the built
//!   `reach`, from the checkout) and compares every `expected` block with
//!   the table the job writes: text cells exactly, floating-point columns
//!   to 1e-9 relative (METRICS.md), `summary.json`'s `customers` object.
//! - `the_docs_steps_agree`: without the job, the doc against itself and an
//!   independent literal computation: the input files are the doc's blocks;
//!   `user_topics` is the shared oracle's (tests/common); frequency,
//!   monetary, last purchase, RFM cut points, scores, segments (from the
//!   doc's own segment table) and influenced revenue recomputed here from
//!   the inputs; the value matrix, the benchmark and the summary are the
//!   sums of the `customers` block.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{csv_fields, iso_days, Oracle};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// docs/crm.md's fenced blocks, by the marker on the line before each:
/// `<!-- example: PATH -->`, `<!-- example command -->`,
/// `<!-- expected: NAME -->`.
fn blocks() -> BTreeMap<String, String> {
    let doc = std::fs::read_to_string(repo("docs/crm.md")).unwrap();
    let mut out = BTreeMap::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line
            .trim()
            .strip_prefix("<!-- ")
            .and_then(|m| m.strip_suffix(" -->"))
        else {
            continue;
        };
        if !marker.starts_with("example") && !marker.starts_with("expected") {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        assert!(fence.starts_with("```"), "{marker}: no block after it");
        let mut text = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            text.push_str(line);
            text.push('\n');
        }
        assert!(
            out.insert(marker.to_string(), text).is_none(),
            "{marker} twice"
        );
    }
    out
}

/// A CSV block as header and rows.
fn table(text: &str) -> (String, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    (header, lines.map(csv_fields).collect())
}

/// Columns that are floating-point: compared to 1e-9 relative. `monetary`
/// is summed exactly but written as a decimal like the others (`50.0`;
/// the doc writes `50`): compared as a number.
const FLOAT_COLUMNS: [&str; 8] = [
    "monetary",
    "influence",
    "credit",
    "influenced_revenue",
    "total_value",
    "mean_monetary",
    "mean_frequency",
    "lift",
];

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Asserts `got` rows equal `want` rows, column by column.
fn assert_rows(name: &str, header: &str, got: &[Vec<String>], want: &[Vec<String>]) {
    let columns: Vec<&str> = header.split(',').collect();
    assert_eq!(got.len(), want.len(), "{name}: rows\n{got:?}\n{want:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), columns.len(), "{name}: {g:?}");
        for ((column, gc), wc) in columns.iter().zip(g).zip(w) {
            let same = if FLOAT_COLUMNS.contains(column) {
                match (gc.parse::<f64>(), wc.parse::<f64>()) {
                    (Ok(a), Ok(b)) => close(a, b),
                    _ => gc == wc,
                }
            } else {
                gc == wc
            };
            assert!(
                same,
                "{name}.{column}: the job wrote {gc:?}, docs/crm.md says {wc:?} (row {w:?})"
            );
        }
    }
}

/// The rows of an output table (all parts, in name order), checking
/// each part's header.
fn output_rows(output: &Path, name: &str, header: &str) -> Vec<Vec<String>> {
    let dir = output.join(name);
    let mut parts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    parts.sort();
    let mut rows = Vec::new();
    for part in parts {
        let text = std::fs::read_to_string(&part).unwrap();
        let (h, r) = table(&text);
        assert_eq!(h, header, "{}", part.display());
        rows.extend(r);
    }
    rows
}

/// The doc's command, as arguments for the built binary, writing to `output`.
fn command(blocks: &BTreeMap<String, String>, output: &Path) -> Vec<String> {
    let text = blocks["example command"].replace("\\\n", " ");
    let mut words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    assert_eq!(words.remove(0), "reach", "{text}");
    let at = words.iter().position(|w| w == "--output").unwrap();
    words[at + 1] = output.display().to_string();
    words
}

#[test]
fn the_job_writes_the_docs_tables() {
    let blocks = blocks();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_reach"))
        .args(command(&blocks, &output))
        .current_dir(repo(""))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "docs/crm.md's command failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut checked = 0;
    for (marker, text) in &blocks {
        let Some(name) = marker.strip_prefix("expected: ") else {
            continue;
        };
        if name == "summary.json customers" {
            continue;
        }
        let (header, mut want) = table(text);
        let mut got = output_rows(&output, name, &header);
        // Tables of one row per key are compared as sets; the value
        // matrix and the benchmark in their written order.
        if !["value_matrix", "benchmark"].contains(&name) {
            got.sort();
            want.sort();
        }
        assert_rows(name, &header, &got, &want);
        checked += 1;
    }
    assert_eq!(checked, 5, "expected blocks checked");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("summary.json")).unwrap())
            .unwrap();
    let want: serde_json::Value =
        serde_json::from_str(&blocks["expected: summary.json customers"]).unwrap();
    let got = &summary["customers"];
    for (key, w) in want.as_object().unwrap() {
        let g = &got[key];
        let number = |v: &serde_json::Value| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        };
        match (number(g), number(w)) {
            (Some(a), Some(b)) => assert!(close(a, b), "summary customers.{key}: {g} vs {w}"),
            _ => panic!("summary customers.{key}: the job wrote {g}, docs/crm.md says {w}"),
        }
    }
}

// ---------------------------------------------------------------- the doc against itself

/// The doc's segment table: (name, r, f, m ranges), in order.
fn segment_table() -> Vec<(String, [(u8, u8); 3])> {
    let doc = std::fs::read_to_string(repo("docs/crm.md")).unwrap();
    let start = doc.find("| rfm_segment | r | f | m |").unwrap();
    let range = |cell: &str| -> (u8, u8) {
        match cell.split_once('-') {
            Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
            None => (cell.parse().unwrap(), cell.parse().unwrap()),
        }
    };
    doc[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|cells| !cells[2].is_empty())
        .map(|cells| {
            (
                cells[1].to_string(),
                [range(cells[2]), range(cells[3]), range(cells[4])],
            )
        })
        .collect()
}

/// Quintile cut points of METRICS.md: the values at ranks ceil(i*n/5).
fn cuts(mut values: Vec<f64>) -> [f64; 4] {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    std::array::from_fn(|i| values[((i + 1) * n).div_ceil(5) - 1])
}

fn score(x: f64, q: &[f64; 4]) -> u8 {
    1 + q.iter().filter(|&&c| x > c).count() as u8
}

#[test]
fn the_docs_steps_agree() {
    let blocks = blocks();
    // The files are the doc's blocks.
    for (marker, text) in &blocks {
        if let Some(path) = marker.strip_prefix("example: ") {
            let file = std::fs::read_to_string(repo(path)).unwrap();
            assert_eq!(&file, text, "{path} differs from its block in docs/crm.md");
        }
    }
    let rows = |name: &str| table(&blocks[&format!("example: docs/examples/crm/{name}.csv")]).1;
    let edges: Vec<(u64, u64)> = rows("friendships")
        .iter()
        .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
        .collect();
    let adoptions: Vec<(u64, String, i64)> = rows("adoptions")
        .iter()
        .map(|r| (r[0].parse().unwrap(), r[1].clone(), iso_days(&r[2])))
        .collect();
    let identities: BTreeMap<u64, String> = rows("identities")
        .iter()
        .map(|r| (r[0].parse().unwrap(), r[1].clone()))
        .collect();
    // (customer, day, amount in 1/10,000, topic)
    let purchases: Vec<(String, i64, i64, String)> = rows("purchases")
        .iter()
        .map(|r| {
            let (whole, frac) = r[2].split_once('.').unwrap_or((&r[2], ""));
            let units = whole.parse::<i64>().unwrap() * 10_000
                + format!("{frac:0<4}").parse::<i64>().unwrap();
            (r[0].clone(), iso_days(&r[1]), units, r[3].clone())
        })
        .collect();
    let w = 60;

    // Step 1: user_topics is the shared oracle's.
    let oracle = Oracle::new(&edges, &adoptions, w);
    for row in table(&blocks["expected: user_topics"]).1 {
        let m = oracle.user_topic(row[0].parse().unwrap(), &row[1]);
        assert_eq!(row[3], m.reach.to_string(), "{row:?}");
        assert_eq!(row[4], m.persuaded.to_string(), "{row:?}");
        assert!(close(row[5].parse().unwrap(), m.credit), "{row:?}");
    }

    // Steps 3 to 7: the customers block, recomputed from the inputs.
    let day = |u: u64, t: &str| adoptions.iter().find(|a| a.0 == u && a.1 == t).map(|a| a.2);
    let mut friends: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for &(a, b) in &edges {
        friends.entry(a).or_default().insert(b);
        friends.entry(b).or_default().insert(a);
    }
    let mut influenced: BTreeMap<String, f64> = BTreeMap::new();
    for (v, t, av) in &adoptions {
        let k = oracle.k_of(*v, t);
        if k == 0 {
            continue;
        }
        let revenue: i64 = identities.get(v).map_or(0, |c| {
            purchases
                .iter()
                .filter(|p| &p.0 == c && &p.3 == t && p.1 >= *av)
                .map(|p| p.2)
                .sum()
        });
        for u in &friends[v] {
            let persuader = day(*u, t).is_some_and(|au| (1..=w).contains(&(av - au)));
            if let (true, Some(c)) = (persuader, identities.get(u)) {
                *influenced.entry(c.clone()).or_default() += revenue as f64 / 1e4 / k as f64;
            }
        }
    }
    let buyers: BTreeSet<&String> = purchases.iter().map(|p| &p.0).collect();
    let of = |c: &str| -> Vec<(i64, i64)> {
        purchases
            .iter()
            .filter(|p| p.0 == c)
            .map(|p| (p.1, p.2))
            .collect()
    };
    let last = |c: &str| of(c).iter().map(|p| p.0).max().unwrap() as f64;
    let freq = |c: &str| of(c).len() as f64;
    let money = |c: &str| of(c).iter().map(|p| p.1).sum::<i64>() as f64 / 1e4;
    let q = [
        cuts(buyers.iter().map(|c| last(c)).collect()),
        cuts(buyers.iter().map(|c| freq(c)).collect()),
        cuts(buyers.iter().map(|c| money(c)).collect()),
    ];
    let segments = segment_table();
    assert_eq!(segments.len(), 10, "{segments:?}");
    let (header, customers) = table(&blocks["expected: customers"]);
    let col = |name: &str| header.split(',').position(|h| h == name).unwrap();
    for row in &customers {
        let c = row[0].as_str();
        let get = |name: &str| row[col(name)].as_str();
        assert!(
            close(
                get("influenced_revenue").parse().unwrap(),
                influenced.get(c).copied().unwrap_or(0.0)
            ),
            "{c}"
        );
        let total: f64 = get("monetary").parse::<f64>().unwrap()
            + get("influenced_revenue").parse::<f64>().unwrap();
        assert!(close(get("total_value").parse().unwrap(), total), "{c}");
        if !buyers.contains(&c.to_string()) {
            assert_eq!(
                (get("frequency"), get("r_score"), get("rfm_segment")),
                ("0", "", "No purchases"),
                "{c}"
            );
            continue;
        }
        assert_eq!(get("frequency"), freq(c).to_string(), "{c}");
        assert!(close(get("monetary").parse().unwrap(), money(c)), "{c}");
        assert_eq!(iso_days(get("last_purchase")) as f64, last(c), "{c}");
        let scores = [
            score(last(c), &q[0]),
            score(freq(c), &q[1]),
            score(money(c), &q[2]),
        ];
        let written =
            [get("r_score"), get("f_score"), get("m_score")].map(|s| s.parse::<u8>().unwrap());
        assert_eq!(written, scores, "{c}");
        let segment = segments
            .iter()
            .find(|(_, r)| (0..3).all(|i| (r[i].0..=r[i].1).contains(&scores[i])))
            .map_or("Others", |s| s.0.as_str());
        assert_eq!(get("rfm_segment"), segment, "{c}");
    }

    // Step 8: the value matrix sums the customers block.
    let mut cells: BTreeMap<(String, String), (u64, f64, f64)> = BTreeMap::new();
    for row in &customers {
        let cell = cells
            .entry((row[col("rfm_segment")].clone(), row[col("tier")].clone()))
            .or_default();
        cell.0 += 1;
        cell.1 += row[col("monetary")].parse::<f64>().unwrap();
        cell.2 += row[col("influenced_revenue")].parse::<f64>().unwrap();
    }
    let matrix = table(&blocks["expected: value_matrix"]).1;
    assert_eq!(matrix.len(), cells.len());
    for row in &matrix {
        let cell = cells[&(row[0].clone(), row[1].clone())];
        assert_eq!(row[2], cell.0.to_string(), "{row:?}");
        assert!(close(row[3].parse().unwrap(), cell.1), "{row:?}");
        assert!(close(row[4].parse().unwrap(), cell.2), "{row:?}");
    }

    // Step 9: the benchmark from the customers block.
    let group = |keep: &dyn Fn(&Vec<String>) -> bool| {
        let members: Vec<&Vec<String>> = customers.iter().filter(|r| keep(r)).collect();
        let n = members.len() as f64;
        let spend: f64 = members
            .iter()
            .map(|r| r[col("monetary")].parse::<f64>().unwrap())
            .sum();
        let purchases: f64 = members
            .iter()
            .map(|r| r[col("frequency")].parse::<f64>().unwrap())
            .sum();
        let buyers = members
            .iter()
            .filter(|r| r[col("frequency")] != "0")
            .count();
        (members.len(), buyers, spend, spend / n, purchases / n)
    };
    let social = |r: &Vec<String>| r[col("accounts")] != "0";
    let base = group(&|_| true).3;
    let benchmark = table(&blocks["expected: benchmark"]).1;
    for row in &benchmark {
        let g = match row[0].as_str() {
            "all" => group(&|_| true),
            "social" => group(&social),
            "not-social" => group(&|r| !social(r)),
            tier => {
                let tier = tier.strip_prefix("tier:").unwrap();
                group(&|r| social(r) && r[col("tier")] == tier)
            }
        };
        assert_eq!(
            (row[1].as_str(), row[2].as_str()),
            (&*g.0.to_string(), &*g.1.to_string()),
            "{row:?}"
        );
        for (cell, value) in [(3, g.2), (4, g.3), (5, g.4), (6, g.3 / base)] {
            assert!(
                close(row[cell].parse().unwrap(), value),
                "{row:?}: column {cell}"
            );
        }
    }

    // Step 10: the summary from the inputs and the customers block.
    let summary: serde_json::Value =
        serde_json::from_str(&blocks["expected: summary.json customers"]).unwrap();
    let users: BTreeSet<u64> = friends
        .keys()
        .copied()
        .chain(adoptions.iter().map(|a| a.0))
        .collect();
    let matched = users.iter().filter(|u| identities.contains_key(u)).count();
    assert_eq!(summary["customers"], customers.len());
    assert_eq!(summary["accounts_with_customer"], matched);
    assert!(close(
        summary["match_rate"].as_f64().unwrap(),
        matched as f64 / users.len() as f64
    ));
    assert_eq!(summary["customers_with_purchases"], buyers.len());
    assert_eq!(summary["purchases"], purchases.len());
    let revenue: i64 = purchases.iter().map(|p| p.2).sum();
    assert!(close(
        summary["revenue"].as_f64().unwrap(),
        revenue as f64 / 1e4
    ));
}
