//! A vendor's shipping: the zones it ships to, the services priced by weight in each, and the
//! calendar of the location it ships from. The owner and inventory managers set it, whole; every
//! member reads it. Checkout quotes with it.
//!
//! Zones are named by a `code` the vendor chooses; services name their zone by that code
//! (`zone_code`). The server gives each zone its id: a zone keeps its id for as long as a zone with
//! its code is sent again, and a new code gets a new id.

use chrono::Utc;
use serde::Deserialize;
use stockyard_domain::FieldError;
use stockyard_domain::address::CountryCode;
use stockyard_domain::allocation::AllocationRule;
use stockyard_domain::catalog::{MAX_DIMENSION_MM, MAX_WEIGHT_G};
use stockyard_domain::ids::{ShippingZoneId, UserId, VendorId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::shipping::{
    MAX_GIRTH_MM, MAX_SERVICES, MAX_SHIPPING_NAME_LEN, MAX_TRANSIT_DAYS, MAX_ZONES, RateBracket, ShipCalendar,
    ShippingService, ShippingZone, VendorShipping, VendorZone, check_calendar, check_service, check_zone,
};
use stockyard_domain::values::{ShippingServiceCode, ShippingZoneCode};
use stockyard_http::error::ErrorBody;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::{StoreError, locations, shipping};
use utoipa::ToSchema;

/// A zone as the vendor sends it: its code instead of an id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingZoneRequest {
    /// The vendor's code for the zone, unique among its zones (any case; stored upper-case).
    #[schema(value_type = ShippingZoneCode, example = "US-REMOTE")]
    pub code: String,
    #[schema(min_length = 1, max_length = 100, example = "Alaska and Hawaii")]
    pub name: String,
    /// ISO 3166-1 alpha-2 codes; no country may be in two zones.
    #[serde(default)]
    #[schema(value_type = Vec<CountryCode>, max_items = 300, example = json!([]))]
    pub countries: Vec<String>,
    /// ISO 3166-2 subdivision codes (`US-AK`), whose country this zone does not list; no region
    /// may be in two zones. A region's zone wins over its country's.
    #[serde(default)]
    #[schema(max_items = 300, example = json!(["US-AK", "US-HI"]))]
    pub regions: Vec<String>,
}

/// A service as the vendor sends it: its zone named by the zone's code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingServiceRequest {
    /// The `code` of one of the zones of this request.
    #[schema(value_type = ShippingZoneCode, example = "US-REMOTE")]
    pub zone_code: String,
    /// Unique among the services of its zone (stored upper-case).
    #[schema(value_type = ShippingServiceCode, example = "STANDARD")]
    pub code: String,
    #[schema(min_length = 1, max_length = 100, example = "USPS")]
    pub carrier: String,
    #[schema(min_length = 1, max_length = 100, example = "Priority Mail, 3 to 6 days")]
    pub name: String,
    /// 1 to 50 brackets, ascending by `up_to_g`, all priced in one currency, none negative.
    #[schema(min_items = 1, max_items = 50)]
    pub rates: Vec<RateBracket>,
    #[schema(minimum = 1, maximum = 1_000_000, example = 30000)]
    pub max_weight_g: u32,
    #[schema(minimum = 1, maximum = 10_000, example = 1500)]
    pub max_length_mm: u32,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 50_000, example = 3000)]
    pub max_girth_mm: Option<u32>,
    /// At most `transit_days_max`.
    #[schema(minimum = 0, maximum = 60, example = 3)]
    pub transit_days_min: u32,
    #[schema(minimum = 0, maximum = 60, example = 6)]
    pub transit_days_max: u32,
    #[serde(default)]
    #[schema(minimum = 1000, maximum = 10_000, example = 5000)]
    pub volumetric_divisor: Option<u32>,
}

