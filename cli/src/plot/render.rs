//! Drawing `plot`'s pictures and writing them as PNG.
//!
//! This module owns the look of the pictures: the layout (title and
//! subtitle, axes with tick labels, the colour bar), the colours (matplotlib's
//! blue for lines, a [`Cmap`] for heatmaps, red for NaN) and number labels.
//! It draws with plotters on a [`Canvas`] (an RGB buffer, with text from the
//! embedded font) and encodes the buffer with `png`. What to draw comes
//! reduced from [`crate::plot`], with the [`Look`] the command line asked
//! for.
//!
//! What the picture says is true of every element: a pixel column of a line
//! plot, or a heatmap cell, whose share of the data held a NaN is drawn in
//! the NaN colour (however many finite values it also held), and the
//! subtitle counts the NaNs and the columns or blocks they fell in. On a
//! log colour scale, cells whose block held a value `<= 0` are masked in
//! the same colour, as matplotlib's `LogNorm` masks them.
//!
//! Values can span all of `f64` (`-1e308` to `1e308`, a width that
//! overflows), or a few ulps (subnormals): plotters' own tick search loops
//! forever on such ranges, so the value axis is drawn in unit coordinates
//! (0 at the bottom, 1 at the top) with tick positions computed here in a
//! bounded number of steps ([`ticks`]), and every span is computed so that
//! it cannot overflow ([`unit`]). The colour bar is labelled by the same
//! computation ([`linear_ticks`]; [`log_ticks`] on a log scale).

use std::io::{self, Write};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::element::{BitMapElement, Circle, PathElement, Rectangle, Text};
use plotters::prelude::{ChartBuilder, DrawingArea, IntoDrawingArea, IntoFont, LineSeries};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor, ShapeStyle, TextStyle, WHITE};

use super::canvas::Canvas;
use super::cmap::Cmap;
use super::reduce::{HeatData, LineData, Marks, Reduced, Title};
use crate::common::{CliError, usage};

/// What the command line asks of the picture, beyond the data.
#[derive(Clone, Debug, Default)]
pub struct Look {
    /// Drawn instead of the generated title (file, dtype, shape).
    pub title: Option<String>,
    /// How a heatmap's values become colours.
    pub scale: ColourScale,
}

/// How a heatmap's values become colours: the colour map, and the values
/// at its ends (by default those of the cells drawn), on a linear or a
/// log10 scale. Values beyond the ends take the end colours.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ColourScale {
    pub cmap: Cmap,
    /// Colour by log10 of the value; cells whose block held a value `<= 0`
    /// are masked (drawn in the NaN colour).
    pub log: bool,
    /// The value at the low end (positive with `log`).
    pub vmin: Option<f64>,
    /// The value at the high end (above `vmin`; positive with `log`).
    pub vmax: Option<f64>,
}

/// The family plotters is told (the canvas draws every text in Noto Sans).
const FONT: &str = "sans-serif";
const MARGIN: u32 = 16;
/// Height of the title and subtitle band.
const TITLE_H: u32 = 66;
/// Room left of the plot for tick labels and the axis name.
const Y_AREA: u32 = 92;
/// Room below the plot for tick labels and the axis name.
const X_AREA: u32 = 54;
/// Space right of a line plot.
const RIGHT_PAD: u32 = 28;
/// Width of a heatmap's colour bar column, labels included.
const BAR_AREA: u32 = 140;
/// Space between a heatmap and its colour bar column.
const HEAT_RIGHT: u32 = 8;

const TEXT: RGBColor = RGBColor(34, 34, 34);
const MUTED: RGBColor = RGBColor(100, 100, 100);
/// matplotlib's default line colour (tab:blue).
const LINE: RGBColor = RGBColor(31, 119, 180);
/// NaN (and, on a log scale, values `<= 0`): a red no [`Cmap`] has.
const NAN_COLOUR: RGBColor = RGBColor(214, 39, 40);
const GRID_BOLD: RGBColor = RGBColor(218, 218, 218);
const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);

/// The size in pixels of the plotting area (inside the axes) for an image
/// of `size` showing an `ndim`-D array: what the data is reduced to.
pub fn plot_area((w, h): (u32, u32), ndim: usize) -> (usize, usize) {
    let right = if ndim == 2 {
        HEAT_RIGHT + BAR_AREA
    } else {
        RIGHT_PAD
    };
    let pw = w.saturating_sub(MARGIN + Y_AREA + right);
    let ph = h.saturating_sub(TITLE_H + 2 * MARGIN + X_AREA);
    (pw.max(1) as usize, ph.max(1) as usize)
}

