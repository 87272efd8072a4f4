//! Drawing `plot`'s pictures and writing them as PNG.
//!
//! This module owns the look of the pictures: the layout (title and
//! subtitle, axes with tick labels, the colour bar), the colours (matplotlib's
//! blue for lines, viridis for heatmaps, red for NaN) and number labels. It
//! draws with plotters on a [`Canvas`] (an RGB buffer, with text from the
//! embedded font) and encodes the buffer with `png`. What to draw comes
//! reduced from [`crate::plot`].

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use plotters::coord::Shift;
use plotters::element::{BitMapElement, Circle, Rectangle, Text};
use plotters::prelude::{
    ChartBuilder, DrawingArea, IntoDrawingArea, IntoFont, LineSeries, ViridisRGB,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor, ShapeStyle, TextStyle, WHITE};

use crate::canvas::Canvas;
use crate::common::CliError;
use crate::plot::{HeatData, LineData, Reduced, Title};

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

/// Draws `data` with `title` into a PNG of `size` at `out`.
pub fn draw(out: &Path, data: &Reduced, title: &Title, size: (u32, u32)) -> Result<(), CliError> {
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
    write_png(out, &buf, size)
}

fn draw_err(e: impl std::fmt::Display) -> CliError {
    CliError::Input(format!("drawing the plot failed: {e}").into())
}

fn text_style(size: u32, colour: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(colour)
}

/// The axis range for finite values `range`, with a little room around.
fn padded(range: Option<(f64, f64)>) -> (f64, f64) {
    let Some((lo, hi)) = range else {
        return (0.0, 1.0);
    };
    let span = hi - lo;
    let pad = if span > 0.0 && span.is_finite() {
        span * 0.05
    } else if span > 0.0 {
        0.0
    } else if lo == 0.0 {
        1.0
    } else {
        lo.abs() * 0.1
    };
    (lo - pad, hi + pad)
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
            s.push_str(&format!(
                "  ·  values {} to {}",
                number_label(lo),
                number_label(hi)
            ));
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
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(draw_err)?;
    let x_fmt = |v: &f64| integer_label(*v);
    let span = y_hi - y_lo;
    let y_fmt = move |v: &f64| axis_label(*v, span);
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
        .y_desc(title.value)
        .label_style(text_style(14, &TEXT))
        .axis_desc_style(text_style(15, &TEXT))
        .axis_style(MUTED)
        .draw()
        .map_err(draw_err)?;
    let width = if d.decimated { 1 } else { 2 };
    let style = ShapeStyle::from(&LINE).stroke_width(width);
    let runs = line_runs(d);
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
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
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
        let RGBColor(cr, cg, cb) = colour(lo + t * (hi - lo), lo, hi);
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
    let ticks = if hi > lo { 4 } else { 0 };
    for k in 0..=ticks {
        let t = if ticks == 0 {
            0.5
        } else {
            k as f64 / ticks as f64
        };
        let y = yr.start + ((1.0 - t) * (ph - 1) as f64).round() as i32;
        let right = bar_x + bar_w as i32;
        root.draw(&plotters::element::PathElement::new(
            vec![(right, y), (right + 5, y)],
            frame,
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            number_label(lo + t * (hi - lo)),
            (right + 9, y),
            label.clone(),
        ))
        .map_err(draw_err)?;
    }
    let heading = if averaged {
        format!("block mean {}", title.value)
    } else {
        title.value.to_string()
    };
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

fn write_png(out: &Path, rgb: &[u8], (w, h): (u32, u32)) -> Result<(), CliError> {
    let fail = |e: &dyn std::fmt::Display| {
        CliError::Input(format!("{}: writing the PNG failed: {e}", out.display()).into())
    };
    let file = File::create(out).map_err(|e| fail(&e))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(&e))?;
    writer.write_image_data(rgb).map_err(|e| fail(&e))?;
    writer.finish().map_err(|e| fail(&e))
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

/// A tick label on a value axis spanning `span`. Tick positions come from
/// repeated addition, so a tick meant to be 0 can arrive as -1.1e-16:
/// anything within a billionth of the span is labelled 0.
fn axis_label(v: f64, span: f64) -> String {
    number_label(if v.abs() < span.abs() * 1e-9 { 0.0 } else { v })
}

/// A number in at most 6 significant digits, without trailing zeros:
/// `0.3`, `12345.5`, `-2.5e-7`, `1.2346e9`.
pub fn number_label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { format!("{v}") };
    }
    let a = v.abs();
    if !(1e-4..1e7).contains(&a) {
        let s = format!("{v:.4e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exp}", trim_zeros(mantissa));
    }
    let decimals = (5 - a.log10().floor() as i32).clamp(0, 10) as usize;
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
    use super::*;
    use crate::plot::{Acc, Column};

    #[test]
    fn axis_labels_snap_rounding_noise_to_zero() {
        assert_eq!(axis_label(-1.1102e-16, 1.5), "0");
        assert_eq!(axis_label(0.2, 1.5), "0.2");
        assert_eq!(axis_label(3e-12, 1e-9), "3e-12");
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
