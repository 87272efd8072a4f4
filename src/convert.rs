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
//! reads the source in another order than it is stored, through its
//! mapping: the pages it touches stay resident until the end, and the
//! `SIGBUS` limit of mappings applies. The destination is built under a
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
use crate::scan::ScanBuffer;
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
    convert_source(&Source::open(src)?, dst, options, progress)
}

/// [`convert`] from an array already opened, without opening it again.
///
/// ```
/// use mmarray::{ConvertOptions, Source};
///
/// let dir = tempfile::tempdir()?;
/// let src = dir.path().join("a.npy");
/// mmarray::CreateOptions::new().write(&src, &ndarray::array![1u8, 2, 3])?;
/// let opened = Source::open(&src)?;
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
    let (info, map) = (&source.info, source.bytes());
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
    let dst = dst.as_ref();
    let reads: Vec<&Path> = std::iter::once(info.path())
        .chain(info.sidecar_path())
        .collect();
    let (dst_info, _file) =
        create.create_file(dst, dst_dtype, src_layout.shape(), &reads, |file, _| {
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
                let mut reader = ScanBuffer::new(source.lock.file(), &info.path, src_layout);
                while let Some(block) = reader.next_block()? {
                    for chunk in block.chunks(CHUNK_ELEMENTS * src_dtype.itemsize()) {
                        write_chunk(chunk)?;
                    }
                }
            } else {
                let mut result = Ok(());
                for_each_chunk_in_other_order(map, src_layout, dst_order, |chunk| {
                    if result.is_ok() {
                        result = write_chunk(chunk);
                    }
                });
                result?;
            }
            out.flush().at(dst, "writing the converted file")
        })?;
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
            out[start..]
                .chunks_exact_mut(src_dtype.element_type().swap_unit())
                .for_each(<[u8]>::reverse);
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
