//! Reading forecasts and replenishment suggestions: the owner, inventory managers and viewers
//! (`DemandRead`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use stockyard_analytics::Model;
use stockyard_analytics::replenish::Risk;
use stockyard_domain::ids::{CategoryId, ForecastRunId, LocationId, SupplierId, VendorId};
use stockyard_domain::purchasing::Supplier;
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::Sku;
use stockyard_http::error::ErrorBody;
use stockyard_http::openapi::PageParams;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::demand::{self, ForecastRecord, StockSource};
use stockyard_store::{Table, locations, suppliers};
use utoipa::ToSchema;

use super::demand::sku;

/// Demand quantiles over lead time + review period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Quantiles {
    pub p90: f64,
    pub p95: f64,
    pub p98: f64,
}

/// What to order for one SKU-location, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuggestionView {
    pub order_qty: f64,
    pub safety_stock: f64,
    pub reorder_point: f64,
    pub order_up_to: f64,
    /// Days the stock position lasts at the forecast rate; null when no demand is expected.
    pub days_of_cover: Option<f64>,
    pub risk: Risk,
    /// Set when the order must be reviewed before it is placed, with the reason: it needs more
    /// than 3 times the most this SKU-location ever sold over lead time + review period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForecastView {
    pub location_id: LocationId,
    pub sku: String,
    /// The settings' supplier when the forecast ran; absent when they name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_id: Option<SupplierId>,
    /// The catalog category the SKU's weekly pattern was pooled with; absent: its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<CategoryId>,
    /// The model the engine chose for this SKU-location.
    pub model: String,
    /// Expected units per day for the 28 days after `as_of`.
    pub daily: Vec<f64>,
    pub demand_28d: f64,
    pub lead_time_days: u32,
    pub review_period_days: u32,
    pub service_level: f64,
    /// Expected demand over lead time + review period.
    pub expected_demand: f64,
    pub quantiles: Quantiles,
    /// Units the suggestion counted as on hand when the run read them: available stock (on hand
    /// less reserved and expired units) where Stockyard tracks the SKU here (`stock_source`
    /// `tracked`), else the settings' declared figure.
    pub on_hand: u32,
    /// Units on their way when the run read them (open purchase orders, transfers in transit).
    pub incoming: u32,
    pub stock_source: StockSource,
    pub suggestion: SuggestionView,
    pub run_id: ForecastRunId,
    /// The last day of history the forecast used.
    pub as_of: NaiveDate,
    pub generated_at: DateTime<Utc>,
}

impl From<ForecastRecord> for ForecastView {
    fn from(f: ForecastRecord) -> Self {
        Self {
            location_id: f.location_id,
            sku: f.sku,
            supplier_id: f.supplier_id,
            category_id: f.category_id,
            model: f.model,
            daily: f.daily,
            demand_28d: f.demand_28d,
            lead_time_days: f.lead_time_days,
            review_period_days: f.review_period_days,
            service_level: f.service_level,
            expected_demand: f.expected_demand,
            quantiles: Quantiles { p90: f.p90, p95: f.p95, p98: f.p98 },
            on_hand: f.on_hand,
            incoming: f.incoming,
            stock_source: f.stock_source,
            suggestion: SuggestionView {
                order_qty: f.order_qty,
                safety_stock: f.safety_stock,
                reorder_point: f.reorder_point,
                order_up_to: f.order_up_to,
                days_of_cover: f.days_of_cover,
                risk: f.risk,
                review: f.review,
            },
            run_id: f.run_id,
            as_of: f.as_of,
            generated_at: f.generated_at,
        }
    }
}

fn risk_filter(cx: &Ctx<'_>) -> Result<Option<Risk>, ApiError> {
    cx.query_as("risk", Risk::parse)
}

/// The name of a forecasting model, as `?model=` takes it.
pub struct ModelName;

impl utoipa::PartialSchema for ModelName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A forecasting model's name."))
            .enum_values(Some(Model::all().iter().map(Model::name)))
            .into()
    }
}

impl ToSchema for ModelName {}

