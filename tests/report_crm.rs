//! `reach report` for the CRM analyst, and the heat map's colour scale.
//!
//! - The users to act on are the first of the `users` table by tier, then
//!   influence, then id: checked against a sort of the table done here, and
//!   on a hand-made table with ties.
//! - "What changed last night" is checked against an oracle that never reads
//!   a feed: two runs, one with every night and one without the last, whose
//!   `users` tables are joined here; and on a hand-made feed worked by hand.
//!   A `reach serve` output gives the same section as `run --deltas`.
//! - The heat map has a colour scale whose ends match the densest and the
//!   lightest cells, and neither it nor the legend overlaps a cell or a
//!   point of the plot.

mod common;
mod page;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use page::*;
use reach::job::{Job, Overrides};

use common::reach_ok as reach;

/// The tiers in the order the product defines them (METRICS.md).
const TIER_ORDER: [&str; 4] = [
    "super-connector",
    "topical-influencer",
    "connector",
    "standard",
];

fn tier_rank(tier: Option<&str>) -> (usize, String) {
    match tier {
        Some(t) => (
            TIER_ORDER.iter().position(|x| *x == t).unwrap_or(4),
            t.to_string(),
        ),
        None => (5, String::new()),
    }
}

/// Rows marked with `attr`, in page order: (its value, data-col -> text).
fn rows(document: &Node, attr: &str) -> Vec<(String, BTreeMap<String, String>)> {
    document
        .elements()
        .into_iter()
        .filter_map(|n| {
            let id = n.attr(attr)?.to_string();
            let cells = n
                .elements()
                .into_iter()
                .filter_map(|c| Some((c.attr("data-col")?.to_string(), c.text())))
                .collect();
            Some((id, cells))
        })
        .collect()
}

/// A generated dataset with `nights` nights under `dir/data`.
fn generated(dir: &Path, nights: usize) -> PathBuf {
    let data = dir.join("data");
    reach(&[
        "generate",
        "-q",
        "--users",
        "1500",
        "--nights",
        &nights.to_string(),
        "--out",
        data.to_str().unwrap(),
    ]);
    data
}

/// The names of the nights under `data/nights`, in order.
fn night_names(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data.join("nights"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".ready"))
        .collect();
    names.sort();
    names
}

/// Copies the first `n` nights (with their markers) into `to`.
fn copy_nights(data: &Path, n: usize, to: &Path) {
    for name in &night_names(data)[..n] {
        let from = data.join("nights").join(name);
        std::fs::create_dir_all(to.join(name)).unwrap();
        for file in std::fs::read_dir(&from).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), to.join(name).join(file.file_name())).unwrap();
        }
        std::fs::write(to.join(format!("{name}.ready")), "").unwrap();
    }
}

/// Parameters that put many users near a tier's edge, so nights move some.
const SETS: [&str; 2] = ["connector_min=90", "super_connector_min=180"];

fn run_deltas(data: &Path, nights: Option<&Path>, output: &Path, sets: &[&str]) {
    let job = Job::resolve(
        None,
        Overrides {
            friendships: Some(data.join("friendships.csv")),
            adoptions: Some(data.join("adoptions.csv")),
            deltas: nights.map(Path::to_path_buf),
            output: Some(output.to_path_buf()),
            workers: Some(2),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            ..Overrides::default()
        },
    )
    .unwrap();
    reach::run::run(&job, true).unwrap();
}

/// `users` as user id -> (tier, influence text, whole row).
fn users_by_id(output: &Path) -> BTreeMap<u64, (String, String, Vec<String>)> {
    read_table(output, "users", USERS_HEADER)
        .into_iter()
        .map(|r| (r[0].parse().unwrap(), (r[6].clone(), r[3].clone(), r)))
        .collect()
}

fn three(x: f64) -> String {
    format!("{x:.3}")
}

