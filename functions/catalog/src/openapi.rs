//! The catalog API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers::{barcodes, bulk, categories, exchange, images, products, tax};

#[derive(OpenApi)]
#[openapi(paths(
    categories::create_category,
    categories::update_category,
    categories::list_categories,
    categories::get_category,
    products::create_product,
    products::list_vendor_products,
    products::get_vendor_product,
    products::update_product,
    products::set_product_status,
    products::create_variant,
    products::update_variant,
    products::put_translation,
    products::get_product,
    images::create_image,
    images::get_image,
    barcodes::lookup,
    barcodes::vendor_lookup,
    exchange::put_exchange_rates,
    exchange::get_exchange_rates,
    tax::put_tax_rates,
    tax::get_tax_rates,
    bulk::create_import,
    bulk::start_import,
    bulk::get_import,
    bulk::create_export,
    bulk::get_export,
))]
pub struct CatalogApi;