/// The whole of a vendor's shipping, replacing what it had.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutShippingRequest {
    /// At most 20.
    #[schema(max_items = 20)]
    pub zones: Vec<ShippingZoneRequest>,
    /// At most 50 over all zones.
    #[schema(max_items = 50)]
    pub services: Vec<ShippingServiceRequest>,
    pub calendar: ShipCalendar,
    /// Which locations serve an order's lines: `{"type": "nearest"}` (the default: the
    /// destination's country first, then its continent) or `{"type": "priority", "locations":
    /// [...]}` (the vendor's order; locations not listed come after). A line is served whole by
    /// the first location that can, and split over several only when none can.
    #[serde(default)]
    pub allocation: AllocationRule,
}

// The schema's bounds above are the domain's.
const _: () = assert!(
    MAX_ZONES == 20
        && MAX_SERVICES == 50
        && MAX_SHIPPING_NAME_LEN == 100
        && MAX_WEIGHT_G == 1_000_000
        && MAX_DIMENSION_MM == 10_000
        && MAX_GIRTH_MM == 50_000
        && MAX_TRANSIT_DAYS == 60
);

/// What the vendor sent, checked whole (the first problem named by its path: `zones[1].countries[0]`,
/// `services[2].rates[1].up_to_g`), with each zone's id: the id of the zone with the same code in
/// `current`, or a new one.
fn settle(
    body: &PutShippingRequest,
    current: Option<&VendorShipping>,
) -> Result<(Vec<VendorZone>, Vec<ShippingService>, ShipCalendar), FieldError> {
    if body.zones.len() > MAX_ZONES {
        return Err(FieldError::new("zones", format!("must list at most {MAX_ZONES} zones")));
    }
    if body.services.len() > MAX_SERVICES {
        return Err(FieldError::new("services", format!("must list at most {MAX_SERVICES} services")));
    }
    let mut zones: Vec<VendorZone> = Vec::with_capacity(body.zones.len());
    for (i, sent) in body.zones.iter().enumerate() {
        let at = format!("zones[{i}]");
        let code = ShippingZoneCode::parse(&format!("{at}.code"), &sent.code)?;
        if let Some(k) = zones.iter().position(|z| z.code == code) {
            return Err(FieldError::new(format!("{at}.code"), format!("is listed twice (also zones[{k}])")));
        }
        let id = current
            .and_then(|c| c.zones.iter().find(|z| z.code == code))
            .map_or_else(ShippingZoneId::generate, |z| z.zone.id);
        let zone = ShippingZone {
            id,
            name: sent.name.clone(),
            countries: sent.countries.clone(),
            regions: sent.regions.clone(),
        };
        let before: Vec<ShippingZone> = zones.iter().map(|z| z.zone.clone()).collect();
        let zone = check_zone(&at, &zone, &before)?;
        zones.push(VendorZone { code, zone });
    }
    let plain: Vec<ShippingZone> = zones.iter().map(|z| z.zone.clone()).collect();
    let mut services: Vec<ShippingService> = Vec::with_capacity(body.services.len());
    for (j, sent) in body.services.iter().enumerate() {
        let at = format!("services[{j}]");
        let zone_field = format!("{at}.zone_code");
        let zone_code = ShippingZoneCode::parse(&zone_field, &sent.zone_code)?;
        let zone = zones
            .iter()
            .find(|z| z.code == zone_code)
            .ok_or_else(|| FieldError::new(&zone_field, "is not the code of a zone in this request"))?;
        let service = ShippingService {
            code: sent.code.clone(),
            carrier: sent.carrier.clone(),
            name: sent.name.clone(),
            zone: zone.zone.id,
            rates: sent.rates.clone(),
            max_weight_g: sent.max_weight_g,
            max_length_mm: sent.max_length_mm,
            max_girth_mm: sent.max_girth_mm,
            transit_days_min: sent.transit_days_min,
            transit_days_max: sent.transit_days_max,
            volumetric_divisor: sent.volumetric_divisor,
        };
        services.push(check_service(&at, &service, &plain, &services)?);
    }
    let calendar = check_calendar("calendar", &body.calendar)?;
    if let AllocationRule::Priority { locations } = &body.allocation {
        for (i, location) in locations.iter().enumerate() {
            if locations[..i].contains(location) {
                return Err(FieldError::new(format!("allocation.locations[{i}]"), "is listed twice"));
            }
        }
    }
    Ok((zones, services, calendar))
}

