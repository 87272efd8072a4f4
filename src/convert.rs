//! Streaming conversion between files: `.npy` ↔ raw + sidecar, with an
//! optional change of element type, memory order and byte order.
//!
//! The source is visited in the destination's memory order,
//! [`CHUNK_ELEMENTS`](crate::stats::CHUNK_ELEMENTS) elements at a time; each
//! chunk is converted into a small buffer and written out with `write`.
//! When the memory order is kept (or does not matter, as for 1-D arrays),
//! the source is read front to back with `pread` into a reused buffer (see
//! [`Scan`](crate::Scan)): memory use is a few MiB whatever the file size
//! (a 30 GiB file converts on a machine with less memory than that), and a
//! source truncated by another program meanwhile gives
//! [`Error::Truncated`], not `SIGBUS`. A change of memory order (C ↔ F)
//! reads the source with `pread` too: an array of up to 64 MiB whole, then
//! walked in the destination's order; a larger one in tiles of 4 MiB,
//! each transposed and written in place with `pwrite`, so memory stays
//! bounded there as well. The destination is built under a
//! temporary name and renamed into place, so converting a file onto itself
//! is safe.
//!
//! Element types convert as numpy's `astype` does (see
//! [`Element::from_scalar`]).

use std::io::Write;
use std::path::Path;

use ndarray::{ArrayView, IxDyn, ShapeBuilder};

use crate::create::CreateOptions;
use crate::dtype::{self, ByteOrder, DType, Element, ElementType};
use crate::error::{Error, IoContext, Result};
use crate::format::Format;
use crate::layout::{Layout, Order};
use crate::scan::{Scan, ScanBuffer, read_exact_at};
use crate::source::{ArrayInfo, Source};
use crate::stats::CHUNK_ELEMENTS;

/// What [`convert`] changes; everything not set is kept from the source.
///
/// ```
/// use mmarray::{ByteOrder, ConvertOptions, ElementType, Order};
///
/// let dir = tempfile::tempdir()?;
/// let src = dir.path().join("a.npy");
/// mmarray::CreateOptions::new().write(&src, &ndarray::array![[1.5f64, 2.5], [3.5, 4.5]])?;
///
/// let dst = dir.path().join("a.dat");
/// let info = mmarray::convert(&src, &dst, ConvertOptions::new()
///     .element_type(ElementType::I32)
///     .order(Order::F)
///     .byte_order(ByteOrder::Big), |_| {})?;
/// assert_eq!(info.layout().dtype().to_string(), ">i4");
/// assert_eq!(mmarray::read_array::<i32>(&dst)?, ndarray::array![[1, 2], [3, 4]].into_dyn());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ConvertOptions {
    element: Option<ElementType>,
    order: Option<Order>,
    byte_order: Option<ByteOrder>,
    format: Option<Format>,
    overwrite: bool,
}

impl ConvertOptions {
    /// Keep everything; format from the destination's name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cast the elements to `element`.
    pub fn element_type(&mut self, element: ElementType) -> &mut Self {
        self.element = Some(element);
        self
    }

    /// Write in memory order `order`.
    pub fn order(&mut self, order: Order) -> &mut Self {
        self.order = Some(order);
        self
    }

    /// Write in byte order `byte_order`.
    pub fn byte_order(&mut self, byte_order: ByteOrder) -> &mut Self {
        self.byte_order = Some(byte_order);
        self
    }

    /// Write in `format` (default: `.npy` when the destination ends in
    /// `.npy`, raw + sidecar otherwise).
    pub fn format(&mut self, format: Format) -> &mut Self {
        self.format = Some(format);
        self
    }

    /// Replace an existing destination (default: refuse).
    pub fn overwrite(&mut self, overwrite: bool) -> &mut Self {
        self.overwrite = overwrite;
        self
    }
}

