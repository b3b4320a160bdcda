//! The page's Customers section (see [`super::customers`]): the match rate
//! and counts, the value matrix as a heat-map table (RFM segment x tier,
//! shaded by customers, with the money of each cell beneath its count and
//! on hover), fans against the base (the benchmark's lift as bars beside a
//! line at the base's 1), and the most valuable customers with their own
//! spend and influenced revenue as a stacked bar.
//!
//! Plain HTML and inline SVG, no scripts. Numbers to check carry
//! `data-key` (prefixed `customers:`); matrix cells carry `data-segment`
//! and `data-vm-tier`, benchmark rows `data-group`, listed customers
//! `data-customer`, their cells `data-col`, and money cells `data-value`
//! with the amount exactly as the table writes it.

use std::fmt::Write as _;

use super::customers::{Customers, Money};
use super::data::Data;
use super::format::{decimal, escape, int, percent};
use super::scale;

/// Width of a bar's drawing area, in pixels.
const BAR: f64 = 220.0;
/// Own spend in the stacked bars.
const SPEND_COLOUR: &str = "#2B6CB0";
/// Influenced revenue in the stacked bars.
const INFLUENCE_COLOUR: &str = "#DD6B20";

/// The section's CSS, added to the page's only when the section is there
/// (so a page without customers keeps its bytes).
const STYLE: &str =
    "table.matrix td.vm { min-width: 7.5em; text-align: right; border: 1px solid #fff; }
table.matrix td.empty { background: #F7F7F7; }
table.matrix .count { display: block; font-weight: bold; font-size: 1.1em; }
table.matrix .money { display: block; font-size: 0.78em; }
.swatch { display: inline-block; padding: 0 0.4em; margin: 0 0.1em; border-radius: 2px; }
svg.bar { vertical-align: middle; }
";

/// The CSS the page adds for this section: empty without customers.
pub fn style(data: &Data) -> &'static str {
    if data.customers.is_some() {
        STYLE
    } else {
        ""
    }
}

/// Money as people read it: thousands separators and two decimals, half a
/// cent rounded up (`1,234.50`, `57.625` -> `57.63`); the tables keep the
/// exact amount.
pub fn money(x: f64) -> String {
    if !x.is_finite() {
        return decimal(x);
    }
    let cents = (x.abs() * 100.0).round() as u128;
    let sign = if x < 0.0 && cents > 0 { "-" } else { "" };
    let whole = int(u64::try_from(cents / 100).unwrap_or(u64::MAX));
    format!("{sign}{whole}.{:02}", cents % 100)
}

/// A money cell of a repeated row.
fn money_cell(name: &str, m: &Money) -> String {
    format!(
        "<td class=\"n\" data-col=\"{}\" data-value=\"{}\">{}</td>",
        escape(name),
        escape(&m.written),
        money(m.value)
    )
}

fn cell(name: &str, text: &str) -> String {
    format!(
        "<td class=\"n\" data-col=\"{}\">{}</td>",
        escape(name),
        escape(text)
    )
}

fn text_cell(name: &str, text: &str) -> String {
    format!("<td data-col=\"{}\">{}</td>", escape(name), escape(text))
}

