//! `reach report`: the page is well-formed, labels every chart's axes,
//! shows exactly the numbers of the tables it was built from (computed here
//! straight from the table files), and has the same bytes at any worker
//! count. The shuffle-test section is checked on a hand-made table.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use reach::job::{Format, Job, Overrides};

// ---------------------------------------------------------------- parsing

/// An element or a text node of the parsed page.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Node>,
    /// For `#text` nodes.
    text: String,
}

impl Node {
    fn element(start: &BytesStart) -> Node {
        let mut attrs = BTreeMap::new();
        for attr in start.attributes() {
            let attr = attr.expect("well-formed attribute");
            let key = attr.key.as_ref().to_string();
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .expect("attribute value")
                .into_owned();
            assert!(
                attrs.insert(key.clone(), value).is_none(),
                "duplicate {key}"
            );
        }
        Node {
            name: start.name().as_ref().to_string(),
            attrs,
            ..Node::default()
        }
    }

    /// All text below this node, in document order.
    fn text(&self) -> String {
        if self.name == "#text" {
            return self.text.clone();
        }
        self.children.iter().map(Node::text).collect()
    }

    /// Every element below (and including) this node, in document order.
    fn elements(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        if self.name != "#text" {
            out.push(self);
            for child in &self.children {
                out.extend(child.elements());
            }
        }
        out
    }