/// The settings `body` makes of `current`, as version `current + 1` by `by`.
fn next(
    vendor: VendorId,
    body: &PutShippingRequest,
    current: Option<&VendorShipping>,
    by: UserId,
) -> Result<VendorShipping, FieldError> {
    let (zones, services, calendar) = settle(body, current)?;
    Ok(VendorShipping {
        vendor_id: vendor,
        zones,
        services,
        calendar,
        allocation: body.allocation.clone(),
        version: current.map_or(1, |c| c.version + 1),
        updated_at: Utc::now(),
        updated_by: by,
    })
}

fn changed_meanwhile() -> ApiError {
    ApiError::conflict("changed_meanwhile", "the vendor's shipping changed meanwhile; read it again and retry")
}

/// Set the vendor's shipping (the owner and inventory managers): every zone, service and the
/// calendar, replacing what was there. Services name their zone by its `code`; the answer gives
/// each zone its id (kept for as long as its code is) and each service its zone's id in `zone`.
/// Sending what is in force again changes nothing; a change made at the same moment by someone
/// else is not overwritten (409 `changed_meanwhile`: read again and retry).
#[utoipa::path(put, path = "/vendors/{vendorId}/shipping", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = PutShippingRequest,
    params(("vendorId" = VendorId, Path)),
    responses((status = 200, body = VendorShipping), (status = 403, body = ErrorBody),
              (status = 409, description = "changed_meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_field: names the field by its path (`zones[1].countries[0]`, `services[0].zone_code`, `calendar.holidays[2]`)", body = ErrorBody)))]
