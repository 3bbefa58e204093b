//! Vendor organisations: created by a user who becomes the owner.

use chrono::Utc;
use lambda_http::http::StatusCode;
use stockyard_domain::address::country;
use stockyard_domain::ids::VendorId;
use stockyard_domain::locale::Locale;
use stockyard_domain::money::Currency;
use stockyard_domain::roles::{VendorPermission, VendorRole};
use stockyard_domain::values::{AddressLine, Description, Name, OptionalAddressLine, PostalCode, Region, VendorName};
use stockyard_domain::vendor::{InvoicingDetails, Member, TaxId, Vendor, VendorStatus};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::IdempotencyParams;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::vendors::{self, VendorChange};

use crate::dto::{CreateVendorRequest, InvoicingRequest, UpdateVendorRequest};

/// Create a vendor organisation; the caller becomes its owner. A user belongs to one vendor at most.
#[utoipa::path(post, path = "/vendors", tag = "vendors", security(("bearer" = [])), request_body = CreateVendorRequest,
    params(IdempotencyParams),
    responses((status = 403, description = "email_unverified: verify the account's email address first", body = ErrorBody), (status = 201, body = Vendor), (status = 409, description = "already_member", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_vendor(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateVendorRequest = cx.body()?;
    let name = VendorName::parse("name", &body.name)?;
    let description = body.description.as_deref().map(|d| Description::parse("description", d)).transpose()?.flatten();
    let base_currency = body.base_currency.as_deref().map(|c| Currency::parse("base_currency", c)).transpose()?;
    let default_locale = body.default_locale.as_deref().map(|l| Locale::parse("default_locale", l)).transpose()?;
    let country = body.country.as_deref().map(|c| country("country", c)).transpose()?;
    let near_expiry_days =
        body.near_expiry_days.map(|d| Vendor::parse_near_expiry_days("near_expiry_days", d)).transpose()?;
    cx.idempotent(async |key| {
        let user = cx.account().await?.clone();
        if user.vendor_id.is_some() {
            return Err(already_member());
        }
        if !user.email_verified {
            return Err(ApiError::ForbiddenBecause {
                code: "email_unverified",
                message: "verify your email address first (POST /me/email/verification sends the link again)".into(),
            });
        }
        let now = Utc::now();
        let vendor = Vendor {
            id: VendorId::generate(),
            name,
            description,
            status: VendorStatus::Active,
            status_reason: None,
            owner_id: user.id,
            base_currency: base_currency.unwrap_or_else(Vendor::default_currency),
            default_locale: default_locale.clone().unwrap_or_else(Vendor::default_locale),
            country: country.clone(),
            invoicing: None,
            near_expiry_days: near_expiry_days.unwrap_or_else(Vendor::default_near_expiry_days),
            created_at: now,
            updated_at: now,
        };
        let owner = Member {
            vendor_id: vendor.id,
            user_id: user.id,
            email: user.email,
            name: user.name,
            role: VendorRole::Owner,
            joined_at: now,
        };
        let tx = vendors::create(cx.store().await?, &vendor, &owner)?;
        commit(cx.store().await?, tx, key, StatusCode::CREATED, &vendor, |_| already_member()).await
    })
    .await
}

/// The seller details as sent, checked field by field (`invoicing.<field>` names a refusal).
fn invoicing(r: &InvoicingRequest) -> Result<InvoicingDetails, ApiError> {
    let field = |name: &str| format!("invoicing.{name}");
    let optional = |name: &str, raw: &Option<String>, parse: fn(&str, &str) -> Result<Option<String>, _>| {
        raw.as_deref().map(|v| parse(&field(name), v)).transpose().map(Option::flatten)
    };
    Ok(InvoicingDetails {
        legal_name: r.legal_name.as_deref().map(|n| Name::parse(&field("legal_name"), n)).transpose()?,
        line1: AddressLine::parse(&field("line1"), &r.line1)?,
        line2: optional("line2", &r.line2, OptionalAddressLine::parse)?,
        city: Name::parse(&field("city"), &r.city)?,
        region: optional("region", &r.region, Region::parse)?,
        postal_code: PostalCode::parse(&field("postal_code"), &r.postal_code)?,
        country: country(&field("country"), &r.country)?,
        tax_id: optional("tax_id", &r.tax_id, TaxId::parse)?,
    })
}

pub(crate) fn already_member() -> ApiError {
    ApiError::conflict("already_member", "you already belong to a vendor; a user belongs to one vendor at most")
}

/// A vendor, for its members and for platform admin and support.
#[utoipa::path(get, path = "/vendors/{vendorId}", tag = "vendors", security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = VendorId, Path)),
    responses((status = 200, body = Vendor), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_vendor(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let access = cx.vendor(VendorPermission::Read).await?;
    Ok(ok(&access.vendor))
}

/// Change the vendor's name, description, base currency, default locale, country, near-expiry
/// window or the seller details its invoices print (owner only).
#[utoipa::path(patch, path = "/vendors/{vendorId}", tag = "vendors", security(("bearer" = ["vendor_owner"])), request_body = UpdateVendorRequest,
    params(("vendorId" = VendorId, Path)),
    responses((status = 200, body = Vendor), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_vendor(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let vendor_id = cx.vendor_id()?;
    let body: UpdateVendorRequest = cx.body()?;
    let change = VendorChange {
        name: body.name.as_deref().map(|n| VendorName::parse("name", n)).transpose()?,
        description: body.description.as_deref().map(|d| Description::parse("description", d)).transpose()?,
        base_currency: body.base_currency.as_deref().map(|c| Currency::parse("base_currency", c)).transpose()?,
        default_locale: body.default_locale.as_deref().map(|l| Locale::parse("default_locale", l)).transpose()?,
        country: match &body.country {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => Some(Some(country("country", raw)?)),
        },
        near_expiry_days: body
            .near_expiry_days
            .map(|d| Vendor::parse_near_expiry_days("near_expiry_days", d))
            .transpose()?,
        invoicing: match &body.invoicing {
            None => None,
            Some(None) => Some(None),
            Some(Some(details)) => Some(Some(invoicing(details)?)),
        },
    };
    cx.vendor(VendorPermission::Manage).await?;
    let vendor = vendors::update_details(cx.store().await?, vendor_id, &change).await?;
    Ok(ok(&vendor.ok_or(ApiError::NotFound("vendor"))?))
}