    fn find_all(&self, name: &str) -> Vec<&Node> {
        self.elements()
            .into_iter()
            .filter(|n| n.name == name)
            .collect()
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

/// Parses the page as XML (it is written as well-formed XHTML): any
/// unclosed or mismatched tag, bad attribute or unknown entity fails here.
fn parse(page: &str) -> Node {
    let mut reader = Reader::from_str(page);
    let mut stack = vec![Node {
        name: "#document".to_string(),
        ..Node::default()
    }];
    let mut doctype = false;
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at byte {}: {e}", reader.buffer_position()))
        {
            Event::Start(e) => stack.push(Node::element(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(Node::element(&e)),
            Event::End(_) => {
                let node = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(node);
            }
            Event::Text(t) => stack.last_mut().unwrap().children.push(Node {
                name: "#text".to_string(),
                text: t.as_ref().to_string(),
                ..Node::default()
            }),
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => match r.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unknown entity &{other};"),
                    }
                    .to_string(),
                };
                stack.last_mut().unwrap().children.push(Node {
                    name: "#text".to_string(),
                    text,
                    ..Node::default()
                });
            }
            Event::DocType(d) => {
                assert_eq!(d.as_ref().trim(), "html");
                doctype = true;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::CData(_) | Event::PI(_) => {}
        }
    }
    assert!(doctype, "no <!DOCTYPE html>");
    assert_eq!(stack.len(), 1, "unclosed elements at the end");
    let document = stack.pop().unwrap();
    let roots: Vec<&Node> = document
        .children
        .iter()
        .filter(|n| n.name != "#text")
        .collect();
    assert_eq!(roots.len(), 1, "one root element");
    assert_eq!(roots[0].name, "html");
    document
}

/// The `data-key` cells: key -> (text, data-value).
fn keyed(document: &Node) -> BTreeMap<String, (String, Option<String>)> {
    let mut keys = BTreeMap::new();
    for node in document.elements() {
        if let Some(key) = node.attr("data-key") {
            let value = (
                node.text().trim().to_string(),
                node.attr("data-value").map(str::to_string),
            );
            assert!(
                keys.insert(key.to_string(), value).is_none(),
                "key {key} twice"
            );
        }
    }
    keys
}

/// An integer as the page writes it (with thousands separators).
fn number(text: &str) -> u64 {
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not an integer: {text:?}"))
}

fn is_numeric(text: &str) -> bool {
    let t = text.trim().trim_end_matches('%');
    !t.is_empty() && t.parse::<f64>().is_ok()
}

/// Every chart labels both axes: the y label is a rotated text that is not a
/// number; the x label is the lowest text of the chart and not a number.
/// Both are repeated in the figure's caption.
fn assert_axes_labelled(document: &Node) -> usize {
    let figures = document.find_all("figure");
    for figure in &figures {
        let svgs = figure.find_all("svg");
        assert_eq!(svgs.len(), 1, "one chart per figure");
        let texts: Vec<(String, f64, bool)> = svgs[0]
            .find_all("text")
            .into_iter()
            .map(|t| {
                (
                    t.text().trim().to_string(),
                    t.attr("y").unwrap().parse::<f64>().unwrap(),
                    t.attr("transform").is_some_and(|r| r.contains("rotate")),
                )
            })
            .collect();
        let caption = figure.find_all("figcaption")[0].text();
        let y_label = texts
            .iter()
            .find(|(text, _, rotated)| *rotated && !is_numeric(text))
            .unwrap_or_else(|| panic!("no y axis label in {caption}"));
        let x_label = texts
            .iter()
            .filter(|t| !t.2)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!(!is_numeric(&x_label.0), "no x axis label in {caption}");
        assert!(y_label.0.len() > 4 && x_label.0.len() > 4);
        assert!(
            caption.contains(&format!("x axis: {}", x_label.0)),
            "{caption}"
        );
        assert!(
            caption.contains(&format!("y axis: {}", y_label.0)),
            "{caption}"
        );
        // Tick labels exist on both axes.
        assert!(texts.iter().filter(|t| is_numeric(&t.0)).count() >= 4);
    }
    figures.len()
}

/// Nothing to fetch: no scripts, no external references.
fn assert_self_contained(page: &str) {
    assert!(!page.contains("<script"), "a script");
    for attribute in ["src=", "href=", "url("] {
        assert!(
            !page.contains(attribute),
            "an external reference: {attribute}"
        );
    }
    for scheme in ["http://", "https://"] {
        for (i, _) in page.match_indices(scheme) {
            let before = &page[..i];
            assert!(
                before.ends_with("xmlns=\""),
                "a link at byte {i}: {}",
                &page[i..(i + 60).min(page.len())]
            );
        }
    }
}

// ---------------------------------------------------------------- running

fn lastfm_job(output: &Path, workers: usize, format: Format) -> Job {
    Job::resolve(
        None,
        Overrides {
            friendships: Some(shared_data("hetrec2011-lastfm-2k/user_friends.dat")),
            adoptions: Some(shared_data("hetrec2011-lastfm-2k/adoptions.csv")),
            output: Some(output.to_path_buf()),
            workers: Some(workers),
            format: Some(format),
            report: true,
            ..Overrides::default()
        },
    )
    .unwrap()
}

/// Runs the lastfm job with the report built inside the run; returns the page.
fn lastfm(output: &Path, workers: usize, format: Format) -> String {
    reach::run::run(&lastfm_job(output, workers, format), true).unwrap();
    std::fs::read_to_string(output.join("report.html")).unwrap()
}

/// Expected numbers, straight from the CSV tables.
struct Expected {
    users: u64,
    tiers: BTreeMap<String, u64>,
    with_friends: u64,
    over_100: u64,
    at_least_1000: u64,
    /// (topic, adopters, socially_explained), most adopters first, then name.
    topics: Vec<(String, u64, u64)>,
}

fn expected(output: &Path) -> Expected {
    let users = read_table(output, "users", USERS_HEADER);
    let mut tiers = BTreeMap::new();
    for row in &users {
        *tiers.entry(row[6].clone()).or_insert(0) += 1;
    }
    // From friend counts in `users` (not from degree_distribution).
    let degrees: Vec<u64> = users.iter().map(|r| r[1].parse().unwrap()).collect();
    let mut topics: Vec<(String, u64, u64)> =
        read_table(output, "topics", "topic,adopters,socially_explained")
            .into_iter()
            .map(|r| (r[0].clone(), r[1].parse().unwrap(), r[2].parse().unwrap()))
            .collect();
    topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Expected {
        users: users.len() as u64,
        tiers,
        with_friends: degrees.iter().filter(|&&d| d >= 1).count() as u64,
        over_100: degrees.iter().filter(|&&d| d > 100).count() as u64,
        at_least_1000: degrees.iter().filter(|&&d| d >= 1000).count() as u64,
        topics,
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn lastfm_report_shows_the_numbers_of_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let page = lastfm(&out, 1, Format::Csv);
    assert_self_contained(&page);
    let document = parse(&page);
    assert_eq!(assert_axes_labelled(&document), 2, "two figures");
    let keys = keyed(&document);
    let want = expected(&out);
    let get = |key: &str| number(&keys[key].0);

    assert_eq!(get("users"), want.users);
    assert_eq!(want.users, 1892); // the dataset README: 1,892 users
    assert_eq!(get("users_with_friends"), want.with_friends);
    for tier in [
        "super-connector",
        "topical-influencer",
        "connector",
        "standard",
    ] {
        let shown = get(&format!("tier:{tier}"));
        assert_eq!(shown, want.tiers.get(tier).copied().unwrap_or(0), "{tier}");
    }
    assert_eq!(want.tiers.values().sum::<u64>(), want.users);

    // The study shares: exact values in data-value, rounded text beside.
    for (key, count) in [
        ("share_over_100", want.over_100),
        ("share_at_least_1000", want.at_least_1000),
    ] {
        let share = count as f64 / want.with_friends as f64;
        let (text, value) = &keys[key];
        let value: f64 = value.as_deref().unwrap().parse().unwrap();
        assert_eq!(value, share, "{key}");
        assert_eq!(text, &format!("{:.2}%", share * 100.0), "{key}");
    }
    assert_eq!(get("users_over_100"), want.over_100);
    assert!(want.over_100 > 0); // lastfm: a few users above 100, none at 1000
    assert_eq!(get("users_at_least_1000"), 0);

    // Topics: the first 25 by adopters, with their adopters; the rest counted.
    let rows: Vec<(String, u64, u64)> = document
        .elements()
        .into_iter()
        .filter_map(|n| {
            let topic = n.attr("data-topic")?;
            let cell = |key: &str| {
                let cell = n
                    .elements()
                    .into_iter()
                    .find(|c| c.attr("data-col") == Some(key))
                    .unwrap();
                number(cell.text().trim())
            };
            Some((
                topic.to_string(),
                cell("adopters"),
                cell("socially_explained"),
            ))
        })
        .collect();
    assert_eq!(rows.len(), 25);
    assert_eq!(rows, want.topics[..25].to_vec());
    assert_eq!(get("topics_total"), want.topics.len() as u64);
    assert_eq!(get("topics_not_shown"), want.topics.len() as u64 - 25);
    // Leaders: at most 5 of each of the first 10 topics, credit to three decimals.
    let leaders: Vec<&Node> = document
        .elements()
        .into_iter()
        .filter(|n| n.attr("data-leader").is_some())
        .collect();
    assert!(
        !leaders.is_empty() && leaders.len() <= 50,
        "{}",
        leaders.len()
    );
    let first_ten: Vec<&str> = rows[..10].iter().map(|r| r.0.as_str()).collect();
    for leader in leaders {
        assert!(first_ten.contains(&leader.attr("data-leader").unwrap()));
        let credit = leader
            .elements()
            .into_iter()
            .find(|c| c.attr("data-col") == Some("credit"))
            .unwrap()
            .text();
        let decimals = credit.trim().split('.').nth(1).map_or(0, str::len);
        assert_eq!(decimals, 3, "{credit}");
    }
    assert_eq!(
        get("adoptions"),
        want.topics.iter().map(|t| t.1).sum::<u64>()
    );

    // Provenance: the inputs' SHA-256 from summary.json, and the command.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let sha = summary["inputs"]["friendships"][0]["sha256"]
        .as_str()
        .unwrap();
    assert!(page.contains(sha));
    let command = document
        .elements()
        .into_iter()
        .find(|n| n.attr("id") == Some("command"))
        .unwrap()
        .text();
    assert!(command.starts_with("reach run --friendships "), "{command}");
    assert!(
        command.contains("user_friends.dat --adoptions "),
        "{command}"
    );
    assert!(command.contains("--set window_days=60"), "{command}");
    assert!(
        !page.contains(dir.path().to_str().unwrap()),
        "the output path is in the page"
    );
}

#[test]
fn report_bytes_do_not_depend_on_workers_and_parquet_shows_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let one = lastfm(&dir.path().join("w1"), 1, Format::Csv);
    let two = lastfm(&dir.path().join("w2"), 2, Format::Csv);
    assert!(one == two, "report bytes differ between 1 and 2 workers");
    // `reach report` on the published output rebuilds the same bytes.
    let html = dir.path().join("again.html");
    reach::report::write(&dir.path().join("w2"), Some(&html), 25).unwrap();
    assert!(std::fs::read_to_string(&html).unwrap() == one);

    // From Parquet parts: every checkable number is the same.
    let parquet = lastfm(&dir.path().join("pq"), 2, Format::Parquet);
    let (csv_keys, parquet_keys) = (keyed(&parse(&one)), keyed(&parse(&parquet)));
    assert_eq!(csv_keys, parquet_keys);
    assert!(parquet.contains("--format parquet"));
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small output directory written by hand, optionally with a
/// `topic_significance` table.
fn hand_made(dir: &Path, significance: Option<&str>) -> PathBuf {
    let out = dir.join("out");
    write(&out.join("_SUCCESS"), "");
    write(
        &out.join("summary.json"),
        r#"{"program":{"name":"reach","version":"9.9.9"},
            "parameters":{"super_connector_min":3,"connector_min":2,"window_days":60,"top_k":100,"shuffle_rounds":20},
            "inputs":{"friendships":[{"path":"f dir/a.csv","bytes":10,"sha256":"ab"},{"path":"f dir/b.csv","bytes":5,"sha256":"cd"}],
                      "adoptions":[],"generated":null},
            "counts":{"friendships":4},"nights":[]}"#,
    );
    write(
        &out.join("users/part-00000.csv"),
        "user_id,friend_count,super_connector,influence,persuaded_total,top_topic,tier\n\
         1,3,true,1.5,2,\"R&B, soul\",super-connector\n\
         2,2,false,0.5,1,x,topical-influencer\n\
         3,2,false,0.0,0,,connector\n",
    );
    write(
        &out.join("users/part-00001.csv"),
        "user_id,friend_count,super_connector,influence,persuaded_total,top_topic,tier\n\
         4,1,false,0.0,0,,standard\n\
         5,0,false,0.0,0,,standard\n",
    );
    write(
        &out.join("degree_distribution/part-00000.csv"),
        "friend_count,users\n1,1\n2,2\n3,1\n",
    );
    write(
        &out.join("topics/part-00000.csv"),
        "topic,adopters,socially_explained\n\"R&B, soul\",3,2\nx,3,1\ny,1,0\n",
    );
    write(
        &out.join("topic_leaders/part-00000.csv"),
        "topic,rank,user_id,credit,persuaded,reach\n\"R&B, soul\",1,1,1.5,2,2\nx,1,2,0.49999999999999994,1,1\n",
    );
    if let Some(table) = significance {
        write(&out.join("topic_significance/part-00000.csv"), table);
    }
    out
}

#[test]
fn shuffle_test_section_from_a_hand_made_table() {
    let dir = tempfile::tempdir().unwrap();
    // z: 2.5, empty (std 0), inf, NaN, -1, 2.5 (tie: name order). p <= 0.05: a, c, f.
    let table = "topic,adopters,observed,shuffled_mean,shuffled_std,z,p_value\n\
                 a,10,5,2.5,1.0,2.5,0.01\n\
                 b,4,0,0.0,0.0,,1.0\n\
                 c,7,3,0.5,0.0,inf,0.05\n\
                 d,3,1,1.0,0.0,NaN,\n\
                 e,9,1,2.0,1.0,-1.0,0.8\n\
                 \"f, g\",12,6,3.5,1.0,2.5,0.0476\n";
    let out = hand_made(dir.path(), Some(table));
    let page = reach::report::build(&out, 25).unwrap();
    assert_self_contained(&page);
    let document = parse(&page);
    assert_axes_labelled(&document);
    let keys = keyed(&document);
    assert_eq!(keys["significant"].0, "3");
    assert_eq!(keys["tested"].0, "6");
    // Benjamini-Hochberg over the 5 defined p (d's is empty), by hand:
    // sorted a .01, f .0476, c .05, e .8, b 1.0 give .05, .119, .0833, 1, 1,
    // then the running minimum from the top: a .05, f .0833, c .0833, e 1, b 1.
    assert_eq!(keys["discoveries"].0, "1");
    let order: Vec<&str> = document
        .elements()
        .into_iter()
        .filter_map(|n| n.attr("data-significance"))
        .collect();
    // By q, then z (c's inf before f's 2.5); b (4 adopters) and d (3) are
    // below the 5 adopters a topic needs to be listed.
    assert_eq!(order, vec!["a", "c", "f, g", "e"]);
    assert!(
        page.contains("<td class=\"n\">0.0833</td>"),
        "f's and c's q"
    );
    let section = page.find("id=\"shuffle\"").unwrap();
    assert!(section < page.find("id=\"provenance\"").unwrap());

    // With top 2: two rows shown, counts over all rows.
    let page = reach::report::build(&out, 2).unwrap();
    let keys = keyed(&parse(&page));
    assert_eq!(
        (keys["significant"].0.as_str(), keys["tested"].0.as_str()),
        ("3", "6")
    );

    // Hand-worked numbers of the rest of the page.
    assert_eq!(keys["users"].0, "5");
    assert_eq!(keys["users_with_friends"].0, "4");
    assert_eq!(keys["tier:standard"].0, "2");
    assert_eq!(keys["tier:super-connector"].0, "1");
    assert_eq!(keys["topics_not_shown"].0, "1");
    assert_eq!(keys["zero_influence"].0, "2"); // users 3 and 4 (5 has no friend)
    assert_eq!(keys["param:shuffle_rounds"].0, "20");
    assert!(page.contains("data-topic=\"R&amp;B, soul\""));
    // Credit on the page with three decimals; the table keeps 17 digits.
    assert!(
        page.contains("data-col=\"credit\">0.500<"),
        "x's leader's credit"
    );
    assert!(!page.contains("0.49999999999999994"));
    // Part files of one directory: the command names the directory, quoted.
    assert!(page
        .contains("reach run --friendships &#39;f dir&#39; --output OUT --format csv --parts 2"));
}

#[test]
fn no_shuffle_section_without_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    // Degrees at the study's edges: 100 and 101, 999 and 1000.
    write(
        &out.join("degree_distribution/part-00000.csv"),
        "friend_count,users\n1,6\n100,1\n101,1\n999,1\n1000,1\n",
    );
    let page = reach::report::build(&out, 25).unwrap();
    assert!(!page.contains("id=\"shuffle\""));
    let keys = keyed(&parse(&page));
    // Hand-worked: 10 users with a friend; 101, 999, 1000 have more than 100; 1000 has 1000+.
    assert_eq!(keys["users_with_friends"].0, "10");
    assert_eq!(keys["users_over_100"].0, "3");
    assert_eq!(
        keys["share_over_100"],
        ("30.00%".to_string(), Some("0.3".to_string()))
    );
    assert_eq!(keys["users_at_least_1000"].0, "1");
    assert_eq!(
        keys["share_at_least_1000"],
        ("10.00%".to_string(), Some("0.1".to_string()))
    );
}

