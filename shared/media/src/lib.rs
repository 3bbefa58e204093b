//! Product media without I/O: bytes in, bytes out, synchronous and fast enough to call per
//! request or per queue message (from `spawn_blocking` in async code).
//!
//! - [`images`]: checks that an upload really is a JPEG, PNG or WebP within the size and pixel
//!   limits, sets it upright from its EXIF orientation and writes metadata-free renditions at
//!   160, 480 and 1200 px on the long side ([`images::process`]).
//! - [`labels`]: barcode labels as SVG and PNG with the human-readable text: Code 128 of a SKU
//!   ([`labels::Label::code128`]) and EAN-13 / UPC-A / EAN-8 of a GTIN ([`labels::Label::gtin`]).
//!
//! Errors are `thiserror` enums with a stable machine `code()` and a `Display` text written for the
//! vendor.

pub mod images;
pub mod labels;

pub use images::{ImageRejected, Limits, Processed, Rendition, RenditionSize, process};
pub use labels::{Label, LabelError, Symbology};
