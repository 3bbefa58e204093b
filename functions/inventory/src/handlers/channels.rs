//! Sales channels and the sales and returns they report. Every sale takes its units at once
//! (first-expiring first, never expired or reserved stock) and is recorded once per channel and
//! sale id in the same transaction, so a channel may send a sale again safely; each sale of a
//! batch applies on its own and the response reports each one.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::FieldError;
use stockyard_domain::address::country;
use stockyard_domain::api_key::{KeyPermission, KeyTarget};
use stockyard_domain::channel::{Channel, ChannelKind, SaleRecord, external_id};
use stockyard_domain::ids::{ChannelId, LocationId, VendorId};
use stockyard_domain::money::Currency;
use stockyard_domain::product::Variant;
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::stock::{Actor, BatchQuantity, MAX_QUANTITY, MovementReason, StockItem};
use stockyard_domain::values::{self, LocationCode, LotCode, Name, Sku};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Need, Request, Response};
use stockyard_store::channels::{self, SaleKind};
use stockyard_store::{Table, locations, products, stock as store};
use utoipa::ToSchema;

use super::lookup::{self, Failed, today};
use super::stock::{Record, movement, taken};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    #[schema(value_type = LocationCode, example = "POS-SOHO")]
    pub code: String,
    #[schema(value_type = Name, example = "Soho shop till")]
    pub name: String,
    pub kind: ChannelKind,
    /// Where the channel's sales take stock from unless a sale names another location.
    pub location_id: LocationId,
}

/// Register a sales channel: the storefront (one per vendor), a physical store's point of sale,
/// or an external marketplace.
#[utoipa::path(post, path = "/vendors/{vendorId}/channels", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = CreateChannelRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = Channel), (status = 403, body = ErrorBody),
              (status = 409, description = "channel_code_taken or storefront_exists", body = ErrorBody),
              (status = 422, description = "invalid_field or unknown_location", body = ErrorBody)))]
pub async fn create_channel(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateChannelRequest = cx.body()?;
    let code = LocationCode::parse("code", &body.code)?;
    let name = Name::parse("name", &body.name)?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let table = cx.store().await?;
    lookup::location_in_body(table, vendor, "location_id", body.location_id).await?;
    cx.idempotent(async |key| {
        let channel = Channel {
            id: ChannelId::generate(),
            vendor_id: vendor,
            code,
            name,
            kind: body.kind,
            location_id: body.location_id,
            created_at: Utc::now(),
        };
        let tx = channels::create(table, &channel)?;
        commit(table, tx, key, StatusCode::CREATED, &channel, |step| match step {
            channels::STOREFRONT_TAKEN => {
                ApiError::conflict_on("storefront_exists", "kind", "this vendor has a storefront channel already")
            }
            _ => {
                ApiError::conflict_on("channel_code_taken", "code", "this vendor already has a channel with this code")
            }
        })
        .await
    })
    .await
}

/// The vendor's sales channels, oldest first.
#[utoipa::path(get, path = "/vendors/{vendorId}/channels", tag = "inventory", security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = VendorId, Path), PageParams),
    responses((status = 200, body = ListResponse<Channel>), (status = 403, body = ErrorBody)))]
