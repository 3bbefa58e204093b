//! One function per endpoint, grouped by resource (parse → authorise → decide → store → respond).

pub mod barcodes;
pub mod bulk;
pub mod categories;
pub mod exchange;
pub mod images;
pub mod products;
pub mod tax;
