//! Picking, packing and shipping (the vendor's owner and order handlers, and the platform's
//! warehouse staff for every vendor): a location's pick list, recording a parcel (which takes its
//! units out of on hand through the ledger and moves the order on), and an order's parcels.
//! Warehouse staff see no customer detail beyond where a parcel goes.

use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::address::PostalAddress;
use stockyard_domain::fulfilment::{self, PackedLine, PickLine, ShipError, Shipment};
use stockyard_domain::ids::{LocationId, OrderId, ShipmentId, VendorId};
use stockyard_domain::order::{OrderStatus, VendorOrder};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::stock::MAX_QUANTITY;
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::remember;
use stockyard_http::openapi::IdempotencyParams;
use stockyard_http::response::{json, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::fulfilment::{self as store, Parcel, ShipFailure};
use stockyard_store::{locations, orders};
use utoipa::ToSchema;

/// What waits to be picked at a location.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickList {
    pub location_id: LocationId,
    /// One line per variant, in walking order (by bin; lines without a bin last).
    pub lines: Vec<PickLine>,
    /// The orders this page of the queue covers.
    pub orders: usize,
    /// Pass as `cursor` for the next orders of the queue; null on the last page.
    pub next_cursor: Option<String>,
}

/// The pick list of one of the vendor's locations over its paid orders still to ship from there,
/// earliest promised ship date first (`limit` orders a page): each variant once with its units,
/// its bin, the batches to take first-expiring-first, and the orders they go to.
#[utoipa::path(get, path = "/vendors/{vendorId}/locations/{locationId}/pick-list", tag = "fulfilment",
    security(("bearer" = ["vendor_owner", "order_handler", "warehouse_staff", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("locationId" = LocationId, Path),
           ("limit" = Option<u32>, Query, description = "orders per page: 1 to 100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = PickList), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such vendor, or no such location of it", body = ErrorBody)))]
