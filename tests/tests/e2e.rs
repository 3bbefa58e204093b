//! Every end-to-end test and project-shape check, as one test target (see Cargo.toml): run one
//! file's with a filter, `cargo nextest run -p stockyard-tests -E 'test(/^inventory::/)'`.

mod admin;
mod api_contract;
mod auth;
mod authorization;
mod billing;
mod carts;
mod catalog;
mod catalog_bulk;
mod catalog_media;
mod channels;
mod checkout;
mod checkout_rates;
mod coupons;
mod devices;
mod events;
mod forecasting;
mod fulfilment;
mod inventory;
mod payments;
mod profile;
mod project_shape;
mod purchasing;
mod recovery;
mod returns;
mod search;
mod vendors_and_staff;
mod webhooks;