#[test]
fn report_refuses_a_directory_that_is_not_a_published_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    std::fs::remove_file(out.join("_SUCCESS")).unwrap();
    let binary = env!("CARGO_BIN_EXE_reach");
    let result = std::process::Command::new(binary)
        .args(["report", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("not a published reach output (no _SUCCESS)"),
        "{stderr}"
    );
    assert!(!out.join("report.html").exists());

    // A bad cell names its file and line.
    write(&out.join("_SUCCESS"), "");
    write(
        &out.join("degree_distribution/part-00000.csv"),
        "friend_count,users\n1,1\n2,two\n",
    );
    let err = reach::report::build(&out, 25).unwrap_err().to_string();
    assert!(
        err.contains("degree_distribution/part-00000.csv:3: users"),
        "{err}"
    );

    // The CLI writes OUTPUT/report.html by default.
    write(
        &out.join("degree_distribution/part-00000.csv"),
        "friend_count,users\n1,1\n2,2\n3,1\n",
    );
    let result = std::process::Command::new(binary)
        .args(["report", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(out.join("report.html").exists());
}

#[test]
fn renders_in_headless_chromium() {
    // REACH_CHROMIUM names another browser binary (or a missing one, to see the skip).
    let chromium =
        PathBuf::from(std::env::var_os("REACH_CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    if !chromium.exists() {
        // Straight to stderr: the test harness captures print macros, not this.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIP renders_in_headless_chromium: {} is not installed (Debian package `chromium`)",
            chromium.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    let html = reach::report::write(&out, None, 25).unwrap();
    let png = dir.path().join("shot.png");
    let result = std::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1000,2400",
            &format!("--screenshot={}", png.display()),
            &format!("file://{}", html.display()),
        ])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert!(bytes.len() > 10_000, "a suspiciously small screenshot");
}

#[test]
fn job_files_and_flags_turn_the_report_on() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.toml");
    let flags = || Overrides {
        friendships: Some(PathBuf::from("f.csv")),
        output: Some(PathBuf::from("out")),
        ..Overrides::default()
    };
    std::fs::write(&job, "[output]\nreport = true\n").unwrap();
    assert!(Job::resolve(Some(&job), flags()).unwrap().report);
    std::fs::write(&job, "[output]\nreport = false\n").unwrap();
    assert!(!Job::resolve(Some(&job), flags()).unwrap().report);
    let on = Overrides {
        report: true,
        ..flags()
    };
    assert!(Job::resolve(Some(&job), on).unwrap().report);
    assert!(!Job::resolve(None, flags()).unwrap().report);
}

/// A friendships-only output: the topics section says there were no
/// adoptions instead of "The 0 topics ... of 0; 0 are not shown".
#[test]
fn friendships_only_report_says_there_are_no_topics() {
    let dir = tempfile::tempdir().unwrap();
    let friendships = dir.path().join("f.csv");
    write(&friendships, "1,2\n2,3\n3,1\n3,4\n");
    let out = dir.path().join("out");
    run(&friendships, &out, 1, &[], Format::Csv).unwrap();
    let page = reach::report::build(&out, 25).unwrap();
    assert_self_contained(&page);
    let keys = keyed(&parse(&page));
    assert!(keys.contains_key("no_topics"), "says there are no topics");
    assert!(!keys.contains_key("topics_total"));
    assert!(!page.contains("The 0 topics"), "no empty topics table");
    assert!(!page.contains("Leaders of these topics"));
}