pub async fn get_pick_list(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let location = cx.path("locationId", LocationId::parse)?;
    let page = cx.page(false)?;
    let vendor = cx.vendor(VendorPermission::FulfilmentRead).await?.id();
    let table = cx.store().await?;
    locations::get(table, vendor, location).await?.ok_or(ApiError::NotFound("location"))?;
    let found = store::pick_list(table, vendor, location, &page, today()).await?;
    Ok(ok(&PickList {
        location_id: location,
        lines: found.lines,
        orders: found.orders,
        next_cursor: found.next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackedLineBody {
    /// The SKU of one of the order's lines.
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Units in the parcel: 1 up to what is still to ship of the line from the location.
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 2)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequest {
    /// The location the parcel leaves from (one the order's lines were allocated to).
    pub location_id: LocationId,
    /// 1 to 20 lines, each SKU once.
    #[schema(min_items = 1, max_items = 20)]
    pub lines: Vec<PackedLineBody>,
    /// 1 to 64 characters.
    #[schema(example = "DHL")]
    pub carrier: String,
    #[serde(default)]
    #[schema(example = "Express")]
    pub service: Option<String>,
    /// 4 to 64 letters, digits or '-' (spaces are dropped, letters upper-cased); one parcel's.
    /// The carrier's tracking events name the parcel by it.
    #[serde(default)]
    #[schema(example = "JD014600006281234567")]
    pub tracking_number: Option<String>,
    /// The carrier's reference of the printed label.
    #[serde(default)]
    pub label_reference: Option<String>,
}

/// A parcel recorded, and the order as it is after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentResponse {
    pub shipment: Shipment,
    /// The order's status after the parcel: `partially_shipped` or `shipped`.
    pub order_status: OrderStatus,
    /// Where the parcel goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<PostalAddress>,
}

/// Pack and ship a parcel of a paid order from one location: its units leave on hand (and the
/// reservation the checkout made) through the ledger (`shipped` movements; perishable variants
/// from their batches first-expiring-first), the order counts them shipped and moves to
/// `partially_shipped`, or `shipped` with its last units; the rest stays open. Every line is
/// checked before anything is written. With an `Idempotency-Key`, a retry replays the parcel and
/// never ships it twice.
#[utoipa::path(post, path = "/vendors/{vendorId}/orders/{orderId}/shipments", tag = "fulfilment",
    security(("bearer" = ["vendor_owner", "order_handler", "warehouse_staff"])),
    request_body = ShipmentRequest,
    params(("vendorId" = VendorId, Path), ("orderId" = OrderId, Path), IdempotencyParams),
    responses((status = 201, body = ShipmentResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such order of this vendor", body = ErrorBody),
              (status = 409, description = "order_not_shippable (not paid, or closed); insufficient_stock (names the line: units on hand cannot supply, such as batches expired since the checkout); stock_not_held; tracking_number_taken (another parcel has it)", body = ErrorBody),
              (status = 422, description = "invalid_field (names it: a line not in the order at that location, more than is left to ship, a SKU twice, the carrier)", body = ErrorBody),
              (status = 503, description = "service_busy: the order or its stock is changing too fast; retry with the same Idempotency-Key", body = ErrorBody)))]
pub async fn create_shipment(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("orderId", OrderId::parse)?;
    let body: ShipmentRequest = cx.body()?;
    let parcel = parcel_of(&body)?;
    if body.lines.is_empty() || body.lines.len() > fulfilment::MAX_SHIPMENT_LINES {
        let max = fulfilment::MAX_SHIPMENT_LINES;
        return Err(ApiError::invalid("lines", format!("must hold 1 to {max} lines")));
    }
    for (i, line) in body.lines.iter().enumerate() {
        if !(1..=i64::from(MAX_QUANTITY)).contains(&line.quantity) {
            return Err(ApiError::invalid(
                &format!("lines[{i}].quantity"),
                format!("must be from 1 to {MAX_QUANTITY}"),
            ));
        }
    }
    let vendor = cx.vendor(VendorPermission::Fulfil).await?.id();
    let table = cx.store().await?;
    let order = orders::vendor_order(table, vendor, id).await?.ok_or(ApiError::NotFound("order"))?;
    let lines = packed_lines(&order, &body.lines)?;
    let location = body.location_id;
    let actor = cx.actor();
    cx.idempotent(async |key| {
        let group = order.group_id;
        let ship_to = orders::group(table, group).await?.and_then(|g| g.shipping_address);
        let response = |shipment: &Shipment, after: &VendorOrder| ShipmentResponse {
            shipment: shipment.clone(),
            order_status: after.status,
            ship_to: ship_to.clone(),
        };
        let today = today();
        let (shipment, after) =
            store::ship(table, (group, vendor), location, &lines, &parcel, &actor, today, |tx, shipment, after| {
                remember(key, StatusCode::CREATED, &response(shipment, after), tx)
            })
            .await
            .map_err(|e| ship_error(e, &body.lines))?;
        Ok(json(StatusCode::CREATED, &response(&shipment, &after)))
    })
    .await
}

/// A vendor order's parcels, oldest first, with where they go.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentList {
    pub items: Vec<Shipment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<PostalAddress>,
}

/// The parcels of one of the vendor's orders, oldest first.
#[utoipa::path(get, path = "/vendors/{vendorId}/orders/{orderId}/shipments", tag = "fulfilment",
    security(("bearer" = ["vendor_owner", "order_handler", "warehouse_staff", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("orderId" = OrderId, Path)),
    responses((status = 200, body = ShipmentList), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such order of this vendor", body = ErrorBody)))]
pub async fn list_shipments(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("orderId", OrderId::parse)?;
    let vendor = cx.vendor(VendorPermission::FulfilmentRead).await?.id();
    let table = cx.store().await?;
    let order = orders::vendor_order(table, vendor, id).await?.ok_or(ApiError::NotFound("order"))?;
    let (items, group) =
        tokio::try_join!(store::shipments_of(table, order.group_id, vendor), orders::group(table, order.group_id))?;
    Ok(ok(&ShipmentList { items, ship_to: group.and_then(|g| g.shipping_address) }))
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn parcel_of(body: &ShipmentRequest) -> Result<Parcel, ApiError> {
    let optional = |field: &str, raw: &Option<String>| {
        raw.as_deref().map(|r| fulfilment::carrier_text(field, r)).transpose().map_err(ApiError::from)
    };
    Ok(Parcel {
        carrier: fulfilment::carrier_text("carrier", &body.carrier)?,
        service: optional("service", &body.service)?,
        tracking_number: body
            .tracking_number
            .as_deref()
            .map(|raw| stockyard_domain::carrier::tracking_number("tracking_number", raw))
            .transpose()?,
        label_reference: optional("label_reference", &body.label_reference)?,
    })
}

/// The lines of a parcel by variant: each SKU must be one of the order's lines.
fn packed_lines(order: &VendorOrder, lines: &[PackedLineBody]) -> Result<Vec<PackedLine>, ApiError> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let found = order.lines.iter().find(|l| l.sku.eq_ignore_ascii_case(line.sku.trim()));
            let found =
                found.ok_or_else(|| ApiError::invalid(&format!("lines[{i}].sku"), "is not a line of this order"))?;
            Ok(PackedLine { variant_id: found.variant_id, quantity: line.quantity as u32 })
        })
        .collect()
}

/// A shipment's refusal as the API answers it; fields name the request's lines by SKU.
fn ship_error(error: ShipFailure, lines: &[PackedLineBody]) -> ApiError {
    match error {
        ShipFailure::NotFound => ApiError::NotFound("order"),
        ShipFailure::Refused(ShipError::NotShippable(status)) => ApiError::conflict(
            "order_not_shippable",
            format!("an order that is {status} cannot be shipped: only paid orders not yet fully shipped"),
        ),
        ShipFailure::Refused(ShipError::Field(e)) => {
            // The domain names lines by variant; the request named them by SKU.
            ApiError::Invalid(stockyard_domain::FieldError::new(e.field.replace(".variant_id", ".sku"), e.message))
        }
        ShipFailure::Refused(ShipError::NotHeld { index, held }) => ApiError::conflict_on(
            "stock_not_held",
            &format!("lines[{index}].quantity"),
            format!("only {held} reserved units are held for this order at this location"),
        ),
        ShipFailure::Short { index, requested, available } => {
            let sku = lines.get(index).map(|l| l.sku.as_str()).unwrap_or_default();
            ApiError::conflict_on(
                "insufficient_stock",
                &format!("lines[{index}].quantity"),
                format!("{sku}: {requested} units to ship, {available} can leave (sellable units on hand)"),
            )
        }
        ShipFailure::TrackingTaken => ApiError::conflict_on(
            "tracking_number_taken",
            "tracking_number",
            "another parcel has this tracking number: a carrier's events must name one parcel",
        ),
        ShipFailure::Store(e) => e.into(),
    }
}

/// The order documents bucket beside the API's dependencies (packing slips).
pub struct SlipDeps {
    pub api: ApiDeps,
    pub bucket: stockyard_store::objects::Bucket,
}

impl SlipDeps {
    /// `ORDER_DOCUMENTS_BUCKET`, with the API's dependencies.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self {
            api: ApiDeps::from_env(sdk).await?,
            bucket: stockyard_store::objects::Bucket::from_env(sdk, "ORDER_DOCUMENTS_BUCKET")?,
        })
    }
}