/// Converts the array at `src` into a new file at `dst`, streaming in bounded
/// memory. `progress` is called with the number of elements written after
/// each chunk. A raw destination keeps the source's attrs.
///
/// # Errors
///
/// As [`inspect`](crate::inspect) for the source, as
/// [`CreateOptions::create`] for the destination, and
/// [`Error::InvalidBool`] for a bool source holding a byte other than 0 or 1,
/// and [`Error::Truncated`] when the source file ends early while it is
/// read (another program truncated it).
pub fn convert(
    src: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    options: &ConvertOptions,
    progress: impl Fn(usize),
) -> Result<ArrayInfo> {
    convert_scan(&Scan::open(src)?, dst, options, progress)
}

/// [`convert`] from an array already opened for a scan (not mapped), without
/// opening it again.
///
/// ```
/// use mmarray::{ConvertOptions, Scan};
///
/// let dir = tempfile::tempdir()?;
/// let src = dir.path().join("a.npy");
/// mmarray::CreateOptions::new().write(&src, &ndarray::array![1u8, 2, 3])?;
/// let opened = Scan::open(&src)?;
/// let total = opened.info().layout().len(); // e.g. to size a progress bar
/// mmarray::convert_scan(&opened, dir.path().join("a.dat"), &ConvertOptions::new(), |_| {})?;
/// # assert_eq!(total, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`convert`], but for opening the source.
pub fn convert_scan(
    scan: &Scan,
    dst: impl AsRef<Path>,
    options: &ConvertOptions,
    progress: impl Fn(usize),
) -> Result<ArrayInfo> {
    let (file, info) = scan.parts();
    convert_opened(file, info, dst.as_ref(), options, progress)
}

/// [`convert`] from an array already opened and mapped, without opening it
/// again. The mapping is not read: the file is, with `pread`, as by
/// [`convert_scan`] (which opens no mapping at all).
///
/// ```
/// use mmarray::{ConvertOptions, Source};
///
/// let dir = tempfile::tempdir()?;
/// let src = dir.path().join("a.npy");
/// mmarray::CreateOptions::new().write(&src, &ndarray::array![1u8, 2, 3])?;
/// // SAFETY: the example's own file; nothing else changes it while mapped.
/// let opened = unsafe { Source::open(&src) }?;
/// let total = opened.info().layout().len(); // e.g. to size a progress bar
/// mmarray::convert_source(&opened, dir.path().join("a.dat"), &ConvertOptions::new(), |_| {})?;
/// # assert_eq!(total, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`convert`], but for opening the source.
pub fn convert_source(
    source: &Source,
    dst: impl AsRef<Path>,
    options: &ConvertOptions,
    progress: impl Fn(usize),
) -> Result<ArrayInfo> {
    convert_opened(
        source.lock.file(),
        &source.info,
        dst.as_ref(),
        options,
        progress,
    )
}

