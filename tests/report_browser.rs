//! `reach report` as a person sees it: the page rendered by headless
//! Chromium, and facts read back from the rendered DOM (boxes laid out by
//! the browser, not the bytes we wrote): two charts drawn at a readable
//! size, each axis label rendered (the y label turned on its side), the
//! heat map's colour scale and legend present and outside the box of all
//! its cells and points, and the CRM sections' rows; and, on a hand-made
//! output with customer tables, the value matrix's cells shaded (the
//! fullest darkest, its text light), their money laid out beneath the
//! count, the matrix within the window, and the stacked bars of the most
//! valuable customers side by side in proportion.
//!
//! Runs where `/usr/bin/chromium` exists (or `REACH_CHROMIUM` names a
//! browser); elsewhere it prints why it skipped and passes. It never
//! installs anything.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod page;

/// Gathers the facts in the browser, after layout, into `<pre id="facts">`.
/// Injected into a copy of the page only (the report has no scripts).
const PROBE: &str = r#"<script>
(function () {
  var facts = {};
  var box = function (e) { var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  var meets = function (a, b) { return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]; };
  var figures = Array.prototype.slice.call(document.querySelectorAll('figure.chart'));
  facts.charts = figures.map(function (f) {
    var svg = f.querySelector('svg');
    var size = box(svg);
    var caption = f.querySelector('figcaption').textContent.replace(/\s+/g, ' ');
    var m = caption.match(/x axis: (.*); y axis: (.*)\.$/);
    var texts = Array.prototype.slice.call(svg.querySelectorAll('text'));
    var rendered = function (label) {
      var t = texts.filter(function (t) { return t.textContent.trim() === label; })[0];
      if (!t) { return null; }
      var b = box(t);
      return [b[2] - b[0], b[3] - b[1]];
    };
    return { width: size[2] - size[0], height: size[3] - size[1],
             x: m ? m[1] : null, y: m ? m[2] : null,
             x_box: m ? rendered(m[1]) : null, y_box: m ? rendered(m[2]) : null };
  });
  var svg = document.querySelector('#fig-influence svg');
  var plotted = Array.prototype.slice.call(svg.children).filter(function (e) {
    return (e.tagName === 'rect' && e.getAttribute('fill') !== '#FFFFFF') || e.tagName === 'circle';
  }).map(box);
  facts.plotted = plotted.length;
  var hull = plotted.reduce(function (h, p) {
    return [Math.min(h[0], p[0]), Math.min(h[1], p[1]), Math.max(h[2], p[2]), Math.max(h[3], p[3])];
  }, [Infinity, Infinity, -Infinity, -Infinity]);
  ['influence-scale', 'influence-legend'].forEach(function (id) {
    var g = document.getElementById(id);
    if (!g) { facts[id] = null; return; }
    var b = box(g);
    facts[id] = { width: b[2] - b[0], height: b[3] - b[1],
                  overlaps: plotted.filter(function (p) { return meets(p, b); }).length,
                  meets_plot: meets(hull, b),
                  steps: g.querySelectorAll('rect').length,
                  labels: Array.prototype.slice.call(g.querySelectorAll('text')).map(function (t) { return t.textContent.trim(); }) };
  });
  facts.users_to_act_on = document.querySelectorAll('tr[data-user]').length;
  facts.last_night = document.getElementById('last-night') ? document.getElementById('last-night').textContent : null;
  var pre = document.createElement('pre');
  pre.id = 'facts';
  pre.textContent = JSON.stringify(facts);
  document.body.appendChild(pre);
})();
</script>
"#;

