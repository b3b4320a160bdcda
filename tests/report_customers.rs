//! `reach report`'s Customers section, on hand-made output directories
//! (the job's customer tables are checked elsewhere; here the page must
//! show exactly what the tables say):
//!
//! - the counts and the match rate of summary.json; the value matrix as a
//!   grid with every cell's customers and money, its rows in METRICS.md's
//!   segment order and its columns in tier order, the fullest cell the
//!   darkest; the benchmark's rows with their lift bars against the base's
//!   line; the most valuable customers in order with stacked bars;
//! - the list of customers is bounded: on a larger table, exactly the first
//!   25 of a sort done here;
//! - missing and empty tables are said so, and the rest still shows;
//! - without customer tables the page is the page of before, byte for byte:
//!   adding them changes nothing outside the section and its CSS.

mod page;

use std::collections::BTreeMap;
use std::path::Path;

use page::*;

/// METRICS.md's segment table, in order, then `Others`, `No purchases`.
const SEGMENT_ORDER: [&str; 12] = [
    "Champions",
    "Potential Loyalist",
    "Loyal Customers",
    "Promising",
    "New Customers",
    "Can't Lose Them",
    "At Risk",
    "Need Attention",
    "About To Sleep",
    "Lost",
    "Others",
    "No purchases",
];

/// The bars' full width on the page.
const BAR: f64 = 220.0;

fn build(out: &Path) -> String {
    let page = reach::report::build(out, 25).unwrap();
    assert_self_contained(&page);
    page
}

/// Elements carrying `attr`, in page order: (its value, the element).
fn marked<'a>(document: &'a Node, attr: &str) -> Vec<(String, &'a Node)> {
    document
        .elements()
        .into_iter()
        .filter_map(|n| Some((n.attr(attr)?.to_string(), n)))
        .collect()
}

/// The `data-col` cells under `node`: column -> (text, data-value).
fn cols(node: &Node) -> BTreeMap<String, (String, Option<String>)> {
    node.elements()
        .into_iter()
        .filter_map(|c| {
            Some((
                c.attr("data-col")?.to_string(),
                (
                    c.text().trim().to_string(),
                    c.attr("data-value").map(str::to_string),
                ),
            ))
        })
        .collect()
}

/// The width of the bar part `part` under `node`.
fn width(node: &Node, part: &str) -> f64 {
    node.find_all("rect")
        .into_iter()
        .find(|r| r.attr("data-part") == Some(part))
        .unwrap_or_else(|| panic!("no {part} bar"))
        .attr("width")
        .unwrap()
        .parse()
        .unwrap()
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.051 // widths are written with one decimal
}