/// The conversion, from the open data `file` of the array `info`
/// describes: read with `pread` whatever the caller opened it as.
fn convert_opened(
    src_file: &std::fs::File,
    info: &ArrayInfo,
    dst: &Path,
    options: &ConvertOptions,
    progress: impl Fn(usize),
) -> Result<ArrayInfo> {
    let src_layout = &info.layout;
    let src_dtype = src_layout.dtype();
    let dst_dtype = DType::new(
        options.element.unwrap_or(src_dtype.element_type()),
        options.byte_order.unwrap_or(src_dtype.byte_order()),
    );
    let dst_order = options.order.unwrap_or(src_layout.order());

    let mut create = CreateOptions::new();
    create
        .order(dst_order)
        .overwrite(options.overwrite)
        .attrs(info.attrs.clone());
    if let Some(format) = options.format {
        create.format(format);
    }
    let reads: Vec<&Path> = std::iter::once(info.path())
        .chain(info.sidecar_path())
        .collect();
    let (dst_info, _file) = create.create_file(
        dst,
        dst_dtype,
        src_layout.shape(),
        &reads,
        |file, dst_layout| {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            let mut converted = Vec::with_capacity(CHUNK_ELEMENTS * dst_dtype.itemsize());
            let mut done = 0usize;
            let mut write_chunk = |chunk: &[u8]| {
                converted.clear();
                convert_chunk(chunk, src_dtype, dst_dtype, &mut converted).map_err(|index| {
                    Error::InvalidBool {
                        path: info.path.clone(),
                        index: done + index,
                        byte: chunk[index],
                    }
                })?;
                out.write_all(&converted)
                    .at(dst, "writing the converted file")?;
                let n = chunk.len() / src_dtype.itemsize();
                done += n;
                progress(n);
                Ok(())
            };
            if dst_order == src_layout.order() || !src_layout.orders_differ() {
                // The same sequence of elements either way: stream the file
                // with `pread`, never touching the mapping.
                let mut reader = ScanBuffer::new(src_file, &info.path, src_layout);
                while let Some(block) = reader.next_block()? {
                    for chunk in block.chunks(CHUNK_ELEMENTS * src_dtype.itemsize()) {
                        write_chunk(chunk)?;
                    }
                }
            } else if src_layout.nbytes() <= IN_MEMORY_BYTES {
                // Small enough to hold: read whole with `pread` (a
                // truncation is an error, not SIGBUS), then walk it in the
                // destination's order.
                let mut bytes = vec![0u8; src_layout.nbytes()];
                read_exact_at(
                    src_file,
                    &info.path,
                    &mut bytes,
                    src_layout.offset(),
                    src_layout.end(),
                )?;
                let mut result = Ok(());
                for_each_chunk_in_other_order(&bytes, src_layout, dst_order, |chunk| {
                    if result.is_ok() {
                        result = write_chunk(chunk);
                    }
                });
                result?;
            } else {
                let from = Side {
                    file: src_file,
                    path: &info.path,
                    layout: src_layout,
                };
                let to = Side {
                    file,
                    path: dst,
                    layout: dst_layout,
                };
                let tile = tile_elements(src_dtype.itemsize());
                return reverse_axes_in_tiles(from, to, tile, &progress);
            }
            out.flush().at(dst, "writing the converted file")
        },
    )?;
    Ok(dst_info)
}

/// Calls `f` with the source's element bytes in chunks of whole elements,
/// visiting the elements in memory order `order`, which is not the
/// layout's: a walk in random order over the mapping.
fn for_each_chunk_in_other_order(
    bytes: &[u8],
    layout: &Layout,
    order: Order,
    mut f: impl FnMut(&[u8]),
) {
    let item = layout.dtype().itemsize();
    let chunk_bytes = CHUNK_ELEMENTS * item;
    // Different order: view the bytes as one "u8" per element, at each
    // element's first byte, with the source's strides in bytes; then walk
    // that view in the destination's order.
    let strides = IxDyn(
        &layout
            .element_strides()
            .iter()
            .map(|&s| s * item)
            .collect::<Vec<_>>(),
    );
    let base = bytes.as_ptr() as usize;
    let first_bytes = match ArrayView::from_shape(
        IxDyn(layout.shape()).strides(strides),
        &bytes[..bytes.len() - item + 1],
    ) {
        Ok(view) => view,
        Err(_) => unreachable!("element strides in bytes stay within the array's bytes"),
    };
    let walk = match order {
        Order::C => first_bytes,
        Order::F => first_bytes.reversed_axes(),
    };
    let mut buf = Vec::with_capacity(chunk_bytes);
    for byte in walk.iter() {
        let offset = byte as *const u8 as usize - base;
        buf.extend_from_slice(&bytes[offset..offset + item]);
        if buf.len() == chunk_bytes {
            f(&buf);
            buf.clear();
        }
    }
    if !buf.is_empty() {
        f(&buf);
    }
}

/// Arrays up to this size change memory order in memory (read whole with
/// `pread`, then walked); larger ones tile by tile
/// ([`reverse_axes_in_tiles`]).
const IN_MEMORY_BYTES: usize = 64 << 20;

