//! `reach report`: one self-contained HTML page for researchers and CRM
//! analysts, built from a published output directory (see `docs/research.md`).
//!
//! [`read`] opens the directory and streams its tables (CSV or Parquet
//! parts), [`data`] computes what the page shows, [`figures`] draws the
//! charts with plotters' SVG backend, [`html`] assembles the page;
//! [`multiple`] holds the Benjamini-Hochberg q-values of the shuffle test,
//! [`scale`] the heat map's colour scale and legend, [`crm`] and
//! [`crm_page`] the users to act on and what changed last night,
//! [`customers`] and [`customers_page`] the customers section (value
//! matrix, fans against the base, the most valuable customers). The page
//! depends only on the tables and `summary.json` (never on `run.json`, the
//! clock or the directory's path), so the same inputs and parameters give
//! the same bytes at any worker or process count.

pub mod crm;
pub mod crm_page;
pub mod customers;
pub mod customers_page;
pub mod data;
pub mod figures;
pub mod format;
pub mod html;
pub mod multiple;
pub mod read;
pub mod scale;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Topics listed by default (the most adopters first).
pub const DEFAULT_TOP_TOPICS: usize = 25;

/// Builds the page for the published output `dir`, listing `top_n` topics.
pub fn build(dir: &Path, top_n: usize) -> Result<String> {
    let out = read::OutputDir::open(dir)?;
    let data = data::collect(&out, top_n)?;
    let degree_svg = figures::degree_ccdf(&data)?;
    let influence_svg = figures::influence_grid(&data)?;
    Ok(html::page(&data, &degree_svg, &influence_svg))
}

/// Builds the page for `dir` and writes it atomically (a temporary file
/// beside the target, then a rename) to `html` or `dir/report.html`.
/// Returns the path written.
pub fn write(dir: &Path, html: Option<&Path>, top_n: usize) -> Result<PathBuf> {
    let page = build(dir, top_n)?;
    let target = html.map_or_else(|| dir.join("report.html"), Path::to_path_buf);
    let name = target
        .file_name()
        .ok_or_else(|| Error::Config(format!("--html {}: not a file name", target.display())))?;
    let temp = target.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&temp, page.as_bytes()).map_err(|e| Error::io(&temp, e))?;
    std::fs::rename(&temp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(&target, e)
    })?;
    Ok(target)
}
