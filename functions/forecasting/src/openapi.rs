//! The forecasting API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers::{demand, forecasts};

#[derive(OpenApi)]
#[openapi(
    paths(
        forecasts::list_forecasts,
        forecasts::get_sku_forecast,
        forecasts::get_replenishment,
        demand::put_demand_settings,
        demand::record_daily_sales,
        demand::get_daily_sales,
        demand::create_forecast_run
    ),
    components(schemas(stockyard_domain::values::Sku, forecasts::ModelName))
)]
pub struct ForecastingApi;
