//! The page: one self-contained XHTML-compatible HTML5 document (inline SVG
//! and CSS, no scripts, no links to fetch), well-formed XML so that any XML
//! parser can check it.
//!
//! Numbers a reader may want to check carry `data-key` (and, for shares,
//! `data-value` with the exact value); cells of repeated rows carry
//! `data-col` inside a row marked `data-topic`/`data-tier`. The tests read
//! them back.

use std::fmt::Write as _;

use serde_json::Value;

use super::data::{
    share, Data, LEADERS_SHOWN, MIN_ADOPTERS_LISTED, SIGNIFICANCE_LEVEL, STUDY_CONNECTOR_MIN,
    STUDY_SUPER_MIN,
};

/// Topics whose leaders are listed (the first of the topics table), so the
/// leaders table stays at most `LEADER_TOPICS * LEADERS_SHOWN` rows.
pub const LEADER_TOPICS: usize = 10;
use super::figures::{DEGREE_AXES, INFLUENCE_AXES};
pub use super::format::{decimal, escape, int, percent, probability, written_decimal};

/// A table cell holding a checkable number.
fn keyed(key: &str, text: &str) -> String {
    format!(
        "<td class=\"n\" data-key=\"{}\">{}</td>",
        escape(key),
        escape(text)
    )
}

/// A cell of a repeated row (a topic's), named by its column.
fn column(name: &str, text: &str) -> String {
    format!(
        "<td class=\"n\" data-col=\"{}\">{}</td>",
        escape(name),
        escape(text)
    )
}

/// A table cell holding a share, with its exact value.
fn keyed_share(key: &str, value: f64) -> String {
    format!(
        "<td class=\"n\" data-key=\"{}\" data-value=\"{value}\">{}</td>",
        escape(key),
        percent(value)
    )
}

