//! The report page read back as a reader would: parsed as XML (it is
//! written as well-formed XHTML), its checkable numbers (`data-key`), the
//! facts every page must have (labelled axes, nothing to fetch), and a small
//! hand-made output directory to build pages from. Shared by the report
//! test files.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// An element or a text node of the parsed page.
#[derive(Debug, Default)]
pub struct Node {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    pub children: Vec<Node>,
    /// For `#text` nodes.
    pub text: String,
}

impl Node {
    pub fn element(start: &BytesStart) -> Node {
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
    pub fn text(&self) -> String {
        if self.name == "#text" {
            return self.text.clone();
        }
        self.children.iter().map(Node::text).collect()
    }

    /// Every element below (and including) this node, in document order.
    pub fn elements(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        if self.name != "#text" {
            out.push(self);
            for child in &self.children {
                out.extend(child.elements());
            }
        }
        out
    }

    pub fn find_all(&self, name: &str) -> Vec<&Node> {
        self.elements()
            .into_iter()
            .filter(|n| n.name == name)
            .collect()
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

/// Parses the page as XML (it is written as well-formed XHTML): any
/// unclosed or mismatched tag, bad attribute or unknown entity fails here.
pub fn parse(page: &str) -> Node {
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
pub fn keyed(document: &Node) -> BTreeMap<String, (String, Option<String>)> {
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
pub fn number(text: &str) -> u64 {
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not an integer: {text:?}"))
}

pub fn is_numeric(text: &str) -> bool {
    let t = text.trim().trim_end_matches('%');
    !t.is_empty() && t.parse::<f64>().is_ok()
}

/// Every chart labels both axes: the y label is a rotated text that is not a
/// number; the x label is the lowest text of the chart and not a number.
/// Both are repeated in the figure's caption.
pub fn assert_axes_labelled(document: &Node) -> usize {
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
pub fn assert_self_contained(page: &str) {
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

// ---------------------------------------------------------------- a hand-made output

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small output directory written by hand, optionally with a
/// `topic_significance` table.
pub fn hand_made(dir: &Path, significance: Option<&str>) -> PathBuf {
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

/// The header of the `customers` table (METRICS.md, "Customers").
pub const CUSTOMERS_HEADER: &str = "customer_id,accounts,friend_count,super_connector,influence,\
persuaded_total,tier,last_purchase,frequency,monetary,r_score,f_score,m_score,rfm_segment,\
influenced_revenue,total_value";

/// Adds the customers side to a [`hand_made`] output: the `customers`
/// table in two parts, `value_matrix`, `benchmark` and summary.json's
/// `customers` object, values picked by hand and consistent with each
/// other (8 customers, 4 of them with an account; the value matrix and
/// the benchmark are the sums of the customers rows).
pub fn with_customers(out: &Path) {
    let path = out.join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    summary["customers"] = serde_json::json!({
        "customers": 8, "accounts_with_customer": 4, "match_rate": 0.8,
        "customers_with_purchases": 7, "purchases": 11, "revenue": 320.5001
    });
    write(&path, &summary.to_string());
    write(
        &out.join("customers/part-00000.csv"),
        &format!(
            "{CUSTOMERS_HEADER}\n\
             C-001,1,3,true,1.5,2,super-connector,2026-11-20,3,120.5,5,5,5,Champions,40.25,160.75\n\
             C-002,1,2,false,0.5,1,topical-influencer,2026-11-01,2,80,4,4,4,Loyal Customers,0.0,80.0\n\
             C-005,0,0,false,0.0,0,standard,2026-11-25,2,0.0001,5,4,1,Others,0.0,0.0001\n\
             C-006,1,1,false,0.0,0,standard,,0,0,,,,No purchases,12.5,12.5\n"
        ),
    );
    write(
        &out.join("customers/part-00001.csv"),
        &format!(
            "{CUSTOMERS_HEADER}\n\
             \"D,quoted\",0,0,false,0.0,0,standard,2026-10-01,1,80,2,2,4,Loyal Customers,0.0,80.0\n\
             E-1,0,0,false,0.0,0,standard,2026-10-02,1,5,2,2,2,Loyal Customers,0.0,5.0\n\
             E-2,0,0,false,0.0,0,standard,2026-10-02,1,5,2,2,2,Loyal Customers,0.0,5.0\n\
             c-001,1,2,false,0.0,0,connector,2026-06-01,1,30,1,1,2,Lost,0.0,30.0\n"
        ),
    );
    write(
        &out.join("value_matrix/part-00000.csv"),
        "rfm_segment,tier,customers,monetary,influenced_revenue\n\
         Champions,super-connector,1,120.5,40.25\n\
         Loyal Customers,topical-influencer,1,80,0.0\n\
         Loyal Customers,standard,3,90,0.0\n\
         Lost,connector,1,30,0.0\n\
         Others,standard,1,0.0001,0.0\n\
         No purchases,standard,1,0,12.5\n",
    );
    write(
        &out.join("benchmark/part-00000.csv"),
        "group,customers,buyers,monetary,mean_monetary,mean_frequency,lift\n\
         all,8,7,320.5001,40.0625125,1.375,1.0\n\
         social,4,3,230.5,57.625,1.5,1.4383770863098015\n\
         not-social,4,4,90.0001,22.500025,1.25,0.5616229136901986\n\
         tier:super-connector,1,1,120.5,120.5,3.0,3.007799373541537\n\
         tier:topical-influencer,1,1,80,80.0,2.0,1.9968792521437593\n\
         tier:connector,1,1,30,30.0,1.0,0.7488297195539098\n\
         tier:standard,1,0,0,0.0,0.0,0.0\n",
    );
}