#[test]
fn users_to_act_on_are_the_first_by_tier_then_influence() {
    let dir = tempfile::tempdir().unwrap();
    let data = generated(dir.path(), 0);
    let out = dir.path().join("out");
    // 10 super-connectors at 500 friends: the first 25 cross into the next tier.
    run_deltas(&data, None, &out, &["super_connector_min=500"]);
    let page = reach::report::build(&out, 25).unwrap();
    let document = parse(&page);
    let shown = rows(&document, "data-user");

    // The oracle: the whole table sorted here.
    let mut users: Vec<(u64, String, f64, Vec<String>)> = users_by_id(&out)
        .into_iter()
        .map(|(id, (tier, influence, row))| (id, tier, influence.parse().unwrap(), row))
        .collect();
    users.sort_by(|a, b| {
        tier_rank(Some(&a.1))
            .cmp(&tier_rank(Some(&b.1)))
            .then(b.2.total_cmp(&a.2))
            .then(a.0.cmp(&b.0))
    });
    assert_eq!(shown.len(), 25);
    let tiers: BTreeSet<&str> = users[..25].iter().map(|u| u.1.as_str()).collect();
    assert!(tiers.len() >= 2, "the first 25 span tiers: {tiers:?}");
    for ((id, cells), want) in shown.iter().zip(&users) {
        assert_eq!(id, &want.0.to_string());
        assert_eq!(cells["tier"], want.1);
        assert_eq!(cells["influence"], three(want.2));
        assert_eq!(
            number(&cells["friend_count"]),
            want.3[1].parse::<u64>().unwrap()
        );
        assert_eq!(
            number(&cells["persuaded_total"]),
            want.3[4].parse::<u64>().unwrap()
        );
        let topic = if want.3[5].is_empty() {
            "–"
        } else {
            &want.3[5]
        };
        assert_eq!(cells["top_topic"], topic);
    }
    assert_eq!(keyed(&document)["act_shown"].0, "25");
    assert!(!page.contains("id=\"last-night\""), "no nights, no section");
}

#[test]
fn users_to_act_on_from_a_hand_made_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    write(
        &out.join("users/part-00001.csv"),
        "user_id,friend_count,super_connector,influence,persuaded_total,top_topic,tier\n\
         4,1,false,0.0,0,,standard\n\
         5,0,false,0.0,0,,standard\n\
         6,2,false,0.5,1,x,topical-influencer\n\
         7,1,false,3.0,4,y,standard\n",
    );
    let document = parse(&reach::report::build(&out, 25).unwrap());
    let order: Vec<String> = rows(&document, "data-user")
        .into_iter()
        .map(|r| r.0)
        .collect();
    // By hand: 1 (super); 2 and 6 (topical, influence 0.5 each: by id);
    // 3 (connector); 7 (standard, 3.0), then 4 and 5 (standard, 0: by id).
    assert_eq!(order, ["1", "2", "6", "3", "7", "4", "5"]);
}

/// The hand-made output with two nights; only the last one's feed counts.
fn with_feeds(dir: &Path) -> PathBuf {
    let out = hand_made(dir, None);
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let summary = summary.replace(
        "\"nights\":[]",
        "\"nights\":[{\"name\":\"2026-01-01\"},{\"name\":\"2026-01-02\"}]",
    );
    write(&out.join("summary.json"), &summary);
    let header =
        "op,user_id,friend_count,super_connector,influence,persuaded_total,top_topic,tier\n";
    // An earlier night: must not be read.
    write(
        &out.join("changes/2026-01-01/users/part-00000.csv"),
        &format!("{header}+,9,5,true,99.0,9,x,super-connector\n"),
    );
    write(
        &out.join("changes/2026-01-02/users/part-00000.csv"),
        &format!(
            "{header}\
             -,1,3,true,1.5,2,x,super-connector\n\
             +,1,2,false,1.5,2,x,topical-influencer\n\
             -,2,2,false,0.5,1,x,topical-influencer\n\
             +,2,2,false,2.5,3,x,topical-influencer\n\
             -,3,2,false,0.75,0,,connector\n\
             +,3,2,false,0.0,0,,connector\n"
        ),
    );
    write(
        &out.join("changes/2026-01-02/users/part-00001.csv"),
        &format!(
            "{header}\
             -,4,1,false,0.0,0,,standard\n\
             +,6,1,false,0.25,1,x,standard\n"
        ),
    );
    out
}