pub async fn put_vendor_shipping(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: PutShippingRequest = cx.body()?;
    // Checked before anything is read: the zones' ids do not change what is valid.
    settle(&body, None)?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let by = cx.person()?.user_id;
    let table = cx.store().await?;
    if let AllocationRule::Priority { locations: listed } = &body.allocation {
        let known = locations::all(table, vendor).await?;
        if let Some(i) = listed.iter().position(|l| !known.iter().any(|k| k.id == *l)) {
            return Err(ApiError::invalid(
                &format!("allocation.locations[{i}]"),
                "is not one of the vendor's locations",
            ));
        }
    }
    let current = shipping::get(table, vendor).await?;
    let after = next(vendor, &body, current.as_ref(), by)?;
    if let Some(current) = current.filter(|c| c.same_settings(&after)) {
        return Ok(ok(&current));
    }
    let read_version = (after.version > 1).then(|| after.version - 1);
    match shipping::replace(table, read_version, &after).await {
        Ok(()) => Ok(ok(&after)),
        Err(StoreError::ConditionFailed) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

/// The vendor's shipping (its members, admin and support); 404 until it is set.
#[utoipa::path(get, path = "/vendors/{vendorId}/shipping", tag = "inventory", security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = VendorId, Path)),
    responses((status = 200, body = VendorShipping), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such vendor, or its shipping is not set yet", body = ErrorBody)))]
pub async fn get_vendor_shipping(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let vendor = cx.vendor(VendorPermission::Read).await?.id();
    let settings = shipping::get(cx.store().await?, vendor).await?.ok_or(ApiError::NotFound("shipping"))?;
    Ok(ok(&settings))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: serde_json::Value) -> PutShippingRequest {
        serde_json::from_value(value).unwrap()
    }

    fn calendar() -> serde_json::Value {
        json!({ "utc_offset_minutes": 60, "cutoff": "14:00:00",
                "working_days": { "monday": true, "tuesday": true, "wednesday": true, "thursday": true,
                                  "friday": true, "saturday": false, "sunday": false },
                "holidays": ["2025-12-25"] })
    }

    fn service(zone_code: &str, code: &str) -> serde_json::Value {
        json!({ "zone_code": zone_code, "code": code, "carrier": "La Poste", "name": "Colissimo",
                "rates": [{ "up_to_g": 2000, "price": { "amount": 495, "currency": "EUR" } }],
                "max_weight_g": 30000, "max_length_mm": 1500, "transit_days_min": 2, "transit_days_max": 4 })
    }

    fn shipping(zones: serde_json::Value, services: serde_json::Value) -> PutShippingRequest {
        body(json!({ "zones": zones, "services": services, "calendar": calendar() }))
    }

    #[test]
    fn services_name_their_zone_by_code_and_zones_keep_their_ids_by_code() {
        let first = shipping(
            json!([{ "code": "eu", "name": "Europe", "countries": ["FR", "DE"] },
                   { "code": "UK", "name": "United Kingdom", "countries": ["GB"] }]),
            json!([service("EU", "standard"), service("uk", "STANDARD")]),
        );
        let vendor = VendorId::generate();
        let by = UserId::generate();
        let stored = next(vendor, &first, None, by).unwrap();
        assert_eq!(stored.version, 1);
        assert_eq!(stored.zones[0].code, "EU");
        assert_eq!(stored.services[0].zone, stored.zones[0].zone.id);
        assert_eq!(stored.services[1].zone, stored.zones[1].zone.id);
        assert_eq!(stored.services[0].code, "STANDARD");

        // EU is kept, UK dropped and US new: EU keeps its id, US gets a new one.
        let second = shipping(
            json!([{ "code": "US", "name": "United States", "countries": ["US"] },
                   { "code": "EU", "name": "Europe", "countries": ["FR", "DE", "IT"] }]),
            json!([service("EU", "STANDARD")]),
        );
        let changed = next(vendor, &second, Some(&stored), by).unwrap();
        assert_eq!(changed.version, 2);
        assert_eq!(changed.zones[1].zone.id, stored.zones[0].zone.id);
        assert!(
            changed.zones[0].zone.id != stored.zones[0].zone.id && changed.zones[0].zone.id != stored.zones[1].zone.id
        );
        assert!(!changed.same_settings(&stored));
        // The same body again makes the same settings.
        assert!(next(vendor, &first, Some(&stored), by).unwrap().same_settings(&stored));
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let eu = json!({ "code": "EU", "name": "Europe", "countries": ["FR"] });
        let cases = [
            (shipping(json!([eu, { "code": "eu", "name": "Again", "countries": ["DE"] }]), json!([])), "zones[1].code"),
            (shipping(json!([{ "code": "E U", "name": "Europe", "countries": ["FR"] }]), json!([])), "zones[0].code"),
            (
                shipping(json!([eu, { "code": "FR", "name": "France", "countries": ["fr"] }]), json!([])),
                "zones[1].countries[0]",
            ),
            (
                shipping(json!([eu]), json!([service("EU", "STANDARD"), service("US", "STANDARD")])),
                "services[1].zone_code",
            ),
            (shipping(json!([eu]), json!([service("EU", "STANDARD"), service("eu", "standard")])), "services[1].code"),
        ];
        for (sent, field) in cases {
            assert_eq!(settle(&sent, None).unwrap_err().field, field);
        }
        let mut late = shipping(json!([eu]), json!([service("EU", "STANDARD")]));
        late.calendar.utc_offset_minutes = 900;
        assert_eq!(settle(&late, None).unwrap_err().field, "calendar.utc_offset_minutes");
        let many: Vec<_> = (0..=MAX_ZONES)
            .map(|i| json!({ "code": format!("Z{i}"), "name": "Z", "regions": [format!("US-{i}")] }))
            .collect();
        assert_eq!(settle(&shipping(json!(many), json!([])), None).unwrap_err().field, "zones");
    }
}