/// Gathers the Customers section's facts after layout, like [`PROBE`].
const CUSTOMERS_PROBE: &str = r#"<script>
(function () {
  var box = function (e) { var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  var all = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var facts = {};
  facts.cells = all('td[data-segment]').map(function (c) {
    var count = box(c.querySelector('[data-col=customers]'));
    var money = all('.money', c).map(box);
    return { segment: c.getAttribute('data-segment'), tier: c.getAttribute('data-vm-tier'),
             bg: getComputedStyle(c).backgroundColor, fg: getComputedStyle(c).color,
             count: count, money: money };
  });
  facts.matrix = box(document.querySelector('table.matrix'));
  facts.window = window.innerWidth;
  facts.bars = all('tr[data-customer]').map(function (r) {
    var m = box(r.querySelector('rect[data-part=monetary]'));
    var i = box(r.querySelector('rect[data-part=influenced_revenue]'));
    return { id: r.getAttribute('data-customer'), m: m[2] - m[0], i: i[2] - i[0], m_right: m[2], i_left: i[0],
             m_top: m[1], i_top: i[1] };
  });
  facts.lifts = all('tr[data-group]').map(function (r) {
    var b = r.querySelector('rect[data-part=bar]');
    return [r.getAttribute('data-group'), b ? box(b)[2] - box(b)[0] : null];
  });
  var pre = document.createElement('pre');
  pre.id = 'facts';
  pre.textContent = JSON.stringify(facts);
  document.body.appendChild(pre);
})();
</script>
"#;

/// The browser, or None after saying on stderr why `test` is skipped.
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    match chromium() {
        Ok(browser) => Some(browser),
        Err(missing) => {
            // Straight to stderr: the test harness captures print macros, not this.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP {test}: no browser at {} (Debian package `chromium`, \
                 or REACH_CHROMIUM=PATH); the rendered DOM was not checked",
                missing.display()
            );
            None
        }
    }
}

/// The browser to use, or the path that was looked for.
fn chromium() -> Result<PathBuf, PathBuf> {
    let path =
        PathBuf::from(std::env::var_os("REACH_CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    if path.exists() {
        Ok(path)
    } else {
        Err(path)
    }
}

/// Runs `command`, killing it after `limit`; returns its stdout. Output
/// goes to files in `scratch` (a pipe nobody reads would fill and stall it).
fn output_within(mut command: Command, limit: Duration, scratch: &Path) -> String {
    let (out, err) = (scratch.join("stdout"), scratch.join("stderr"));
    let mut child = command
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    std::fs::read_to_string(&out).unwrap()
}

/// The rendered facts of the report of `output`.
fn rendered_facts(
    browser: &Path,
    output: &Path,
    scratch: &Path,
    probe_script: &str,
) -> serde_json::Value {
    let page = reach::report::build(output, 25).unwrap();
    let probe = scratch.join("probe.html");
    std::fs::write(
        &probe,
        page.replace("</body>", &format!("{probe_script}</body>")),
    )
    .unwrap();
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1000,2000",
        "--dump-dom",
        &format!("file://{}", probe.display()),
    ]);
    let dom = output_within(command, Duration::from_secs(120), scratch);
    let start = dom.find("<pre id=\"facts\">").expect("the probe ran") + 16;
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[test]
fn renders_in_headless_chromium() {
    let Some(browser) = browser_or_skip("renders_in_headless_chromium") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let reach = env!("CARGO_BIN_EXE_reach");
    let status = Command::new(reach)
        .args([
            "generate", "-q", "--users", "1500", "--nights", "1", "--out",
        ])
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    let output = dir.path().join("out");
    let status = Command::new(reach)
        .args(["run", "-q", "-w", "2", "--friendships"])
        .arg(data.join("friendships.csv"))
        .arg("--adoptions")
        .arg(data.join("adoptions.csv"))
        .arg("--deltas")
        .arg(data.join("nights"))
        .arg("--output")
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());

    let facts = rendered_facts(&browser, &output, dir.path(), PROBE);
    let charts = facts["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 2, "{facts}");
    for chart in charts {
        // Drawn at a readable size in a 1000 px window.
        assert!(chart["width"].as_f64().unwrap() > 500.0, "{chart}");
        assert!(chart["height"].as_f64().unwrap() > 300.0, "{chart}");
        // The caption's axis labels are rendered in the chart, the y label
        // on its side (taller than wide), the x label along the axis.
        let (x, y) = (&chart["x_box"], &chart["y_box"]);
        assert!(
            x.is_array() && y.is_array(),
            "axis labels not drawn: {chart}"
        );
        assert!(x[0].as_f64().unwrap() > x[1].as_f64().unwrap(), "{chart}");
        assert!(y[1].as_f64().unwrap() > y[0].as_f64().unwrap(), "{chart}");
    }
    assert!(facts["plotted"].as_u64().unwrap() > 5, "{facts}");
    for id in ["influence-scale", "influence-legend"] {
        let part = &facts[id];
        assert!(part.is_object(), "no {id}: {facts}");
        assert!(part["width"].as_f64().unwrap() > 10.0, "{id}: {part}");
        assert!(part["height"].as_f64().unwrap() > 10.0, "{id}: {part}");
        assert_eq!(part["overlaps"], 0, "{id} covers the plot: {part}");
        // Nor inside the box of everything plotted.
        assert_eq!(part["meets_plot"], false, "{id} is on the plot: {part}");
    }
    let scale = &facts["influence-scale"];
    assert!(scale["steps"].as_u64().unwrap() >= 10, "{scale}");
    let labels = scale["labels"].as_array().unwrap();
    assert_eq!(labels[0], "users");
    assert_eq!(labels[2], "1", "the scale starts at one user: {scale}");
    assert_eq!(facts["users_to_act_on"], 25);
    let night = facts["last_night"].as_str().unwrap();
    assert!(
        night.starts_with("What changed last night: 2026-"),
        "{night}"
    );
}

