//! Drawing `plot`'s pictures and writing them as PNG.
//!
//! This module owns the look of the pictures: the layout (title and
//! subtitle, axes with tick labels, the colour bar), the colours (matplotlib's
//! blue for lines, viridis for heatmaps, red for NaN) and number labels. It
//! draws with plotters on a [`Canvas`] (an RGB buffer, with text from the
//! embedded font) and encodes the buffer with `png`. What to draw comes
//! reduced from [`crate::plot`].
//!
//! Values can span all of `f64` (`-1e308` to `1e308`, a width that
//! overflows), or a few ulps (subnormals): plotters' own tick search loops
//! forever on such ranges, so the value axis is drawn in unit coordinates
//! (0 at the bottom, 1 at the top) with tick positions computed here in a
//! bounded number of steps ([`ticks`]), and every span is computed so that
//! it cannot overflow ([`unit`]).

use std::io::{self, Write};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::element::{BitMapElement, Circle, Rectangle, Text};
use plotters::prelude::{
    ChartBuilder, DrawingArea, IntoDrawingArea, IntoFont, LineSeries, ViridisRGB,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor, ShapeStyle, TextStyle, WHITE};

use super::canvas::Canvas;
use super::reduce::{HeatData, LineData, Reduced, Title};
use crate::common::CliError;

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
/// NaN in a heatmap: a red that viridis never reaches.
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