fn hex(c: plotters::style::RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

#[test]
fn customers_section_shows_the_tables_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    with_customers(&out);
    let document = parse(&build(&out));
    let keys = keyed(&document);
    let key = |k: &str| keys[&format!("customers:{k}")].clone();

    // (d) The counts: summary.json's, and from the customers table.
    assert_eq!(key("customers").0, "8");
    assert_eq!(key("accounts_with_customer").0, "4");
    assert_eq!(key("match_rate"), ("80.00%".into(), Some("0.8".into())));
    assert_eq!(key("customers_with_purchases").0, "7");
    assert_eq!(key("purchases").0, "11");
    assert_eq!(key("revenue"), ("320.50".into(), Some("320.5001".into())));
    assert_eq!(key("social").0, "4");
    assert_eq!(key("not_social").0, "4");
    // Influenced 52.75 over own spend 320.5001.
    assert_eq!(key("influence_share").0, "16.46%");
    assert!(!keys.keys().any(|k| k.starts_with("customers:missing")));

    // (a) The value matrix: every segment of METRICS.md in its order, the
    // tiers in theirs, each cell as the table says.
    let rows: Vec<String> = marked(&document, "data-vm-segment")
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(rows, SEGMENT_ORDER);
    let table = document
        .find_all("table")
        .into_iter()
        .find(|t| t.attr("class") == Some("matrix"))
        .unwrap();
    let header: Vec<String> = table.find_all("th").iter().map(|t| t.text()).collect();
    assert_eq!(
        header[..6],
        [
            "segment \\ tier",
            "super-connector",
            "topical-influencer",
            "connector",
            "standard",
            "all tiers"
        ]
    );
    let mut cells = BTreeMap::new();
    let (light, dark) = (
        hex(reach::report::scale::shade_at(0.0)),
        hex(reach::report::scale::shade_at(1.0)),
    );
    for (segment, cell) in marked(&document, "data-segment") {
        let tier = cell.attr("data-vm-tier").unwrap().to_string();
        let c = cols(cell);
        let style = cell.attr("style").unwrap();
        let customers = c["customers"].0.clone();
        // The fullest cell (3 customers) is the darkest; one customer the lightest.
        let shade = if customers == "3" { &dark } else { &light };
        assert!(style.contains(&format!("background:{shade}")), "{style}");
        let title = cell.attr("title").unwrap();
        assert!(title.contains(&format!("{customers} customers")), "{title}");
        cells.insert(
            (segment, tier),
            (
                customers,
                c["monetary"].1.clone().unwrap(),
                c["influenced_revenue"].1.clone().unwrap(),
                c["monetary"].0.clone(),
            ),
        );
    }
    let expected: BTreeMap<(String, String), (String, String, String, String)> = [
        (
            "Champions",
            "super-connector",
            "1",
            "120.5",
            "40.25",
            "spend 120.50",
        ),
        (
            "Loyal Customers",
            "topical-influencer",
            "1",
            "80",
            "0.0",
            "spend 80.00",
        ),
        (
            "Loyal Customers",
            "standard",
            "3",
            "90",
            "0.0",
            "spend 90.00",
        ),
        ("Lost", "connector", "1", "30", "0.0", "spend 30.00"),
        ("Others", "standard", "1", "0.0001", "0.0", "spend 0.00"),
        ("No purchases", "standard", "1", "0", "12.5", "spend 0.00"),
    ]
    .into_iter()
    .map(|(s, t, n, m, i, shown)| {
        (
            (s.to_string(), t.to_string()),
            (
                n.to_string(),
                m.to_string(),
                i.to_string(),
                shown.to_string(),
            ),
        )
    })
    .collect();
    assert_eq!(cells, expected);
    let segment_totals: Vec<String> = marked(&document, "data-vm-segment")
        .into_iter()
        .map(|(_, r)| cols(r)["segment_total"].0.clone())
        .collect();
    assert_eq!(
        segment_totals,
        ["1", "0", "4", "0", "0", "0", "0", "0", "0", "1", "1", "1"]
    );
    assert_eq!(key("matrix_total").0, "8");

    // (b) Fans against the base: the table's rows, in its order, each lift
    // drawn on one scale (the largest lift, 3.0078, fills the bar) with the
    // base's line at 1.
    let groups = marked(&document, "data-group");
    let names: Vec<&str> = groups.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "all",
            "social",
            "not-social",
            "tier:super-connector",
            "tier:topical-influencer",
            "tier:connector",
            "tier:standard"
        ]
    );
    let max = 3.007799373541537;
    for ((name, row), (lift, mean)) in groups.iter().zip([
        (1.0, "40.06"),
        (1.4383770863098015, "57.63"),
        (0.5616229136901986, "22.50"),
        (max, "120.50"),
        (1.9968792521437593, "80.00"),
        (0.7488297195539098, "30.00"),
        (0.0, "0.00"),
    ]) {
        let c = cols(row);
        assert_eq!(c["lift"].0, format!("{lift:.3}"), "{name}");
        assert_eq!(c["mean_monetary"].0, mean, "{name}");
        assert!(near(width(row, "bar"), lift / max * BAR), "{name}");
        let line = &row.find_all("line")[0];
        let x: f64 = line.attr("x1").unwrap().parse().unwrap();
        assert!(near(x, BAR / max), "{name}: the base's line at {x}");
    }
    assert_eq!(key("social_lift").0, "1.438");

    // (c) The most valuable customers: total value descending, ties by
    // customer id in byte order ("C-002" < "D,quoted"; "E-1" < "E-2";
    // upper case before lower), own spend and influenced revenue stacked on
    // the scale of the first.
    let top = marked(&document, "data-customer");
    let order: Vec<&str> = top.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        order,
        ["C-001", "C-002", "D,quoted", "c-001", "C-006", "E-1", "E-2", "C-005"]
    );
    assert_eq!(key("top_shown").0, "8");
    let first = cols(top[0].1);
    assert_eq!(first["tier"].0, "super-connector");
    assert_eq!(first["rfm_segment"].0, "Champions");
    assert_eq!(first["monetary"], ("120.50".into(), Some("120.5".into())));
    assert_eq!(first["influenced_revenue"].1.as_deref(), Some("40.25"));
    assert_eq!(first["total_value"].0, "160.75");
    for ((id, row), (spend, influenced)) in top.iter().zip([
        (120.5, 40.25),
        (80.0, 0.0),
        (80.0, 0.0),
        (30.0, 0.0),
        (0.0, 12.5),
        (5.0, 0.0),
        (5.0, 0.0),
        (0.0001, 0.0),
    ]) {
        assert!(near(width(row, "monetary"), spend / 160.75 * BAR), "{id}");
        assert!(
            near(width(row, "influenced_revenue"), influenced / 160.75 * BAR),
            "{id}"
        );
    }
    let c006 = cols(top[4].1);
    assert_eq!(c006["rfm_segment"].0, "No purchases");
    assert_eq!(c006["accounts"].0, "1");
}