#[test]
fn last_night_from_a_hand_made_feed() {
    let dir = tempfile::tempdir().unwrap();
    let out = with_feeds(dir.path());
    let page = reach::report::build(&out, 25).unwrap();
    assert_self_contained(&page);
    let document = parse(&page);
    let keys = keyed(&document);
    assert_eq!(keys["night"].0, "2026-01-02");
    // Worked by hand: users 1, 2, 3, 4 and 6 have rows; 1 went from
    // super-connector to topical-influencer, 6 arrived in standard, 4 left
    // the table (and standard).
    assert_eq!(keys["night_users_changed"].0, "5");
    assert_eq!(keys["night_tier_changes"].0, "3");
    let tiers: Vec<(String, String, String, String)> = rows(&document, "data-night-tier")
        .into_iter()
        .map(|(t, c)| (t, c["entered"].clone(), c["left"].clone(), c["net"].clone()))
        .collect();
    let want = |t: &str, e: &str, l: &str, n: &str| {
        (t.to_string(), e.to_string(), l.to_string(), n.to_string())
    };
    assert_eq!(
        tiers,
        vec![
            want("super-connector", "0", "1", "−1"),
            want("topical-influencer", "1", "0", "+1"),
            want("connector", "0", "0", "0"),
            want("standard", "1", "1", "0"),
        ]
    );
    // By the tier they are in now (topical, standard, left the table last).
    let changes = rows(&document, "data-tier-change");
    let ids: Vec<&str> = changes.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(ids, ["1", "6", "4"]);
    assert_eq!(changes[1].1["from"], "(new)");
    assert_eq!(changes[2].1["to"], "(left the table)");
    // Moves by size: 2 (+2), 3 (-0.75), 6 (+0.25); 1 and 4 did not move.
    let moves = rows(&document, "data-move");
    let ids: Vec<&str> = moves.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(ids, ["2", "3", "6"]);
    assert_eq!(moves[0].1["change"], "+2.000");
    assert_eq!(moves[1].1["change"], "−0.750");
    assert_eq!(moves[2].1["before"], "0.000");

    // A bad op names the file and line.
    write(
        &out.join("changes/2026-01-02/users/part-00001.csv"),
        "op,user_id,friend_count,super_connector,influence,persuaded_total,top_topic,tier\n\
         *,4,1,false,0.0,0,,standard\n",
    );
    let err = reach::report::build(&out, 25).unwrap_err().to_string();
    assert!(
        err.contains("changes/2026-01-02/users/part-00001.csv:2: op: expected + or -"),
        "{err}"
    );
}