pub async fn list_channels(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let vendor = cx.vendor(VendorPermission::Read).await?.id();
    Ok(ok(&ListResponse::from(channels::list(cx.store().await?, vendor, &page).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleLine {
    /// The channel's own id of the sale line (a till receipt line, a marketplace order line):
    /// sending it again applies it once.
    #[schema(example = "till-7/000123/1", min_length = 1, max_length = 64)]
    pub sale_id: String,
    #[schema(value_type = Sku, example = "JUMPER-M-NAVY")]
    pub sku: String,
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 1)]
    pub quantity: i64,
    /// Where the units came from (default: the channel's location).
    #[serde(default)]
    pub location_id: Option<LocationId>,
    /// Price of one unit in minor units of `currency`.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub unit_price: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<String>,
    /// The buyer's country (ISO 3166-1 alpha-2), when known.
    #[serde(default)]
    #[schema(example = "GB")]
    pub country: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// When it sold (default: now).
    #[serde(default)]
    pub sold_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SalesRequest {
    /// 1 to 500 sales, each with its own sale id.
    #[schema(min_items = 1, max_items = 500)]
    pub sales: Vec<SaleLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Recorded now (its stock taken, for a sale or a restocked return, put back).
    Applied,
    /// Recorded before with this id: nothing changed; `record` is what was recorded.
    Duplicate,
    /// Not recorded: `error` says why; nothing changed.
    Refused,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineError {
    pub code: String,
    pub message: String,
    /// The field of the request at fault (`sales[3].quantity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineResult {
    /// The sale (or return) id as sent.
    pub id: String,
    pub status: LineStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<SaleRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<LineError>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LinesResponse {
    pub applied: u32,
    pub duplicates: u32,
    pub refused: u32,
    /// One result per line, in the order sent.
    pub results: Vec<LineResult>,
}

impl LinesResponse {
    fn from_results(results: Vec<LineResult>) -> Self {
        let count = |s: LineStatus| results.iter().filter(|r| r.status == s).count() as u32;
        Self {
            applied: count(LineStatus::Applied),
            duplicates: count(LineStatus::Duplicate),
            refused: count(LineStatus::Refused),
            results,
        }
    }
}

fn refused(id: &str, error: ApiError) -> LineResult {
    LineResult {
        id: id.to_string(),
        status: LineStatus::Refused,
        record: None,
        error: Some(LineError {
            code: error.code().to_string(),
            message: error.to_string(),
            field: error.field().map(String::from),
        }),
    }
}

fn duplicate(id: &str, record: SaleRecord) -> LineResult {
    LineResult { id: id.to_string(), status: LineStatus::Duplicate, record: Some(record), error: None }
}

fn applied(id: &str, record: SaleRecord) -> LineResult {
    LineResult { id: id.to_string(), status: LineStatus::Applied, record: Some(record), error: None }
}

/// Most lines one request takes.
const MAX_LINES: usize = 500;
/// Stock items a request changes at once (lines of one stock item go one after another, in order).
const PARALLEL_ITEMS: usize = 8;

/// What a line says that applies to sales and returns alike, checked.
struct Checked {
    index: usize,
    id: String,
    sku: String,
    quantity: u32,
    location: Option<LocationId>,
    unit_price: Option<i64>,
    currency: Option<Currency>,
    country: Option<String>,
    region: Option<String>,
    at: DateTime<Utc>,
    /// The batch the units come out of, when a scanned batch code named it (otherwise FEFO).
    lot: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn check_common(
    field: &str,
    index: usize,
    id: &str,
    sku: &str,
    quantity: i64,
    location: Option<LocationId>,
    price: (Option<i64>, Option<&str>),
    place: (Option<&str>, Option<&str>),
    at: Option<DateTime<Utc>>,
) -> Result<Checked, FieldError> {
    let sku = Sku::parse(&format!("{field}.sku"), sku)?;
    if !(1..=i64::from(MAX_QUANTITY)).contains(&quantity) {
        return Err(FieldError::new(format!("{field}.quantity"), format!("must be between 1 and {MAX_QUANTITY}")));
    }
    let currency = price.1.map(|c| Currency::parse(&format!("{field}.currency"), c)).transpose()?;
    if let Some(amount) = price.0 {
        if amount < 0 {
            return Err(FieldError::new(format!("{field}.unit_price"), "must not be negative"));
        }
        if currency.is_none() {
            return Err(FieldError::new(format!("{field}.currency"), "is required with unit_price"));
        }
    }
    let country = place.0.map(|c| country(&format!("{field}.country"), c)).transpose()?;
    let region = place.1.map(|r| values::optional_text(&format!("{field}.region"), r, 100)).transpose()?.flatten();
    let now = Utc::now();
    let at = at.unwrap_or(now);
    if at > now + chrono::Duration::minutes(5) {
        return Err(FieldError::new(format!("{field}.sold_at"), "must not be in the future"));
    }
    Ok(Checked {
        index,
        id: id.to_string(),
        sku,
        quantity: quantity as u32,
        location,
        unit_price: price.0,
        currency,
        country,
        region,
        at,
        lot: None,
    })
}

/// The variants and locations the lines name, each read once; a line naming one the vendor does
/// not have is refused.
struct Resolved {
    variants: HashMap<String, Option<Variant>>,
    locations: HashMap<LocationId, bool>,
}

impl Resolved {
    async fn read(table: &Table, vendor: VendorId, lines: &[&Checked], default: LocationId) -> Result<Self, ApiError> {
        let mut skus: Vec<&str> = lines.iter().map(|l| l.sku.as_str()).collect();
        skus.sort_unstable();
        skus.dedup();
        let variants = futures_util::future::try_join_all(skus.into_iter().map(|sku| async move {
            let variant = products::variant_by_sku(table, vendor, sku).await?;
            Ok::<_, ApiError>((sku.to_string(), variant))
        }))
        .await?;
        let mut ids: Vec<LocationId> = lines.iter().filter_map(|l| l.location).filter(|l| *l != default).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut found = futures_util::future::try_join_all(
            ids.into_iter()
                .map(|id| async move { Ok::<_, ApiError>((id, locations::get(table, vendor, id).await?.is_some())) }),
        )
        .await?;
        found.push((default, true));
        Ok(Self { variants: variants.into_iter().collect(), locations: found.into_iter().collect() })
    }

    /// The line's variant and location, or why the line is refused.
    fn target(&self, field: &str, line: &Checked, default: LocationId) -> Result<(Variant, LocationId), ApiError> {
        let variant = self.variants.get(&line.sku).cloned().flatten().ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_sku",
                Some(&format!("{field}.sku")),
                "no variant of this vendor has this SKU",
            )
        })?;
        let location = line.location.unwrap_or(default);
        if !self.locations.get(&location).copied().unwrap_or(false) {
            return Err(ApiError::unprocessable(
                "unknown_location",
                Some(&format!("{field}.location_id")),
                "this vendor has no location with this id",
            ));
        }
        Ok((variant, location))
    }
}

/// Runs `apply` on the lines, those of one stock item one after another in the order given, up
/// to [`PARALLEL_ITEMS`] stock items at once; the results grouped by stock item.
pub(crate) async fn per_stock_item<L, R, F, Fut>(lines: Vec<(L, VariantKey)>, apply: F) -> Vec<R>
where
    L: Send,
    R: Send,
    F: Fn(L) -> Fut + Sync,
    Fut: std::future::Future<Output = R> + Send,
{
    let mut groups: Vec<(VariantKey, Vec<L>)> = Vec::new();
    for (line, key) in lines {
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push(line),
            None => groups.push((key, vec![line])),
        }
    }
    let apply = &apply;
    let results: Vec<Vec<R>> = futures_util::stream::iter(groups)
        .map(|(_, group)| async move {
            let mut out = Vec::with_capacity(group.len());
            for line in group {
                out.push(apply(line).await);
            }
            out
        })
        .buffer_unordered(PARALLEL_ITEMS)
        .collect()
        .await;
    results.into_iter().flatten().collect()
}

/// A stock item: the variant at the location.
pub(crate) type VariantKey = (stockyard_domain::ids::VariantId, LocationId);

fn record_of(channel: &Channel, line: &Checked, variant: &Variant, location: LocationId, sign: i64) -> SaleRecord {
    SaleRecord {
        vendor_id: channel.vendor_id,
        channel_id: channel.id,
        channel_kind: channel.kind,
        sale_id: line.id.clone(),
        location_id: location,
        variant_id: variant.id,
        product_id: variant.product_id,
        sku: variant.sku.clone(),
        quantity: sign * i64::from(line.quantity),
        unit_price: line.unit_price,
        currency: line.currency,
        country: line.country.clone(),
        region: line.region.clone(),
        sold_at: line.at,
        recorded_at: Utc::now(),
        stock_version: None,
        restocked: None,
        returns_sale_id: None,
        returned: 0,
    }
}

/// Record sales of a channel (one, or a batch of up to 500): each takes its units from the
/// location's stock at once, first-expiring first (never expired or reserved units), and is
/// recorded in the consolidated sales record, once per sale id: a sale sent again is reported as
/// a duplicate and changes nothing. A malformed line (a field out of its range) refuses the whole
/// request (422, nothing applies); otherwise each sale applies on its own and the response reports
/// each one (`refused` with the reason, such as `insufficient_stock` or `unknown_sku`, changes
/// nothing).
#[utoipa::path(post, path = "/vendors/{vendorId}/channels/{channelId}/sales", tag = "inventory",
    security(("bearer" = ["vendor_owner", "inventory_manager"]), ("api_key" = ["channel_sales"])),
    request_body = SalesRequest,
    params(("vendorId" = VendorId, Path), ("channelId" = ChannelId, Path)),
    responses((status = 200, body = LinesResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_sales(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.path("channelId", ChannelId::parse)?;
    let body: SalesRequest = cx.body()?;
    let mut ids = LineIds::new("sales", "sale_id", body.sales.len())?;
    let mut checked = Vec::with_capacity(body.sales.len());
    for (i, line) in body.sales.iter().enumerate() {
        let id = ids.next(i, &line.sale_id)?;
        let line = check_common(
            &format!("sales[{i}]"),
            i,
            &id,
            &line.sku,
            line.quantity,
            line.location_id,
            (line.unit_price, line.currency.as_deref()),
            (line.country.as_deref(), line.region.as_deref()),
            line.sold_at,
        )?;
        checked.push((line, ()));
    }
    let lines = Lines::open(&cx, KeyPermission::ChannelSales).await?;
    let response = lines
        .run("sales", checked, |line, (), variant, location| {
            let lines = &lines;
            async move {
                let field = format!("sales[{}].quantity", line.index);
                sell(lines.table, &lines.channel, &line, &variant, location, &lines.actor, &field).await
            }
        })
        .await?;
    Ok(ok(&response))
}

/// The ids of a request's lines: each checked, and each once (`<list>[i].<name>`).
struct LineIds {
    list: &'static str,
    name: &'static str,
    seen: std::collections::HashSet<String>,
}

impl LineIds {
    /// Refuses a request of no lines or more than [`MAX_LINES`].
    fn new(list: &'static str, name: &'static str, count: usize) -> Result<Self, ApiError> {
        if count == 0 || count > MAX_LINES {
            return Err(ApiError::invalid(list, format!("must hold 1 to {MAX_LINES} {list}")));
        }
        Ok(Self { list, name, seen: std::collections::HashSet::with_capacity(count) })
    }

    /// Line `i`'s id, checked and not sent before in this request.
    fn next(&mut self, i: usize, raw: &str) -> Result<String, ApiError> {
        let field = format!("{}[{i}].{}", self.list, self.name);
        let id = external_id(&field, raw)?;
        if !self.seen.insert(id.clone()) {
            return Err(ApiError::invalid(&field, "is sent twice in this request"));
        }
        Ok(id)
    }
}

/// The channel a request's lines are reported through, the store, and who reports them.
struct Lines<'r> {
    table: &'r Table,
    channel: Channel,
    actor: Actor,
}

impl<'r> Lines<'r> {
    /// The channel of the path, if the caller may record stock changes for its vendor: a member
    /// who manages stock, or an API key with `permission` on this channel.
    async fn open(cx: &'r Ctx<'_>, permission: KeyPermission) -> Result<Self, ApiError> {
        let channel = cx.path("channelId", ChannelId::parse)?;
        let need = Need::or_api_key(VendorPermission::InventoryWrite, permission, KeyTarget::Channel(channel));
        let vendor = cx.vendor(need).await?.id();
        let table = cx.store().await?;
        let channel = channels::get(table, vendor, channel).await?.ok_or(ApiError::NotFound("channel"))?;
        Ok(Self { table, channel, actor: cx.actor() })
    }

    /// Resolves every line's variant and location (a line naming one the vendor does not have is
    /// refused), then applies the others with `apply`, per stock item (see [`per_stock_item`]);
    /// one result per line, in the order sent.
    async fn run<X, F, Fut>(&self, list: &str, lines: Vec<(Checked, X)>, apply: F) -> Result<LinesResponse, ApiError>
    where
        X: Send,
        F: Fn(Checked, X, Variant, LocationId) -> Fut + Sync,
        Fut: std::future::Future<Output = LineResult> + Send,
    {
        let default = self.channel.location_id;
        let vendor = self.channel.vendor_id;
        let resolved =
            Resolved::read(self.table, vendor, &lines.iter().map(|(c, _)| c).collect::<Vec<_>>(), default).await?;
        let mut results: Vec<Option<LineResult>> = vec![None; lines.len()];
        let mut work = Vec::new();
        for (line, extra) in lines {
            match resolved.target(&format!("{list}[{}]", line.index), &line, default) {
                Ok((variant, location)) => {
                    let key = (variant.id, location);
                    work.push(((line, extra, variant, location), key));
                }
                Err(e) => results[line.index] = Some(refused(&line.id, e)),
            }
        }
        let apply = &apply;
        let done = per_stock_item(work, |(line, extra, variant, location)| async move {
            let index = line.index;
            (index, apply(line, extra, variant, location).await)
        })
        .await;
        for (i, result) in done {
            results[i] = Some(result);
        }
        Ok(LinesResponse::from_results(results.into_iter().flatten().collect()))
    }
}

/// Sells `quantity` units of `variant` scanned at `location` through `channel`, as the channel's
/// sale `sale_id` (see [`sell`]), out of batch `lot` when the scanned code named one (otherwise
/// first-expiring first); a refusal names `field`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn sell_scanned(
    table: &Table,
    channel: &Channel,
    sale_id: &str,
    variant: &Variant,
    location: LocationId,
    (quantity, lot): (u32, Option<String>),
    actor: &Actor,
    field: &str,
) -> LineResult {
    let line = Checked {
        index: 0,
        id: sale_id.to_string(),
        sku: variant.sku.clone(),
        quantity,
        location: Some(location),
        unit_price: None,
        currency: None,
        country: None,
        region: None,
        at: Utc::now(),
        lot,
    };
    sell(table, channel, &line, variant, location, actor, field).await
}

/// Applies one sale: its units out of the stock item and its record, in one transaction, once per
/// channel and sale id; a refusal names `field`.
async fn sell(
    table: &Table,
    channel: &Channel,
    line: &Checked,
    variant: &Variant,
    location: LocationId,
    actor: &Actor,
    field: &str,
) -> LineResult {
    match channels::sale(table, channel.vendor_id, channel.id, SaleKind::Sale, &line.id).await {
        Ok(Some(before)) => return duplicate(&line.id, before),
        Ok(None) => {}
        Err(e) => return refused(&line.id, e.into()),
    }
    let outcome = store::apply(table, (channel.vendor_id, variant.id, location), |before| {
        let mut item = lookup::current_item(before, variant, location);
        let batches = taken(&item, line.quantity, line.lot.as_deref(), today(), false, field)?;
        let quantity = -i64::from(line.quantity);
        item.apply(quantity, &batches, Utc::now()).map_err(|e| lookup::stock_error(field, e))?;
        let record = Record {
            reason: MovementReason::Sale,
            reference: Some(format!("sale:{}:{}", channel.id, line.id)),
            note: None,
            actor: actor.clone(),
        };
        let movement = movement(&item, quantity, batches, record);
        let mut sale = record_of(channel, line, variant, location, 1);
        sale.stock_version = Some(item.version);
        let mut tx = store::change(table, before, &item, &movement, 0)?;
        channels::record(&mut tx, &sale)?;
        Ok::<_, Failed>((tx, sale))
    })
    .await;
    settle(table, channel, SaleKind::Sale, &line.id, outcome).await
}

/// What a line's transaction came to: applied, a duplicate found by its condition (a concurrent
/// copy won), or refused.
async fn settle(
    table: &Table,
    channel: &Channel,
    kind: SaleKind,
    id: &str,
    outcome: Result<SaleRecord, Failed>,
) -> LineResult {
    match outcome {
        Ok(record) => applied(id, record),
        Err(Failed::Store(e)) if e.failed_at(channels::ALREADY_RECORDED) => {
            match channels::sale(table, channel.vendor_id, channel.id, kind, id).await {
                Ok(Some(record)) => duplicate(id, record),
                Ok(None) => refused(id, ApiError::internal(anyhow::anyhow!("a recorded sale went missing"))),
                Err(e) => refused(id, e.into()),
            }
        }
        Err(Failed::Store(e)) if e.failed_at(channels::RETURNS_EXCEED_SALE) => refused(
            id,
            ApiError::Conflict {
                code: "return_exceeds_sale",
                message: "more units would be returned against this sale than it sold".into(),
                field: None,
            },
        ),
        Err(Failed::Store(e)) => refused(id, e.into()),
        Err(Failed::Api(e)) => refused(id, e),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    /// The channel's own id of the return: sending it again applies it once.
    #[schema(example = "rma-5531", min_length = 1, max_length = 64)]
    pub return_id: String,
    /// The sale returned (optional): at most what it sold can come back against it.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub sale_id: Option<String>,
    #[schema(value_type = Sku, example = "JUMPER-M-NAVY")]
    pub sku: String,
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 1)]
    pub quantity: i64,
    /// `true`: back on hand at the location; `false`: written off (not sellable again).
    pub restock: bool,
    #[serde(default)]
    pub location_id: Option<LocationId>,
    /// Perishable variants restocked: the batch's lot (required) and expiry date (default: today
    /// + shelf life).
    #[serde(default)]
    #[schema(value_type = Option<LotCode>)]
    pub lot: Option<String>,
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    /// Refund per unit in minor units of `currency`.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub unit_price: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// When it was returned (default: now).
    #[serde(default)]
    pub returned_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnsRequest {
    /// 1 to 500 returns, each with its own return id.
    #[schema(min_items = 1, max_items = 500)]
    pub returns: Vec<ReturnLine>,
}

/// Record returns through a channel: each is restocked (back on hand, ledger reason
/// `channel_return`) or written off, and lands in the consolidated sales record as a negative
/// quantity, once per return id. Against a named sale, at most what it sold comes back.
#[utoipa::path(post, path = "/vendors/{vendorId}/channels/{channelId}/returns", tag = "inventory",
    security(("bearer" = ["vendor_owner", "inventory_manager"]), ("api_key" = ["channel_returns"])),
    request_body = ReturnsRequest,
    params(("vendorId" = VendorId, Path), ("channelId" = ChannelId, Path)),
    responses((status = 200, body = LinesResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_returns(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.path("channelId", ChannelId::parse)?;
    let body: ReturnsRequest = cx.body()?;
    let mut ids = LineIds::new("returns", "return_id", body.returns.len())?;
    let mut checked = Vec::with_capacity(body.returns.len());
    for (i, line) in body.returns.iter().enumerate() {
        let id = ids.next(i, &line.return_id)?;
        let field = format!("returns[{i}]");
        let sale = line.sale_id.as_deref().map(|s| external_id(&format!("{field}.sale_id"), s)).transpose()?;
        let lot = line.lot.as_deref().map(|l| LotCode::parse(&format!("{field}.lot"), l)).transpose()?;
        if !line.restock && (lot.is_some() || line.expires_on.is_some()) {
            return Err(ApiError::invalid(&format!("{field}.lot"), "is only taken for restocked returns"));
        }
        let common = check_common(
            &field,
            i,
            &id,
            &line.sku,
            line.quantity,
            line.location_id,
            (line.unit_price, line.currency.as_deref()),
            (line.country.as_deref(), line.region.as_deref()),
            line.returned_at,
        )?;
        checked.push((common, (sale, lot, line.expires_on, line.restock)));
    }
    let lines = Lines::open(&cx, KeyPermission::ChannelReturns).await?;
    let response = lines
        .run("returns", checked, |line, (sale, lot, expires_on, restock), variant, location| {
            let lines = &lines;
            async move {
                let back = Back { sale: sale.as_deref(), lot: lot.as_deref(), expires_on, restock };
                take_back(lines.table, &lines.channel, &line, &variant, location, back, &lines.actor).await
            }
        })
        .await?;
    Ok(ok(&response))
}

/// What a return says besides what sales say too.
struct Back<'a> {
    sale: Option<&'a str>,
    lot: Option<&'a str>,
    expires_on: Option<NaiveDate>,
    restock: bool,
}

async fn take_back(
    table: &Table,
    channel: &Channel,
    line: &Checked,
    variant: &Variant,
    location: LocationId,
    back: Back<'_>,
    actor: &Actor,
) -> LineResult {
    let field = format!("returns[{}]", line.index);
    match channels::sale(table, channel.vendor_id, channel.id, SaleKind::Return, &line.id).await {
        Ok(Some(before)) => return duplicate(&line.id, before),
        Ok(None) => {}
        Err(e) => return refused(&line.id, e.into()),
    }
    let sold = match back.sale {
        None => None,
        Some(sale_id) => match channels::sale(table, channel.vendor_id, channel.id, SaleKind::Sale, sale_id).await {
            Ok(Some(sale)) if sale.variant_id == variant.id => Some(sale),
            Ok(Some(_)) => {
                let e = ApiError::invalid(&format!("{field}.sku"), "is not the SKU of the sale returned");
                return refused(&line.id, e);
            }
            Ok(None) => {
                let e = ApiError::unprocessable(
                    "unknown_sale",
                    Some(&format!("{field}.sale_id")),
                    "this channel reported no sale with this id",
                );
                return refused(&line.id, e);
            }
            Err(e) => return refused(&line.id, e.into()),
        },
    };
    let mut record = record_of(channel, line, variant, location, -1);
    record.restocked = Some(back.restock);
    record.returns_sale_id = back.sale.map(String::from);
    let with_sale = |tx: &mut stockyard_store::Tx| -> Result<(), Failed> {
        if let Some(sale) = &sold {
            channels::count_return(tx, sale, line.quantity)?;
        }
        Ok(())
    };
    if !back.restock {
        let outcome = channels::record_written_off_return(table, &record, sold.as_ref(), line.quantity)
            .await
            .map(|()| record.clone())
            .map_err(Failed::from);
        return settle(table, channel, SaleKind::Return, &line.id, outcome).await;
    }
    let today = today();
    let into = match (variant.shelf_life_days, back.lot) {
        (Some(shelf_life), Some(lot)) => {
            let expires_on = back.expires_on.unwrap_or(today + chrono::Days::new(u64::from(shelf_life)));
            if expires_on < today {
                return refused(&line.id, ApiError::invalid(&format!("{field}.expires_on"), "must not be in the past"));
            }
            Some((lot.to_string(), expires_on))
        }
        (Some(_), None) => {
            let e =
                ApiError::invalid(&format!("{field}.lot"), "is required: perishable stock is restocked into a batch");
            return refused(&line.id, e);
        }
        (None, Some(_)) => {
            let e = ApiError::invalid(&format!("{field}.lot"), "only perishable variants are held in batches");
            return refused(&line.id, e);
        }
        (None, None) => None,
    };
    let quantity_field = format!("{field}.quantity");
    let outcome = store::apply(table, (channel.vendor_id, variant.id, location), |before| {
        let mut item: StockItem = lookup::current_item(before, variant, location);
        let quantity = i64::from(line.quantity);
        let batches: Vec<BatchQuantity> = into
            .iter()
            .map(|(lot, expires_on)| BatchQuantity { lot: lot.clone(), expires_on: *expires_on, quantity })
            .collect();
        item.apply(quantity, &batches, Utc::now()).map_err(|e| lookup::stock_error(&quantity_field, e))?;
        let reason = Record {
            reason: MovementReason::ChannelReturn,
            reference: Some(format!("return:{}:{}", channel.id, line.id)),
            note: None,
            actor: actor.clone(),
        };
        let movement = movement(&item, quantity, batches, reason);
        let mut returned = record.clone();
        returned.stock_version = Some(item.version);
        let mut tx = store::change(table, before, &item, &movement, 0)?;
        channels::record(&mut tx, &returned)?;
        with_sale(&mut tx)?;
        Ok::<_, Failed>((tx, returned))
    })
    .await;
    settle(table, channel, SaleKind::Return, &line.id, outcome).await
}

/// The consolidated sales record of one day (`?date=`, default today, UTC): every channel's sales,
/// and returns as negative quantities, in order of time.
#[utoipa::path(get, path = "/vendors/{vendorId}/sales", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager", "viewer"])),
    params(("vendorId" = VendorId, Path), ("date" = Option<NaiveDate>, Query), PageParams),
    responses((status = 200, body = ListResponse<SaleRecord>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_sales(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let day = cx.query_as("date", values::date)?.unwrap_or_else(today);
    let vendor = cx.vendor(VendorPermission::DemandRead).await?.id();
    Ok(ok(&ListResponse::from(channels::of_day(cx.store().await?, vendor, day, &page).await?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_checked_field_by_field() {
        let at = Some(Utc::now());
        let ok = check_common("sales[0]", 0, "s1", "abc-1", 2, None, (Some(100), Some("EUR")), (Some("gb"), None), at);
        let ok = ok.unwrap();
        assert_eq!((ok.sku.as_str(), ok.country.as_deref()), ("ABC-1", Some("GB")));
        let field = |r: Result<Checked, FieldError>| r.err().map(|e| e.field);
        assert_eq!(
            field(check_common("s", 0, "x", "A", 0, None, (None, None), (None, None), at)),
            Some("s.quantity".into())
        );
        let no_currency = check_common("s", 0, "x", "A", 1, None, (Some(5), None), (None, None), at);
        assert_eq!(field(no_currency), Some("s.currency".into()));
        let future = Some(Utc::now() + chrono::Duration::hours(1));
        assert_eq!(
            field(check_common("s", 0, "x", "A", 1, None, (None, None), (None, None), future)),
            Some("s.sold_at".into())
        );
    }
}