fn hex(c: plotters::style::RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// An optional mean: three decimals, `–` when the table leaves it empty.
fn optional(x: Option<f64>) -> String {
    x.map_or("–".to_string(), decimal)
}

/// The section, when the output has a customers side.
pub fn section(h: &mut String, data: &Data) {
    let Some(c) = &data.customers else {
        return;
    };
    h.push_str("<h2 id=\"customers\">Customers</h2>\n");
    h.push_str(
        "<p>The customer database joined to the social graph: each customer's own spend \
         (RFM: recency, frequency, monetary), their tier from their accounts, and the \
         influenced revenue, the spend of friends they persuaded, split like credit. Total \
         value is own spend plus influenced revenue. Columns and a worked example: \
         <code>docs/crm.md</code>.</p>\n",
    );
    for table in super::customers::TABLES {
        let missing = match table {
            "customers" => c.totals.is_none(),
            "value_matrix" => c.matrix.is_none(),
            _ => c.benchmark.is_none(),
        };
        if missing {
            let _ = writeln!(
                h,
                "<p class=\"note\" data-key=\"customers:missing:{table}\">This output has no \
                 <code>{table}</code> table: its part of this section is left out.</p>"
            );
        }
    }
    counts(h, c, data);
    if let Some(m) = &c.matrix {
        matrix(h, m);
    }
    if let Some(groups) = &c.benchmark {
        benchmark(h, groups);
    }
    if c.totals.is_some() {
        top(h, c, data);
    }
}

/// (d): the match rate and the customer counts.
fn counts(h: &mut String, c: &Customers, data: &Data) {
    h.push_str("<table>\n");
    let row = |h: &mut String, label: &str, key: &str, text: String, value: Option<String>| {
        let value = value.map_or(String::new(), |v| format!(" data-value=\"{}\"", escape(&v)));
        let _ = writeln!(
            h,
            "<tr><th>{}</th><td class=\"n\" data-key=\"customers:{key}\"{value}>{}</td></tr>",
            escape(label),
            escape(&text)
        );
    };
    if let Some(s) = &c.summary {
        let count = |name: &str| s.get(name).and_then(|v| v.as_u64());
        for (label, key) in [
            ("customers", "customers"),
            (
                "social accounts matched to a customer",
                "accounts_with_customer",
            ),
        ] {
            if let Some(n) = count(key) {
                row(h, label, key, int(n), None);
            }
        }
        if let Some(rate) = s.get("match_rate").and_then(|v| v.as_f64()) {
            row(
                h,
                &format!(
                    "match rate (accounts with a customer / {} users)",
                    int(data.users)
                ),
                "match_rate",
                percent(rate),
                Some(s["match_rate"].to_string()),
            );
        }
        for (label, key) in [
            ("customers with a purchase", "customers_with_purchases"),
            ("purchases", "purchases"),
        ] {
            if let Some(n) = count(key) {
                row(h, label, key, int(n), None);
            }
        }
        if let Some(revenue) = s.get("revenue").and_then(|v| v.as_f64()) {
            row(
                h,
                "revenue (all purchases)",
                "revenue",
                money(revenue),
                Some(s["revenue"].to_string()),
            );
        }
    }
    if let Some(t) = &c.totals {
        row(
            h,
            "social customers (with an account)",
            "social",
            int(t.social),
            None,
        );
        row(
            h,
            "customers without an account",
            "not_social",
            int(t.customers - t.social),
            None,
        );
        if t.monetary > 0.0 {
            row(
                h,
                "influenced revenue, as a share of own spend",
                "influence_share",
                percent(t.influenced_revenue / t.monetary),
                Some(format!("{:?}", t.influenced_revenue / t.monetary)),
            );
        }
    }
    h.push_str("</table>\n");
    if c.summary.is_none() {
        h.push_str(
            "<p class=\"note\" data-key=\"customers:no_summary\">summary.json has no \
             <code>customers</code> object, so the match rate is not known.</p>\n",
        );
    }
}

/// The shade and the text colour of a matrix cell holding `n` customers.
fn cell_colours(n: u64, densest: u64) -> (String, &'static str) {
    let t = scale::position(n, densest);
    let text = if t > 0.55 { "#FFFFFF" } else { "#222222" };
    (hex(scale::shade(n, densest)), text)
}

/// (a): the value matrix as a heat-map table.
fn matrix(h: &mut String, m: &super::customers::Matrix) {
    h.push_str("<h3 id=\"value-matrix\">Value matrix: RFM segment × tier</h3>\n");
    if m.cells.is_empty() {
        h.push_str(
            "<p data-key=\"customers:matrix_empty\">The <code>value_matrix</code> table has no \
             rows: no customers.</p>\n",
        );
        return;
    }
    let densest = m.densest();
    let mut legend = String::new();
    let mut steps = vec![1];
    let mut power = 10;
    while power < densest {
        steps.push(power);
        power = power.saturating_mul(10);
    }
    if densest > 1 {
        steps.push(densest);
    }
    for n in steps {
        let (bg, fg) = cell_colours(n, densest);
        let _ = write!(
            legend,
            " <span class=\"swatch\" style=\"background:{bg};color:{fg}\">{}</span>",
            int(n)
        );
    }
    let _ = writeln!(
        h,
        "<p>Customers per RFM segment (rows, best first) and tier (columns): darker means more \
         customers (the same scale as the influence heat map:{legend}). Beneath each count, \
         their own spend and the influenced revenue they caused (hover a cell for the \
         exact amounts). Empty cells hold no customer.</p>"
    );
    h.push_str("<table class=\"matrix\">\n<tr><th>segment \\ tier</th>");
    for tier in &m.tiers {
        let _ = write!(h, "<th>{}</th>", escape(tier));
    }
    h.push_str("<th>all tiers</th></tr>\n");
    let mut tier_totals = vec![0u64; m.tiers.len()];
    for segment in &m.segments {
        let _ = write!(
            h,
            "<tr data-vm-segment=\"{0}\"><th>{0}</th>",
            escape(segment)
        );
        let mut row_total = 0;
        for (i, tier) in m.tiers.iter().enumerate() {
            let Some(cell) = m.cells.get(&(segment.clone(), tier.clone())) else {
                h.push_str("<td class=\"vm empty\"></td>");
                continue;
            };
            row_total += cell.customers;
            tier_totals[i] += cell.customers;
            let (bg, fg) = cell_colours(cell.customers, densest);
            let title = format!(
                "{segment} × {tier}: {} customers; own spend {}; influenced revenue {}",
                int(cell.customers),
                cell.monetary.written,
                cell.influenced_revenue.written
            );
            let _ = write!(
                h,
                "<td class=\"vm\" data-segment=\"{}\" data-vm-tier=\"{}\" style=\"background:{bg};\
                 color:{fg}\" title=\"{}\"><span class=\"count\" data-col=\"customers\">{}</span>\
                 <span class=\"money\" data-col=\"monetary\" data-value=\"{}\">spend {}</span>\
                 <span class=\"money\" data-col=\"influenced_revenue\" data-value=\"{}\">\
                 influenced {}</span></td>",
                escape(segment),
                escape(tier),
                escape(&title),
                int(cell.customers),
                escape(&cell.monetary.written),
                money(cell.monetary.value),
                escape(&cell.influenced_revenue.written),
                money(cell.influenced_revenue.value),
            );
        }
        let _ = writeln!(
            h,
            "<td class=\"n\" data-col=\"segment_total\">{}</td></tr>",
            int(row_total)
        );
    }
    h.push_str("<tr><th>all segments</th>");
    for total in &tier_totals {
        let _ = write!(
            h,
            "<td class=\"n\" data-col=\"tier_total\">{}</td>",
            int(*total)
        );
    }
    let _ = writeln!(
        h,
        "<td class=\"n\" data-key=\"customers:matrix_total\">{}</td></tr>\n</table>",
        int(tier_totals.iter().sum())
    );
}

/// A horizontal bar of `value` on a scale whose right end is `max`, with a
/// line at `mark` (the base's 1) when given.
fn bar(value: f64, max: f64, fill: &str, mark: Option<f64>) -> String {
    let width = if max > 0.0 { value / max * BAR } else { 0.0 };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bar\" width=\"{w}\" height=\"16\" \
         viewBox=\"0 0 {w} 16\"><rect data-part=\"bar\" x=\"0\" y=\"2\" width=\"{width:.1}\" \
         height=\"12\" fill=\"{fill}\"/>",
        w = BAR + 4.0
    );
    if let Some(mark) = mark.filter(|_| max > 0.0) {
        let x = mark / max * BAR;
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"16\" stroke=\"#222222\" \
             stroke-width=\"1.5\" stroke-dasharray=\"3,2\"/>"
        );
    }
    svg.push_str("</svg>");
    svg
}

