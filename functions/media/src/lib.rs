//! Media functions: `process-image` turns vendors' uploads into renditions (notified by the media
//! bucket through a queue); `get-barcode-label` draws a variant's barcode label.

pub mod labels;
pub mod openapi;
pub mod process;
