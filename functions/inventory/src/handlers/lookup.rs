//! What the stock routes look up before they change anything: the variant a SKU names, the
//! locations an id names, and how a stock item is shown.

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use stockyard_domain::ids::{LocationId, VendorId};
use stockyard_domain::location::Location;
use stockyard_domain::product::Variant;
use stockyard_domain::stock::{self, Availability, Shortage, StockError, StockItem, StockShard, StockStatus};
use stockyard_domain::values::Sku;
use stockyard_http::{ApiError, Ctx};
use stockyard_store::{Table, locations, products};
use utoipa::ToSchema;

/// The variant a vendor's SKU names, for a SKU sent in a body (`field`): 422 when unknown.
pub async fn variant_in_body(table: &Table, vendor: VendorId, field: &str, sku: &str) -> Result<Variant, ApiError> {
    variant(table, vendor, sku)
        .await?
        .ok_or_else(|| ApiError::unprocessable("unknown_sku", Some(field), "no variant of this vendor has this SKU"))
}

/// The variant a vendor's SKU names, for a SKU in the path: 404 when unknown.
pub async fn variant_in_path(table: &Table, vendor: VendorId, sku: &str) -> Result<Variant, ApiError> {
    variant(table, vendor, sku).await?.ok_or(ApiError::NotFound("sku"))
}

async fn variant(table: &Table, vendor: VendorId, sku: &str) -> Result<Option<Variant>, ApiError> {
    Ok(products::variant_by_sku(table, vendor, sku).await?)
}

/// The vendor's location an id sent in a body (`field`) names: 422 when it has none such.
pub async fn location_in_body(
    table: &Table,
    vendor: VendorId,
    field: &str,
    id: LocationId,
) -> Result<Location, ApiError> {
    locations::get(table, vendor, id).await?.ok_or_else(|| {
        ApiError::unprocessable("unknown_location", Some(field), "this vendor has no location with this id")
    })
}

/// The vendor's location an id in the path names: 404 when it has none such.
pub async fn location_in_path(table: &Table, vendor: VendorId, id: LocationId) -> Result<Location, ApiError> {
    locations::get(table, vendor, id).await?.ok_or(ApiError::NotFound("location"))
}

/// A SKU as a path or query parameter takes it.
pub fn sku(field: &str, raw: &str) -> Result<String, stockyard_domain::FieldError> {
    Sku::parse(field, raw)
}

/// A stock item that has held nothing yet, for `variant` at `location`.
pub fn empty_item(variant: &Variant, location: LocationId) -> StockItem {
    StockItem::empty(
        variant.vendor_id,
        variant.id,
        variant.product_id,
        &variant.sku,
        location,
        variant.shelf_life_days.is_some(),
        Utc::now(),
    )
}

/// The item as read (or a fresh one), with the variant's current SKU and shelf life.
pub fn current_item(before: Option<&StockItem>, variant: &Variant, location: LocationId) -> StockItem {
    let mut item = before.cloned().unwrap_or_else(|| empty_item(variant, location));
    item.sku = variant.sku.clone();
    item.perishable = variant.shelf_life_days.is_some();
    item
}

/// `?expiring_within_days=`: 0–365; absent, the vendor's own near-expiry window applies.
pub fn expiring_within_days(cx: &Ctx<'_>) -> Result<Option<u32>, ApiError> {
    days_query(cx, "expiring_within_days")
}

/// A query parameter that counts days from today: a whole number from 0 to 365.
pub fn days_query(cx: &Ctx<'_>, name: &str) -> Result<Option<u32>, ApiError> {
    cx.query_as(name, |field, raw| {
        raw.parse::<u32>()
            .ok()
            .filter(|d| *d <= 365)
            .ok_or_else(|| stockyard_domain::FieldError::new(field, "must be a whole number of days from 0 to 365"))
    })
}

