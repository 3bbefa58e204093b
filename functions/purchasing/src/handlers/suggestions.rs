//! Just in time: the latest replenishment suggestions as draft purchase orders, one per supplier
//! and destination, for the manager to review and send.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, Utc};
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{LocationId, PurchaseOrderId, SupplierId, VendorId};
use stockyard_domain::location::Location;
use stockyard_domain::product::Variant;
use stockyard_domain::purchasing::{
    self, DeliverTo, OrderOrigin, OrderedFrom, PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, Supplier,
};
use stockyard_domain::roles::VendorPermission;
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::IdempotencyParams;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::demand::ForecastRecord;
use stockyard_store::{Table, demand, locations, products, purchase_orders as orders, suppliers};
use utoipa::ToSchema;

use super::orders::changed_meanwhile;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromSuggestionsRequest {
    /// Only this supplier's suggestions.
    #[serde(default)]
    pub supplier_id: Option<SupplierId>,
    /// Only suggestions for this location.
    #[serde(default)]
    pub location_id: Option<LocationId>,
}

/// Why a suggestion was not ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotOrderedReason {
    /// The sanity guard holds it until someone has looked at it (`detail` says why).
    HeldForReview,
    /// The demand settings name no supplier (or only a code from before settings referred to
    /// suppliers that matches none of the vendor's): set `supplier_id` in them.
    NoSupplier,
    /// No variant of the vendor has the SKU any more.
    UnknownSku,
    /// The location is no longer the vendor's.
    UnknownLocation,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotOrdered {
    pub sku: String,
    pub location_id: LocationId,
    /// The supplier the demand settings name, if any.
    pub supplier_id: Option<SupplierId>,
    /// Units the forecast suggested.
    pub order_qty: f64,
    pub reason: NotOrderedReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FromSuggestionsResponse {
    /// The drafts made, by supplier code then location. Unit costs start at 0: set them (PATCH)
    /// when reviewing, before sending.
    pub purchase_orders: Vec<PurchaseOrder>,
    /// Suggestions that were not ordered, each with its reason.
    pub not_ordered: Vec<NotOrdered>,
    /// The last day of history of the newest forecast read.
    pub as_of: Option<NaiveDate>,
}

/// Most drafts one request makes (they are written in one transaction with its idempotency record).
const MAX_ORDERS: usize = 99;

fn not_ordered(f: &ForecastRecord, reason: NotOrderedReason, detail: Option<String>) -> NotOrdered {
    NotOrdered {
        sku: f.sku.clone(),
        location_id: f.location_id,
        supplier_id: f.supplier_id,
        order_qty: f.order_qty,
        reason,
        detail,
    }
}

async fn variant_of(table: &Table, vendor: VendorId, sku: &str) -> Result<Option<Variant>, ApiError> {
    Ok(products::variant_by_sku(table, vendor, sku).await?)
}

/// Turn the latest replenishment suggestions into draft purchase orders: one per supplier and
/// destination location (at most 99 lines each; more make another draft), quantities rounded up
/// to the supplier's pack size. A suggestion's supplier is the one its demand settings name;
/// suggestions held for review by the sanity guard, those without a supplier, and those whose SKU
/// or location is gone, are not ordered and are listed with the reason. Idempotent per
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/vendors/{vendorId}/purchase-orders/from-suggestions", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = FromSuggestionsRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = FromSuggestionsResponse), (status = 403, body = ErrorBody),
              (status = 409, description = "too_many_orders", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_purchase_orders_from_suggestions(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: FromSuggestionsRequest = cx.body()?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let table = cx.store().await?;
    let forecasts = demand::actionable(table, vendor, body.supplier_id).await?;
    let forecasts: Vec<ForecastRecord> =
        forecasts.into_iter().filter(|f| body.location_id.is_none_or(|l| f.location_id == l)).collect();
    let as_of = forecasts.iter().map(|f| f.as_of).max();

    let mut skipped = Vec::new();
    let mut found_suppliers: HashMap<SupplierId, Option<Supplier>> = HashMap::new();
    let mut found_locations: HashMap<LocationId, Option<Location>> = HashMap::new();
    // (supplier code, location) → lines; the index reads them by supplier id, location, SKU.
    let mut groups: BTreeMap<(String, LocationId), Vec<PurchaseOrderLine>> = BTreeMap::new();
    for f in &forecasts {
        if let Some(review) = &f.review {
            skipped.push(not_ordered(f, NotOrderedReason::HeldForReview, Some(review.clone())));
            continue;
        }
        if f.order_qty <= 0.0 {
            continue;
        }
        let Some(supplier_id) = f.supplier_id else {
            let detail = "the demand settings name no supplier".to_string();
            skipped.push(not_ordered(f, NotOrderedReason::NoSupplier, Some(detail)));
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = found_suppliers.entry(supplier_id) {
            slot.insert(suppliers::get(table, vendor, supplier_id).await?);
        }
        let Some(Some(supplier)) = found_suppliers.get(&supplier_id) else {
            let detail = "the demand settings name a supplier this vendor does not have".to_string();
            skipped.push(not_ordered(f, NotOrderedReason::NoSupplier, Some(detail)));
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = found_locations.entry(f.location_id) {
            slot.insert(locations::get(table, vendor, f.location_id).await?);
        }
        if !matches!(found_locations.get(&f.location_id), Some(Some(_))) {
            skipped.push(not_ordered(f, NotOrderedReason::UnknownLocation, None));
            continue;
        }
        let Some(variant) = variant_of(table, vendor, &f.sku).await? else {
            skipped.push(not_ordered(f, NotOrderedReason::UnknownSku, None));
            continue;
        };
        let quantity = purchasing::round_up_to_pack(f.order_qty, supplier.pack_size);
        groups.entry((supplier.code.clone(), f.location_id)).or_default().push(PurchaseOrderLine {
            sku: variant.sku.clone(),
            variant_id: variant.id,
            product_id: variant.product_id,
            quantity,
            received: 0,
            unit_cost: 0,
            perishable: variant.shelf_life_days.is_some(),
        });
    }
    let drafts: Vec<(&Supplier, &Location, Vec<PurchaseOrderLine>)> = groups
        .into_iter()
        .flat_map(|((code, location), lines)| {
            let supplier = found_suppliers.values().flatten().find(|s| s.code == code);
            let location = found_locations.get(&location).and_then(Option::as_ref);
            let chunks: Vec<Vec<PurchaseOrderLine>> =
                lines.chunks(purchasing::MAX_LINES).map(<[PurchaseOrderLine]>::to_vec).collect();
            chunks.into_iter().filter_map(move |chunk| Some((supplier?, location?, chunk)))
        })
        .collect();
    if drafts.len() > MAX_ORDERS {
        return Err(ApiError::conflict(
            "too_many_orders",
            format!("the suggestions make {} orders, more than {MAX_ORDERS}: ask per supplier", drafts.len()),
        ));
    }
    let actor = cx.actor();
    cx.idempotent(async |key| {
        let first =
            if drafts.is_empty() { 0 } else { orders::take_numbers(table, vendor, drafts.len() as u64).await? };
        let now = Utc::now();
        let mut made = Vec::with_capacity(drafts.len());
        for (n, (supplier, location, lines)) in drafts.iter().enumerate() {
            let order = PurchaseOrder {
                id: PurchaseOrderId::generate(),
                vendor_id: vendor,
                number: purchasing::order_number(first + n as u64),
                status: PurchaseOrderStatus::Draft,
                supplier: OrderedFrom::from(*supplier),
                deliver_to: DeliverTo {
                    location_id: location.id,
                    code: location.code.clone(),
                    name: location.name.clone(),
                },
                currency: supplier.currency,
                lines: lines.clone(),
                total: 0,
                note: None,
                origin: OrderOrigin::Suggestions,
                version: 1,
                vendor_name: None,
                created_by: actor.clone(),
                created_at: now,
                updated_at: now,
                sent_at: None,
                closed_at: None,
            };
            made.push(order);
        }
        let tx = orders::create(table, &made)?;
        let response = FromSuggestionsResponse { purchase_orders: made, not_ordered: skipped.clone(), as_of };
        commit(table, tx, key, StatusCode::CREATED, &response, |_| changed_meanwhile()).await
    })
    .await
}