/// `rgb(r, g, b)` -> relative luminance in 0..=1 (sRGB weights, no gamma:
/// enough to order shades).
fn luminance(css: &serde_json::Value) -> f64 {
    let text = css.as_str().unwrap();
    let v: Vec<f64> = text
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    (0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]) / 255.0
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn customers_section_renders_in_headless_chromium() {
    let Some(browser) = browser_or_skip("customers_section_renders_in_headless_chromium") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = page::hand_made(dir.path(), None);
    page::with_customers(&output);
    let facts = rendered_facts(&browser, &output, dir.path(), CUSTOMERS_PROBE);

    // The matrix: six cells; the fullest (Loyal Customers x standard, 3
    // customers) darker than every other, with light text on it; the
    // money of each cell beneath its count; the table inside the window.
    let cells = facts["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6, "{facts}");
    let fullest = cells
        .iter()
        .find(|c| c["segment"] == "Loyal Customers" && c["tier"] == "standard")
        .unwrap();
    for c in cells {
        if c != fullest {
            assert!(
                luminance(&c["bg"]) > luminance(&fullest["bg"]) + 0.3,
                "{c} {fullest}"
            );
            assert!(luminance(&c["fg"]) < 0.3, "dark text on a light cell: {c}");
        }
        let money = c["money"].as_array().unwrap();
        assert_eq!(money.len(), 2, "{c}");
        assert!(
            f(&money[0][1]) >= f(&c["count"][3]) - 0.5,
            "spend under the count: {c}"
        );
        assert!(
            f(&money[1][1]) >= f(&money[0][3]) - 0.5,
            "influenced under spend: {c}"
        );
    }
    assert!(
        luminance(&fullest["fg"]) > 0.9,
        "light text on the darkest cell: {fullest}"
    );
    assert!(f(&facts["matrix"][2]) <= f(&facts["window"]), "{facts}");

    // The stacked bars: side by side on one line, in proportion to the
    // amounts (C-001: 120.5 own, 40.25 influenced; C-006 only influenced).
    let bars = facts["bars"].as_array().unwrap();
    let bar = |id: &str| bars.iter().find(|b| b["id"] == id).unwrap().clone();
    let first = bar("C-001");
    assert!(
        (f(&first["m"]) / f(&first["i"]) - 120.5 / 40.25).abs() < 0.05,
        "{first}"
    );
    assert!(
        (f(&first["m_right"]) - f(&first["i_left"])).abs() < 0.5,
        "{first}"
    );
    assert!(
        (f(&first["m_top"]) - f(&first["i_top"])).abs() < 0.5,
        "{first}"
    );
    let c006 = bar("C-006");
    assert!(f(&c006["m"]) < 0.5 && f(&c006["i"]) > 5.0, "{c006}");
    assert!(
        (f(&c006["i"]) / f(&first["m"]) - 12.5 / 120.5).abs() < 0.02,
        "{c006}"
    );

    // The lift bars: in proportion to the lifts (all = 1, social 1.438).
    let lifts = facts["lifts"].as_array().unwrap();
    let (all, social) = (f(&lifts[0][1]), f(&lifts[1][1]));
    assert_eq!(lifts[0][0], "all");
    assert!((social / all - 1.4383770863098015).abs() < 0.02, "{facts}");
}