/// A deterministic stream of numbers (xorshift).
fn numbers(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[test]
fn the_most_valuable_are_the_first_25_of_the_whole_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    let mut next = numbers(0x5eed);
    let mut all: Vec<(f64, String)> = Vec::new();
    for part in 0..3 {
        let mut text = format!("{CUSTOMERS_HEADER}\n");
        let mut rows: Vec<(String, u64, u64)> = (0..70)
            .map(|i| {
                // Few distinct values, so that many totals tie.
                let spend = next() % 9 * 10;
                let influenced = next() % 3 * 5;
                (
                    format!("{}-{part}{i:02}", ["a", "B", "b"][i % 3]),
                    spend,
                    influenced,
                )
            })
            .collect();
        rows.sort();
        for (id, spend, influenced) in rows {
            let total = (spend + influenced) as f64;
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!(
                    "{id},1,1,false,0.0,0,standard,2026-01-01,1,{spend},3,3,3,Loyal Customers,\
                     {:?},{total:?}\n",
                    influenced as f64
                ),
            );
            all.push((total, id));
        }
        write(&out.join(format!("customers/part-{part:05}.csv")), &text);
    }
    all.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.as_bytes().cmp(b.1.as_bytes()))
    });
    let expected: Vec<String> = all.iter().take(25).map(|a| a.1.clone()).collect();
    let document = parse(&build(&out));
    let shown: Vec<String> = marked(&document, "data-customer")
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(shown, expected);
    let keys = keyed(&document);
    assert_eq!(keys["customers:top_shown"].0, "25");
}

#[test]
fn missing_and_empty_tables_are_said_so() {
    // Only `customers`, header only, and no summary object.
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    write(
        &out.join("customers/part-00000.csv"),
        &format!("{CUSTOMERS_HEADER}\n"),
    );
    let page = build(&out);
    let document = parse(&page);
    let keys = keyed(&document);
    for k in [
        "customers:missing:value_matrix",
        "customers:missing:benchmark",
        "customers:no_summary",
        "customers:top_empty",
    ] {
        assert!(keys.contains_key(k), "no {k}");
    }
    assert!(!keys.contains_key("customers:missing:customers"));
    assert!(!keys.contains_key("customers:match_rate"));
    assert_eq!(keys["customers:social"].0, "0");
    assert!(marked(&document, "data-customer").is_empty());

    // All three, header only: an empty grid and list, said so.
    for (table, header) in [
        (
            "value_matrix",
            "rfm_segment,tier,customers,monetary,influenced_revenue",
        ),
        (
            "benchmark",
            "group,customers,buyers,monetary,mean_monetary,mean_frequency,lift",
        ),
    ] {
        write(
            &out.join(format!("{table}/part-00000.csv")),
            &format!("{header}\n"),
        );
    }
    let document = parse(&build(&out));
    let keys = keyed(&document);
    for k in [
        "customers:matrix_empty",
        "customers:benchmark_empty",
        "customers:top_empty",
    ] {
        assert!(keys.contains_key(k), "no {k}");
    }
    assert!(!keys.keys().any(|k| k.starts_with("customers:missing")));
    assert!(marked(&document, "data-segment").is_empty());

    // A table with a bad cell names its file and line.
    write(
        &out.join("customers/part-00000.csv"),
        &format!("{CUSTOMERS_HEADER}\nx,1,0,false,0.0,0,standard,,0,0,,,,No purchases,0.0,-3\n"),
    );
    let err = reach::report::build(&out, 25).unwrap_err().to_string();
    assert!(
        err.contains("customers/part-00000.csv:2: total_value: expected a non-negative decimal"),
        "{err}"
    );
}

/// The page with the Customers section and its CSS cut out.
fn without_section(page: &str) -> String {
    let start = page
        .find("<h2 id=\"customers\">")
        .expect("a customers section");
    let end = start + page[start..].find("<h2 id=\"topics\">").unwrap();
    let page = format!("{}{}", &page[..start], &page[end..]);
    let css_start = page.find("table.matrix td.vm").unwrap();
    let css_end = css_start + page[css_start..].find("</style>").unwrap();
    format!("{}{}", &page[..css_start], &page[css_end..])
}

#[test]
fn without_customer_tables_the_page_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = hand_made(dir.path(), None);
    let before = build(&out);
    assert!(!before.contains("id=\"customers\""));
    assert!(!before.contains("table.matrix"));
    with_customers(&out);
    let with = build(&out);
    assert_ne!(with, before);
    // The section is the only change (summary.json's new object shows
    // nowhere else).
    assert_eq!(without_section(&with), before);
    // And it goes when its tables and summary object go.
    for table in ["customers", "value_matrix", "benchmark"] {
        std::fs::remove_dir_all(out.join(table)).unwrap();
    }
    let path = out.join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    summary.as_object_mut().unwrap().remove("customers");
    write(&path, &summary.to_string());
    assert_eq!(build(&out), before);
}