/// What a benchmark group is, in words.
fn group_label(group: &str) -> String {
    match group {
        "all" => "all customers (the base)".to_string(),
        "social" => "social: with an account (fans)".to_string(),
        "not-social" => "not social: no account".to_string(),
        other => match other.strip_prefix("tier:") {
            Some(tier) => format!("social, tier {tier}"),
            None => other.to_string(),
        },
    }
}

/// (b): fans against the base.
fn benchmark(h: &mut String, groups: &[super::customers::Group]) {
    h.push_str("<h3 id=\"fans-vs-base\">Fans against the base</h3>\n");
    if groups.is_empty() {
        h.push_str(
            "<p data-key=\"customers:benchmark_empty\">The <code>benchmark</code> table has \
             no rows.</p>\n",
        );
        return;
    }
    let lift_of = |name: &str| groups.iter().find(|g| g.group == name).and_then(|g| g.lift);
    let headline = match (lift_of("social"), lift_of("not-social")) {
        (Some(s), Some(n)) => format!(
            "Social customers spend on average <span data-key=\"customers:social_lift\">{}</span> \
             times what the average customer spends; customers without an account {} times.",
            decimal(s),
            decimal(n)
        ),
        (Some(s), None) => format!(
            "Social customers spend on average <span data-key=\"customers:social_lift\">{}</span> \
             times what the average customer spends.",
            decimal(s)
        ),
        _ => "The lift is not defined (no group has customers, or nobody spent).".to_string(),
    };
    let _ = writeln!(
        h,
        "<p>{headline} Lift is a group's mean spend per customer over the base's: the dashed \
         line is the base (1); a bar past it spends more per head.</p>"
    );
    let max = groups.iter().filter_map(|g| g.lift).fold(1.0f64, f64::max);
    h.push_str(
        "<table>\n<tr><th>group</th><th>customers</th><th>buyers</th><th>mean spend</th>\
         <th>mean purchases</th><th>lift</th><th>lift against the base (dashed)</th></tr>\n",
    );
    for g in groups {
        let fill = match g.group.as_str() {
            "all" => "#718096",
            "not-social" => "#A0AEC0",
            _ => SPEND_COLOUR,
        };
        let drawn = g
            .lift
            .map_or("–".to_string(), |lift| bar(lift, max, fill, Some(1.0)));
        let _ = writeln!(
            h,
            "<tr data-group=\"{}\"><td>{}</td>{}{}{}{}{}<td>{drawn}</td></tr>",
            escape(&g.group),
            escape(&group_label(&g.group)),
            cell("customers", &int(g.customers)),
            cell("buyers", &int(g.buyers)),
            cell(
                "mean_monetary",
                &g.mean_monetary.map_or("–".to_string(), money)
            ),
            cell("mean_frequency", &optional(g.mean_frequency)),
            cell("lift", &optional(g.lift)),
        );
    }
    h.push_str("</table>\n");
}

