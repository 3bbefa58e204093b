//! Stockyard's domain: identifiers, validated values, entities, money, roles and permissions,
//! the catalog's rules (locales, GTINs, exchange rates, descriptions, slugs, attribute schemas), API
//! keys' scopes and permissions, and what scanners and RFID readers read (GTINs, GS1 codes, EPCs).
//! Pure Rust with no AWS or Lambda dependency, so everything here is unit-tested fast.

pub mod account;
pub mod address;
pub mod allocation;
pub mod api_key;
pub mod billing;
pub mod bulk;
pub mod carrier;
pub mod cart;
pub mod catalog;
pub mod category;
pub mod channel;
pub mod checkout;
pub mod demand;
pub mod error;
pub mod exchange;
pub mod fulfilment;
pub mod gtin;
pub mod ids;
pub mod image;
pub mod locale;
pub mod location;
pub mod markdown;
pub mod money;
pub mod order;
pub mod order_link;
pub mod password;
pub mod payment;
pub mod product;
pub mod promotion;
pub mod purchasing;
pub mod returns;
pub mod roles;
pub mod scan;
pub mod shipping;
pub mod slug;
pub mod stock;
pub mod tax;
pub mod values;
pub mod vendor;
pub mod webhook;

pub use error::FieldError;
pub use money::{Currency, Money};
