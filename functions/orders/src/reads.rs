//! Reading orders: a customer lists and reads their order groups (each vendor order's status and
//! timeline), a guest reads theirs through the signed link of the confirmation email, and a
//! vendor's order handlers list and read only that vendor's orders. Admin and support read any
//! group. Anyone else is told the order does not exist.

use chrono::Utc;
use serde::Serialize;
use stockyard_domain::address::PostalAddress;
use stockyard_domain::fulfilment::{Shipment, ShipmentStatus};
use stockyard_domain::ids::{OrderGroupId, OrderId};
use stockyard_domain::order::{OrderGroup, VendorOrder};
use stockyard_domain::order_link;
use stockyard_domain::roles::{PlatformRole, VendorPermission};
use stockyard_domain::stock::Actor;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{path, query};
use stockyard_http::response::{ListResponse, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::billing::{self, DownloadableDocument};
use stockyard_store::objects::Bucket;
use stockyard_store::{Table, fulfilment, orders};
use utoipa::ToSchema;

/// The table, the caller's verification and the key guest links are signed with.
pub struct ReadDeps {
    pub api: ApiDeps,
    pub link_key: Option<Vec<u8>>,
}

impl ReadDeps {
    /// `ORDER_LINK_SECRET`: without it no guest link is accepted.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let link_key =
            stockyard_platform::env_opt("ORDER_LINK_SECRET").filter(|v| !v.is_empty()).map(String::into_bytes);
        Ok(Self { api: ApiDeps::from_env(sdk).await?, link_key })
    }
}

/// An order group with its vendor orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderGroupView {
    #[serde(flatten)]
    pub group: OrderGroup,
    /// One per vendor, each with its own status and timeline.
    pub vendor_orders: Vec<VendorOrder>,
    /// The parcels sent so far, oldest first.
    pub shipments: Vec<Parcel>,
}

/// A parcel as the customer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Parcel {
    pub id: stockyard_domain::ids::ShipmentId,
    pub order_id: OrderId,
    pub vendor_id: stockyard_domain::ids::VendorId,
    pub carrier: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    pub status: ShipmentStatus,
    pub lines: Vec<ParcelLine>,
    pub shipped_at: chrono::DateTime<Utc>,
    /// The carrier's latest estimate of the delivery day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<chrono::NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<chrono::DateTime<Utc>>,
    /// The parcel's journey as its carrier reported it, in the order it happened.
    pub tracking: Vec<TrackingStep>,
}

/// One step of a parcel's journey.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingStep {
    pub status: ShipmentStatus,
    pub occurred_at: chrono::DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Units of one line in a parcel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelLine {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
}

impl From<Shipment> for Parcel {
    fn from(s: Shipment) -> Self {
        Self {
            id: s.id,
            order_id: s.order_id,
            vendor_id: s.vendor_id,
            carrier: s.carrier,
            service: s.service,
            tracking_number: s.tracking_number,
            status: s.status,
            lines: s
                .lines
                .into_iter()
                .map(|l| ParcelLine { sku: l.sku, title: l.title, quantity: l.quantity })
                .collect(),
            shipped_at: s.created_at,
            estimated_delivery: s.estimated_delivery,
            delivered_at: s.delivered_at,
            tracking: s
                .tracking
                .into_iter()
                .map(|e| TrackingStep {
                    status: e.status,
                    occurred_at: e.occurred_at,
                    location: e.location,
                    description: e.description,
                })
                .collect(),
        }
    }
}

/// A vendor's order, with where it ships.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorOrderView {
    #[serde(flatten)]
    pub order: VendorOrder,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<PostalAddress>,
}

fn not_found() -> ApiError {
    ApiError::NotFound("order")
}

pub(crate) async fn view(table: &Table, group: OrderGroup) -> Result<OrderGroupView, ApiError> {
    let (vendor_orders, shipments) =
        tokio::try_join!(orders::orders_of(table, group.id), fulfilment::shipments_of_group(table, group.id))?;
    let shipments = shipments.into_iter().map(Parcel::from).collect();
    Ok(OrderGroupView { group, vendor_orders, shipments })
}