/// The DuckDB query that lists every customer in the page's order.
pub fn top_query(data: &Data) -> String {
    let reader = if data.format == "parquet" {
        "read_parquet('OUT/customers/*.parquet')"
    } else {
        "read_csv('OUT/customers/*.csv')"
    };
    format!("SELECT * FROM {reader}\nORDER BY total_value DESC, customer_id;")
}

/// A stacked bar: own spend, then influenced revenue, on a scale to `max`.
fn stacked(spend: f64, influenced: f64, max: f64) -> String {
    let px = |x: f64| if max > 0.0 { x / max * BAR } else { 0.0 };
    let (a, b) = (px(spend), px(influenced));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bar\" width=\"{w}\" height=\"16\" \
         viewBox=\"0 0 {w} 16\"><rect data-part=\"monetary\" x=\"0\" y=\"2\" width=\"{a:.1}\" \
         height=\"12\" fill=\"{SPEND_COLOUR}\"/><rect data-part=\"influenced_revenue\" \
         x=\"{a:.1}\" y=\"2\" width=\"{b:.1}\" height=\"12\" fill=\"{INFLUENCE_COLOUR}\"/></svg>",
        w = BAR + 4.0
    )
}

/// (c): the most valuable customers.
fn top(h: &mut String, c: &Customers, data: &Data) {
    let total = c.totals.as_ref().map_or(0, |t| t.customers);
    h.push_str("<h3 id=\"top-customers\">Most valuable customers</h3>\n");
    if c.top.is_empty() {
        h.push_str(
            "<p data-key=\"customers:top_empty\">The <code>customers</code> table has no \
             rows.</p>\n",
        );
        return;
    }
    let _ = writeln!(
        h,
        "<p>The first <span data-key=\"customers:top_shown\">{}</span> of {} customers by total \
         value (largest first, then customer id), and what made them valuable: \
         <span style=\"color:{SPEND_COLOUR}\">■</span> own spend and \
         <span style=\"color:{INFLUENCE_COLOUR}\">■</span> influenced revenue, on one scale. \
         Every customer in this order, in DuckDB (OUT is this output):</p>\n\
         <pre id=\"top-customers-query\">{}</pre>",
        c.top.len(),
        int(total),
        escape(&top_query(data))
    );
    h.push_str(
        "<table>\n<tr><th>#</th><th>customer</th><th>tier</th><th>segment</th>\
         <th>accounts</th><th>own spend</th><th>influenced revenue</th><th>total value</th>\
         <th>own spend + influenced</th></tr>\n",
    );
    let max = c.top[0].total_value.value;
    for (i, r) in c.top.iter().enumerate() {
        let _ = writeln!(
            h,
            "<tr data-customer=\"{}\"><td class=\"n\">{}</td>{}{}{}{}{}{}{}<td>{}</td></tr>",
            escape(&r.customer_id),
            i + 1,
            text_cell("customer_id", &r.customer_id),
            text_cell("tier", &r.tier),
            text_cell("rfm_segment", &r.rfm_segment),
            cell("accounts", &int(r.accounts)),
            money_cell("monetary", &r.monetary),
            money_cell("influenced_revenue", &r.influenced_revenue),
            money_cell("total_value", &r.total_value),
            stacked(r.monetary.value, r.influenced_revenue.value, max)
        );
    }
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_separators_and_two_decimals() {
        assert_eq!(money(0.0), "0.00");
        assert_eq!(money(0.0001), "0.00");
        assert_eq!(money(12.5), "12.50");
        assert_eq!(money(1234567.891), "1,234,567.89");
        assert_eq!(money(999.999), "1,000.00");
        assert_eq!(money(57.625), "57.63");
        assert_eq!(money(-2.5), "-2.50");
        assert_eq!(money(f64::NAN), "–");
    }

    #[test]
    fn stacked_bars_share_one_scale() {
        // 30 + 10 of a 40 maximum: 165 and 55 of 220 pixels.
        let svg = stacked(30.0, 10.0, 40.0);
        assert!(
            svg.contains("data-part=\"monetary\" x=\"0\" y=\"2\" width=\"165.0\""),
            "{svg}"
        );
        assert!(svg.contains("x=\"165.0\" y=\"2\" width=\"55.0\""), "{svg}");
        assert!(stacked(0.0, 0.0, 0.0).contains("width=\"0.0\""));
    }
}
