//! The figures, drawn with `plotters`' SVG backend into strings.
//!
//! Without the `ttf` feature plotters measures text with a fixed estimate
//! (no system fonts are read), so the same data gives the same SVG bytes on
//! every machine. Every chart labels both axes.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{
    Data, Grid, STUDY_CONNECTOR_MIN, STUDY_SHARE_CONNECTORS, STUDY_SHARE_SUPER, STUDY_SUPER_MIN,
};
use super::scale;
use crate::error::{Error, Result};

/// Width and height of every figure, in SVG user units (pixels).
const SIZE: (u32, u32) = (720, 460);
const FONT: &str = "sans-serif";
const BLUE: RGBColor = RGBColor(0x1f, 0x5a, 0x96);
const ORANGE: RGBColor = RGBColor(0xd9, 0x5f, 0x02);
const GREY: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Axis labels of the degree figure.
pub const DEGREE_AXES: (&str, &str) = (
    "friend count d (log scale)",
    "share of users with at least d friends (log scale)",
);
/// Axis labels of the influence figure.
pub const INFLUENCE_AXES: (&str, &str) = (
    "friend count (log scale)",
    "influence: summed credit over topics (log scale)",
);

fn failed<E: std::fmt::Debug>(figure: &str) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Runtime(format!("drawing the {figure} figure: {e:?}"))
}

/// A tick label for a log axis: plain integers at and above 1, up to three
/// significant digits below, no trailing zeros.
pub fn tick(value: f64) -> String {
    if value >= 1.0 {
        let rounded = value.round();
        if (value - rounded).abs() < 1e-6 * value {
            return format!("{rounded:.0}");
        }
    }
    let digits = (2 - value.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A share as a percentage for tick labels.
fn percent_tick(share: f64) -> String {
    format!("{}%", tick(share * 100.0))
}

/// The log-log CCDF of friend counts with the study's reference points.
pub fn degree_ccdf(data: &Data) -> Result<String> {
    let err = failed("degree distribution");
    let total = data.users_with_friends;
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut at_least = total;
    for &(d, users) in &data.degrees {
        if d >= 1 && at_least > 0 {
            points.push((d as f64, at_least as f64 / total as f64));
        }
        at_least -= users;
    }
    let max_d = data.degrees.last().map_or(1, |d| d.0).max(1) as f64;
    let x_max = (max_d * 2.0).max(f64::from(STUDY_SUPER_MIN) * 2.0);
    let y_min = if total > 0 {
        (0.5 / total as f64).min(STUDY_SHARE_SUPER / 2.0)
    } else {
        STUDY_SHARE_SUPER / 2.0
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let mut chart =
            chart(&root, "Who has how many friends", (1.0..x_max, y_min..1.5)).map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc(DEGREE_AXES.0)
            .y_desc(DEGREE_AXES.1)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| percent_tick(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE)
            .draw()
            .map_err(&err)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                BLUE.stroke_width(2),
            ))
            .map_err(&err)?
            .label("this graph: share with at least d friends")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        let ours: Vec<(f64, f64)> = [
            (STUDY_CONNECTOR_MIN, data.share_over_100()),
            (STUDY_SUPER_MIN, data.share_at_least_1000()),
        ]
        .into_iter()
        .filter(|&(_, share)| share > 0.0)
        .map(|(d, share)| (f64::from(d), share))
        .collect();
        chart
            .draw_series(
                ours.iter()
                    .map(|&p| Circle::new(p, 6, BLUE.filled()).into_dyn()),
            )
            .map_err(&err)?
            .label("this graph at >100 and at 1000+ friends")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, BLUE.filled()));
        let study = [
            (f64::from(STUDY_CONNECTOR_MIN), STUDY_SHARE_CONNECTORS),
            (f64::from(STUDY_SUPER_MIN), STUDY_SHARE_SUPER),
        ];
        chart
            .draw_series(
                study
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 8, ORANGE.filled())),
            )
            .map_err(&err)?
            .label("study: ~20% have >100 friends, <1% have 1000+")
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, ORANGE.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font((FONT, 13))
            .border_style(GREY)
            .background_style(WHITE)
            .draw()
            .map_err(&err)?;
        root.present().map_err(&err)?;
    }
    Ok(svg)
}