/// The signed-in customer's order groups, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", security(("bearer" = ["customer"])),
    params(("limit" = Option<u32>, Query, description = "1 to 100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<OrderGroup>), (status = 401, body = ErrorBody)))]
pub async fn list_my_orders(deps: &ReadDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let page = cx.page(true)?;
    let me = cx.person()?.user_id;
    let groups = orders::of_customer(cx.store().await?, me, &page).await?;
    Ok(ok(&ListResponse::from(groups)))
}

/// The group, if the caller may read it: a guest with a valid link `token`, its customer signed
/// in, or admin and support. Anyone else is told it does not exist.
pub(crate) async fn readable(deps: &ReadDeps, req: &Request) -> Result<OrderGroup, ApiError> {
    Ok(reader(deps, req).await?.0)
}

/// [`readable`], and who is reading: the person signed in, or the guest holding the link.
pub(crate) async fn reader(deps: &ReadDeps, req: &Request) -> Result<(OrderGroup, Actor), ApiError> {
    let id = path(req, "groupId", OrderGroupId::parse)?;
    if let Some(token) = query(req, "token") {
        let key = deps.link_key.as_deref().ok_or_else(not_found)?;
        order_link::verify(key, id, &token, Utc::now()).map_err(|_| not_found())?;
        let group = orders::group(&deps.api.table, id).await?.ok_or_else(not_found)?;
        return Ok((group, Actor::System { name: "guest-link".into() }));
    }
    let cx = Ctx::new(&deps.api, req)?;
    let me = cx.person()?.user_id;
    let table = cx.store().await?;
    let group = orders::group(table, id).await?.ok_or_else(not_found)?;
    let staff = cx.account().await?.roles.iter().any(|r| matches!(r, PlatformRole::Admin | PlatformRole::Support));
    if group.customer_id != Some(me) && !staff {
        return Err(not_found());
    }
    Ok((group, Actor::User { id: me }))
}

/// One order group with every vendor order's status and timeline: its customer's (signed in),
/// admin's and support's, or a guest's with the `token` of the link in the confirmation email.
#[utoipa::path(get, path = "/orders/{groupId}", tag = "orders", security((), ("bearer" = ["customer", "admin", "support"])),
    params(("groupId" = OrderGroupId, Path), ("token" = Option<String>, Query, description = "The guest link's token")),
    responses((status = 200, body = OrderGroupView), (status = 401, body = ErrorBody),
              (status = 404, description = "not_found: no such order, not the caller's, or a link that is wrong or expired", body = ErrorBody)))]
pub async fn get_order(deps: &ReadDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let group = readable(deps, &req).await?;
    Ok(ok(&view(&deps.api.table, group).await?))
}

/// Reading an order's documents: the reads' deps and the private bucket they are kept in.
pub struct DocumentDeps {
    pub reads: ReadDeps,
    pub bucket: Bucket,
}

impl DocumentDeps {
    /// `ORDER_DOCUMENTS_BUCKET`, with [`ReadDeps::from_env`].
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { reads: ReadDeps::from_env(sdk).await?, bucket: Bucket::from_env(sdk, "ORDER_DOCUMENTS_BUCKET")? })
    }
}

/// How long a document's download link works.
const DOCUMENT_LINK_MINUTES: i64 = 15;

/// The group's invoices (one per vendor order, once paid) and its payment receipt, each with a
/// download link that works for 15 minutes; the same callers as `GET /orders/{groupId}`.
#[utoipa::path(get, path = "/orders/{groupId}/documents", tag = "orders", security((), ("bearer" = ["customer", "admin", "support"])),
    params(("groupId" = OrderGroupId, Path), ("token" = Option<String>, Query, description = "The guest link's token")),
    responses((status = 200, body = DocumentList), (status = 401, body = ErrorBody),
              (status = 404, description = "not_found: no such order, not the caller's, or a link that is wrong or expired", body = ErrorBody)))]
pub async fn list_order_documents(deps: &DocumentDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let group = readable(&deps.reads, &req).await?;
    let ttl = std::time::Duration::from_secs(60 * DOCUMENT_LINK_MINUTES as u64);
    let items = billing::downloadable_documents(&deps.reads.api.table, &deps.bucket, group.id, ttl).await?;
    Ok(ok(&DocumentList { items }))
}

/// An order's documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    pub items: Vec<DownloadableDocument>,
}

/// The vendor's orders, newest first (the owner and order handlers).
#[utoipa::path(get, path = "/vendors/{vendorId}/orders", tag = "orders", security(("bearer" = ["vendor_owner", "order_handler"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path),
           ("limit" = Option<u32>, Query, description = "1 to 100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<VendorOrder>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_vendor_orders(deps: &ReadDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let page = cx.page(true)?;
    let vendor = cx.vendor(VendorPermission::OrdersWrite).await?.id();
    let found = orders::of_vendor(cx.store().await?, vendor, &page).await?;
    Ok(ok(&ListResponse::from(found)))
}

/// One of the vendor's orders, with its shipping address (the owner and order handlers).
#[utoipa::path(get, path = "/vendors/{vendorId}/orders/{orderId}", tag = "orders", security(("bearer" = ["vendor_owner", "order_handler"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("orderId" = OrderId, Path)),
    responses((status = 200, body = VendorOrderView), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such order of this vendor", body = ErrorBody)))]
pub async fn get_vendor_order(deps: &ReadDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let id = cx.path("orderId", OrderId::parse)?;
    let vendor = cx.vendor(VendorPermission::OrdersWrite).await?.id();
    let table = cx.store().await?;
    let order = orders::vendor_order(table, vendor, id).await?.ok_or_else(not_found)?;
    let shipping_address = orders::group(table, order.group_id).await?.and_then(|g| g.shipping_address);
    Ok(ok(&VendorOrderView { order, shipping_address }))
}
