//! The heat map's colour scale and legend, written as plain SVG groups
//! beside the plotting area (never on it): the legend in a band between the
//! title and the plot, the colour scale in a column to the right of it.
//!
//! They are plain SVG (not plotters elements) so that each is one group
//! with an id (`influence-legend`, `influence-scale`) that a reader, a test
//! or a browser can find. The shade of a cell is a function of
//! log(users) / log(densest), and the scale shows that same function, so a
//! colour on the plot reads off as a number of users on the scale.

use std::fmt::Write as _;

use plotters::style::RGBColor;

use super::format::escape;

/// Height of the legend band above the plot, in pixels.
pub const LEGEND_BAND: u32 = 46;
/// Width of the colour-scale column right of the plot, in pixels.
pub const SCALE_COLUMN: u32 = 96;
/// Steps the colour bar is drawn in.
const STEPS: usize = 40;
/// Width of the colour bar.
const BAR_WIDTH: i32 = 16;
/// Gap between the plot and the bar.
const BAR_GAP: i32 = 22;
/// The font size plotters writes for a 13 px label (13 / 1.24).
const FONT_SIZE: &str = "10.48";

/// A shade from light to dark blue for a position `t` in 0..=1 of the scale.
pub fn shade_at(t: f64) -> RGBColor {
    let t = 0.15 + 0.85 * t.clamp(0.0, 1.0);
    let mix = |light: u8, dark: u8| -> u8 {
        (f64::from(light) + (f64::from(dark) - f64::from(light)) * t).round() as u8
    };
    RGBColor(mix(0xea, 0x08), mix(0xf1, 0x30), mix(0xfb, 0x6b))
}

/// Where `users` sits on the scale: log(users) / log(densest), 1 when the
/// densest cell holds one user.
pub fn position(users: u64, densest: u64) -> f64 {
    if densest <= 1 {
        1.0
    } else {
        ((users.max(1) as f64).ln() / (densest as f64).ln()).clamp(0.0, 1.0)
    }
}

/// The shade of a cell holding `users` when the densest holds `densest`.
pub fn shade(users: u64, densest: u64) -> RGBColor {
    shade_at(position(users, densest))
}

fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

fn text(out: &mut String, x: i32, y: i32, anchor: &str, words: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{x}\" y=\"{y}\" dy=\"0.5ex\" text-anchor=\"{anchor}\" font-family=\"sans-serif\" \
         font-size=\"{FONT_SIZE}\" fill=\"#222222\">{}</text>",
        escape(words)
    );
}

/// The user counts labelled on the scale: 1, the powers of ten below the
/// densest cell, and the densest, each at least 14 px from the next.
pub fn ticks(densest: u64, bar_height: i32) -> Vec<u64> {
    let densest = densest.max(1);
    let mut ticks = vec![1];
    let mut power = 10;
    while power < densest {
        ticks.push(power);
        power = power.saturating_mul(10);
    }
    let px = |users: u64| (position(users, densest) * f64::from(bar_height)).round() as i32;
    if densest > 1 {
        while ticks.len() > 1 && px(densest) - px(*ticks.last().unwrap()) < 14 {
            ticks.pop();
        }
        ticks.push(densest);
    }
    ticks
}