/// Friend count against influence: a grid of log bins shaded by how many
/// users fall in each, with the mean influence per friend-count bin.
pub fn influence_grid(data: &Data) -> Result<String> {
    let err = failed("influence");
    let grid = &data.grid;
    let (x_lo, x_hi) = match (grid.columns.keys().next(), grid.columns.keys().last()) {
        (Some(&lo), Some(&hi)) => (lo, hi + 1),
        _ => (0, 1),
    };
    let (y_lo, y_hi) = match (
        grid.cells.keys().map(|k| k.1).min(),
        grid.cells.keys().map(|k| k.1).max(),
    ) {
        (Some(lo), Some(hi)) => (lo, hi + 1),
        _ => (0, 1),
    };
    let means: Vec<(f64, f64)> = grid
        .columns
        .iter()
        .filter(|(_, c)| c.2 > 0.0)
        .map(|(&x, c)| {
            let centre = (Grid::edge(x) * Grid::edge(x + 1)).sqrt();
            (centre, c.2 / c.0 as f64)
        })
        .collect();
    let mean_lo = means.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let mean_hi = means.iter().map(|m| m.1).fold(0.0, f64::max);
    let y_min = Grid::edge(y_lo).min(mean_lo / 1.5);
    let y_max = Grid::edge(y_hi).max(mean_hi * 1.5);
    let densest = grid.cells.values().copied().max().unwrap_or(1).max(1);
    let mut svg = String::new();
    let plot;
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let x_range = Grid::edge(x_lo).min(1.0)..Grid::edge(x_hi);
        // The legend and the colour scale go beside the plot, not on it.
        let below_title = root
            .titled("Are the super-connectors also the persuaders?", (FONT, 18))
            .map_err(&err)?;
        let mut chart = ChartBuilder::on(&below_title)
            .margin(12)
            .margin_top(scale::LEGEND_BAND)
            .margin_right(scale::SCALE_COLUMN)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x_range.log_scale(), (y_min..y_max).log_scale())
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc(INFLUENCE_AXES.0)
            .y_desc(INFLUENCE_AXES.1)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE)
            .draw()
            .map_err(&err)?;
        chart
            .draw_series(grid.cells.iter().map(|(&(x, y), &users)| {
                Rectangle::new(
                    [
                        (Grid::edge(x), Grid::edge(y)),
                        (Grid::edge(x + 1), Grid::edge(y + 1)),
                    ],
                    scale::shade(users, densest).filled(),
                )
            }))
            .map_err(&err)?;
        chart
            .draw_series(LineSeries::new(
                means.iter().copied(),
                ORANGE.stroke_width(2),
            ))
            .map_err(&err)?;
        chart
            .draw_series(means.iter().map(|&p| Circle::new(p, 3, ORANGE.filled())))
            .map_err(&err)?;
        plot = chart.plotting_area().get_pixel_range();
        root.present().map_err(&err)?;
    }
    scale::append(
        &mut svg,
        &(scale::legend(&plot, ORANGE, densest) + &scale::colour_scale(&plot, densest)),
    );
    Ok(svg)
}

type LogChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<
        plotters::coord::combinators::LogCoord<f64>,
        plotters::coord::combinators::LogCoord<f64>,
    >,
>;

/// A log-log chart with a title and room for tick and axis labels.
fn chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
) -> std::result::Result<LogChart<'a, 'b>, DrawingAreaErrorKind<std::io::Error>> {
    ChartBuilder::on(root)
        .caption(title, (FONT, 18))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x.log_scale(), y.log_scale())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_plainly() {
        assert_eq!(tick(1.0), "1");
        assert_eq!(tick(200.0), "200");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(0.02), "0.02");
        assert_eq!(tick(0.000123456), "0.000123");
        assert_eq!(percent_tick(0.2), "20%");
        assert_eq!(percent_tick(0.001), "0.1%");
    }
}