#[test]
fn last_night_matches_two_runs_and_serve_shows_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let data = generated(dir.path(), 3);
    let (before_nights, all_nights) = (dir.path().join("two"), dir.path().join("three"));
    copy_nights(&data, 2, &before_nights);
    copy_nights(&data, 3, &all_nights);
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    run_deltas(&data, Some(&before_nights), &before, &SETS);
    run_deltas(&data, Some(&all_nights), &after, &SETS);
    let page = reach::report::build(&after, 25).unwrap();
    let document = parse(&page);
    let keys = keyed(&document);
    let last = night_names(&data).pop().unwrap();
    assert_eq!(keys["night"].0, last);

    // The oracle: the tables before and after the last night, joined.
    let (old, new) = (users_by_id(&before), users_by_id(&after));
    let ids: BTreeSet<u64> = old.keys().chain(new.keys()).copied().collect();
    let mut changed = 0;
    let mut entered: BTreeMap<String, u64> = BTreeMap::new();
    let mut left: BTreeMap<String, u64> = BTreeMap::new();
    let mut tier_changes = Vec::new();
    let mut moves = Vec::new();
    for id in ids {
        let (o, n) = (old.get(&id), new.get(&id));
        if o.map(|r| &r.2) != n.map(|r| &r.2) {
            changed += 1;
        }
        let (from, to) = (o.map(|r| r.0.as_str()), n.map(|r| r.0.as_str()));
        let influence = |r: Option<&(String, String, Vec<String>)>| -> f64 {
            r.map_or(0.0, |r| r.1.parse().unwrap())
        };
        let (was, now) = (influence(o), influence(n));
        if from != to {
            if let Some(t) = from {
                *left.entry(t.to_string()).or_default() += 1;
            }
            if let Some(t) = to {
                *entered.entry(t.to_string()).or_default() += 1;
            }
            tier_changes.push((tier_rank(to), now, id));
        }
        if was != now {
            moves.push((now - was, id, was, now));
        }
    }
    assert_eq!(number(&keys["night_users_changed"].0), changed);
    assert_eq!(
        number(&keys["night_tier_changes"].0),
        tier_changes.len() as u64
    );
    assert!(!tier_changes.is_empty(), "the night moves someone's tier");
    for (tier, cells) in rows(&document, "data-night-tier") {
        let e = entered.get(&tier).copied().unwrap_or(0);
        let l = left.get(&tier).copied().unwrap_or(0);
        assert_eq!(
            (number(&cells["entered"]), number(&cells["left"])),
            (e, l),
            "{tier}"
        );
    }
    tier_changes.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
    let shown: Vec<String> = rows(&document, "data-tier-change")
        .into_iter()
        .map(|r| r.0)
        .collect();
    let want: Vec<String> = tier_changes
        .iter()
        .take(15)
        .map(|c| c.2.to_string())
        .collect();
    assert_eq!(shown, want);
    moves.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()).then(a.1.cmp(&b.1)));
    let shown = rows(&document, "data-move");
    assert_eq!(shown.len(), moves.len().min(15));
    for ((id, cells), want) in shown.iter().zip(&moves) {
        assert_eq!(id, &want.1.to_string());
        assert_eq!(cells["before"], three(want.2));
        assert_eq!(cells["after"], three(want.3));
    }

    // `reach serve` over the same base and nights: the same section.
    let inbox = dir.path().join("inbox");
    copy_nights(&data, 3, &inbox);
    let served = dir.path().join("served");
    let (f, a) = (data.join("friendships.csv"), data.join("adoptions.csv"));
    let mut args = vec!["serve", "-q", "--drain", "-w", "2"];
    args.extend(["--friendships", f.to_str().unwrap()]);
    args.extend(["--adoptions", a.to_str().unwrap()]);
    args.extend(["--inbox", inbox.to_str().unwrap()]);
    args.extend(["--output", served.to_str().unwrap()]);
    for set in SETS {
        args.extend(["--set", set]);
    }
    reach(&args);
    assert!(served.join("manifest.json").exists());
    reach(&["report", served.to_str().unwrap()]);
    let served_page = std::fs::read_to_string(served.join("report.html")).unwrap();
    let section = |page: &str| {
        let start = page
            .find("<h2 id=\"last-night\"")
            .expect("a last-night section");
        let end = page[start + 1..].find("<h2 ").unwrap() + start + 1;
        page[start..end].to_string()
    };
    assert_eq!(section(&served_page), section(&page));
}

/// A rectangle in SVG pixels: (x0, y0, x1, y1).
type Boxed = (f64, f64, f64, f64);

fn num(node: &Node, attr: &str) -> f64 {
    node.attr(attr).unwrap().parse().unwrap()
}

/// The box of a shape, or of a text (its size estimated generously from
/// the font size: 0.6 em a character, one em high).
fn bounds(node: &Node) -> Option<Boxed> {
    match node.name.as_str() {
        "rect" => {
            let (x, y) = (num(node, "x"), num(node, "y"));
            Some((x, y, x + num(node, "width"), y + num(node, "height")))
        }
        "circle" => {
            let (x, y, r) = (num(node, "cx"), num(node, "cy"), num(node, "r"));
            Some((x - r, y - r, x + r, y + r))
        }
        "line" => Some((
            num(node, "x1").min(num(node, "x2")),
            num(node, "y1").min(num(node, "y2")),
            num(node, "x1").max(num(node, "x2")),
            num(node, "y1").max(num(node, "y2")),
        )),
        "text" => {
            let size: f64 = num(node, "font-size");
            let width = node.text().trim().chars().count() as f64 * 0.6 * size;
            let (x, y) = (num(node, "x"), num(node, "y"));
            let x0 = match node.attr("text-anchor") {
                Some("middle") => x - width / 2.0,
                Some("end") => x - width,
                _ => x,
            };
            Some((x0, y - size, x0 + width, y + size))
        }
        _ => None,
    }
}

fn overlap(a: Boxed, b: Boxed) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

fn colour(fill: &str) -> (u8, u8, u8) {
    let hex = |i: usize| u8::from_str_radix(&fill[i..i + 2], 16).unwrap();
    (hex(1), hex(3), hex(5))
}