/// Elements in one tile of [`reverse_axes_in_tiles`] (at most 4 MiB of
/// source elements).
fn tile_elements(itemsize: usize) -> usize {
    ((4 << 20) / itemsize.max(1)).max(1)
}

/// One file of a conversion: open, named in errors, and where its array is.
#[derive(Clone, Copy)]
struct Side<'a> {
    file: &'a std::fs::File,
    path: &'a Path,
    layout: &'a Layout,
}

/// Writes the array of `from` into `to` (the new file) in the other
/// memory order, in bounded
/// memory and without a mapping: tiles of elements read with `pread`,
/// transposed, converted and written with `pwrite`.
///
/// A memory order change is a reversal of the axes of the sequence of
/// elements: the source in its own order is C order over `shape` (the
/// shape reversed for F order), the destination C order over `shape`
/// reversed. With `shape = [a, middle.., b]`, each index of the middle
/// axes picks an `a x b` matrix, whose rows lie `mid * b` elements apart
/// in the source (`mid` = the product of the middle extents) and whose
/// columns lie `mid * a` apart in the destination, where it is
/// transposed. It is copied in tiles of at most `tile` elements: each tile
/// row one read, each tile column one write (for 2-D arrays a tile that
/// spans whole rows is one read, one that spans whole columns one write).
/// Arrays whose first and last axes are both short next to the middle
/// ones make many small reads and writes: slow, but correct.
fn reverse_axes_in_tiles(
    from: Side<'_>,
    to: Side<'_>,
    tile: usize,
    progress: &impl Fn(usize),
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let (src, path, layout) = (from.file, from.path, from.layout);
    let (out, dst, dst_layout) = (to.file, to.path, to.layout);
    let (src_dtype, dst_dtype) = (layout.dtype(), dst_layout.dtype());
    let (item, dst_item) = (src_dtype.itemsize(), dst_dtype.itemsize());
    let mut shape = layout.shape().to_vec();
    if layout.order() == Order::F {
        shape.reverse();
    }
    let n = shape.len();
    let (a, b) = (shape[0], shape[n - 1]);
    let middle = &shape[1..n - 1];
    let mid: usize = middle.iter().product();
    let total = layout.len();
    if total == 0 {
        return Ok(());
    }
    let t = tile.max(1);
    let mut tb = b.min(t.isqrt().max(1));
    let ta = a.min((t / tb).max(1));
    tb = b.min((t / ta).max(1));
    let mut raw = vec![0u8; ta * tb * item];
    let mut transposed = vec![0u8; ta * tb * item];
    let mut converted = Vec::with_capacity(ta * tb * dst_item);
    let (src_base, dst_base) = (layout.offset(), dst_layout.offset());
    let mut index = vec![0usize; middle.len()];
    for m_c in 0..mid {
        // The middle index's place in the destination: F order over the
        // middle axes (C order over them reversed).
        let mut m_r = 0;
        for (k, &i) in index.iter().enumerate().rev() {
            m_r = m_r * middle[k] + i;
        }
        for i0 in (0..a).step_by(ta) {
            let ra = ta.min(a - i0);
            for j0 in (0..b).step_by(tb) {
                let rb = tb.min(b - j0);
                // Read the tile: rows i0.., elements j0.. of each.
                let tile = &mut raw[..ra * rb * item];
                if mid == 1 && rb == b {
                    let at = src_base + ((i0 * b) * item) as u64;
                    read_exact_at(src, path, tile, at, layout.end())?;
                } else {
                    for (r, row) in tile.chunks_exact_mut(rb * item).enumerate() {
                        let e = (i0 + r) * mid * b + m_c * b + j0;
                        read_exact_at(src, path, row, src_base + (e * item) as u64, layout.end())?;
                    }
                }
                // Transpose: element (r, c) to (c, r).
                let dst_tile = &mut transposed[..ra * rb * item];
                for r in 0..ra {
                    for c in 0..rb {
                        let from = (r * rb + c) * item;
                        let to = (c * ra + r) * item;
                        dst_tile[to..to + item].copy_from_slice(&tile[from..from + item]);
                    }
                }
                converted.clear();
                convert_chunk(dst_tile, src_dtype, dst_dtype, &mut converted).map_err(|k| {
                    let (c, r) = (k / ra, k % ra);
                    Error::InvalidBool {
                        path: path.to_path_buf(),
                        index: (i0 + r) * mid * b + m_c * b + j0 + c,
                        byte: dst_tile[k * item],
                    }
                })?;
                // Write it: column j of the tile at (j, m_r, i0..).
                let write = |bytes: &[u8], e: usize| {
                    out.write_all_at(bytes, dst_base + (e * dst_item) as u64)
                        .at(dst, "writing the converted file")
                };
                if mid == 1 && ra == a {
                    write(&converted, j0 * a)?;
                } else {
                    for (c, column) in converted.chunks_exact(ra * dst_item).enumerate() {
                        write(column, (j0 + c) * mid * a + m_r * a + i0)?;
                    }
                }
                progress(ra * rb);
            }
        }
        // The next middle index, C order (last middle axis fastest).
        for k in (0..middle.len()).rev() {
            index[k] += 1;
            if index[k] < middle[k] {
                break;
            }
            index[k] = 0;
        }
    }
    Ok(())
}