/// Draws `data` with `title` (or the one `look` gives) into an RGB picture
/// of `size`. A colour range that cannot be made from `look.scale` and the
/// data (`vmin` alone, above every value drawn) is a usage error.
pub fn draw(
    data: &Reduced,
    title: &Title,
    look: &Look,
    size: (u32, u32),
) -> Result<Vec<u8>, CliError> {
    let (w, h) = size;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let root = Canvas::new(&mut buf, size)
            .map_err(draw_err)?
            .into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (head, body) = root.split_vertically(TITLE_H);
        // The subtitle, centred, in as large a size as keeps it within
        // `room` pixels (a heatmap's clear of the colour bar's heading).
        let heading = |subtitle: String, room: u32| -> Result<(), CliError> {
            let size = (11..=15)
                .rev()
                .find(|&size| {
                    head.estimate_text_size(&subtitle, &text_style(size, &MUTED))
                        .is_ok_and(|(width, _)| width <= room)
                })
                .unwrap_or(11);
            head.draw(&Text::new(
                look.title.clone().unwrap_or_else(|| title.to_string()),
                (w as i32 / 2, 24),
                text_style(21, &TEXT).pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(draw_err)?;
            head.draw(&Text::new(
                subtitle,
                (w as i32 / 2, 50),
                text_style(size, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(draw_err)
        };
        match data {
            Reduced::Line(d) => {
                heading(line_subtitle(d), w.saturating_sub(2 * MARGIN))?;
                draw_line(&body, d, title)?;
            }
            Reduced::Heat(d) => {
                let colours = HeatColours::new(d, &look.scale)?;
                heading(
                    heat_subtitle(d, &colours),
                    w.saturating_sub(2 * (BAR_AREA + HEAT_RIGHT)),
                )?;
                draw_heat(&root, &body, d, &colours, title, size)?;
            }
        }
        root.present().map_err(draw_err)?;
    }
    Ok(buf)
}

fn draw_err(e: impl std::fmt::Display) -> CliError {
    CliError::Input(format!("drawing the plot failed: {e}").into())
}

fn text_style(size: u32, colour: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(colour)
}

/// The axis range for finite values `range`, with a little room around:
/// finite, with `lo < hi`, whatever the values (a width that overflows, a
/// constant, subnormals, `f64::MAX`).
fn padded(range: Option<(f64, f64)>) -> (f64, f64) {
    let Some((lo, hi)) = range else {
        return (0.0, 1.0);
    };
    let span = hi - lo;
    let pad = if span.is_infinite() {
        (hi / 2.0 - lo / 2.0) * 0.1
    } else if span > 0.0 {
        span * 0.05
    } else if lo == 0.0 {
        1.0
    } else {
        lo.abs() * 0.1
    };
    let (a, b) = ((lo - pad).max(-f64::MAX), (hi + pad).min(f64::MAX));
    if a < b {
        (a, b)
    } else {
        // A constant too small to pad by a tenth (a subnormal): two of the
        // smallest steps either side.
        let tiny = 2.0 * f64::from_bits(1);
        (lo - tiny, hi + tiny)
    }
}

/// A value axis in unit coordinates (0 to 1) whose ticks are given, so that
/// plotters never searches for ticks itself.
struct UnitAxis {
    keys: Vec<f64>,
}

impl Ranged for UnitAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(0.0..1.0).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..1.0
    }
}

/// Where `v` lies on the scale `lo..hi` (`lo < hi`, both finite): 0 at
/// `lo`, 1 at `hi`, without overflow when the width `hi - lo` does not fit
/// in an `f64`.
fn unit(v: f64, lo: f64, hi: f64) -> f64 {
    let span = hi - lo;
    if span.is_finite() {
        (v - lo) / span
    } else {
        (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0)
    }
}

/// Round tick values in `lo..=hi`: multiples of 1, 2 or 5 times a power of
/// ten, at most `max` of them (at least 2). Falls back to the two ends when
/// the range is too narrow for such steps (a few subnormals) or the steps
/// would not be distinct. Takes a bounded number of steps for any finite
/// `lo < hi`; gives the one value for `lo == hi` and nothing otherwise.
fn ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if lo == hi && lo.is_finite() {
        return vec![lo];
    }
    if !(lo < hi && lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let max = max.max(2);
    let ends = vec![lo, hi];
    let span = hi - lo;
    let raw = if span.is_finite() {
        span / max as f64
    } else {
        (hi / 2.0 - lo / 2.0) / (max as f64 / 2.0)
    };
    if !raw.is_normal() || raw < 1e-300 {
        return ends;
    }
    let exponent = raw.log10().floor() as i32;
    let magnitude: f64 = format!("1e{exponent}").parse().unwrap_or(raw);
    for m in [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0] {
        let step = magnitude * m;
        if !step.is_finite() {
            break;
        }
        let (first, last) = ((lo / step).ceil(), (hi / step).floor());
        if last - first >= max as f64 {
            continue;
        }
        if last < first {
            return ends;
        }
        let n = (last - first) as usize + 1;
        // One multiplication per tick: no sum that could overflow or drift.
        let mut t: Vec<f64> = (0..n)
            .map(|k| (first + k as f64) * step)
            .map(|v| if v == 0.0 { 0.0 } else { v })
            .filter(|v| (lo..=hi).contains(v))
            .collect();
        t.dedup();
        return if t.len() >= 2 { t } else { ends };
    }
    ends
}

/// The tick marks of a scale: each tick's position (0 at the scale's low
/// end, 1 at its high end) and label, and the offset subtracted from the
/// values before they were labelled (0 but for ranges like `1e15` to
/// `1e15 + 1`; see [`axis_offset`]), for the axis title to name.
#[derive(Debug, PartialEq)]
struct TickMarks {
    offset: f64,
    ticks: Vec<(f64, String)>,
}

/// The tick marks of a linear scale from `lo` to `hi` (finite, `lo < hi`):
/// at most `max` round values ([`ticks`]), labelled less their offset. The
/// value axis of a line plot and a heatmap's colour bar are both marked so.
fn linear_ticks(lo: f64, hi: f64, max: usize) -> TickMarks {
    let offset = axis_offset(lo, hi);
    let (lo, hi) = (lo - offset, hi - offset);
    let values = ticks(lo, hi, max);
    let ticks = values
        .iter()
        .map(|&v| unit(v, lo, hi))
        .zip(tick_labels(&values))
        .collect();
    TickMarks { offset, ticks }
}

/// The tick marks of a log scale from `10^lo` to `10^hi` (`lo < hi`, both
/// finite): the powers of ten among the round exponents [`ticks`] gives
/// for `lo..hi`, when there are two or more; otherwise (less than two
/// decades) the round values [`ticks`] gives for `10^lo..10^hi`. Placed by
/// their logarithm.
fn log_ticks(lo: f64, hi: f64, max: usize) -> TickMarks {
    let decades: Vec<f64> = ticks(lo, hi, max)
        .into_iter()
        .filter(|e| e.fract() == 0.0)
        .filter_map(|e| format!("1e{e}").parse().ok())
        .collect();
    let values = if decades.len() >= 2 {
        decades
    } else {
        let end = |e: f64| 10f64.powf(e).min(f64::MAX);
        ticks(end(lo), end(hi), max)
    };
    let ticks = values
        .iter()
        .map(|&v| unit(v.log10(), lo, hi).clamp(0.0, 1.0))
        .zip(tick_labels(&values))
        .collect();
    TickMarks { offset: 0.0, ticks }
}

/// Labels for increasing `values`, each in as few significant digits (6 to
/// 17) as keep neighbours apart.
/// Distinct values always get distinct labels: when 17 digits are not
/// enough, each is written in full (the shortest text that reads back as
/// the same `f64`).
fn tick_labels(values: &[f64]) -> Vec<String> {
    let distinct = |labels: &[String]| labels.windows(2).all(|w| w[0] != w[1]);
    for digits in 6..=17 {
        let labels: Vec<String> = values
            .iter()
            .map(|&v| number_label_digits(v, digits))
            .collect();
        if distinct(&labels) {
            return labels;
        }
    }
    values.iter().map(|&v| exact_label(v)).collect()
}

/// The shortest text that reads back as `v`: `0.30000000000000004`,
/// `1.0000000000000003e15`.
fn exact_label(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || (1e-4..1e7).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// A value to subtract from a value axis's numbers before labelling them,
/// when they agree in more digits than labels show (`1e15` to `1e15 + 1`);
/// 0 otherwise. Near `lo`, a multiple of a power of ten above the width, so
/// that `value - offset` is exact and small.
fn axis_offset(lo: f64, hi: f64) -> f64 {
    let span = hi - lo;
    let mid = lo / 2.0 + hi / 2.0;
    if !(span > 0.0 && span.is_finite()) || lo.signum() != hi.signum() || mid.abs() < span * 1e4 {
        return 0.0;
    }
    let step: f64 = format!("1e{}", span.log10().ceil() as i32 + 1)
        .parse()
        .unwrap_or(span);
    let offset = (lo / step).floor() * step;
    if offset.is_finite() && (offset / lo - 1.0).abs() < 1e-3 {
        offset
    } else {
        lo
    }
}

fn line_subtitle(d: &LineData) -> String {
    let mut s = format!("{} points", group(d.len as u64));
    if d.decimated {
        let per = d.len.div_ceil(d.columns.len().max(1));
        s.push_str(&format!(
            "  ·  drawn as the min and max of each pixel column (~{} points each)",
            group(per as u64)
        ));
    }
    if d.stats.nan > 0 {
        let columns = d.columns.iter().filter(|c| c.nan).count();
        let holders = d.decimated.then_some((columns, "pixel column"));
        s.push_str(&nan_phrase(d.stats.nan, holders));
    }
    if d.stats.inf > 0 {
        s.push_str(&format!("  ·  {} infinite skipped", group(d.stats.inf)));
    }
    if d.stats.range().is_none() {
        s.push_str("  ·  no finite values to draw");
    }
    s
}

/// `  ·  3 NaN in 2 blocks, shown in red`, or without `holders` (when
/// each element is drawn on its own) `  ·  3 NaN, shown in red`.
fn nan_phrase(nan: u64, holders: Option<(usize, &str)>) -> String {
    match holders {
        Some((n, what)) => format!(
            "  ·  {} NaN in {}, shown in red",
            group(nan),
            counted(n as u64, what)
        ),
        None => format!("  ·  {} NaN, shown in red", group(nan)),
    }
}

/// `1 block`, `2 blocks`, `1,000 values`.
fn counted(n: u64, what: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {what}{s}", group(n))
}

fn heat_subtitle(d: &HeatData, colours: &HeatColours) -> String {
    let (gr, gc) = d.grid.dim();
    let averaged = (gr, gc) != (d.rows, d.cols);
    let mut s = format!(
        "{} rows × {} columns",
        group(d.rows as u64),
        group(d.cols as u64)
    );
    if averaged {
        s.push_str(&format!(
            "  ·  each pixel the mean of a block of ~{} × {}",
            group(d.rows.div_ceil(gr) as u64),
            group(d.cols.div_ceil(gc) as u64)
        ));
        if let Some((lo, hi)) = d.stats.range() {
            // As many digits as keep the two apart.
            let ends = tick_labels(&[lo, hi]);
            s.push_str(&format!("  ·  values {} to {}", ends[0], ends[1]));
        }
    }
    if d.stats.nan > 0 {
        let holders = averaged.then_some((colours.nan_cells, "block"));
        s.push_str(&nan_phrase(d.stats.nan, holders));
    }
    if colours.undefined_cells > 0 {
        s.push_str(&format!(
            "  ·  {} of inf and -inf (mean undefined), shown in red",
            counted(colours.undefined_cells as u64, "block")
        ));
    }
    if colours.scale.log {
        s.push_str("  ·  log colour scale");
        if averaged && colours.masked_cells > 0 {
            let n = colours.masked_cells;
            let verb = if n == 1 { "holds" } else { "hold" };
            s.push_str(&format!(
                ": {} {verb} values ≤ 0, masked in red",
                counted(n as u64, "block")
            ));
        } else if !averaged && d.stats.nonpositive > 0 {
            s.push_str(&format!(
                ": {} ≤ 0 masked in red",
                counted(d.stats.nonpositive, "value")
            ));
        }
    }
    if d.stats.range().is_none() {
        s.push_str("  ·  no finite values");
    }
    s
}

/// The line through the columns, broken at NaN-only columns. A decimated
/// column contributes its min and max, in the order that continues the line
/// best, so that dense data draws as a filled band.
fn line_runs(d: &LineData) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for c in &d.columns {
        if c.min.is_nan() {
            if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
            continue;
        }
        if c.min == c.max {
            run.push((c.x, c.min));
            continue;
        }
        let (a, b) = match run.last() {
            Some(&(_, y)) if (y - c.max).abs() < (y - c.min).abs() => (c.max, c.min),
            _ => (c.min, c.max),
        };
        run.push((c.x, a));
        run.push((c.x, b));
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

fn draw_line(
    area: &DrawingArea<Canvas<'_>, Shift>,
    d: &LineData,
    title: &Title,
) -> Result<(), CliError> {
    let (y_lo, y_hi) = padded(d.stats.range());
    // The value axis in unit coordinates, with our own ticks (see the module
    // docs); each tick's label is looked up by its unit position. Numbers
    // that agree in their first digits are shown less an offset (exact: the
    // two are close), named in the axis title.
    let TickMarks {
        offset,
        ticks: y_labels,
    } = linear_ticks(y_lo, y_hi, 8);
    let (y_lo, y_hi) = (y_lo - offset, y_hi - offset);
    let y_desc = if offset == 0.0 {
        title.value.to_string()
    } else {
        format!("{} − {}", title.value, exact_label(offset))
    };
    let y_keys: Vec<f64> = y_labels.iter().map(|&(u, _)| u).collect();
    let (x_lo, x_hi) = if d.len > 1 {
        (0.0, (d.len - 1) as f64)
    } else {
        (-0.5, 0.5)
    };
    let mut chart = ChartBuilder::on(area)
        .margin(MARGIN)
        .margin_top(0)
        .margin_right(RIGHT_PAD)
        .x_label_area_size(X_AREA)
        .y_label_area_size(Y_AREA)
        .build_cartesian_2d(x_lo..x_hi, UnitAxis { keys: y_keys })
        .map_err(draw_err)?;
    let x_fmt = |v: &f64| integer_label(*v);
    let y_fmt = |v: &f64| {
        y_labels
            .iter()
            .find(|(u, _)| u == v)
            .map_or_else(String::new, |(_, label)| label.clone())
    };
    chart
        .configure_mesh()
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .max_light_lines(4)
        .x_labels(d.len.clamp(1, 10))
        .y_labels(8)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc("index")
        .y_desc(y_desc)
        .label_style(text_style(14, &TEXT))
        .axis_desc_style(text_style(15, &TEXT))
        .axis_style(MUTED)
        .draw()
        .map_err(draw_err)?;
    let width = if d.decimated { 1 } else { 2 };
    let style = ShapeStyle::from(&LINE).stroke_width(width);
    let runs: Vec<Vec<(f64, f64)>> = line_runs(d)
        .into_iter()
        .map(|run| {
            run.into_iter()
                .map(|(x, y)| (x, unit(y - offset, y_lo, y_hi)))
                .collect()
        })
        .collect();
    // Under the line: each column that held a NaN, as a full-height line
    // in the NaN colour.
    let nan_style = ShapeStyle::from(&NAN_COLOUR).stroke_width(1);
    chart
        .draw_series(
            d.columns
                .iter()
                .filter(|c| c.nan)
                .map(|c| PathElement::new(vec![(c.x, 0.0), (c.x, 1.0)], nan_style)),
        )
        .map_err(draw_err)?;
    let markers = !d.decimated && d.len <= 60;
    for run in &runs {
        if run.len() > 1 {
            chart
                .draw_series(LineSeries::new(run.iter().copied(), style))
                .map_err(draw_err)?;
        }
        if run.len() == 1 || markers {
            chart
                .draw_series(run.iter().map(|&p| Circle::new(p, 3, LINE.filled())))
                .map_err(draw_err)?;
        }
    }
    if runs.is_empty() {
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        area.draw(&Text::new(
            "no finite values",
            (
                (xr.start + xr.end) / 2,
                (yr.start + yr.end) / 2 - TITLE_H as i32,
            ),
            text_style(18, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// The colour of `v` on a scale of `cmap` from `lo` to `hi`: the NaN
/// colour for NaN, the end colours beyond the ends, the middle colour when
/// `lo == hi`.
fn colour(cmap: Cmap, v: f64, lo: f64, hi: f64) -> RGBColor {
    if v.is_nan() {
        return NAN_COLOUR;
    }
    cmap.colour(if hi > lo { unit(v, lo, hi) } else { 0.5 })
}

/// How a heatmap's cells are coloured: its [`ColourScale`] made definite
/// for the data (the ends, as log10 of the values on a log scale), and the
/// count of cells drawn in the NaN colour, by cause.
struct HeatColours {
    scale: ColourScale,
    lo: f64,
    hi: f64,
    /// Cells whose block held a NaN.
    nan_cells: usize,
    /// Cells with no NaN whose mean is NaN (a block of inf and -inf).
    undefined_cells: usize,
    /// On a log scale, cells whose block held a value `<= 0`.
    masked_cells: usize,
}

impl HeatColours {
    fn new(d: &HeatData, scale: &ColourScale) -> Result<HeatColours, CliError> {
        let mut colours = HeatColours {
            scale: *scale,
            lo: 0.0,
            hi: 1.0,
            nan_cells: 0,
            undefined_cells: 0,
            masked_cells: 0,
        };
        // The range of the cells drawn in colour (finite, positive on a log
        // scale): with blocks averaged, that of the block means (the
        // subtitle gives the elements' range then), so that averaging does
        // not wash colours out.
        let mut drawn: Option<(f64, f64)> = None;
        for (&mean, &marks) in d.grid.iter().zip(&d.marks) {
            colours.nan_cells += usize::from(marks.nan);
            colours.undefined_cells += usize::from(!marks.nan && mean.is_nan());
            colours.masked_cells += usize::from(scale.log && marks.nonpositive);
            if colours.masked(mean, marks) || !mean.is_finite() || (scale.log && mean <= 0.0) {
                continue;
            }
            drawn = Some(drawn.map_or((mean, mean), |(lo, hi)| (lo.min(mean), hi.max(mean))));
        }
        (colours.lo, colours.hi) = colour_ends(drawn, scale)?;
        Ok(colours)
    }

    /// Whether a cell is drawn in the NaN colour.
    fn masked(&self, mean: f64, marks: Marks) -> bool {
        marks.nan || mean.is_nan() || (self.scale.log && marks.nonpositive)
    }

    /// A value as placed on the scale (its log10 on a log scale).
    fn scaled(&self, v: f64) -> f64 {
        if self.scale.log { v.log10() } else { v }
    }

    fn cell(&self, mean: f64, marks: Marks) -> RGBColor {
        if self.masked(mean, marks) {
            return NAN_COLOUR;
        }
        colour(self.scale.cmap, self.scaled(mean), self.lo, self.hi)
    }

    /// The colour bar's tick marks: round values, as on a line plot's
    /// value axis; one mark in the middle when the scale is one value.
    fn bar_ticks(&self) -> TickMarks {
        let (lo, hi) = (self.lo, self.hi);
        if hi > lo {
            return if self.scale.log {
                log_ticks(lo, hi, 6)
            } else {
                linear_ticks(lo, hi, 6)
            };
        }
        let value = if self.scale.log { 10f64.powf(lo) } else { lo };
        TickMarks {
            offset: 0.0,
            ticks: vec![(0.5, tick_labels(&[value]).remove(0))],
        }
    }

    /// What the legend swatch in the NaN colour stands for.
    fn masked_legend(&self) -> Option<&'static str> {
        let nan = self.nan_cells + self.undefined_cells > 0;
        match (nan, self.masked_cells > 0) {
            (true, true) => Some("NaN or ≤ 0"),
            (true, false) => Some("NaN"),
            (false, true) => Some("≤ 0"),
            (false, false) => None,
        }
    }
}

/// The ends of a colour scale (log10 of the values on a log scale): `vmin`
/// and `vmax` where given, the ends of `drawn` (the range of the values
/// drawn in colour) otherwise; without either, a unit (a decade) from the
/// one given, or 0 to 1. `vmin` alone at or above every value drawn (or
/// `vmax` alone at or below) is a usage error: there is no scale to make.
fn colour_ends(drawn: Option<(f64, f64)>, scale: &ColourScale) -> Result<(f64, f64), CliError> {
    match (scale.vmin, scale.vmax, drawn) {
        (Some(vmin), None, Some((_, hi))) if vmin >= hi => {
            return Err(usage(format!(
                "--vmin {} is not below the largest value drawn, {}; give --vmax as well",
                exact_label(vmin),
                exact_label(hi)
            )));
        }
        (None, Some(vmax), Some((lo, _))) if vmax <= lo => {
            return Err(usage(format!(
                "--vmax {} is not above the smallest value drawn, {}; give --vmin as well",
                exact_label(vmax),
                exact_label(lo)
            )));
        }
        _ => {}
    }
    let scaled = |v: f64| if scale.log { v.log10() } else { v };
    let (vmin, vmax) = (scale.vmin.map(scaled), scale.vmax.map(scaled));
    let drawn = drawn.map(|(lo, hi)| (scaled(lo), scaled(hi)));
    Ok(match (vmin, vmax, drawn) {
        (Some(lo), Some(hi), _) => (lo, hi),
        (Some(lo), None, Some((_, hi))) => (lo, hi),
        (None, Some(hi), Some((lo, _))) => (lo, hi),
        (Some(lo), None, None) => (lo, lo + 1.0),
        (None, Some(hi), None) => (hi - 1.0, hi),
        (None, None, Some(range)) => range,
        (None, None, None) => (0.0, 1.0),
    })
}

fn draw_heat(
    root: &DrawingArea<Canvas<'_>, Shift>,
    body: &DrawingArea<Canvas<'_>, Shift>,
    d: &HeatData,
    colours: &HeatColours,
    title: &Title,
    (w, _h): (u32, u32),
) -> Result<(), CliError> {
    let (main, _bar) = body.split_horizontally(w - BAR_AREA);
    let (rows, cols) = (d.rows as f64, d.cols as f64);
    let mut chart = ChartBuilder::on(&main)
        .margin(MARGIN)
        .margin_top(0)
        .margin_right(HEAT_RIGHT)
        .x_label_area_size(X_AREA)
        .y_label_area_size(Y_AREA)
        // Rows go down, as in an image: row r is at y = -r.
        .build_cartesian_2d(-0.5..cols - 0.5, -(rows - 0.5)..0.5)
        .map_err(draw_err)?;
    let x_fmt = |v: &f64| integer_label(*v);
    let y_fmt = |v: &f64| integer_label(-*v);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(d.cols.clamp(1, 10))
        .y_labels(d.rows.clamp(1, 10))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc("column")
        .y_desc("row")
        .label_style(text_style(14, &TEXT))
        .axis_desc_style(text_style(15, &TEXT))
        .axis_style(MUTED)
        .draw()
        .map_err(draw_err)?;

    let (gr, gc) = d.grid.dim();
    let averaged = (gr, gc) != (d.rows, d.cols);
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let (pw, ph) = (xr.len().max(1), yr.len().max(1));
    let mut image = Vec::with_capacity(pw * ph * 3);
    for py in 0..ph {
        let r = py * gr / ph;
        for px in 0..pw {
            let at = [r, px * gc / pw];
            let RGBColor(cr, cg, cb) = colours.cell(d.grid[at], d.marks[at]);
            image.extend_from_slice(&[cr, cg, cb]);
        }
    }
    blit(root, (xr.start, yr.start), (pw, ph), image)?;

    // The colour bar: as tall as the plot, the colour map from the low end
    // (bottom) to the high end.
    let (lo, hi) = (colours.lo, colours.hi);
    let cmap = colours.scale.cmap;
    let bar_x = (w - BAR_AREA) as i32 + 14;
    let bar_w = 22usize;
    let mut strip = Vec::with_capacity(bar_w * ph * 3);
    for py in 0..ph {
        let t = 1.0 - py as f64 / (ph.max(2) - 1) as f64;
        let RGBColor(cr, cg, cb) = if hi > lo {
            cmap.colour(t)
        } else {
            colour(cmap, lo, lo, hi)
        };
        for _ in 0..bar_w {
            strip.extend_from_slice(&[cr, cg, cb]);
        }
    }
    blit(root, (bar_x, yr.start), (bar_w, ph), strip)?;
    let frame = ShapeStyle::from(&MUTED).stroke_width(1);
    root.draw(&Rectangle::new(
        [(bar_x - 1, yr.start - 1), (bar_x + bar_w as i32, yr.end)],
        frame,
    ))
    .map_err(draw_err)?;
    root.draw(&Rectangle::new(
        [(xr.start - 1, yr.start - 1), (xr.end, yr.end)],
        frame,
    ))
    .map_err(draw_err)?;
    let label = text_style(14, &TEXT).pos(Pos::new(HPos::Left, VPos::Center));
    // As on a line plot's value axis: round values, and values that agree
    // in their first digits labelled less an offset, named in the heading.
    let TickMarks { offset, ticks } = colours.bar_ticks();
    for (t, text) in ticks {
        let y = yr.start + ((1.0 - t) * (ph - 1) as f64).round() as i32;
        let right = bar_x + bar_w as i32;
        root.draw(&PathElement::new(vec![(right, y), (right + 5, y)], frame))
            .map_err(draw_err)?;
        root.draw(&Text::new(text, (right + 9, y), label.clone()))
            .map_err(draw_err)?;
    }
    let mut heading = if averaged {
        format!("block mean {}", title.value)
    } else {
        title.value.to_string()
    };
    if offset != 0.0 {
        heading.push_str(&format!(" − {}", exact_label(offset)));
    }
    root.draw(&Text::new(
        heading,
        (bar_x, yr.start - 14),
        text_style(14, &MUTED).pos(Pos::new(HPos::Left, VPos::Center)),
    ))
    .map_err(draw_err)?;
    if let Some(legend) = colours.masked_legend() {
        let y = yr.end + 14;
        root.draw(&Rectangle::new(
            [(bar_x, y), (bar_x + bar_w as i32, y + 14)],
            NAN_COLOUR.filled(),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(legend, (bar_x + bar_w as i32 + 9, y + 7), label))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Copies an RGB image into the picture at pixel `at`.
fn blit(
    root: &DrawingArea<Canvas<'_>, Shift>,
    at: (i32, i32),
    (w, h): (usize, usize),
    rgb: Vec<u8>,
) -> Result<(), CliError> {
    let element = BitMapElement::with_owned_buffer(at, (w as u32, h as u32), rgb)
        .ok_or_else(|| draw_err("an image buffer has the wrong size"))?;
    root.draw(&element).map_err(draw_err)
}

/// Encodes an RGB picture of `size` as PNG into `out`.
pub fn write_png(out: impl Write, rgb: &[u8], (w, h): (u32, u32)) -> io::Result<()> {
    let io_err = |e: png::EncodingError| match e {
        png::EncodingError::IoError(e) => e,
        other => io::Error::other(other),
    };
    let mut encoder = png::Encoder::new(out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(io_err)?;
    writer.write_image_data(rgb).map_err(io_err)?;
    writer.finish().map_err(io_err)
}

/// A tick label for an axis of whole numbers (indices), with thousands
/// separators; blank between whole numbers.
fn integer_label(v: f64) -> String {
    let r = v.round();
    if (v - r).abs() > 1e-9 * v.abs().max(1.0) {
        return String::new();
    }
    if r.abs() >= 1e15 {
        return number_label(r);
    }
    let sign = if r < 0.0 { "-" } else { "" };
    format!("{sign}{}", group(r.abs() as u64))
}

/// A number in at most 6 significant digits (5 in exponent notation),
/// without trailing zeros: `0.3`, `12345.5`, `-2.5e-7`, `1.2346e9`.
pub fn number_label(v: f64) -> String {
    number_label_digits(v, 6)
}

/// A number in at most `digits` significant digits (`digits - 1` in
/// exponent notation, used below 1e-4 and from 1e7), without trailing
/// zeros.
fn number_label_digits(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { format!("{v}") };
    }
    let a = v.abs();
    if !(1e-4..1e7).contains(&a) {
        let decimals = digits.saturating_sub(2);
        let s = format!("{v:.decimals$e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exp}", trim_zeros(mantissa));
    }
    let decimals = (digits as i32 - 1 - a.log10().floor() as i32).clamp(0, 22) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 4 / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::reduce::{Acc, Column, plotted, reduce_heat, reduce_line};
    use super::*;
    use ndarray::{Array1, Array2, array};

    fn none(_: u64) {}

    fn labels(marks: &TickMarks) -> Vec<&str> {
        marks.ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

    /// The colour bar is marked by the value axis's tick computation:
    /// round values at their places, not the ends and even fifths between
    /// them (`0.999644`, `0.648676`, ...).
    #[test]
    fn colour_bar_ticks_are_the_value_axis_ticks() {
        let a = Array2::from_shape_fn((5, 5), |(r, c)| {
            0.000356 + (r * 5 + c) as f64 * (0.999288 / 24.0)
        });
        let d = reduce_heat(a.view(), (100, 100), plotted, &none);
        let colours = HeatColours::new(&d, &ColourScale::default()).unwrap();
        assert_eq!((colours.lo, colours.hi), (0.000356, 0.999644));
        let bar = colours.bar_ticks();
        assert_eq!(bar, linear_ticks(0.000356, 0.999644, 6));
        assert_eq!(labels(&bar), ["0.2", "0.4", "0.6", "0.8"]);
        for ((t, _), v) in bar.ticks.iter().zip([0.2, 0.4, 0.6, 0.8]) {
            assert!((t - unit(v, 0.000356, 0.999644)).abs() < 1e-12);
        }
        // Values that agree in their first digits: an offset, as on the axis.
        let bar = linear_ticks(1e15, 1e15 + 1.0, 6);
        assert_eq!(bar.offset, 1e15);
        assert_eq!(labels(&bar), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        // A constant: one mark, in the middle.
        let d = reduce_heat(
            Array2::from_elem((3, 3), 2.5).view(),
            (9, 9),
            plotted,
            &none,
        );
        let bar = HeatColours::new(&d, &ColourScale::default())
            .unwrap()
            .bar_ticks();
        assert_eq!(bar.ticks, [(0.5, "2.5".to_string())]);
    }

    #[test]
    fn log_ticks_are_decades_or_round_values() {
        // 0.01 to 40: the decades.
        let marks = log_ticks(-2.0, 40f64.log10(), 6);
        assert_eq!(labels(&marks), ["0.01", "0.1", "1", "10"]);
        assert_eq!(marks.ticks[0].0, 0.0);
        // Thirty decades: every fifth.
        // Thirty decades: every tenth.
        let marks = log_ticks(-10.0, 20.0, 6);
        assert_eq!(labels(&marks), ["1e-10", "1", "1e10", "1e20"]);
        assert_eq!(marks.ticks[1].0, 1.0 / 3.0);
        // Less than two decades: round values, placed by their logarithm.
        let marks = log_ticks(1.5f64.log10(), 9f64.log10(), 6);
        assert_eq!(labels(&marks), ["2", "4", "6", "8"]);
        let (t, _) = marks.ticks[1];
        assert!((t - unit(4f64.log10(), 1.5f64.log10(), 9f64.log10())).abs() < 1e-12);
        // Bounded at the ends of f64.
        let marks = log_ticks(-323.0, f64::MAX.log10(), 6);
        assert!(!marks.ticks.is_empty());
        let marks = log_ticks(308.0, f64::MAX.log10(), 6);
        assert!(marks.ticks.iter().all(|(t, _)| (0.0..=1.0).contains(t)));
    }

    #[test]
    fn colour_ends_come_from_the_flags_or_the_cells_drawn() {
        let linear = ColourScale::default();
        let ends = |scale: ColourScale, drawn| colour_ends(drawn, &scale).ok();
        let with = |vmin, vmax, log| ColourScale {
            vmin,
            vmax,
            log,
            ..linear
        };
        assert_eq!(ends(linear, Some((1.0, 5.0))), Some((1.0, 5.0)));
        assert_eq!(ends(linear, None), Some((0.0, 1.0)));
        assert_eq!(
            ends(with(Some(2.0), None, false), Some((1.0, 5.0))),
            Some((2.0, 5.0))
        );
        assert_eq!(
            ends(with(None, Some(2.0), false), Some((1.0, 5.0))),
            Some((1.0, 2.0))
        );
        assert_eq!(
            ends(with(Some(-3.0), Some(9.0), false), Some((1.0, 5.0))),
            Some((-3.0, 9.0))
        );
        assert_eq!(ends(with(Some(2.0), None, false), None), Some((2.0, 3.0)));
        assert_eq!(
            ends(with(Some(10.0), Some(1e4), true), None),
            Some((1.0, 4.0))
        );
        assert_eq!(
            ends(with(None, None, true), Some((0.1, 100.0))),
            Some((-1.0, 2.0))
        );
        // vmin alone at or above everything drawn: no scale to make.
        assert!(ends(with(Some(5.0), None, false), Some((1.0, 5.0))).is_none());
        assert!(ends(with(None, Some(1.0), false), Some((1.0, 5.0))).is_none());
        let Err(CliError::Usage(e)) = colour_ends(Some((1.0, 5.0)), &with(Some(7.0), None, false))
        else {
            panic!()
        };
        assert_eq!(
            e,
            "--vmin 7 is not below the largest value drawn, 5; give --vmax as well"
        );
    }

    /// Clamped, masked and NaN cells get the colours the subtitle and the
    /// legend say they get.
    #[test]
    fn heat_cells_are_coloured_as_said() {
        let a = array![[0.0, 1.0, 10.0], [100.0, f64::NAN, -1.0]];
        let d = reduce_heat(a.view(), (10, 10), plotted, &none);
        let at =
            |c: &HeatColours, r: usize, col: usize| c.cell(d.grid[[r, col]], d.marks[[r, col]]);
        let low = Cmap::Viridis.colour(0.0);
        let high = Cmap::Viridis.colour(1.0);
        let scale = ColourScale {
            vmin: Some(1.0),
            vmax: Some(10.0),
            ..ColourScale::default()
        };
        let c = HeatColours::new(&d, &scale).unwrap();
        assert_eq!([at(&c, 0, 0), at(&c, 0, 1), at(&c, 0, 2)], [low, low, high]);
        assert_eq!(
            [at(&c, 1, 0), at(&c, 1, 1), at(&c, 1, 2)],
            [high, NAN_COLOUR, low]
        );
        assert_eq!(c.masked_legend(), Some("NaN"));
        assert_eq!(
            heat_subtitle(&d, &c),
            "2 rows × 3 columns  ·  1 NaN, shown in red"
        );
        let log = ColourScale {
            log: true,
            cmap: Cmap::Gray,
            ..ColourScale::default()
        };
        let c = HeatColours::new(&d, &log).unwrap();
        // 1, 10, 100: log10 0, 1, 2 on a scale from 0 to 2.
        assert_eq!(at(&c, 0, 1), Cmap::Gray.colour(0.0));
        assert_eq!(at(&c, 0, 2), Cmap::Gray.colour(0.5));
        assert_eq!(at(&c, 1, 0), Cmap::Gray.colour(1.0));
        assert_eq!([at(&c, 0, 0), at(&c, 1, 2)], [NAN_COLOUR; 2]);
        assert_eq!(c.masked_legend(), Some("NaN or ≤ 0"));
        assert_eq!(
            heat_subtitle(&d, &c),
            "2 rows × 3 columns  ·  1 NaN, shown in red  ·  log colour scale: 2 values ≤ 0 masked in red"
        );
    }

    /// The words count what is drawn: NaNs, and the blocks or pixel columns
    /// they fell in when elements are averaged or decimated.
    #[test]
    fn subtitles_count_what_is_drawn_red() {
        let mut a = Array2::from_elem((40, 40), 1.0);
        a[[0, 0]] = f64::NAN;
        a[[0, 1]] = f64::NAN;
        a[[39, 39]] = f64::NAN;
        let d = reduce_heat(a.view(), (10, 10), plotted, &none);
        let c = HeatColours::new(&d, &ColourScale::default()).unwrap();
        let s = heat_subtitle(&d, &c);
        assert!(s.ends_with("  ·  3 NaN in 2 blocks, shown in red"), "{s}");
        a[[39, 39]] = -1.0;
        let d = reduce_heat(a.view(), (10, 10), plotted, &none);
        let log = ColourScale {
            log: true,
            ..ColourScale::default()
        };
        let s = heat_subtitle(&d, &HeatColours::new(&d, &log).unwrap());
        assert!(
            s.ends_with("2 NaN in 1 block, shown in red  ·  log colour scale: 1 block holds values ≤ 0, masked in red"),
            "{s}"
        );
        // inf and -inf in one block: a NaN mean, said so, not called NaN.
        let mut b = Array2::from_elem((4, 4), 1.0);
        b[[0, 0]] = f64::INFINITY;
        b[[0, 1]] = f64::NEG_INFINITY;
        let d = reduce_heat(b.view(), (2, 2), plotted, &none);
        let c = HeatColours::new(&d, &ColourScale::default()).unwrap();
        assert_eq!(c.cell(d.grid[[0, 0]], d.marks[[0, 0]]), NAN_COLOUR);
        let s = heat_subtitle(&d, &c);
        assert!(!s.contains("NaN"), "{s}");
        assert!(
            s.contains("1 block of inf and -inf (mean undefined), shown in red"),
            "{s}"
        );
        // No NaN: no words about it.
        let d = reduce_heat(
            Array2::from_elem((4, 4), 1.0).view(),
            (2, 2),
            plotted,
            &none,
        );
        let c = HeatColours::new(&d, &ColourScale::default()).unwrap();
        assert!(!heat_subtitle(&d, &c).contains("red"));
        assert_eq!(c.masked_legend(), None);

        let mut l = Array1::from_elem(10_000, 1.0);
        l[10] = f64::NAN;
        l[20] = f64::NAN;
        let s = line_subtitle(&reduce_line(l.view(), 100, plotted, &none));
        assert!(
            s.ends_with("  ·  2 NaN in 1 pixel column, shown in red"),
            "{s}"
        );
        let s = line_subtitle(&reduce_line(
            l.slice(ndarray::s![..30]),
            100,
            plotted,
            &none,
        ));
        assert!(s.ends_with("30 points  ·  2 NaN, shown in red"), "{s}");
        let s = line_subtitle(&reduce_line(
            Array1::from_elem(30, 1.0).view(),
            100,
            plotted,
            &none,
        ));
        assert_eq!(s, "30 points");
    }

    /// No colour map has the colour that marks NaN.
    #[test]
    fn no_cmap_is_nan_red() {
        for cmap in [Cmap::Viridis, Cmap::Magma, Cmap::Gray] {
            assert!((0..=1000).all(|k| cmap.colour(k as f64 / 1000.0) != NAN_COLOUR));
        }
    }

    #[test]
    fn ticks_are_round_and_exact_zero() {
        assert_eq!(ticks(-0.15, 1.65, 8), vec![0.0, 0.5, 1.0, 1.5]);
        assert_eq!(ticks(0.0, 10.0, 8), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(
            tick_labels(&ticks(-0.15, 1.65, 8)),
            ["0", "0.5", "1", "1.5"]
        );
        assert_eq!(ticks(3.0, 3.0, 8), vec![3.0]);
        assert!(ticks(f64::NAN, 1.0, 8).is_empty());
    }

    /// Ranges whose width overflows, or is a few ulps, or sits at the ends
    /// of f64: every step is bounded, ticks are finite and in range, and
    /// labels are distinct. (plotters' tick search never returns on some.)
    #[test]
    fn extreme_ranges_give_finite_ticks_and_distinct_labels() {
        let tiny = f64::from_bits(1);
        let cases = [
            Some((0.0, 1.7e308)),
            Some((-1e308, 1e308)),
            Some((-f64::MAX, f64::MAX)),
            Some((f64::MAX, f64::MAX)),
            Some((-f64::MAX, -f64::MAX)),
            Some((0.0, tiny)),
            Some((tiny, tiny)),
            Some((tiny, 2.0 * f64::MIN_POSITIVE)),
            Some((1e15, 1e15 + 1.0)),
            Some((1e300, 1e300 * (1.0 + f64::EPSILON))),
            Some((i64::MIN as f64, u64::MAX as f64)),
            Some((0.0, 0.0)),
            Some((-0.0, 0.0)),
            None,
        ];
        for range in cases {
            let (lo, hi) = padded(range);
            assert!(lo.is_finite() && hi.is_finite() && lo < hi, "{range:?}");
            let t = ticks(lo, hi, 8);
            assert!(t.len() >= 2 && t.len() <= 9, "{range:?}: {t:?}");
            assert!(t.iter().all(|v| (lo..=hi).contains(v)), "{range:?}: {t:?}");
            assert!(t.windows(2).all(|w| w[0] < w[1]), "{range:?}: {t:?}");
            let labels = tick_labels(&t);
            assert!(
                labels.windows(2).all(|w| w[0] != w[1]),
                "{range:?}: {labels:?}"
            );
            for &v in &t {
                let u = unit(v, lo, hi);
                assert!((0.0..=1.0).contains(&u), "{range:?}: {v} at {u}");
            }
            if let Some((a, b)) = range {
                assert!((0.0..=1.0).contains(&unit(a, lo, hi)));
                assert!((0.0..=1.0).contains(&unit(b, lo, hi)));
            }
        }
        assert_eq!(axis_offset(1e15 - 0.05, 1e15 + 1.05), 1e15);
        assert_eq!(exact_label(1e15), "1e15");
        assert_eq!(axis_offset(-1.0, 1.0), 0.0);
        assert_eq!(axis_offset(1.0, 2.0), 0.0);
        let off = axis_offset(1e300, 1e300 * (1.0 + 4.0 * f64::EPSILON));
        assert!(off != 0.0 && off <= 1e300, "{off}");
        assert_eq!(
            tick_labels(&[1e15, 1e15 + 0.25]),
            ["1e15", "1.0000000000000003e15"]
        );
        assert_eq!(unit(1e308, -1e308, 1e308), 1.0);
        assert_eq!(unit(0.0, -1e308, 1e308), 0.5);
        assert_eq!(
            colour(Cmap::Viridis, 1e308, -1e308, 1e308),
            colour(Cmap::Viridis, 1.0, 0.0, 1.0)
        );
        assert_eq!(
            colour(Cmap::Viridis, -1e308, -1e308, 1e308),
            colour(Cmap::Viridis, 0.0, 0.0, 1.0)
        );
    }

    #[test]
    fn number_labels() {
        assert_eq!(number_label(0.30000000000000004), "0.3");
        assert_eq!(number_label(12345.5), "12345.5");
        assert_eq!(number_label(-2.5e-7), "-2.5e-7");
        assert_eq!(number_label(1234567890.0), "1.2346e9");
        assert_eq!(number_label(0.0), "0");
        assert_eq!(number_label(-1.0), "-1");
        assert_eq!(number_label(1.0 / 3.0), "0.333333");
        assert_eq!(integer_label(2.0), "2");
        assert_eq!(integer_label(2.5), "");
        assert_eq!(integer_label(-0.0), "0");
        assert_eq!(integer_label(2.5e8), "250,000,000");
        assert_eq!(integer_label(-12345.0), "-12,345");
        assert_eq!(integer_label(2e15), "2e15");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(999), "999");
        assert_eq!(group(0), "0");
    }

    #[test]
    fn ranges_and_colours() {
        assert_eq!(padded(None), (0.0, 1.0));
        assert_eq!(padded(Some((0.0, 10.0))), (-0.5, 10.5));
        assert_eq!(padded(Some((5.0, 5.0))), (4.5, 5.5));
        assert_eq!(padded(Some((0.0, 0.0))), (-1.0, 1.0));
        assert_eq!(colour(Cmap::Viridis, f64::NAN, 0.0, 1.0), NAN_COLOUR);
        assert_eq!(colour(Cmap::Viridis, 0.0, 0.0, 1.0), RGBColor(68, 1, 84));
        assert_eq!(colour(Cmap::Viridis, 2.0, 0.0, 1.0), RGBColor(254, 232, 37));
        assert_eq!(
            colour(Cmap::Viridis, f64::NEG_INFINITY, 0.0, 1.0),
            RGBColor(68, 1, 84)
        );
    }

    #[test]
    fn runs_break_at_gaps_and_zigzag() {
        let c = |x: f64, min: f64, max: f64| Column {
            x,
            min,
            max,
            nan: min.is_nan(),
        };
        let d = LineData {
            len: 4,
            columns: vec![
                c(0.0, 0.0, 1.0),
                c(1.0, 0.5, 2.0),
                c(2.0, f64::NAN, f64::NAN),
                c(3.0, 3.0, 3.0),
            ],
            decimated: true,
            stats: Acc::default(),
        };
        let runs = line_runs(&d);
        assert_eq!(
            runs,
            vec![
                vec![(0.0, 0.0), (0.0, 1.0), (1.0, 0.5), (1.0, 2.0)],
                vec![(3.0, 3.0)]
            ]
        );
    }

    #[test]
    fn plot_area_leaves_room_for_labels() {
        let (w, h) = plot_area((1000, 600), 1);
        assert!(w > 800 && w < 1000, "{w}");
        assert!(h > 400 && h < 600, "{h}");
        let (w2, _) = plot_area((1000, 600), 2);
        assert!(w2 < w);
    }
}