/// A parcel's packing slip, to print and put in the parcel.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackingSlipLink {
    pub shipment_id: ShipmentId,
    #[schema(example = "packing-slip-01JDB0000000000000000000S1.pdf")]
    pub filename: String,
    /// A presigned GET of the PDF, valid 15 minutes.
    pub download: stockyard_store::objects::Presigned,
}

/// The packing slip of one of an order's parcels: a PDF with the order's id as a Code 128
/// barcode, the sender, the address, the lines with their lots and expiry dates and the carrier.
/// It is written moments after the parcel is recorded; until then this answers 404.
#[utoipa::path(get, path = "/vendors/{vendorId}/orders/{orderId}/shipments/{shipmentId}/packing-slip", tag = "fulfilment",
    security(("bearer" = ["vendor_owner", "order_handler", "warehouse_staff", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("orderId" = OrderId, Path), ("shipmentId" = ShipmentId, Path)),
    responses((status = 200, body = PackingSlipLink), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such order of this vendor or parcel of it, or its slip is not written yet (retry in a moment)", body = ErrorBody)))]
pub async fn get_packing_slip(deps: &SlipDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let id = cx.path("orderId", OrderId::parse)?;
    let shipment_id = cx.path("shipmentId", ShipmentId::parse)?;
    let vendor = cx.vendor(VendorPermission::FulfilmentRead).await?.id();
    let table = cx.store().await?;
    let order = orders::vendor_order(table, vendor, id).await?.ok_or(ApiError::NotFound("order"))?;
    let parcels = store::shipments_of(table, order.group_id, vendor).await?;
    if !parcels.iter().any(|s| s.id == shipment_id) {
        return Err(ApiError::NotFound("parcel"));
    }
    let object = stockyard_store::billing::packing_slip_object(order.group_id, shipment_id);
    if deps.bucket.head(&object).await?.is_none() {
        return Err(ApiError::NotFound("packing slip"));
    }
    let ttl = std::time::Duration::from_secs(15 * 60);
    let download = deps.bucket.presign_get(&object, Some("application/pdf"), ttl).await?;
    Ok(ok(&PackingSlipLink { shipment_id, filename: format!("packing-slip-{shipment_id}.pdf"), download }))
}