/// Converts whole elements of `src_dtype` to `dst_dtype`, appending to
/// `out`; `Err` holds the index of an invalid bool.
fn convert_chunk(
    src: &[u8],
    src_dtype: DType,
    dst_dtype: DType,
    out: &mut Vec<u8>,
) -> Result<(), usize> {
    if let Some((index, _)) = dtype::first_invalid_byte(src_dtype.element_type(), src) {
        return Err(index);
    }
    if src_dtype.element_type() == dst_dtype.element_type() {
        let start = out.len();
        out.extend_from_slice(src);
        if src_dtype.byte_order() != dst_dtype.byte_order() {
            src_dtype.element_type().swap_bytes(&mut out[start..]);
        }
        return Ok(());
    }
    crate::dispatch_type!(src_dtype.element_type(), |S| {
        let mut values: Vec<S> = Vec::with_capacity(src.len() / src_dtype.itemsize());
        dtype::decode_into(src, src_dtype.byte_order(), &mut values)?;
        crate::dispatch_type!(dst_dtype.element_type(), |D| {
            let cast: Vec<D> = values
                .iter()
                .map(|&x| D::from_scalar(x.to_scalar()))
                .collect();
            dtype::encode_into(&cast, dst_dtype.byte_order(), out);
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ArrayD;

    /// The two sides of a conversion from `source` into `out` at `dst`.
    fn sides<'a>(
        source: &'a Source,
        out: &'a std::fs::File,
        dst: &'a Path,
        dst_layout: &'a Layout,
    ) -> (Side<'a>, Side<'a>) {
        let from = Side {
            file: source.lock.file(),
            path: source.info().path(),
            layout: source.info().layout(),
        };
        let to = Side {
            file: out,
            path: dst,
            layout: dst_layout,
        };
        (from, to)
    }

    /// The tiled reversal, with tiles from one element to larger than the
    /// array, against the elements listed in the destination's order by
    /// ndarray, for 2-D to 4-D shapes with short and long axes, from C and
    /// from F, keeping the type and converting it.
    #[test]
    fn tiled_order_change_matches_the_elements_in_the_other_order() {
        let dir = tempfile::tempdir().unwrap();
        let shapes: &[&[usize]] = &[
            &[5, 7],
            &[1, 9],
            &[9, 1],
            &[2, 2],
            &[3, 4, 5],
            &[4, 1, 6],
            &[2, 3, 4, 5],
            &[1, 3, 1, 2],
        ];
        for (k, &shape) in shapes.iter().enumerate() {
            let len: usize = shape.iter().product();
            let arr = ArrayD::from_shape_vec(shape, (0..len as u16).map(|x| x * 3 + 1).collect())
                .unwrap();
            for src_order in [Order::C, Order::F] {
                let dst_order = match src_order {
                    Order::C => Order::F,
                    Order::F => Order::C,
                };
                let src = dir.path().join(format!("src{k}{src_order:?}.dat"));
                CreateOptions::new()
                    .order(src_order)
                    .overwrite(true)
                    .write(&src, &arr)
                    .unwrap();
                // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
                let source = unsafe { Source::open(&src) }.unwrap();
                let in_dst_order: Vec<u16> = match dst_order {
                    Order::C => arr.iter().copied().collect(),
                    Order::F => arr.t().iter().copied().collect(),
                };
                for element in [ElementType::U16, ElementType::F64] {
                    let dst_dtype = DType::new(element, ByteOrder::NATIVE);
                    let expected: Vec<u8> = match element {
                        ElementType::U16 => bytemuck::cast_slice(&in_dst_order).to_vec(),
                        _ => in_dst_order
                            .iter()
                            .flat_map(|&x| f64::from(x).to_ne_bytes())
                            .collect(),
                    };
                    for tile in [1, 2, 5, 7, 12, 1000] {
                        let dst = dir.path().join("dst.dat");
                        let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
                        let dst_layout = Layout::new(&dst, dst_dtype, &dims, dst_order, 3).unwrap();
                        let out = std::fs::File::create(&dst).unwrap();
                        out.set_len(dst_layout.end()).unwrap();
                        let counted = std::cell::Cell::new(0);
                        let (from, to) = sides(&source, &out, &dst, &dst_layout);
                        reverse_axes_in_tiles(from, to, tile, &|n| counted.set(counted.get() + n))
                            .unwrap();
                        let written = std::fs::read(&dst).unwrap();
                        assert_eq!(
                            &written[3..],
                            &expected[..],
                            "{shape:?} from {src_order:?} to {element:?}, tiles of {tile}"
                        );
                        assert_eq!(counted.get(), len);
                    }
                }
            }
        }
    }

    /// A source that ends early, or holds a bad bool, is an error naming
    /// it (at the byte, or at the element's place in the source).
    #[test]
    fn tiled_order_change_reports_truncation_and_bad_bools() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("b.dat");
        let mut bools = ndarray::Array2::from_elem((6, 5), false);
        bools[[4, 3]] = true;
        CreateOptions::new().write(&src, &bools).unwrap();
        let (dst, dims) = (dir.path().join("d.dat"), [6u64, 5]);
        let dst_layout = Layout::new(&dst, DType::of::<bool>(), &dims, Order::F, 0).unwrap();
        let out = std::fs::File::create(&dst).unwrap();
        let run = |source: &Source| {
            let (from, to) = sides(source, &out, &dst, &dst_layout);
            reverse_axes_in_tiles(from, to, 4, &|_| {})
        };
        // Element 4 * 5 + 3 = 23 becomes the byte 7.
        let mut bytes = std::fs::read(&src).unwrap();
        bytes[23] = 7;
        std::fs::write(&src, &bytes).unwrap();
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let source = unsafe { Source::open(&src) }.unwrap();
        let err = run(&source).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidBool {
                    index: 23,
                    byte: 7,
                    ..
                }
            ),
            "{err:?}"
        );
        bytes[23] = 1;
        std::fs::write(&src, &bytes).unwrap();
        // SAFETY: the test's own file in its own temporary directory; nothing else changes it while mapped.
        let source = unsafe { Source::open(&src) }.unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&src)
            .unwrap()
            .set_len(17)
            .unwrap();
        match run(&source).unwrap_err() {
            Error::Truncated { path, at, end } => {
                assert_eq!((path, at, end), (src.clone(), 17, 30));
            }
            err => panic!("{err:?}"),
        }
    }
}