/// Draws `data` with `title` into an RGB picture of `size`.
pub fn draw(data: &Reduced, title: &Title, size: (u32, u32)) -> Result<Vec<u8>, CliError> {
    let (w, h) = size;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let root = Canvas::new(&mut buf, size)
            .map_err(draw_err)?
            .into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (head, body) = root.split_vertically(TITLE_H);
        let subtitle = match data {
            Reduced::Line(d) => line_subtitle(d),
            Reduced::Heat(d) => heat_subtitle(d),
        };
        head.draw(&Text::new(
            title.to_string(),
            (w as i32 / 2, 24),
            text_style(21, &TEXT).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(draw_err)?;
        head.draw(&Text::new(
            subtitle,
            (w as i32 / 2, 50),
            text_style(15, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(draw_err)?;
        match data {
            Reduced::Line(d) => draw_line(&body, d, title)?,
            Reduced::Heat(d) => draw_heat(&root, &body, d, title, size)?,
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

/// The value at `t` (0 to 1) on the scale `lo..=hi`, without overflow.
fn lerp(lo: f64, hi: f64, t: f64) -> f64 {
    if t <= 0.0 {
        lo
    } else if t >= 1.0 {
        hi
    } else {
        (lo * (1.0 - t) + hi * t).clamp(lo, hi)
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
    s.push_str(&skipped(
        d.stats.nan,
        d.stats.inf,
        d.stats.range().is_none(),
    ));
    s
}

fn heat_subtitle(d: &HeatData) -> String {
    let (gr, gc) = d.grid.dim();
    let mut s = format!(
        "{} rows × {} columns",
        group(d.rows as u64),
        group(d.cols as u64)
    );
    if (gr, gc) != (d.rows, d.cols) {
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
        s.push_str(&format!("  ·  {} NaN, shown in red", group(d.stats.nan)));
    }
    if d.stats.range().is_none() {
        s.push_str("  ·  no finite values");
    }
    s
}

fn skipped(nan: u64, inf: u64, nothing_finite: bool) -> String {
    let mut s = String::new();
    if nan > 0 {
        s.push_str(&format!("  ·  {} NaN skipped", group(nan)));
    }
    if inf > 0 {
        s.push_str(&format!("  ·  {} infinite skipped", group(inf)));
    }
    if nothing_finite {
        s.push_str("  ·  no finite values to draw");
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
    // Numbers that agree in their first digits are shown less an offset
    // (exact: the two are close), named in the axis title.
    let offset = axis_offset(y_lo, y_hi);
    let (y_lo, y_hi) = (y_lo - offset, y_hi - offset);
    let y_desc = if offset == 0.0 {
        title.value.to_string()
    } else {
        format!("{} − {}", title.value, exact_label(offset))
    };
    // The value axis in unit coordinates, with our own ticks (see the module
    // docs); each tick's label is looked up by its unit position.
    let y_ticks = ticks(y_lo, y_hi, 8);
    let y_labels: Vec<(f64, String)> = y_ticks
        .iter()
        .map(|&v| unit(v, y_lo, y_hi))
        .zip(tick_labels(&y_ticks))
        .collect();
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

/// The heatmap colour of `v` on the scale `lo..=hi`.
fn colour(v: f64, lo: f64, hi: f64) -> RGBColor {
    if v.is_nan() {
        return NAN_COLOUR;
    }
    let t = if hi > lo {
        unit(v, lo, hi).clamp(0.0, 1.0)
    } else {
        0.5
    };
    ViridisRGB::get_color(if t.is_nan() { 0.5 } else { t })
}

fn draw_heat(
    root: &DrawingArea<Canvas<'_>, Shift>,
    body: &DrawingArea<Canvas<'_>, Shift>,
    d: &HeatData,
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

    // The colours span what is drawn: the elements' range, or when blocks
    // are averaged, the range of the block means (the subtitle gives the
    // elements' range then), so that averaging does not wash colours out.
    let (gr, gc) = d.grid.dim();
    let averaged = (gr, gc) != (d.rows, d.cols);
    let (lo, hi) = if averaged {
        grid_range(d)
    } else {
        d.stats.range()
    }
    .unwrap_or((0.0, 1.0));
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let (pw, ph) = (xr.len().max(1), yr.len().max(1));
    let mut image = Vec::with_capacity(pw * ph * 3);
    for py in 0..ph {
        let r = py * gr / ph;
        for px in 0..pw {
            let RGBColor(cr, cg, cb) = colour(d.grid[[r, px * gc / pw]], lo, hi);
            image.extend_from_slice(&[cr, cg, cb]);
        }
    }
    blit(root, (xr.start, yr.start), (pw, ph), image)?;

    // The colour bar: as tall as the plot, viridis from min (bottom) to max.
    let bar_x = (w - BAR_AREA) as i32 + 14;
    let bar_w = 22usize;
    let mut strip = Vec::with_capacity(bar_w * ph * 3);
    for py in 0..ph {
        let t = 1.0 - py as f64 / (ph.max(2) - 1) as f64;
        let RGBColor(cr, cg, cb) = if hi > lo {
            ViridisRGB::get_color(t)
        } else {
            colour(lo, lo, hi)
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
    let n_ticks = if hi > lo { 4 } else { 0 };
    let at: Vec<f64> = (0..=n_ticks)
        .map(|k| {
            if n_ticks == 0 {
                0.5
            } else {
                k as f64 / n_ticks as f64
            }
        })
        .collect();
    // As on a line plot's value axis: values that agree in their first
    // digits are labelled less an offset, named in the heading.
    let offset = axis_offset(lo, hi);
    let values: Vec<f64> = at
        .iter()
        .map(|&t| lerp(lo - offset, hi - offset, t))
        .collect();
    for (&t, text) in at.iter().zip(tick_labels(&values)) {
        let y = yr.start + ((1.0 - t) * (ph - 1) as f64).round() as i32;
        let right = bar_x + bar_w as i32;
        root.draw(&plotters::element::PathElement::new(
            vec![(right, y), (right + 5, y)],
            frame,
        ))
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
    if d.stats.nan > 0 {
        let y = yr.end + 14;
        root.draw(&Rectangle::new(
            [(bar_x, y), (bar_x + bar_w as i32, y + 14)],
            NAN_COLOUR.filled(),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new("NaN", (bar_x + bar_w as i32 + 9, y + 7), label))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// The finite range of a heatmap's cells.
fn grid_range(d: &HeatData) -> Option<(f64, f64)> {
    let (lo, hi) = d
        .grid
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    (lo <= hi).then_some((lo, hi))
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
    use super::super::reduce::{Acc, Column};
    use super::*;

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
            assert_eq!(lerp(lo, hi, 0.0), lo);
            assert_eq!(lerp(lo, hi, 1.0), hi);
            assert!(lerp(lo, hi, 0.5).is_finite());
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
        assert_eq!(colour(1e308, -1e308, 1e308), colour(1.0, 0.0, 1.0));
        assert_eq!(colour(-1e308, -1e308, 1e308), colour(0.0, 0.0, 1.0));
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
        assert_eq!(colour(f64::NAN, 0.0, 1.0), NAN_COLOUR);
        assert_eq!(colour(0.0, 0.0, 1.0), RGBColor(68, 1, 84));
        assert_eq!(colour(2.0, 0.0, 1.0), RGBColor(254, 232, 37));
        assert_eq!(colour(f64::NEG_INFINITY, 0.0, 1.0), RGBColor(68, 1, 84));
    }

    #[test]
    fn runs_break_at_gaps_and_zigzag() {
        let c = |x: f64, min: f64, max: f64| Column { x, min, max };
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