fn model_filter(cx: &Ctx<'_>) -> Result<Option<String>, ApiError> {
    let Some(name) = cx.query("model") else { return Ok(None) };
    let known: Vec<&str> = Model::all().iter().map(Model::name).collect();
    if known.contains(&name.as_str()) {
        Ok(Some(name))
    } else {
        Err(ApiError::invalid("model", format!("must be one of {}", known.join(", "))))
    }
}

/// The vendor's latest forecasts, by location then SKU.
#[utoipa::path(get, path = "/vendors/{vendorId}/forecasts", tag = "forecasting", security(("bearer" = ["vendor_owner", "inventory_manager", "viewer"])),
    params(("vendorId" = VendorId, Path), ("location_id" = Option<LocationId>, Query), ("risk" = Option<Risk>, Query),
           ("model" = Option<ModelName>, Query), PageParams),
    responses((status = 200, body = ListResponse<ForecastView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_forecasts(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let mut page = cx.page(false)?;
    page.newest_first = false;
    let location = cx.query_as("location_id", LocationId::parse)?;
    let (risk, model) = (risk_filter(&cx)?, model_filter(&cx)?);
    let vendor_id = cx.vendor(VendorPermission::DemandRead).await?.id();
    let found = demand::forecasts(cx.store().await?, vendor_id, location, risk, model.as_deref(), &page).await?;
    Ok(ok(&ListResponse::from(found.map(ForecastView::from))))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SkuForecastResponse {
    pub sku: String,
    /// One forecast per location that stocks the SKU.
    pub locations: Vec<ForecastView>,
}

/// One SKU's latest forecast at every location, with daily points and quantiles.
#[utoipa::path(get, path = "/vendors/{vendorId}/forecasts/{sku}", tag = "forecasting", security(("bearer" = ["vendor_owner", "inventory_manager", "viewer"])),
    params(("vendorId" = VendorId, Path), ("sku" = Sku, Path)),
    responses((status = 200, body = SkuForecastResponse), (status = 403, body = ErrorBody),
              (status = 404, description = "no forecast for this SKU yet", body = ErrorBody)))]
pub async fn get_sku_forecast(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let sku = cx.path("sku", sku)?;
    let vendor_id = cx.vendor(VendorPermission::DemandRead).await?.id();
    let at: Vec<LocationId> = locations::all(cx.store().await?, vendor_id).await?.into_iter().map(|l| l.id).collect();
    let found = demand::forecasts_of_sku(cx.store().await?, vendor_id, &at, &sku).await?;
    if found.is_empty() {
        return Err(ApiError::NotFound("forecast"));
    }
    Ok(ok(&SkuForecastResponse { sku, locations: found.into_iter().map(ForecastView::from).collect() }))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub location_id: LocationId,
    pub sku: String,
    pub order_qty: f64,
    /// Available units when the forecast ran (see `ForecastView.on_hand`).
    pub on_hand: u32,
    pub incoming: u32,
    pub stock_source: StockSource,
    pub expected_demand: f64,
    pub order_up_to: f64,
    /// Days the stock position lasts at the forecast rate; null when no demand is expected.
    pub days_of_cover: Option<f64>,
    pub risk: Risk,
    /// Why this line is held for review instead of ordered (see `held_for_review`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SupplierOrder {
    /// The supplier the demand settings name; null for the suggestions of settings that name
    /// none (listed last: set a supplier to order them from suggestions).
    pub supplier_id: Option<SupplierId>,
    /// The supplier's code and name as they are now (null without a supplier).
    #[schema(example = "ACME")]
    pub supplier_code: Option<String>,
    #[schema(example = "Acme Dairy Ltd")]
    pub supplier_name: Option<String>,
    /// Units over every line.
    pub total_units: f64,
    pub lines: Vec<OrderLine>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplenishmentResponse {
    /// Suggested orders (order_qty > 0) per supplier, by supplier code, those without a supplier
    /// last; lines held for review are not among them.
    pub suppliers: Vec<SupplierOrder>,
    /// Orders not suggested until someone has looked at them, each with its reason: far beyond
    /// anything the SKU-location ever sold over lead time + review period (a sales history
    /// typo, a bulk import gone wrong, or real news the history does not show).
    pub held_for_review: Vec<OrderLine>,
    /// SKU-locations at risk of a stock-out or overstocked, stock-outs first.
    pub at_risk: Vec<OrderLine>,
    /// The last day of history of the newest forecast listed.
    pub as_of: Option<NaiveDate>,
}

fn line(f: &ForecastRecord) -> OrderLine {
    OrderLine {
        location_id: f.location_id,
        sku: f.sku.clone(),
        order_qty: f.order_qty,
        on_hand: f.on_hand,
        incoming: f.incoming,
        stock_source: f.stock_source,
        expected_demand: f.expected_demand,
        order_up_to: f.order_up_to,
        days_of_cover: f.days_of_cover,
        risk: f.risk,
        review: f.review.clone(),
    }
}

/// Groups actionable forecasts (as the replenishment index returns them, by supplier, location,
/// SKU) per supplier, named from `suppliers` (the vendor's, by id).
pub fn replenishment(forecasts: &[ForecastRecord], suppliers: &HashMap<SupplierId, Supplier>) -> ReplenishmentResponse {
    let mut orders: BTreeMap<Option<SupplierId>, SupplierOrder> = BTreeMap::new();
    for f in forecasts.iter().filter(|f| f.order_qty > 0.0 && f.review.is_none()) {
        let order = orders.entry(f.supplier_id).or_insert_with(|| {
            let supplier = f.supplier_id.and_then(|id| suppliers.get(&id));
            SupplierOrder {
                supplier_id: f.supplier_id,
                supplier_code: supplier.map(|s| s.code.clone()),
                supplier_name: supplier.map(|s| s.name.clone()),
                total_units: 0.0,
                lines: Vec::new(),
            }
        });
        order.total_units += f.order_qty;
        order.lines.push(line(f));
    }
    let mut orders: Vec<SupplierOrder> = orders.into_values().collect();
    // By code; a supplier not found (none is ever deleted) after the named ones, then none.
    orders.sort_by(|a, b| {
        let key = |o: &SupplierOrder| (o.supplier_id.is_none(), o.supplier_code.is_none(), o.supplier_code.clone());
        key(a).cmp(&key(b))
    });
    let mut at_risk: Vec<OrderLine> = forecasts.iter().filter(|f| f.risk != Risk::None).map(line).collect();
    at_risk.sort_by_key(|l| l.risk != Risk::StockOut);
    ReplenishmentResponse {
        suppliers: orders,
        held_for_review: forecasts.iter().filter(|f| f.review.is_some()).map(line).collect(),
        at_risk,
        as_of: forecasts.iter().map(|f| f.as_of).max(),
    }
}

/// What to order now, per supplier, and what is at risk.
#[utoipa::path(get, path = "/vendors/{vendorId}/replenishment", tag = "forecasting", security(("bearer" = ["vendor_owner", "inventory_manager", "viewer"])),
    params(("vendorId" = VendorId, Path),
           ("supplier_id" = Option<SupplierId>, Query, description = "Only this supplier's suggestions")),
    responses((status = 200, body = ReplenishmentResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_replenishment(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let supplier = cx.query_as("supplier_id", SupplierId::parse)?;
    let vendor_id = cx.vendor(VendorPermission::DemandRead).await?.id();
    let table = cx.store().await?;
    let actionable = demand::actionable(table, vendor_id, supplier).await?;
    let named = suppliers_of(table, vendor_id, &actionable).await?;
    Ok(ok(&replenishment(&actionable, &named)))
}

/// The vendor's suppliers that `forecasts` name, by id (one read each, at once).
pub async fn suppliers_of(
    table: &Table,
    vendor: VendorId,
    forecasts: &[ForecastRecord],
) -> Result<HashMap<SupplierId, Supplier>, ApiError> {
    let ids: BTreeSet<SupplierId> = forecasts.iter().filter_map(|f| f.supplier_id).collect();
    let reads = ids.into_iter().map(|id| suppliers::get(table, vendor, id));
    let found = futures_util::future::try_join_all(reads).await?;
    Ok(found.into_iter().flatten().map(|s| (s.id, s)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockyard_domain::ids::VendorId;

    fn forecast(supplier: Option<&Supplier>, sku: &str, order_qty: f64, risk: Risk) -> ForecastRecord {
        ForecastRecord {
            vendor_id: VendorId::generate(),
            location_id: LocationId::generate(),
            sku: sku.into(),
            supplier_id: supplier.map(|s| s.id),
            category_id: None,
            model: "pooled_profile".into(),
            daily: vec![1.0; 28],
            demand_28d: 28.0,
            lead_time_days: 3,
            review_period_days: 7,
            service_level: 0.95,
            expected_demand: 10.0,
            p90: 12.0,
            p95: 13.0,
            p98: 14.0,
            on_hand: 0,
            incoming: 0,
            stock_source: StockSource::Tracked,
            safety_stock: 3.0,
            reorder_point: 5.0,
            order_up_to: 13.0,
            order_qty,
            days_of_cover: None,
            risk,
            review: None,
            run_id: ForecastRunId::generate(),
            as_of: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
            generated_at: Utc::now(),
        }
    }

    fn supplier(code: &str) -> Supplier {
        let body = serde_json::json!({
            "id": SupplierId::generate(), "vendor_id": VendorId::generate(), "code": code,
            "name": format!("{code} Ltd"), "email": "orders@example.com", "currency": "EUR",
            "lead_time_days": 3, "pack_size": 1, "version": 1,
            "created_at": Utc::now(), "updated_at": Utc::now()
        });
        serde_json::from_value(body).expect("a supplier")
    }

    fn by_id(suppliers: &[&Supplier]) -> HashMap<SupplierId, Supplier> {
        suppliers.iter().map(|s| (s.id, (*s).clone())).collect()
    }

    #[test]
    fn orders_are_grouped_per_supplier_by_code_with_totals_and_stock_outs_lead_the_risk_list() {
        let (acme, beta) = (supplier("ACME"), supplier("BETA"));
        let all = vec![
            forecast(Some(&beta), "C", 0.0, Risk::Overstock),
            forecast(Some(&beta), "D", 5.0, Risk::StockOut),
            forecast(None, "E", 3.0, Risk::None),
            forecast(Some(&acme), "A", 12.0, Risk::None),
            forecast(Some(&acme), "B", 8.0, Risk::StockOut),
        ];
        let r = replenishment(&all, &by_id(&[&acme, &beta]));
        let totals: Vec<(Option<&str>, f64, usize)> =
            r.suppliers.iter().map(|s| (s.supplier_code.as_deref(), s.total_units, s.lines.len())).collect();
        assert_eq!(totals, vec![(Some("ACME"), 20.0, 2), (Some("BETA"), 5.0, 1), (None, 3.0, 1)]);
        assert_eq!(r.suppliers[0].supplier_name.as_deref(), Some("ACME Ltd"));
        assert_eq!(r.suppliers[2].supplier_id, None, "suggestions without a supplier come last");
        let risks: Vec<(&str, &str)> = r.at_risk.iter().map(|l| (l.sku.as_str(), l.risk.as_str())).collect();
        assert_eq!(
            risks,
            vec![("D", "stock_out"), ("B", "stock_out"), ("C", "overstock")],
            "in listing order, stock-outs first"
        );
        assert!(r.held_for_review.is_empty());
    }

    #[test]
    fn an_order_held_for_review_is_listed_with_its_reason_and_left_out_of_the_supplier_order() {
        let acme = supplier("ACME");
        let mut held = forecast(Some(&acme), "B", 43_742.0, Risk::None);
        held.review = Some("the order needs 43742 units, more than 3 times the most ever sold".into());
        let r = replenishment(&[forecast(Some(&acme), "A", 12.0, Risk::None), held], &by_id(&[&acme]));
        assert_eq!(r.suppliers.len(), 1);
        assert_eq!((r.suppliers[0].total_units, r.suppliers[0].lines.len()), (12.0, 1));
        assert_eq!(r.held_for_review.len(), 1);
        assert_eq!(r.held_for_review[0].sku, "B");
        assert!(r.held_for_review[0].review.as_deref().is_some_and(|why| why.contains("43742 units")));
        let json = serde_json::to_value(&r).expect("serialises");
        assert!(json["suppliers"][0]["lines"][0].get("review").is_none(), "absent, not null, when not held");
    }
}