/// The colour scale for the plotting area `(x, y)` (pixel ranges): a bar
/// from one user (bottom) to `densest` (top), with its ticks and a title.
pub fn colour_scale(plot: &(std::ops::Range<i32>, std::ops::Range<i32>), densest: u64) -> String {
    let (x, y) = plot;
    let left = x.end + BAR_GAP;
    let (top, bottom) = (y.start, y.end);
    let height = bottom - top;
    let mut out = format!("<g id=\"influence-scale\" data-densest=\"{densest}\">\n");
    text(&mut out, left + BAR_WIDTH / 2, top - 26, "middle", "users");
    text(
        &mut out,
        left + BAR_WIDTH / 2,
        top - 12,
        "middle",
        "in a cell",
    );
    for step in 0..STEPS {
        // Step 0 at the bottom; each step its own colour, at its middle.
        let lo = bottom - (height * step as i32) / STEPS as i32;
        let hi = bottom - (height * (step as i32 + 1)) / STEPS as i32;
        let t = if densest <= 1 {
            1.0
        } else {
            (step as f64 + 0.5) / STEPS as f64
        };
        let _ = writeln!(
            out,
            "<rect x=\"{left}\" y=\"{hi}\" width=\"{BAR_WIDTH}\" height=\"{}\" fill=\"{}\" stroke=\"none\"/>",
            lo - hi,
            hex(shade_at(t))
        );
    }
    let _ = writeln!(
        out,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{BAR_WIDTH}\" height=\"{height}\" fill=\"none\" stroke=\"#555555\"/>"
    );
    for users in ticks(densest, height) {
        let at = bottom - (position(users, densest) * f64::from(height)).round() as i32;
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{at}\" x2=\"{}\" y2=\"{at}\" stroke=\"#555555\"/>",
            left + BAR_WIDTH,
            left + BAR_WIDTH + 4
        );
        text(
            &mut out,
            left + BAR_WIDTH + 7,
            at,
            "start",
            &super::format::int(users),
        );
    }
    out.push_str("</g>\n");
    out
}

/// The legend, in the band above the plotting area: the cells' shade and
/// the line of means, one row each.
pub fn legend(
    plot: &(std::ops::Range<i32>, std::ops::Range<i32>),
    line: RGBColor,
    densest: u64,
) -> String {
    let (x, y) = plot;
    let left = x.start + 8;
    let first = y.start - LEGEND_BAND as i32 + 12;
    let second = first + 20;
    let mut out = String::from("<g id=\"influence-legend\">\n");
    let _ = writeln!(
        out,
        "<rect x=\"{left}\" y=\"{}\" width=\"20\" height=\"10\" fill=\"{}\" stroke=\"none\"/>",
        first - 5,
        hex(shade_at(0.6))
    );
    text(
        &mut out,
        left + 28,
        first,
        "start",
        &format!(
            "users with influence > 0 in a cell (darker: more, up to {}; scale at right)",
            super::format::int(densest)
        ),
    );
    let _ = writeln!(
        out,
        "<line x1=\"{left}\" y1=\"{second}\" x2=\"{}\" y2=\"{second}\" stroke=\"{}\" stroke-width=\"2\"/>",
        left + 20,
        hex(line)
    );
    let _ = writeln!(
        out,
        "<circle cx=\"{}\" cy=\"{second}\" r=\"3\" fill=\"{}\" stroke=\"none\"/>",
        left + 10,
        hex(line)
    );
    text(
        &mut out,
        left + 28,
        second,
        "start",
        "mean influence per friend-count bin (zeros included)",
    );
    out.push_str("</g>\n");
    out
}

/// Inserts `groups` before the closing tag of `svg`.
pub fn append(svg: &mut String, groups: &str) {
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    svg.insert_str(end, groups);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_reads_back_the_cells_shades() {
        // One user is the lightest shade, the densest cell the darkest.
        assert_eq!(shade(1, 1000), shade_at(0.0));
        assert_eq!(shade(1000, 1000), shade_at(1.0));
        // 10 of 1000 is a third of the way up on a log scale.
        assert!((position(10, 1000) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(position(1, 1), 1.0);
        // Darker (every channel lower) as users grow.
        let (a, b) = (shade_at(0.2), shade_at(0.8));
        assert!(a.0 > b.0 && a.1 > b.1 && a.2 > b.2);
    }

    #[test]
    fn ticks_are_powers_of_ten_and_the_densest_apart() {
        assert_eq!(ticks(1, 300), vec![1]);
        assert_eq!(ticks(2, 300), vec![1, 2]);
        assert_eq!(ticks(5000, 300), vec![1, 10, 100, 1000, 5000]);
        // 1000 is 5 px below 1200 on a 300 px bar: dropped.
        assert_eq!(ticks(1200, 300), vec![1, 10, 100, 1200]);
    }
}
