//! The surface plots are drawn on: plotters' RGB bitmap backend, with text
//! rendered from the embedded font.
//!
//! This module owns text rendering. plotters' own `ab_glyph` text ignores
//! each glyph's side bearing, which spaces letters unevenly, and its other
//! text paths look for system fonts, which CI machines may not have. So
//! [`Canvas`] wraps [`BitMapBackend`], passes every shape through to it, and
//! lays out and rasterises text itself with `ab_glyph` from Noto Sans
//! Regular (compiled in): kerning, bearings, anti-aliasing, the four
//! rotations plotters asks for, and anchors. plotters measures labels
//! through [`DrawingBackend::estimate_text_size`], so its layout uses the same
//! metrics.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::backend::{BitMapBackend, DrawingBackend};
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

type Error = DrawingErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

/// A bitmap backend with correct text from the embedded font.
pub struct Canvas<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> Canvas<'a> {
    /// Draws into `rgb` (3 bytes a pixel, row-major) of `size` pixels.
    pub fn new(rgb: &'a mut [u8], size: (u32, u32)) -> Result<Canvas<'a>, String> {
        let font = FontRef::try_from_slice(ttf_noto_sans::REGULAR)
            .map_err(|e| format!("the embedded font could not be read: {e}"))?;
        Ok(Canvas {
            inner: BitMapBackend::with_buffer(rgb, size),
            font,
        })
    }

    /// Glyph positions along the baseline, the advance width, and the
    /// ascent and descent (negative) of `text` at `size` pixels.
    fn layout(&self, text: &str, size: f64) -> (Vec<(ab_glyph::GlyphId, f32)>, f32, f32, f32) {
        let font = self.font.as_scaled(PxScale::from(size as f32));
        let mut caret = 0.0f32;
        let mut previous = None;
        let mut glyphs = Vec::with_capacity(text.len());
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                caret += font.kern(p, id);
            }
            glyphs.push((id, caret));
            caret += font.h_advance(id);
            previous = Some(id);
        }
        (glyphs, caret, font.ascent(), font.descent())
    }
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Error> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Error> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Error> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Error> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), Error> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), Error> {
        let (_, width, ascent, descent) = self.layout(text, style.size());
        Ok((width.ceil() as u32, (ascent - descent).ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), Error> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let size = style.size();
        let (glyphs, width, ascent, descent) = self.layout(text, size);
        let height = ascent - descent;
        // The anchor, in the text's own frame (x along the text, y down).
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let (dx, dy) = (dx.round(), dy.round());
        let transform = style.transform();
        let scale = PxScale::from(size as f32);
        for (id, x) in glyphs {
            let glyph = id.with_scale_and_position(scale, point(dx + x, dy + ascent));
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue; // spaces
            };
            let bounds = outline.px_bounds();
            let mut result = Ok(());
            outline.draw(|gx, gy, coverage| {
                if result.is_err() || coverage <= 0.0 {
                    return;
                }
                let x = bounds.min.x as i32 + gx as i32;
                let y = bounds.min.y as i32 + gy as i32;
                let (x, y) = rotate(&transform, x, y);
                let pixel = BackendColor {
                    alpha: color.alpha * f64::from(coverage.min(1.0)),
                    rgb: color.rgb,
                };
                result = self.inner.draw_pixel((pos.0 + x, pos.1 + y), pixel);
            });
            result?;
        }
        Ok(())
    }
}

/// plotters' rotations (clockwise), in pixel coordinates with y down.
fn rotate(transform: &FontTransform, x: i32, y: i32) -> (i32, i32) {
    match transform {
        FontTransform::None => (x, y),
        FontTransform::Rotate90 => (-y, x),
        FontTransform::Rotate180 => (-x, -y),
        FontTransform::Rotate270 => (y, -x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::{IntoDrawingArea, IntoFont, Text, WHITE};
    use plotters::style::text_anchor::Pos;
    use plotters::style::{RGBColor, TextStyle};

    fn ink(buf: &[u8], w: usize) -> (usize, usize, usize, usize, usize) {
        // Count of non-white pixels and their bounding box.
        let (mut n, mut x0, mut y0, mut x1, mut y1) = (0, usize::MAX, usize::MAX, 0, 0);
        for (i, px) in buf.chunks(3).enumerate() {
            if px != [255, 255, 255] {
                let (x, y) = (i % w, i / w);
                n += 1;
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
        (n, x0, y0, x1, y1)
    }

    #[test]
    fn draws_text_where_anchored() {
        let (w, h) = (200u32, 100u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let canvas = Canvas::new(&mut buf, (w, h)).unwrap();
            let (tw, th) = canvas
                .estimate_text_size("Hello", &TextStyle::from(("sans-serif", 20).into_font()))
                .unwrap();
            assert!((35..70).contains(&tw), "{tw}");
            assert!((18..30).contains(&th), "{th}");
            let root = canvas.into_drawing_area();
            root.fill(&WHITE).unwrap();
            let style = TextStyle::from(("sans-serif", 20).into_font())
                .color(&RGBColor(0, 0, 0))
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new("Hello", (100, 50), style)).unwrap();
            root.present().unwrap();
        }
        let (n, x0, y0, x1, y1) = ink(&buf, w as usize);
        assert!(n > 100, "{n} pixels of ink");
        // Centred on (100, 50) within a few pixels.
        assert!(((x0 + x1) as i32 / 2 - 100).abs() <= 3, "{x0}..{x1}");
        assert!(((y0 + y1) as i32 / 2 - 50).abs() <= 4, "{y0}..{y1}");
    }

    #[test]
    fn rotated_text_is_vertical() {
        let (w, h) = (100u32, 200u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let root = Canvas::new(&mut buf, (w, h)).unwrap().into_drawing_area();
            let style = TextStyle::from(("sans-serif", 20).into_font())
                .color(&RGBColor(0, 0, 0))
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new("Vertical", (50, 100), style)).unwrap();
            root.present().unwrap();
        }
        let (_, x0, y0, x1, y1) = ink(&buf, w as usize);
        assert!(y1 - y0 > 2 * (x1 - x0), "{x0}..{x1} × {y0}..{y1}");
    }
}