const STYLE: &str = "
body { font-family: sans-serif; max-width: 62em; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #e3e3e3; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.95em; }
code, pre { font-family: monospace; background: #f4f4f4; }
pre { padding: 0.7em; overflow-x: auto; white-space: pre-wrap; }
.note { color: #555; }
";

/// Builds the whole page.
pub fn page(data: &Data, degree_svg: &str, influence_svg: &str) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n");
    h.push_str("<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n");
    h.push_str("<meta charset=\"utf-8\"/>\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    h.push_str("<title>reach report</title>\n");
    let _ = writeln!(
        h,
        "<style>{STYLE}{}</style>\n</head>\n<body>",
        super::customers_page::style(data)
    );
    h.push_str("<h1>reach report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">Built from the tables of one published output by <code>reach report</code>. \
         The same tables give the same bytes. What each part shows and how to read it: \
         <code>docs/research.md</code>; exact definitions: <code>docs/metrics.md</code>.</p>"
    );
    overview(&mut h, data);
    degrees(&mut h, data, degree_svg);
    influence(&mut h, data, influence_svg);
    tiers(&mut h, data);
    super::crm_page::users_to_act_on(&mut h, data);
    super::crm_page::last_night(&mut h, data);
    super::customers_page::section(&mut h, data);
    topics(&mut h, data);
    if data.shuffle.is_some() {
        shuffle(&mut h, data);
    }
    provenance(&mut h, data);
    h.push_str("</body>\n</html>\n");
    h
}

fn counts(data: &Data, name: &str) -> Option<u64> {
    data.summary["counts"][name].as_u64()
}

fn overview(h: &mut String, data: &Data) {
    h.push_str("<h2 id=\"overview\">Overview</h2>\n<table>\n");
    let mut row = |label: &str, key: &str, value: Option<u64>| {
        if let Some(value) = value {
            let _ = writeln!(
                h,
                "<tr><th>{}</th>{}</tr>",
                escape(label),
                keyed(key, &int(value))
            );
        }
    };
    row("users (rows of users)", "users", Some(data.users));
    row("friendships", "friendships", counts(data, "friendships"));
    row(
        "users with at least one friend",
        "users_with_friends",
        Some(data.users_with_friends),
    );
    row("adoptions (user, topic)", "adoptions", Some(data.adoptions));
    row("topics", "topics", Some(data.topics_total));
    row(
        "socially explained adoptions (a friend adopted 1..W days before)",
        "socially_explained",
        Some(data.socially_explained),
    );
    h.push_str("</table>\n");
}

fn degrees(h: &mut String, data: &Data, svg: &str) {
    h.push_str("<h2 id=\"degrees\">Degree distribution</h2>\n");
    let _ = writeln!(
        h,
        "<figure class=\"chart\" id=\"fig-degrees\">\n{}<figcaption>The complementary cumulative \
         distribution of friend counts on log-log axes: for each d, the share of users (with at \
         least one friend) who have at least d friends. A heavy tail is a line that falls slowly. \
         Round points: this graph at the study's two thresholds; triangles: the study's reference \
         values (about 20% of users have more than 100 friends, under 1% have 1000 or more). \
         x axis: {}; y axis: {}.</figcaption>\n</figure>",
        svg,
        escape(DEGREE_AXES.0),
        escape(DEGREE_AXES.1)
    );
    h.push_str(
        "<table>\n<tr><th>share of users with at least one friend</th><th>this graph</th>\
         <th>users</th><th>study</th></tr>\n",
    );
    let _ = writeln!(
        h,
        "<tr><td>more than 100 friends (d &gt;= {STUDY_CONNECTOR_MIN})</td>{}{}<td class=\"n\">about 20%</td></tr>",
        keyed_share("share_over_100", data.share_over_100()),
        keyed("users_over_100", &int(data.over_100)),
    );
    let _ = writeln!(
        h,
        "<tr><td>1000 or more friends (d &gt;= {STUDY_SUPER_MIN})</td>{}{}<td class=\"n\">under 1%</td></tr>",
        keyed_share("share_at_least_1000", data.share_at_least_1000()),
        keyed("users_at_least_1000", &int(data.at_least_1000)),
    );
    h.push_str("</table>\n");
    if data.at_least_1000 == 0 {
        h.push_str(
            "<p class=\"note\">No user has 1000 or more friends, so this graph has no point \
             at 1000 (zero cannot be drawn on a log scale).</p>\n",
        );
    }
    let params = &data.summary["parameters"];
    if let (Some(c), Some(t)) = (
        params["connector_min"].as_u64(),
        params["super_connector_min"].as_u64(),
    ) {
        if c != u64::from(STUDY_CONNECTOR_MIN) || t != u64::from(STUDY_SUPER_MIN) {
            let _ = writeln!(
                h,
                "<p class=\"note\">This run used connector_min = {c} and super_connector_min = {t}; \
                 summary.json's shares use those, the table above the study's thresholds.</p>"
            );
        }
    }
}

fn influence(h: &mut String, data: &Data, svg: &str) {
    h.push_str("<h2 id=\"influence\">Influence against friend count</h2>\n");
    let zero: u64 = data.grid.columns.values().map(|c| c.1).sum();
    let plotted: u64 = data.grid.cells.values().sum();
    let _ = writeln!(
        h,
        "<figure class=\"chart\" id=\"fig-influence\">\n{}<figcaption>Each cell counts the users \
         whose friend count and influence fall in it (five cells a decade on both axes; darker \
         means more users; the scale at the right reads a shade as a number of users). The \
         line is the mean influence of all users in a friend-count bin, zeros included. If \
         the super-connectors were also the persuaders, the mass and the line would climb to \
         the right. {} users with at least one friend have influence &gt; 0 and \
         are drawn; {} have influence 0 and cannot be drawn on a log scale. x axis: {}; \
         y axis: {}.</figcaption>\n</figure>",
        svg,
        int(plotted),
        int(zero),
        escape(INFLUENCE_AXES.0),
        escape(INFLUENCE_AXES.1)
    );
    h.push_str("<table>\n");
    let _ = writeln!(
        h,
        "<tr><th>Spearman rank correlation of friend count and influence (users with a friend)</th>{}</tr>",
        keyed(
            "spearman",
            &data.spearman.map_or("undefined (a constant)".to_string(), |r| format!("{r:.3}"))
        )
    );
    let _ = writeln!(
        h,
        "<tr><th>users with influence 0 among users with a friend</th>{}</tr>",
        keyed("zero_influence", &int(zero))
    );
    h.push_str("</table>\n");
}

fn tiers(h: &mut String, data: &Data) {
    h.push_str("<h2 id=\"tiers\">CRM tiers</h2>\n");
    h.push_str(
        "<p>Each user is in the first tier that applies: super-connector (friend count &gt;= T), \
         topical influencer (a leader in any topic), connector (friend count &gt;= C), standard.</p>\n",
    );
    h.push_str(
        "<table>\n<tr><th>tier</th><th>users</th><th>share of users</th>\
         <th>share of all influence</th><th>mean friend count</th></tr>\n",
    );
    for (name, totals) in &data.tiers {
        let mean_friends = if totals.users == 0 {
            "–".to_string()
        } else {
            format!("{:.1}", totals.friends as f64 / totals.users as f64)
        };
        let influence_share = if data.total_influence > 0.0 {
            percent(totals.influence / data.total_influence)
        } else {
            "–".to_string()
        };
        let _ = writeln!(
            h,
            "<tr data-tier=\"{0}\"><td>{0}</td>{1}<td class=\"n\">{2}</td><td class=\"n\">{3}</td><td class=\"n\">{4}</td></tr>",
            escape(name),
            keyed(&format!("tier:{name}"), &int(totals.users)),
            percent(share(totals.users, data.users)),
            influence_share,
            mean_friends
        );
    }
    h.push_str("</table>\n");
}

fn topics(h: &mut String, data: &Data) {
    h.push_str("<h2 id=\"topics\">Topics</h2>\n");
    if data.topics_total == 0 {
        h.push_str(
            "<p data-key=\"no_topics\">This run had no adoptions (friendships only): there are \
             no topics, leaders or influence to show. Give <code>--adoptions</code> to compute \
             them.</p>\n",
        );
        return;
    }
    let shown = data.top_topics.len() as u64;
    let _ = writeln!(
        h,
        "<p>The {} topics with the most adopters (ties: name), of <span data-key=\"topics_total\">{}</span>; \
         <span data-key=\"topics_not_shown\">{}</span> are not shown (all are in the <code>topics</code> table). \
         Socially explained: adoptions that came 1..W days after a friend's adoption of the same topic.</p>",
        shown,
        int(data.topics_total),
        int(data.topics_total - shown)
    );
    h.push_str(
        "<table>\n<tr><th>#</th><th>topic</th><th>adopters</th><th>socially explained</th>\
         <th>share explained</th></tr>\n",
    );
    for (i, topic) in data.top_topics.iter().enumerate() {
        let _ = writeln!(
            h,
            "<tr data-topic=\"{0}\"><td class=\"n\">{1}</td><td>{0}</td>{2}{3}<td class=\"n\">{4}</td></tr>",
            escape(&topic.topic),
            i + 1,
            column("adopters", &int(topic.adopters)),
            column("socially_explained", &int(topic.socially_explained)),
            percent(share(topic.socially_explained, topic.adopters))
        );
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<h3>Leaders of these topics</h3>\n<p>The first {LEADERS_SHOWN} leaders of each of the \
         first {LEADER_TOPICS} topics above (by credit, then persuaded friends, then user id), \
         with their friend counts: are a topic's leaders people with many friends? Credit is \
         shown with three decimals; <code>topic_leaders</code> has every leader at full \
         precision.</p>"
    );
    h.push_str(
        "<table>\n<tr><th>topic</th><th>rank</th><th>user</th><th>credit</th>\
         <th>persuaded</th><th>reach</th><th>friend count</th></tr>\n",
    );
    let mut any = false;
    for topic in data.top_topics.iter().take(LEADER_TOPICS) {
        for leader in &topic.leaders {
            any = true;
            let _ = writeln!(
                h,
                "<tr data-leader=\"{0}\"><td>{0}</td><td class=\"n\">{1}</td><td class=\"n\">{2}</td>{3}\
                 <td class=\"n\">{4}</td><td class=\"n\">{5}</td><td class=\"n\">{6}</td></tr>",
                escape(&topic.topic),
                leader.rank,
                leader.user_id,
                column("credit", &written_decimal(&leader.credit)),
                int(leader.persuaded),
                int(leader.reach),
                leader.friend_count.map_or("–".to_string(), int)
            );
        }
    }
    if !any {
        h.push_str("<tr><td colspan=\"7\">no leaders: no adoption followed a friend's within the window</td></tr>\n");
    }
    h.push_str("</table>\n");
}

fn shuffle(h: &mut String, data: &Data) {
    let Some(test) = &data.shuffle else { return };
    h.push_str("<h2 id=\"shuffle\">The shuffle test</h2>\n");
    let _ = writeln!(
        h,
        "<p>For each tested topic, the adoption days were shuffled among its adopters (graph and \
         adopter set fixed) and the socially explained adoptions counted again. A large z says \
         the observed timing explains more adoptions through friends than shuffled timings do; \
         it does not by itself prove persuasion (see docs/research.md).</p>\n\
         <p>With many topics tested, some reach a small p by chance: \
         <span data-key=\"significant\">{}</span> of <span data-key=\"tested\">{}</span> tested \
         topics have p_value &lt;= {SIGNIFICANCE_LEVEL}, where about {} would by chance alone. \
         Corrected for multiple testing (Benjamini-Hochberg, false discovery rate {SIGNIFICANCE_LEVEL}), \
         <span data-key=\"discoveries\">{}</span> have q &lt;= {SIGNIFICANCE_LEVEL}.</p>",
        int(test.significant),
        int(test.tested),
        int((test.tested as f64 * SIGNIFICANCE_LEVEL).round() as u64),
        int(test.discoveries)
    );
    let _ = writeln!(
        h,
        "<p>The first {} topics with at least {MIN_ADOPTERS_LISTED} adopters, by q, then z \
         (undefined last):</p>",
        test.top.len()
    );
    h.push_str(
        "<table>\n<tr><th>topic</th><th>adopters</th><th>observed</th><th>shuffled mean</th>\
         <th>shuffled std</th><th>z</th><th>p</th><th>q</th></tr>\n",
    );
    for row in &test.top {
        let _ = writeln!(
            h,
            "<tr data-significance=\"{0}\"><td>{0}</td><td class=\"n\">{1}</td><td class=\"n\">{2}</td>\
             <td class=\"n\">{3}</td><td class=\"n\">{4}</td><td class=\"n\">{5}</td><td class=\"n\">{6}</td>\
             <td class=\"n\">{7}</td></tr>",
            escape(&row.topic),
            int(row.adopters),
            escape(&row.observed),
            written_decimal(&row.shuffled_mean),
            written_decimal(&row.shuffled_std),
            decimal(row.z),
            probability(row.p_value),
            probability(row.q_value)
        );
    }
    h.push_str("</table>\n");
}

/// Quotes a shell word if it needs it.
fn shell(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The path to give for an input: the file, or for several part files their directory.
fn input_path(files: &[Value]) -> Option<String> {
    let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    match paths.as_slice() {
        [] => None,
        [one] => Some(one.to_string()),
        many => {
            let parent = |p: &str| {
                std::path::Path::new(p)
                    .parent()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            };
            let first = parent(many[0]);
            Some(if many.iter().all(|p| parent(p) == first) {
                first
            } else {
                many[0].to_string()
            })
        }
    }
}

/// A scalar JSON value as a flag value.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The command that reproduces the run's tables (and this page).
pub fn command(data: &Data) -> String {
    let summary = &data.summary;
    let mut lines: Vec<String> = Vec::new();
    let mut run = vec!["reach".to_string(), "run".to_string()];
    let generated = &summary["inputs"]["generated"];
    if generated.is_object() {
        let mut toml = String::from("cat > job.toml <<'TOML'\n[generate]\n");
        if let Some(map) = generated.as_object() {
            for (key, value) in map {
                let _ = writeln!(toml, "{key} = {value}");
            }
        }
        toml.push_str("TOML");
        lines.push(toml);
        run.push("job.toml".to_string());
    }
    for (flag, key) in [
        ("--friendships", "friendships"),
        ("--adoptions", "adoptions"),
    ] {
        if let Some(path) = summary["inputs"][key]
            .as_array()
            .and_then(|f| input_path(f))
        {
            run.push(flag.to_string());
            run.push(shell(&path));
        }
    }
    if summary["nights"].as_array().is_some_and(|n| !n.is_empty()) {
        run.push("--deltas".to_string());
        run.push("NIGHTS_DIR".to_string());
    }
    run.push("--output".to_string());
    run.push("OUT".to_string());
    run.push("--format".to_string());
    run.push(data.format.to_string());
    run.push("--parts".to_string());
    run.push(data.parts.to_string());
    if let Some(params) = summary["parameters"].as_object() {
        for (key, value) in params {
            run.push("--set".to_string());
            run.push(shell(&format!("{key}={}", scalar(value))));
        }
    }
    run.push("--report".to_string());
    lines.push(run.join(" "));
    lines.join("\n")
}

fn provenance(h: &mut String, data: &Data) {
    let summary = &data.summary;
    h.push_str("<h2 id=\"provenance\">Provenance</h2>\n<table>\n");
    let _ = writeln!(
        h,
        "<tr><th>program</th><td data-key=\"program\">{} {}</td></tr>",
        escape(summary["program"]["name"].as_str().unwrap_or("reach")),
        escape(summary["program"]["version"].as_str().unwrap_or("unknown"))
    );
    let _ = writeln!(
        h,
        "<tr><th>tables</th><td>{}, {} part files per large table</td></tr>",
        data.format, data.parts
    );
    h.push_str("</table>\n<h3>Parameters</h3>\n<table>\n<tr><th>name</th><th>value</th></tr>\n");
    if let Some(params) = summary["parameters"].as_object() {
        for (key, value) in params {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\" data-key=\"param:{0}\">{}</td></tr>",
                escape(key),
                escape(&scalar(value))
            );
        }
    }
    h.push_str("</table>\n<h3>Inputs</h3>\n");
    h.push_str("<table>\n<tr><th>input</th><th>file</th><th>bytes</th><th>SHA-256</th></tr>\n");
    for key in ["friendships", "adoptions"] {
        for file in summary["inputs"][key].as_array().into_iter().flatten() {
            let _ = writeln!(
                h,
                "<tr><td>{key}</td><td><code>{}</code></td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
                escape(file["path"].as_str().unwrap_or("")),
                file["bytes"].as_u64().map_or(String::new(), int),
                escape(file["sha256"].as_str().unwrap_or(""))
            );
        }
    }
    if let Some(generated) = summary["inputs"]["generated"].as_object() {
        let settings: Vec<String> = generated
            .iter()
            .map(|(k, v)| format!("{k} = {}", scalar(v)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>generated</td><td colspan=\"3\">{}</td></tr>",
            escape(&settings.join(", "))
        );
    }
    h.push_str("</table>\n");
    if let Some(nights) = summary["nights"].as_array().filter(|n| !n.is_empty()) {
        let names: Vec<&str> = nights.iter().filter_map(|n| n["name"].as_str()).collect();
        let _ = writeln!(
            h,
            "<p>Nights applied, in order: {}.</p>",
            escape(&names.join(", "))
        );
    }
    if let Some(lines) = summary["lines"].as_object() {
        h.push_str("<h3>Input lines</h3>\n<table>\n");
        for (key, value) in lines {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&key.replace('_', " ")),
                value.as_u64().map_or_else(|| escape(&scalar(value)), int)
            );
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<h3>To reproduce</h3>\n<p>From the directory the run was started in, with the inputs \
         above (check their SHA-256); OUT is any new directory. The tables and \
         <code>summary.json</code> come out byte for byte the same at any --workers or \
         --processes.{}</p>\n<pre id=\"command\">{}</pre>",
        if summary["nights"].as_array().is_some_and(|n| !n.is_empty()) {
            " NIGHTS_DIR is the directory holding the nights listed above."
        } else {
            ""
        },
        escape(&command(data))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(percent(0.2034), "20.34%");
        assert_eq!(escape("R&B <x> \"q\""), "R&amp;B &lt;x&gt; &quot;q&quot;");
        assert_eq!(shell("a/b.csv"), "a/b.csv");
        assert_eq!(shell("my file"), "'my file'");
        assert_eq!(shell("it's"), "'it'\\''s'");
        assert_eq!(decimal(f64::NAN), "–");
        assert_eq!(decimal(1.23456), "1.235");
        assert_eq!(written_decimal("121.96329072530848"), "121.963");
        assert_eq!(written_decimal(""), "–");
        assert_eq!(written_decimal("inf"), "+∞");
        assert_eq!(probability(0.00001), "&lt; 0.0001");
        assert_eq!(probability(0.05), "0.0500");
        assert_eq!(probability(f64::NAN), "–");
    }
}
