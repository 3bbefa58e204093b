//! Exchange rates: admin keeps one current set; anyone reads it. A shopper asking for a currency a
//! variant has no price in sees the vendor's base-currency price converted with it, and is told so.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::Utc;
use rust_decimal::Decimal;
use serde::Deserialize;
use stockyard_domain::FieldError;
use stockyard_domain::exchange::ExchangeRates;
use stockyard_domain::money::Currency;
use stockyard_domain::roles::PlatformRole;
use stockyard_http::error::ErrorBody;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::exchange_rates;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRatesRequest {
    /// The currency every rate is quoted against (ISO 4217).
    #[schema(value_type = Currency, example = "EUR")]
    pub base: String,
    /// Units of each currency one unit of `base` buys, as decimal strings (at most 10 decimals).
    #[schema(example = json!({"USD": "1.0825", "GBP": "0.8571", "JPY": "161.25"}))]
    pub rates: BTreeMap<String, String>,
}

fn parse(body: &ExchangeRatesRequest) -> Result<ExchangeRates, FieldError> {
    let base = Currency::parse("base", &body.base)?;
    if body.rates.is_empty() {
        return Err(FieldError::new("rates", "needs at least one rate"));
    }
    let mut rates = BTreeMap::new();
    for (code, raw) in &body.rates {
        let field = format!("rates.{code}");
        let currency = Currency::parse(&field, code)?;
        let rate = Decimal::from_str(raw.trim())
            .map_err(|_| FieldError::new(&field, "must be a decimal number written as a string, such as \"1.0825\""))?;
        rates.insert(currency, rate);
    }
    ExchangeRates::new(base, rates, Utc::now())
}

/// Replace the exchange rates (admin).
#[utoipa::path(put, path = "/admin/exchange-rates", tag = "catalog", security(("bearer" = ["admin"])),
    request_body = ExchangeRatesRequest,
    responses((status = 200, body = ExchangeRates), (status = 403, body = ErrorBody),
              (status = 422, description = "invalid_field: names the rate (`rates.JPY`)", body = ErrorBody)))]
pub async fn put_exchange_rates(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: ExchangeRatesRequest = cx.body()?;
    let rates = parse(&body)?;
    cx.require_any(&[PlatformRole::Admin]).await?;
    exchange_rates::replace(cx.store().await?, &rates).await?;
    Ok(ok(&rates))
}

/// The current exchange rates. Public.
#[utoipa::path(get, path = "/exchange-rates", tag = "catalog",
    responses((status = 200, body = ExchangeRates), (status = 404, description = "not_found: none set yet", body = ErrorBody)))]
pub async fn get_exchange_rates(deps: &ApiDeps, _req: Request) -> Result<Response<Body>, ApiError> {
    let rates = exchange_rates::current(&deps.table).await?.ok_or(ApiError::NotFound("exchange rates"))?;
    Ok(ok(&rates))
}