/// A stock item with what can be promised from it today and its status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockLevel {
    #[serde(flatten)]
    pub item: StockItem,
    /// Units in batches past their expiry date (on hand until written off, never available).
    pub expired: u32,
    /// On hand − reserved − expired, plus what the item's shards have free. (The response to a
    /// change of stock counts only the item's own units; its `allotted` says how many are in
    /// shards.)
    pub available: u32,
    pub status: StockStatus,
    /// The stock shards checkouts reserve from, when the item is split (a flash sale).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardLevel>,
}

/// One stock shard: units set aside for checkouts to reserve from in parallel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShardLevel {
    pub shard: u8,
    /// Units set aside here (reserved ones included).
    pub allotted: u32,
    /// Of those, units promised to orders.
    pub reserved: u32,
    /// Allotted − reserved.
    pub available: u32,
    /// Counts every change of the shard; its ledger's movements carry the version they made.
    pub version: u64,
}

impl StockLevel {
    pub fn of(item: StockItem, today: NaiveDate, near_expiry_days: u32) -> Self {
        Self::with_shards(item, &[], today, near_expiry_days)
    }

    /// The level of an item and its active `shards`.
    pub fn with_shards(item: StockItem, shards: &[StockShard], today: NaiveDate, near_expiry_days: u32) -> Self {
        let Availability { expired, .. } = stock::availability(&item, today);
        let available = stock::available_with_shards(&item, shards, today);
        let status = stock::status_at(&item, available, today, near_expiry_days);
        let shards = shards
            .iter()
            .filter(|s| s.shard < item.shards)
            .map(|s| ShardLevel {
                shard: s.shard,
                allotted: s.allotted,
                reserved: s.reserved,
                available: s.free(),
                version: s.version,
            })
            .collect();
        Self { item, expired, available, status, shards }
    }
}

/// The levels of `items`, each with its shards (read for the items split into shards).
pub async fn levels(
    table: &Table,
    items: Vec<StockItem>,
    today: NaiveDate,
    near_expiry_days: u32,
) -> Result<Vec<StockLevel>, ApiError> {
    let shards = futures_util::future::try_join_all(items.iter().map(|item| async move {
        if item.shards == 0 { Ok(Vec::new()) } else { stockyard_store::stock::active_shards(table, item).await }
    }))
    .await?;
    Ok(items
        .into_iter()
        .zip(shards)
        .map(|(item, shards)| StockLevel::with_shards(item, &shards, today, near_expiry_days))
        .collect())
}

/// Today in UTC: batches expire at the end of their date.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// What a refused change tells the client; `field` is the quantity's.
pub fn stock_error(field: &str, error: StockError) -> ApiError {
    match error {
        StockError::Short(Shortage::Insufficient { requested, available }) => ApiError::Conflict {
            code: "insufficient_stock",
            message: format!("only {available} units can be taken here, {requested} were asked for"),
            field: Some(field.to_string()),
        },
        StockError::Short(Shortage::NoSuchBatch(lot)) => {
            ApiError::unprocessable("unknown_batch", Some("lot"), format!("no batch {lot} is held at this location"))
        }
        StockError::Short(Shortage::Expired { lot, expires_on }) => ApiError::Conflict {
            code: "batch_expired",
            message: format!("batch {lot} expired on {expires_on}: it can only be written off"),
            field: Some("lot".into()),
        },
        StockError::TooMany => ApiError::invalid(field, error.to_string()),
        StockError::TooManyBatches => ApiError::conflict("too_many_batches", error.to_string()),
        StockError::TooManyShards => ApiError::invalid("shards", error.to_string()),
        StockError::PerishableShards => {
            ApiError::Conflict { code: "perishable_stock", message: error.to_string(), field: Some("shards".into()) }
        }
        StockError::LotExpiryMismatch { .. } => {
            ApiError::unprocessable("lot_expiry_mismatch", Some("expires_on"), error.to_string())
        }
    }
}

/// A change that failed: on the store (a step's condition the caller tells apart), or for a reason
/// the client is told.
pub enum Failed {
    Store(stockyard_store::StoreError),
    Api(ApiError),
}

impl From<stockyard_store::StoreError> for Failed {
    fn from(e: stockyard_store::StoreError) -> Self {
        Failed::Store(e)
    }
}

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Self {
        Failed::Api(e)
    }
}
