//! Tax rates: admin keeps one table of every country's rates (checkout taxes with it); anyone
//! reads it. The table is replaced whole, under a version every change moves by one.

use std::str::FromStr;

use chrono::Utc;
use rust_decimal::Decimal;
use serde::Deserialize;
use stockyard_domain::FieldError;
use stockyard_domain::address::CountryCode;
use stockyard_domain::catalog::TaxClass;
use stockyard_domain::roles::PlatformRole;
use stockyard_domain::tax::{CountryTax, PricingMode, TaxRate, TaxRates, TaxTable};
use stockyard_http::error::ErrorBody;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::{StoreError, tax_rates};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRatesRequest {
    /// Every country checkout may ship to, each once; a destination not listed is refused at
    /// checkout. An empty list removes every rate.
    #[schema(example = json!([
        {"country": "GB", "pricing": "tax_inclusive", "shipping_tax_class": "standard",
         "rates": [{"tax_class": "standard", "rate": "20", "name": "VAT 20%"},
                   {"tax_class": "reduced", "rate": "5", "name": "VAT 5%"}]},
        {"country": "US", "pricing": "tax_exclusive", "shipping_tax_class": "exempt",
         "rates": [{"region": "CA", "tax_class": "standard", "rate": "7.25", "name": "CA sales tax"}]}
    ]))]
    pub countries: Vec<CountryTaxRequest>,
}

/// One country's tax settings, as admin sends them (see `CountryTax`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountryTaxRequest {
    #[schema(value_type = CountryCode)]
    pub country: String,
    pub pricing: PricingMode,
    pub shipping_tax_class: TaxClass,
    #[serde(default)]
    pub rates: Vec<TaxRateRequest>,
}

/// One rate, as admin sends it (see `TaxRate`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateRequest {
    /// An ISO 3166-2 subdivision code of the country (`CA`, or `US-CA`); absent for the
    /// country-wide rate.
    #[serde(default)]
    #[schema(example = "CA")]
    pub region: Option<String>,
    /// Not `exempt`: exempt goods take no rate.
    pub tax_class: TaxClass,
    /// A percentage from 0 to 100 with at most 4 decimal places, as a decimal string.
    #[schema(example = "20")]
    pub rate: String,
    #[schema(min_length = 1, max_length = 100, example = "VAT 20%")]
    pub name: String,
}

/// The table as sent, its rates read as exact decimals (`countries[i].rates[j].rate` names one that
/// is not a decimal number), before the table's own checks.
fn countries_of(body: TaxRatesRequest) -> Result<Vec<CountryTax>, FieldError> {
    body.countries
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let rates = c
                .rates
                .into_iter()
                .enumerate()
                .map(|(j, r)| {
                    let rate = Decimal::from_str(r.rate.trim()).map_err(|_| {
                        FieldError::new(
                            format!("countries[{i}].rates[{j}].rate"),
                            "must be a decimal number written as a string, such as \"7.25\"",
                        )
                    })?;
                    Ok(TaxRate { region: r.region, tax_class: r.tax_class, rate, name: r.name })
                })
                .collect::<Result<Vec<_>, FieldError>>()?;
            Ok(CountryTax { country: c.country, pricing: c.pricing, shipping_tax_class: c.shipping_tax_class, rates })
        })
        .collect()
}

fn changed_meanwhile() -> ApiError {
    ApiError::conflict("changed_meanwhile", "the tax rates were changed meanwhile; read them again and retry")
}

/// Replace the tax rates (admin): the whole table, checked as one. The first problem is named by
/// its path (`countries[1].rates[0].rate`). Sending the table in force again changes nothing.
#[utoipa::path(put, path = "/admin/tax-rates", tag = "catalog", security(("bearer" = ["admin"])),
    request_body = TaxRatesRequest,
    responses((status = 200, body = TaxRates), (status = 403, body = ErrorBody),
              (status = 409, description = "changed_meanwhile: another change was made at the same moment", body = ErrorBody),
              (status = 422, description = "invalid_field: names the field by its path (`countries[1].rates[0].rate`)", body = ErrorBody)))]
pub async fn put_tax_rates(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: TaxRatesRequest = cx.body()?;
    let table = TaxTable::new(countries_of(body)?)?;
    cx.require_any(&[PlatformRole::Admin]).await?;
    let store = cx.store().await?;
    let current = tax_rates::current(store).await?;
    if current.version > 0 && current.table == table {
        return Ok(ok(&current));
    }
    let rates = TaxRates { table, version: current.version + 1, updated_at: Some(Utc::now()) };
    match tax_rates::replace(store, current.version, &rates).await {
        Ok(()) => Ok(ok(&rates)),
        Err(StoreError::ConditionFailed) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

/// The tax rates in force. Public. Before admin sets any: no country, at version 0.
#[utoipa::path(get, path = "/tax-rates", tag = "catalog", responses((status = 200, body = TaxRates)))]
pub async fn get_tax_rates(deps: &ApiDeps, _req: Request) -> Result<Response<Body>, ApiError> {
    Ok(ok(&tax_rates::current(&deps.table).await?))
}
