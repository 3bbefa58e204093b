//! One function per endpoint, grouped by resource (parse → authorise → decide → store → respond).

pub mod bulk;
pub mod categories;
pub mod exchange;
pub mod products;