fn darker_or_same(a: (u8, u8, u8), b: (u8, u8, u8)) -> bool {
    a.0 <= b.0 && a.1 <= b.1 && a.2 <= b.2
}

#[test]
fn heat_map_has_a_colour_scale_and_a_legend_off_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let data = generated(dir.path(), 0);
    let out = dir.path().join("out");
    run_deltas(&data, None, &out, &[]);
    let document = parse(&reach::report::build(&out, 25).unwrap());
    let figure = document
        .elements()
        .into_iter()
        .find(|n| n.attr("id") == Some("fig-influence"))
        .unwrap();
    let svg = figure.find_all("svg")[0];
    let group = |id: &str| {
        svg.find_all("g")
            .into_iter()
            .find(|g| g.attr("id") == Some(id))
            .unwrap_or_else(|| panic!("no {id}"))
    };
    let (legend, scale) = (group("influence-legend"), group("influence-scale"));

    // The plot: plotters' filled rectangles (the cells) and circles (the
    // means), outside the two groups; the white background excluded.
    let cells: Vec<(&Node, Boxed)> = svg
        .children
        .iter()
        .filter(|n| n.name == "rect" && n.attr("fill") != Some("#FFFFFF"))
        .map(|n| (n, bounds(n).unwrap()))
        .collect();
    let points: Vec<Boxed> = svg
        .children
        .iter()
        .filter(|n| n.name == "circle")
        .map(|n| bounds(n).unwrap())
        .collect();
    assert!(cells.len() > 5 && points.len() > 3);
    for group in [legend, scale] {
        for part in group.elements().into_iter().filter_map(bounds) {
            for plotted in cells.iter().map(|c| c.1).chain(points.iter().copied()) {
                assert!(
                    !overlap(part, plotted),
                    "{} covers the plot: {part:?} on {plotted:?}",
                    group.attr("id").unwrap()
                );
            }
        }
    }

    // The densest cell, counted here from the users table with the page's
    // bins (five a decade, by log10).
    let bin = |v: f64| (v.log10() * 5.0 + 1e-9).floor() as i64;
    let mut counts: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    for (_, (_, influence, row)) in users_by_id(&out) {
        let (friends, influence): (f64, f64) =
            (row[1].parse().unwrap(), influence.parse().unwrap());
        if friends > 0.0 && influence > 0.0 {
            *counts.entry((bin(friends), bin(influence))).or_default() += 1;
        }
    }
    let densest = *counts.values().max().unwrap();
    assert_eq!(cells.len(), counts.len(), "one rectangle a cell");
    assert_eq!(
        scale.attr("data-densest"),
        Some(densest.to_string().as_str())
    );
    let labels: Vec<String> = scale
        .find_all("text")
        .iter()
        .map(|t| t.text().trim().to_string())
        .collect();
    assert_eq!(labels[..2], ["users", "in a cell"]);
    assert_eq!(labels[2], "1");
    assert_eq!(number(labels.last().unwrap()), densest);
    // The bar runs from light (bottom) to dark (top), and its ends bracket
    // every cell's shade: a colour on the plot can be read off the scale.
    let bar: Vec<(f64, (u8, u8, u8))> = scale
        .find_all("rect")
        .into_iter()
        .filter(|r| r.attr("fill") != Some("none"))
        .map(|r| (num(r, "y"), colour(r.attr("fill").unwrap())))
        .collect();
    assert!(bar.len() >= 10);
    let mut by_height = bar.clone();
    by_height.sort_by(|a, b| b.0.total_cmp(&a.0));
    for pair in by_height.windows(2) {
        assert!(darker_or_same(pair[1].1, pair[0].1), "{pair:?}");
    }
    let (lightest, darkest) = (by_height[0].1, by_height.last().unwrap().1);
    for (cell, _) in &cells {
        let c = colour(cell.attr("fill").unwrap());
        let tol = |x: u8, y: u8| x.abs_diff(y) <= 12;
        let within = |a: (u8, u8, u8), b: (u8, u8, u8)| {
            darker_or_same(a, b) || (tol(a.0, b.0) && tol(a.1, b.1) && tol(a.2, b.2))
        };
        assert!(within(c, lightest) && within(darkest, c), "{c:?}");
    }
}
