//! Shipping options at checkout. Each vendor sets its own shipping: zones (the countries and
//! regions it ships to), services priced by weight brackets in each zone, and the calendar of the
//! location it ships from. At checkout, one vendor's lines become a [`Parcel`] and [`quote`] lists
//! the services that can carry it to the shopper's address, each with its price, the date the
//! vendor promises to ship by, and the delivery window.
//!
//! Weights are whole grams and sizes whole millimetres; prices are [`Money`] in minor units. No
//! floating point is used: volumetric weight is an integer division rounded up.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::address::country;
use crate::catalog::{MAX_DIMENSION_MM, MAX_WEIGHT_G};
use crate::ids::{ShippingZoneId, UserId, VendorId};
use crate::money::{Currency, Money};
use crate::values::{bounded_text, code};

/// Longest service code (`STANDARD`, `EXPRESS_48H`).
pub const MAX_SERVICE_CODE_LEN: usize = 40;
/// Longest zone or service name and carrier name, in characters.
pub const MAX_SHIPPING_NAME_LEN: usize = 100;
/// Most countries, or most regions, one zone lists.
pub const MAX_ZONE_ENTRIES: usize = 300;
/// Most weight brackets one service has.
pub const MAX_RATE_BRACKETS: usize = 50;
/// The longest transit time a service may promise, in carrier business days.
pub const MAX_TRANSIT_DAYS: u32 = 60;
/// The largest girth limit a service may set: the girth of a parcel whose three sides are all
/// [`MAX_DIMENSION_MM`].
pub const MAX_GIRTH_MM: u32 = 5 * MAX_DIMENSION_MM;
/// Volumetric divisors a service may use, in cm³ per kg (carriers use 4000 to 6000).
pub const VOLUMETRIC_DIVISORS: std::ops::RangeInclusive<u32> = 1000..=10_000;
/// The UTC offsets a ship-from calendar may have, in minutes (−12:00 to +14:00).
pub const UTC_OFFSETS_MINUTES: std::ops::RangeInclusive<i32> = -720..=840;
/// Most holidays one calendar lists.
pub const MAX_HOLIDAYS: usize = 200;

// ---- zones -----------------------------------------------------------------------------------------

/// Where a vendor ships: whole countries and single subdivisions of a country. A destination
/// belongs to the most specific zone that lists it: a zone listing its region (`US-AK`) beats a
/// zone listing its whole country (`US`). A destination in no zone gets no shipping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingZone {
    pub id: ShippingZoneId,
    #[schema(example = "Alaska and Hawaii")]
    pub name: String,
    /// ISO 3166-1 alpha-2 country codes, upper-case.
    #[serde(default)]
    #[schema(example = json!(["US"]))]
    pub countries: Vec<String>,
    /// ISO 3166-2 subdivision codes (`US-AK`): the country's code, `-`, and one to three letters
    /// or digits.
    #[serde(default)]
    #[schema(example = json!(["US-AK", "US-HI"]))]
    pub regions: Vec<String>,
}

/// A destination's region as a subdivision code: `AK` in the US is `US-AK`; an already prefixed
/// code is kept. Blank means no region.
fn region_code(country: &str, region: Option<&str>) -> Option<String> {
    let region = region?.trim().to_ascii_uppercase();
    if region.is_empty() {
        None
    } else if region.contains('-') {
        Some(region)
    } else {
        Some(format!("{country}-{region}"))
    }
}

/// The zone a destination belongs to: the zone listing its region if any, otherwise the zone
/// listing its country. The region may be written with or without its country prefix (`US-AK` or
/// `AK`); codes are compared regardless of case. Should two zones list the same entry (which
/// [`check_zone`] refuses), the one with the lowest id (the oldest) wins, whatever the order given.
pub fn zone_for<'a>(zones: &'a [ShippingZone], country: &str, region: Option<&str>) -> Option<&'a ShippingZone> {
    let country = country.trim().to_ascii_uppercase();
    let region = region_code(&country, region);
    let listing = |entry: &dyn Fn(&ShippingZone) -> bool| zones.iter().filter(|z| entry(z)).min_by_key(|z| z.id);
    region
        .and_then(|region| listing(&|z| z.regions.iter().any(|r| r.eq_ignore_ascii_case(&region))))
        .or_else(|| listing(&|z| z.countries.iter().any(|c| c.eq_ignore_ascii_case(&country))))
}

// ---- services --------------------------------------------------------------------------------------

/// A weight bracket: parcels whose billable weight is at most `up_to_g` (and above the bracket
/// before) cost `price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RateBracket {
    #[schema(example = 2000)]
    pub up_to_g: u32,
    pub price: Money,
}

/// One way a vendor ships to one zone, such as a carrier's standard or express service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingService {
    /// Unique among the vendor's services of the same zone; upper-case.
    #[schema(example = "STANDARD")]
    pub code: String,
    #[schema(example = "La Poste")]
    pub carrier: String,
    #[schema(example = "Colissimo, 2 to 4 days")]
    pub name: String,
    pub zone: ShippingZoneId,
    /// Ascending by `up_to_g`, all in one currency. A parcel heavier than the last bracket cannot
    /// take this service.
    pub rates: Vec<RateBracket>,
    /// The heaviest parcel the service takes, by actual weight.
    #[schema(example = 30000)]
    pub max_weight_g: u32,
    /// The longest side a parcel may have.
    #[schema(example = 1500)]
    pub max_length_mm: u32,
    /// The largest length + 2 × (width + height), when the carrier limits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 3000)]
    pub max_girth_mm: Option<u32>,
    /// Carrier business days from shipping to delivery, at the earliest and at the latest.
    #[schema(example = 2)]
    pub transit_days_min: u32,
    #[schema(example = 4)]
    pub transit_days_max: u32,
    /// When set, the carrier bills the volumetric weight when it is more than the actual weight:
    /// the parcel's volume in cm³ divided by this many cm³ per kg (5000 is usual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 5000)]
    pub volumetric_divisor: Option<u32>,
}

/// What one service makes of one parcel.
struct Assessment {
    price: Option<Money>,
    too_heavy: bool,
    too_large: bool,
}

impl ShippingService {
    /// The currency of the service's prices, when it has one.
    fn currency(&self) -> Option<Currency> {
        let first = self.rates.first()?.price.currency;
        self.rates.iter().all(|r| r.price.currency == first).then_some(first)
    }

    /// The weight the carrier bills: the actual weight, or the volumetric weight when the service
    /// has a divisor and that is more. The volumetric weight in grams is the volume in mm³ divided
    /// by the divisor (cm³ per kg: 1 cm³ is 1000 mm³ and 1 kg is 1000 g), rounded up to the gram.
    pub fn billable_weight_g(&self, parcel: &Parcel) -> u64 {
        match self.volumetric_divisor {
            Some(divisor) if divisor > 0 => parcel.weight_g.max(parcel.volume_mm3().div_ceil(u64::from(divisor))),
            _ => parcel.weight_g,
        }
    }

    /// Whether the parcel is within the service's length and girth limits.
    pub fn takes_size_of(&self, parcel: &Parcel) -> bool {
        parcel.length_mm() <= u64::from(self.max_length_mm)
            && self.max_girth_mm.is_none_or(|max| parcel.girth_mm() <= u64::from(max))
    }

    fn assess(&self, parcel: &Parcel) -> Assessment {
        let billable = self.billable_weight_g(parcel);
        let bracket = self.rates.iter().find(|r| u64::from(r.up_to_g) >= billable);
        let too_heavy = parcel.weight_g > u64::from(self.max_weight_g) || bracket.is_none();
        let too_large = !self.takes_size_of(parcel);
        let price = if too_heavy || too_large { None } else { bracket.map(|r| r.price) };
        Assessment { price, too_heavy, too_large }
    }

    /// The price of carrying the parcel: the first bracket covering its billable weight, or none
    /// when the parcel is too heavy for the service or too large.
    pub fn price_for(&self, parcel: &Parcel) -> Option<Money> {
        self.assess(parcel).price
    }
}

// ---- parcels ---------------------------------------------------------------------------------------

/// One line of a shipment: the variant's weight in grams and its packed size in millimetres (in
/// any order), each unknown when the catalog lacks it, and the quantity.
pub type ParcelLine = (Option<u32>, Option<[u32; 3]>, u32);

/// What one vendor sends one shopper, packed as one parcel.
///
/// The size is a simple estimate: every unit lies on its smallest side and the units are stacked
/// on top of each other, so the stack is as long as the longest unit, as wide as the widest unit
/// and as high as all units' smallest sides together. It never underestimates what one box holds
/// (a packer may do better with many flat items, never worse), so a service is not offered for a
/// parcel it would refuse. Lines without a weight or a size count as nothing and are flagged,
/// making the quote an estimate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parcel {
    /// The total actual weight.
    pub weight_g: u64,
    /// The stacked size, longest side first.
    pub size_mm: [u64; 3],
    /// The longest side of any single unit.
    pub longest_item_mm: u64,
    /// Some line (with a quantity) had no known weight.
    pub missing_weight: bool,
    /// Some line (with a quantity) had no known size.
    pub missing_size: bool,
}

impl Parcel {
    /// The parcel of the given lines. Lines with quantity 0 are ignored; sums saturate rather than
    /// overflow (a saturated parcel fits no service).
    pub fn of(items: &[ParcelLine]) -> Self {
        let mut parcel = Parcel::default();
        let (mut long, mut wide, mut high) = (0u64, 0u64, 0u64);
        for &(weight, size, quantity) in items.iter().filter(|line| line.2 > 0) {
            let quantity = u64::from(quantity);
            match weight {
                Some(g) => parcel.weight_g = parcel.weight_g.saturating_add(u64::from(g).saturating_mul(quantity)),
                None => parcel.missing_weight = true,
            }
            match size {
                Some(mut sides) => {
                    sides.sort_unstable_by(|a, b| b.cmp(a));
                    let [a, b, c] = sides.map(u64::from);
                    long = long.max(a);
                    wide = wide.max(b);
                    high = high.saturating_add(c.saturating_mul(quantity));
                }
                None => parcel.missing_size = true,
            }
        }
        let mut size = [long, wide, high];
        size.sort_unstable_by(|a, b| b.cmp(a));
        parcel.size_mm = size;
        parcel.longest_item_mm = long;
        parcel
    }

    /// The longest side of the packed parcel.
    pub fn length_mm(&self) -> u64 {
        self.size_mm[0]
    }

    /// Length + 2 × (width + height).
    pub fn girth_mm(&self) -> u64 {
        let [l, w, h] = self.size_mm;
        l.saturating_add(w.saturating_add(h).saturating_mul(2))
    }

    pub fn volume_mm3(&self) -> u64 {
        let [l, w, h] = self.size_mm;
        l.saturating_mul(w).saturating_mul(h)
    }

    /// Whether some line lacked a weight or a size, so prices may be too low.
    pub fn is_estimate(&self) -> bool {
        self.missing_weight || self.missing_size
    }
}

// ---- the ship-from calendar ------------------------------------------------------------------------

/// The days of the week a location ships on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkingDays {
    pub monday: bool,
    pub tuesday: bool,
    pub wednesday: bool,
    pub thursday: bool,
    pub friday: bool,
    pub saturday: bool,
    pub sunday: bool,
}

impl WorkingDays {
    pub const MONDAY_TO_FRIDAY: WorkingDays = WorkingDays {
        monday: true,
        tuesday: true,
        wednesday: true,
        thursday: true,
        friday: true,
        saturday: false,
        sunday: false,
    };

    pub fn on(&self, day: Weekday) -> bool {
        match day {
            Weekday::Mon => self.monday,
            Weekday::Tue => self.tuesday,
            Weekday::Wed => self.wednesday,
            Weekday::Thu => self.thursday,
            Weekday::Fri => self.friday,
            Weekday::Sat => self.saturday,
            Weekday::Sun => self.sunday,
        }
    }

    fn any(&self) -> bool {
        [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun]
            .into_iter()
            .any(|d| self.on(d))
    }
}

/// When the ship-from location dispatches orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipCalendar {
    /// The location's offset from UTC, in minutes (`60` for +01:00, `-300` for −05:00). A fixed
    /// offset: daylight saving time is not modelled, so a location that changes its clocks updates
    /// this twice a year or accepts an hour's shift in its cut-off.
    #[schema(example = 60)]
    pub utc_offset_minutes: i32,
    /// Local time of the cut-off: orders placed before it ship the same working day, orders placed
    /// at or after it ship the next working day.
    #[schema(value_type = String, example = "14:00:00")]
    pub cutoff: NaiveTime,
    pub working_days: WorkingDays,
    /// Local dates the location does not ship. Carriers do not deliver on them either (the
    /// calendar's country is taken to be the carriers' too).
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

fn next_day(date: NaiveDate) -> Option<NaiveDate> {
    date.succ_opt()
}

impl ShipCalendar {
    fn ships_on(&self, date: NaiveDate) -> bool {
        self.working_days.on(date.weekday()) && !self.holidays.contains(&date)
    }

    /// Monday to Friday, other than the calendar's holidays.
    fn carrier_works_on(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&date)
    }

    /// The local date an order placed at `now` ships: today when today is a working day, not a
    /// holiday, and the local time is before the cut-off; otherwise the next such day. A calendar
    /// without any working day (which [`check_calendar`] refuses) ships on the local date.
    pub fn ship_date(&self, now: DateTime<Utc>) -> NaiveDate {
        let utc = now.naive_utc();
        let local = utc.checked_add_signed(TimeDelta::minutes(i64::from(self.utc_offset_minutes))).unwrap_or(utc);
        let today = local.date();
        let mut date = if local.time() < self.cutoff { Some(today) } else { next_day(today) };
        // Every week has a working day, and each holiday can push the date back by at most a week.
        for _ in 0..7 * (self.holidays.len() + 1) {
            match date {
                Some(d) if self.ships_on(d) => return d,
                Some(d) => date = next_day(d),
                None => break,
            }
        }
        today
    }

    /// The date `days` carrier business days after `from` (`from` itself for 0).
    fn after_business_days(&self, from: NaiveDate, days: u32) -> NaiveDate {
        let mut date = from;
        let mut left = days;
        while left > 0 {
            let Some(next) = next_day(date) else { break };
            date = next;
            if self.carrier_works_on(date) {
                left -= 1;
            }
        }
        date
    }

    /// Earliest and latest delivery of a parcel shipped on `ship` with a transit of `min_days` to
    /// `max_days` carrier business days. Carriers count Monday to Friday and skip this calendar's
    /// holidays, whatever days the location itself works; the day of shipping does not count, so
    /// one day's transit from a Friday delivers on the Monday. At most [`MAX_TRANSIT_DAYS`] are
    /// counted, and the latest is never before the earliest.
    pub fn delivery_window(&self, ship: NaiveDate, min_days: u32, max_days: u32) -> (NaiveDate, NaiveDate) {
        let min_days = min_days.min(MAX_TRANSIT_DAYS);
        let max_days = max_days.clamp(min_days, MAX_TRANSIT_DAYS);
        (self.after_business_days(ship, min_days), self.after_business_days(ship, max_days))
    }
}

// ---- quotes ----------------------------------------------------------------------------------------

/// One way to ship the parcel, as the shopper chooses among them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingOption {
    #[schema(example = "STANDARD")]
    pub code: String,
    pub carrier: String,
    pub name: String,
    pub price: Money,
    /// The date the vendor promises to ship by, the one the fulfilment KPI measures.
    #[schema(value_type = String, format = Date, example = "2025-06-03")]
    pub ship_by: NaiveDate,
    #[schema(value_type = String, format = Date, example = "2025-06-05")]
    pub delivery_earliest: NaiveDate,
    #[schema(value_type = String, format = Date, example = "2025-06-09")]
    pub delivery_latest: NaiveDate,
}

/// The shipping options of one vendor's parcel to one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    /// The zone the destination belongs to.
    pub zone: ShippingZoneId,
    /// Cheapest first, in the order of `cheapest`.
    pub options: Vec<ShippingOption>,
    /// The code of the option with the lowest price; ties go to the earliest latest delivery,
    /// then to the code.
    pub cheapest: String,
    /// The code of the option with the earliest latest delivery; ties go to the lower price, then
    /// to the code.
    pub fastest: String,
    /// Some lines had no weight or size in the catalog, so the prices may be too low.
    pub estimate: bool,
}

/// Why a parcel cannot be shipped to a destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoShipping {
    /// No zone lists the destination's country or region.
    #[error("the vendor does not ship to {destination}")]
    NoZone { destination: String },
    /// The zone has no service priced in the currency asked.
    #[error("the vendor has no shipping service priced in {currency} to this destination")]
    NoService { zone: ShippingZoneId, currency: Currency },
    /// Every service refuses the parcel on weight (actual, or billable above its last bracket).
    #[error("the parcel ({weight_g} g) is too heavy for every shipping service to this destination")]
    TooHeavy { weight_g: u64 },
    /// Every service refuses the parcel on its length or girth.
    #[error("the parcel ({length_mm} mm long, {girth_mm} mm girth) is too large for every shipping service")]
    TooLarge { length_mm: u64, girth_mm: u64 },
    /// Each service refuses the parcel, some on weight and others on size.
    #[error("the parcel is too heavy or too large for every shipping service to this destination")]
    TooHeavyOrLarge,
}

fn by_price_then_latest(a: &ShippingOption, b: &ShippingOption) -> Ordering {
    (a.price.amount, a.delivery_latest, &a.code).cmp(&(b.price.amount, b.delivery_latest, &b.code))
}

fn by_latest_then_price(a: &ShippingOption, b: &ShippingOption) -> Ordering {
    (a.delivery_latest, a.price.amount, &a.code).cmp(&(b.delivery_latest, b.price.amount, &b.code))
}

/// The shipping options for `parcel` from a vendor with these zones, services and calendar to
/// `destination` (country code and optional region, see [`zone_for`]), priced in `currency`.
///
/// Services of the destination's zone priced in another currency are skipped, not converted:
/// conversion happens before the vendor's prices reach checkout, and a vendor prices each zone in
/// the currency it sells in. Every option ships on the same date, the calendar's next ship date.
pub fn quote(
    zones: &[ShippingZone],
    services: &[ShippingService],
    parcel: &Parcel,
    destination: (&str, Option<&str>),
    currency: Currency,
    calendar: &ShipCalendar,
    now: DateTime<Utc>,
) -> Result<Quote, NoShipping> {
    let (country, region) = destination;
    let zone = zone_for(zones, country, region).ok_or_else(|| NoShipping::NoZone {
        destination: region_code(&country.trim().to_ascii_uppercase(), region)
            .unwrap_or_else(|| country.trim().to_ascii_uppercase()),
    })?;
    let candidates: Vec<&ShippingService> =
        services.iter().filter(|s| s.zone == zone.id && s.currency() == Some(currency)).collect();
    if candidates.is_empty() {
        return Err(NoShipping::NoService { zone: zone.id, currency });
    }
    let ship_by = calendar.ship_date(now);
    let (mut all_heavy, mut all_large) = (true, true);
    let mut options = Vec::new();
    for service in candidates {
        let assessment = service.assess(parcel);
        all_heavy &= assessment.too_heavy;
        all_large &= assessment.too_large;
        if let Some(price) = assessment.price {
            let (delivery_earliest, delivery_latest) =
                calendar.delivery_window(ship_by, service.transit_days_min, service.transit_days_max);
            options.push(ShippingOption {
                code: service.code.clone(),
                carrier: service.carrier.clone(),
                name: service.name.clone(),
                price,
                ship_by,
                delivery_earliest,
                delivery_latest,
            });
        }
    }
    options.sort_by(by_price_then_latest);
    let cheapest = options.first().map(|o| o.code.clone());
    let fastest = options.iter().min_by(|a, b| by_latest_then_price(a, b)).map(|o| o.code.clone());
    match (cheapest, fastest) {
        (Some(cheapest), Some(fastest)) => {
            Ok(Quote { zone: zone.id, options, cheapest, fastest, estimate: parcel.is_estimate() })
        }
        _ if all_heavy => Err(NoShipping::TooHeavy { weight_g: parcel.weight_g }),
        _ if all_large => Err(NoShipping::TooLarge { length_mm: parcel.length_mm(), girth_mm: parcel.girth_mm() }),
        _ => Err(NoShipping::TooHeavyOrLarge),
    }
}

// ---- checking what vendors enter -------------------------------------------------------------------

/// `name` under `field`, or `name` alone at the top of a body.
fn at(field: &str, name: &str) -> String {
    if field.is_empty() { name.to_string() } else { format!("{field}.{name}") }
}

/// An ISO 3166-2 subdivision code: a country code, `-`, and one to three letters or digits.
fn subdivision(field: &str, raw: &str) -> Result<String, FieldError> {
    let bad = || FieldError::new(field, "must be an ISO 3166-2 subdivision code such as US-AK");
    let code = raw.trim().to_ascii_uppercase();
    let (country_code, rest) = code.split_once('-').ok_or_else(bad)?;
    country(field, country_code).map_err(|_| bad())?;
    if (1..=3).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()) { Ok(code) } else { Err(bad()) }
}

/// Checks a zone a vendor enters against the vendor's other zones (a zone with the same id in
/// `others` is the one being replaced and is ignored). Returns the zone with its name trimmed and
/// its codes upper-cased. Errors name `<field>.name`, `<field>.countries[i]`, `<field>.regions[i]`.
///
/// A zone lists at least one country or region, each once; a region whose country the same zone
/// lists adds nothing and is refused. No country and no region may be in two zones; a region may
/// be in one zone while its country is in another, and then the region's zone wins.
pub fn check_zone(field: &str, zone: &ShippingZone, others: &[ShippingZone]) -> Result<ShippingZone, FieldError> {
    let name = bounded_text(&at(field, "name"), &zone.name, 1, MAX_SHIPPING_NAME_LEN)?;
    if zone.countries.is_empty() && zone.regions.is_empty() {
        return Err(FieldError::new(at(field, "countries"), "must list at least one country or region"));
    }
    for (list, len) in [("countries", zone.countries.len()), ("regions", zone.regions.len())] {
        if len > MAX_ZONE_ENTRIES {
            return Err(FieldError::new(at(field, list), format!("must list at most {MAX_ZONE_ENTRIES} entries")));
        }
    }
    let others: Vec<&ShippingZone> = others.iter().filter(|z| z.id != zone.id).collect();
    let taken = |entry: &str, list: fn(&ShippingZone) -> &Vec<String>| {
        others.iter().find(|z| list(z).iter().any(|e| e.trim().eq_ignore_ascii_case(entry)))
    };
    let mut countries = Vec::new();
    for (i, raw) in zone.countries.iter().enumerate() {
        let item = format!("{}[{i}]", at(field, "countries"));
        let code = country(&item, raw)?;
        if countries.contains(&code) {
            return Err(FieldError::new(item, "is listed twice"));
        }
        if let Some(other) = taken(&code, |z| &z.countries) {
            return Err(FieldError::new(item, format!("is already in the zone {}", other.name)));
        }
        countries.push(code);
    }
    let mut regions: Vec<String> = Vec::new();
    for (i, raw) in zone.regions.iter().enumerate() {
        let item = format!("{}[{i}]", at(field, "regions"));
        let code = subdivision(&item, raw)?;
        if regions.contains(&code) {
            return Err(FieldError::new(item, "is listed twice"));
        }
        if code.split_once('-').is_some_and(|(c, _)| countries.iter().any(|listed| listed == c)) {
            return Err(FieldError::new(item, "is already covered by its country in this zone"));
        }
        if let Some(other) = taken(&code, |z| &z.regions) {
            return Err(FieldError::new(item, format!("is already in the zone {}", other.name)));
        }
        regions.push(code);
    }
    Ok(ShippingZone { id: zone.id, name, countries, regions })
}

fn within(field: String, value: u32, range: std::ops::RangeInclusive<u32>, unit: &str) -> Result<u32, FieldError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(field, format!("must be from {} to {} {unit}", range.start(), range.end())))
    }
}

/// Checks a service a vendor enters against the vendor's zones and its other services (`others`
/// leaves out the service being replaced). Returns the service with its code upper-cased and its
/// texts trimmed. Errors name the field by its path under `field`: `rates[2].up_to_g`,
/// `rates[1].price.currency`, `transit_days_min` and so on.
///
/// Codes are unique within a zone: a vendor may call its services `STANDARD` in every zone, and a
/// quote only ever lists one zone's services.
pub fn check_service(
    field: &str,
    service: &ShippingService,
    zones: &[ShippingZone],
    others: &[ShippingService],
) -> Result<ShippingService, FieldError> {
    let code_field = at(field, "code");
    let service_code = code(&code_field, &service.code, MAX_SERVICE_CODE_LEN)?;
    let carrier = bounded_text(&at(field, "carrier"), &service.carrier, 1, MAX_SHIPPING_NAME_LEN)?;
    let name = bounded_text(&at(field, "name"), &service.name, 1, MAX_SHIPPING_NAME_LEN)?;
    if !zones.iter().any(|z| z.id == service.zone) {
        return Err(FieldError::new(at(field, "zone"), "is not one of the vendor's shipping zones"));
    }
    if others.iter().any(|s| s.zone == service.zone && s.code.trim().eq_ignore_ascii_case(&service_code)) {
        return Err(FieldError::new(code_field, "is already used by another service in this zone"));
    }

    let rates_field = at(field, "rates");
    if service.rates.is_empty() || service.rates.len() > MAX_RATE_BRACKETS {
        return Err(FieldError::new(rates_field, format!("must have from 1 to {MAX_RATE_BRACKETS} weight brackets")));
    }
    let mut previous: Option<&RateBracket> = None;
    for (i, bracket) in service.rates.iter().enumerate() {
        let item = format!("{rates_field}[{i}]");
        within(format!("{item}.up_to_g"), bracket.up_to_g, 1..=MAX_WEIGHT_G, "g")?;
        if let Some(before) = previous.filter(|before| bracket.up_to_g <= before.up_to_g) {
            return Err(FieldError::new(
                format!("{item}.up_to_g"),
                format!("must be more than the bracket before it ({} g)", before.up_to_g),
            ));
        }
        if bracket.price.amount < 0 {
            return Err(FieldError::new(format!("{item}.price.amount"), "must not be negative"));
        }
        let first = service.rates[0].price.currency;
        if bracket.price.currency != first {
            return Err(FieldError::new(
                format!("{item}.price.currency"),
                format!("must be {first}, the currency of the first bracket"),
            ));
        }
        previous = Some(bracket);
    }

    let max_weight_g = within(at(field, "max_weight_g"), service.max_weight_g, 1..=MAX_WEIGHT_G, "g")?;
    let max_length_mm = within(at(field, "max_length_mm"), service.max_length_mm, 1..=MAX_DIMENSION_MM, "mm")?;
    let max_girth_mm =
        service.max_girth_mm.map(|g| within(at(field, "max_girth_mm"), g, 1..=MAX_GIRTH_MM, "mm")).transpose()?;
    let transit_days_max =
        within(at(field, "transit_days_max"), service.transit_days_max, 0..=MAX_TRANSIT_DAYS, "days")?;
    if service.transit_days_min > transit_days_max {
        return Err(FieldError::new(at(field, "transit_days_min"), "must not be more than transit_days_max"));
    }
    let volumetric_divisor = service
        .volumetric_divisor
        .map(|d| within(at(field, "volumetric_divisor"), d, VOLUMETRIC_DIVISORS, "cm³ per kg"))
        .transpose()?;

    Ok(ShippingService {
        code: service_code,
        carrier,
        name,
        zone: service.zone,
        rates: service.rates.clone(),
        max_weight_g,
        max_length_mm,
        max_girth_mm,
        transit_days_min: service.transit_days_min,
        transit_days_max,
        volumetric_divisor,
    })
}

/// Checks a location's ship calendar: an offset within −12:00 to +14:00, at least one working day,
/// at most [`MAX_HOLIDAYS`] holidays each listed once. Returns it with its holidays in date order.
pub fn check_calendar(field: &str, calendar: &ShipCalendar) -> Result<ShipCalendar, FieldError> {
    if !UTC_OFFSETS_MINUTES.contains(&calendar.utc_offset_minutes) {
        return Err(FieldError::new(at(field, "utc_offset_minutes"), "must be from -720 to 840 minutes"));
    }
    if !calendar.working_days.any() {
        return Err(FieldError::new(at(field, "working_days"), "must include at least one day"));
    }
    let holidays_field = at(field, "holidays");
    if calendar.holidays.len() > MAX_HOLIDAYS {
        return Err(FieldError::new(holidays_field, format!("must list at most {MAX_HOLIDAYS} dates")));
    }
    let mut seen = BTreeSet::new();
    for (i, day) in calendar.holidays.iter().enumerate() {
        if !seen.insert(*day) {
            return Err(FieldError::new(format!("{holidays_field}[{i}]"), "is listed twice"));
        }
    }
    Ok(ShipCalendar { holidays: seen.into_iter().collect(), ..calendar.clone() })
}

// ---- a vendor's settings, as stored ---------------------------------------------------------------

/// Most zones one vendor has.
pub const MAX_ZONES: usize = 20;
/// Most services one vendor has, over all its zones.
pub const MAX_SERVICES: usize = 50;

/// A zone with the code its vendor calls it by. The code (letters, digits, `-`, `_`, stored
/// upper-case) is the vendor's handle on the zone: its services name it, and the zone keeps its id
/// for as long as a zone with that code is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VendorZone {
    #[schema(example = "US-REMOTE")]
    pub code: String,
    #[serde(flatten)]
    pub zone: ShippingZone,
}

/// A vendor's shipping: its zones, the services priced in each, and the calendar of the location it
/// ships from; what checkout quotes with (see [`VendorShipping::quote`]). Stored as one item,
/// replaced whole, each change moving `version` by one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VendorShipping {
    pub vendor_id: VendorId,
    pub zones: Vec<VendorZone>,
    /// Each names its zone by the zone's id.
    pub services: Vec<ShippingService>,
    pub calendar: ShipCalendar,
    /// Which of the vendor's locations serve an order's lines (nearest to the destination first
    /// when not set).
    #[serde(default)]
    pub allocation: crate::allocation::AllocationRule,
    /// 1 when first set; one more with every change.
    #[schema(example = 1)]
    pub version: u64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: UserId,
}

impl VendorShipping {
    /// The zones as [`quote`] takes them.
    pub fn shipping_zones(&self) -> Vec<ShippingZone> {
        self.zones.iter().map(|z| z.zone.clone()).collect()
    }

    /// Whether `other` ships the same way (zones, services and calendar), whoever wrote it when.
    pub fn same_settings(&self, other: &VendorShipping) -> bool {
        self.zones == other.zones
            && self.services == other.services
            && self.calendar == other.calendar
            && self.allocation == other.allocation
    }

    /// The shipping options of `parcel` to `destination` in `currency` (see [`quote`]).
    pub fn quote(
        &self,
        parcel: &Parcel,
        destination: (&str, Option<&str>),
        currency: Currency,
        now: DateTime<Utc>,
    ) -> Result<Quote, NoShipping> {
        quote(&self.shipping_zones(), &self.services, parcel, destination, currency, &self.calendar, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("currency", "EUR").unwrap())
    }

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("currency", "USD").unwrap())
    }

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    fn at_utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw).unwrap().with_timezone(&Utc)
    }

    fn zone(name: &str, countries: &[&str], regions: &[&str]) -> ShippingZone {
        ShippingZone {
            id: ShippingZoneId::generate(),
            name: name.to_string(),
            countries: countries.iter().map(|c| c.to_string()).collect(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
        }
    }

    /// 450 up to 500 g, 700 up to 2 kg, 1200 up to 5 kg; 1 m long, 3 m girth, 2 to 4 days.
    fn service(code: &str, zone: &ShippingZone) -> ShippingService {
        ShippingService {
            code: code.to_string(),
            carrier: "Parcelco".to_string(),
            name: format!("Parcelco {code}"),
            zone: zone.id,
            rates: vec![
                RateBracket { up_to_g: 500, price: eur(450) },
                RateBracket { up_to_g: 2000, price: eur(700) },
                RateBracket { up_to_g: 5000, price: eur(1200) },
            ],
            max_weight_g: 10_000,
            max_length_mm: 1000,
            max_girth_mm: Some(3000),
            transit_days_min: 2,
            transit_days_max: 4,
            volumetric_divisor: None,
        }
    }

    fn one(weight_g: u32, size: [u32; 3]) -> Parcel {
        Parcel::of(&[(Some(weight_g), Some(size), 1)])
    }

    /// +01:00, cut-off 14:00, Monday to Friday. 2025-06-02 is a Monday, 2025-06-09 Whit Monday.
    fn calendar(offset: i32, holidays: &[&str]) -> ShipCalendar {
        ShipCalendar {
            utc_offset_minutes: offset,
            cutoff: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            working_days: WorkingDays::MONDAY_TO_FRIDAY,
            holidays: holidays.iter().map(|d| day(d)).collect(),
        }
    }

    /// A quote to France from a vendor with the one zone `z`, on Tuesday 2025-06-03 at 09:00 in
    /// Paris (a location at +01:00 with a 14:00 cut-off), in euros.
    fn quote_to_france(z: &ShippingZone, services: &[ShippingService], parcel: &Parcel) -> Result<Quote, NoShipping> {
        let now = at_utc("2025-06-03T08:00:00Z");
        quote(std::slice::from_ref(z), services, parcel, ("FR", None), eur(0).currency, &calendar(60, &[]), now)
    }

    #[test]
    fn a_region_listed_in_a_zone_beats_the_zone_of_its_whole_country() {
        let mainland = zone("Mainland US", &["US"], &[]);
        let remote = zone("Alaska and Hawaii", &[], &["US-AK", "US-HI"]);
        let europe = zone("Europe", &["FR", "DE"], &[]);
        let zones = [mainland.clone(), remote.clone(), europe.clone()];
        assert_eq!(zone_for(&zones, "US", Some("US-AK")).unwrap().id, remote.id);
        assert_eq!(zone_for(&zones, "us", Some("hi")).unwrap().id, remote.id);
        assert_eq!(zone_for(&zones, "US", Some("US-NY")).unwrap().id, mainland.id);
        assert_eq!(zone_for(&zones, "US", None).unwrap().id, mainland.id);
        assert_eq!(zone_for(&zones, " de ", Some("")).unwrap().id, europe.id);
    }

    #[test]
    fn a_destination_in_no_zone_gets_no_shipping() {
        let yukon = zone("Yukon", &[], &["CA-YT"]);
        let zones = [zone("Mainland US", &["US"], &[]), yukon.clone()];
        assert!(zone_for(&zones, "JP", None).is_none());
        assert!(zone_for(&zones, "CA", Some("ON")).is_none());
        assert_eq!(zone_for(&zones, "CA", Some("YT")).unwrap().id, yukon.id);
        let services = [service("STANDARD", &zones[0])];
        let err = quote(
            &zones,
            &services,
            &one(100, [10, 10, 10]),
            ("ca", Some("on")),
            eur(0).currency,
            &calendar(60, &[]),
            at_utc("2025-06-03T08:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(err, NoShipping::NoZone { destination: "CA-ON".to_string() });
        assert_eq!(err.to_string(), "the vendor does not ship to CA-ON");
    }

    #[test]
    fn the_first_bracket_covering_the_weight_sets_the_price_and_above_the_last_there_is_none() {
        let z = zone("Europe", &["FR"], &[]);
        let s = service("STANDARD", &z);
        let price = |g| s.price_for(&one(g, [100, 100, 100]));
        assert_eq!(price(1), Some(eur(450)));
        assert_eq!(price(500), Some(eur(450)));
        assert_eq!(price(501), Some(eur(700)));
        assert_eq!(price(2000), Some(eur(700)));
        assert_eq!(price(5000), Some(eur(1200)));
        assert_eq!(price(5001), None);
        // Within the brackets but over the service's own weight limit.
        let light = ShippingService { max_weight_g: 1500, ..s.clone() };
        assert_eq!(light.price_for(&one(1501, [100, 100, 100])), None);
        let err = quote_to_france(&z, &[s], &one(5001, [100, 100, 100])).unwrap_err();
        assert_eq!(err, NoShipping::TooHeavy { weight_g: 5001 });
    }

    #[test]
    fn a_bulky_light_parcel_is_billed_by_its_volumetric_weight() {
        let z = zone("Europe", &["FR"], &[]);
        let s = ShippingService { volumetric_divisor: Some(5000), ..service("STANDARD", &z) };
        // 400 × 300 × 200 mm = 24 000 cm³; at 5000 cm³/kg that is 4.8 kg, more than the actual 1.2 kg.
        let bulky = one(1200, [400, 300, 200]);
        assert_eq!(s.billable_weight_g(&bulky), 4800);
        assert_eq!(s.price_for(&bulky), Some(eur(1200)));
        // Without a divisor the actual weight is billed.
        assert_eq!(service("STANDARD", &z).price_for(&bulky), Some(eur(700)));
        // A dense parcel: 100 × 100 × 50 mm is 100 g volumetric, the actual 800 g wins.
        assert_eq!(s.billable_weight_g(&one(800, [100, 100, 50])), 800);
        // 100 × 100 × 101 mm at 6000: 1 010 000 / 6000 = 168.3, rounded up to 169 g.
        let s6000 = ShippingService { volumetric_divisor: Some(6000), ..s.clone() };
        assert_eq!(s6000.billable_weight_g(&one(1, [100, 100, 101])), 169);
        // 600 × 500 × 450 mm = 135 000 cm³, 27 kg volumetric: above the last bracket.
        assert_eq!(s.price_for(&one(1000, [600, 500, 450])), None);
    }

    #[test]
    fn parcels_over_the_length_or_girth_limit_are_refused_and_the_limits_are_inclusive() {
        let z = zone("Europe", &["FR"], &[]);
        let s = service("STANDARD", &z);
        assert_eq!(s.price_for(&one(1000, [1000, 100, 100])), Some(eur(700)));
        assert_eq!(s.price_for(&one(1000, [1001, 100, 100])), None);
        // Girth 900 + 2 × (600 + 450) = 3000: just fits; with 500 high it is 3100.
        assert_eq!(one(1000, [600, 900, 450]).girth_mm(), 3000);
        assert_eq!(s.price_for(&one(1000, [600, 900, 450])), Some(eur(700)));
        assert_eq!(s.price_for(&one(1000, [900, 600, 500])), None);
        let no_girth = ShippingService { max_girth_mm: None, ..s.clone() };
        assert_eq!(no_girth.price_for(&one(1000, [900, 600, 500])), Some(eur(700)));

        let tiny = ShippingService {
            code: "TINY".to_string(),
            rates: vec![RateBracket { up_to_g: 10_000, price: eur(900) }],
            max_length_mm: 300,
            max_girth_mm: None,
            ..s.clone()
        };
        assert_eq!(
            quote_to_france(&z, std::slice::from_ref(&s), &one(1000, [1200, 100, 100])).unwrap_err(),
            NoShipping::TooLarge { length_mm: 1200, girth_mm: 1600 }
        );
        // 6 kg fits the standard service's size but not its brackets; the tiny service takes 10 kg but
        // not 400 mm.
        assert_eq!(
            quote_to_france(&z, &[s, tiny], &one(6000, [400, 100, 100])).unwrap_err(),
            NoShipping::TooHeavyOrLarge
        );
    }

    #[test]
    fn a_parcel_stacks_its_units_on_their_smallest_side_and_flags_unknown_lines() {
        let parcel = Parcel::of(&[
            (Some(300), Some([200, 150, 40]), 2),
            (Some(1000), Some([100, 250, 300]), 1),
            (None, Some([10, 10, 10]), 1),
            (Some(50), None, 3),
            (Some(99_999), Some([5000, 5000, 5000]), 0),
        ]);
        // 2 × 300 + 1000 + 0 + 3 × 50 g.
        assert_eq!(parcel.weight_g, 1750);
        // Longest 300, widest 250, stack 2 × 40 + 100 + 10 = 190.
        assert_eq!(parcel.size_mm, [300, 250, 190]);
        assert_eq!(parcel.longest_item_mm, 300);
        assert_eq!(parcel.girth_mm(), 300 + 2 * (250 + 190));
        assert_eq!(parcel.volume_mm3(), 14_250_000);
        assert!(parcel.missing_weight && parcel.missing_size && parcel.is_estimate());
        // A stack can become the longest side: ten books 20 mm thick make 200 mm.
        let books = Parcel::of(&[(Some(400), Some([150, 20, 100]), 10)]);
        assert_eq!((books.size_mm, books.longest_item_mm, books.weight_g), ([200, 150, 100], 150, 4000));
        assert!(!books.is_estimate());
        assert_eq!(Parcel::of(&[]), Parcel::default());
    }

    #[test]
    fn orders_before_the_local_cut_off_ship_today_and_after_it_the_next_working_day() {
        // +01:00: 12:59 UTC is 13:59 local, before the cut-off; 13:00 UTC is 14:00, at it.
        let paris = calendar(60, &[]);
        assert_eq!(paris.ship_date(at_utc("2025-06-03T12:59:00Z")), day("2025-06-03"));
        assert_eq!(paris.ship_date(at_utc("2025-06-03T13:00:00Z")), day("2025-06-04"));
        // Friday 23:30 UTC is already Saturday 00:30 in Paris: Monday.
        assert_eq!(paris.ship_date(at_utc("2025-06-06T23:30:00Z")), day("2025-06-09"));
        // Monday 23:30 UTC is Tuesday 00:30 in Paris, before Tuesday's cut-off.
        assert_eq!(paris.ship_date(at_utc("2025-06-09T23:30:00Z")), day("2025-06-10"));

        // −05:00: 18:30 UTC is 13:30 local, still today (in UTC it would be past 14:00).
        let new_york = calendar(-300, &[]);
        assert_eq!(new_york.ship_date(at_utc("2025-06-03T18:30:00Z")), day("2025-06-03"));
        assert_eq!(new_york.ship_date(at_utc("2025-06-03T19:00:00Z")), day("2025-06-04"));
        // Wednesday 02:00 UTC is Tuesday 21:00 in New York, after the cut-off: Wednesday.
        assert_eq!(new_york.ship_date(at_utc("2025-06-04T02:00:00Z")), day("2025-06-04"));
        // Saturday 03:00 UTC is Friday 22:00 local: after Friday's cut-off, so Monday.
        assert_eq!(new_york.ship_date(at_utc("2025-06-07T03:00:00Z")), day("2025-06-09"));
        // Monday 04:00 UTC is still Sunday 23:00 local: Monday.
        assert_eq!(new_york.ship_date(at_utc("2025-06-09T04:00:00Z")), day("2025-06-09"));
    }

    #[test]
    fn weekends_and_holidays_push_the_ship_date_and_saturday_workers_ship_on_saturday() {
        let whitsun = calendar(60, &["2025-06-09"]);
        // Friday after the cut-off: not Saturday, Sunday or Whit Monday, so Tuesday.
        assert_eq!(whitsun.ship_date(at_utc("2025-06-06T15:00:00Z")), day("2025-06-10"));
        // Ordered on the holiday itself, before the cut-off: Tuesday.
        assert_eq!(whitsun.ship_date(at_utc("2025-06-09T08:00:00Z")), day("2025-06-10"));
        let saturdays = ShipCalendar {
            working_days: WorkingDays { saturday: true, ..WorkingDays::MONDAY_TO_FRIDAY },
            ..calendar(60, &[])
        };
        assert_eq!(saturdays.ship_date(at_utc("2025-06-06T15:00:00Z")), day("2025-06-07"));
        // Sunday before the cut-off still waits for Monday.
        assert_eq!(saturdays.ship_date(at_utc("2025-06-08T08:00:00Z")), day("2025-06-09"));
    }

    #[test]
    fn delivery_windows_count_carrier_business_days_over_weekends_and_holidays() {
        let plain = calendar(60, &[]);
        // From Thursday: Friday (1), Monday (2), Tuesday (3).
        assert_eq!(plain.delivery_window(day("2025-06-05"), 1, 3), (day("2025-06-06"), day("2025-06-10")));
        // Whit Monday does not count: Friday (1), Tuesday (2), Wednesday (3).
        let whitsun = calendar(60, &["2025-06-09"]);
        assert_eq!(whitsun.delivery_window(day("2025-06-05"), 1, 3), (day("2025-06-06"), day("2025-06-11")));
        // Shipped on a Saturday: Monday (1), Tuesday (2); no transit delivers the day it ships.
        assert_eq!(plain.delivery_window(day("2025-06-07"), 1, 2), (day("2025-06-09"), day("2025-06-10")));
        assert_eq!(plain.delivery_window(day("2025-06-07"), 0, 0), (day("2025-06-07"), day("2025-06-07")));
        // A window given upside down never ends before it starts.
        assert_eq!(plain.delivery_window(day("2025-06-05"), 3, 1), (day("2025-06-10"), day("2025-06-10")));
    }

    fn priced(code: &str, z: &ShippingZone, price: i64, min: u32, max: u32) -> ShippingService {
        ShippingService {
            rates: vec![RateBracket { up_to_g: 5000, price: eur(price) }],
            transit_days_min: min,
            transit_days_max: max,
            ..service(code, z)
        }
    }

    #[test]
    fn cheapest_and_fastest_break_ties_the_documented_way() {
        let z = zone("Europe", &["FR"], &[]);
        let services = [
            priced("POST", &z, 450, 2, 5),
            priced("ECONOMY", &z, 450, 3, 5),
            priced("SLOW", &z, 450, 3, 6),
            priced("EXPRESS", &z, 1500, 1, 1),
            priced("COURIER", &z, 1200, 1, 1),
            priced("ZOOM", &z, 1200, 1, 1),
            ShippingService {
                rates: vec![RateBracket { up_to_g: 5000, price: usd(100) }],
                ..priced("US", &z, 0, 1, 1)
            },
        ];
        // Tuesday 09:00 in Paris: ships Tuesday 2025-06-03.
        let q = quote_to_france(&z, &services, &one(1000, [300, 200, 100])).unwrap();
        assert_eq!(q.zone, z.id);
        // Three at 450: ECONOMY and POST both arrive by Tuesday 06-10 (5 days), SLOW by Wednesday.
        assert_eq!(q.cheapest, "ECONOMY");
        // Three by Wednesday 06-04: COURIER and ZOOM at 1200 before EXPRESS at 1500, then by code.
        assert_eq!(q.fastest, "COURIER");
        let order: Vec<(&str, i64)> = q.options.iter().map(|o| (o.code.as_str(), o.price.amount)).collect();
        assert_eq!(
            order,
            [("ECONOMY", 450), ("POST", 450), ("SLOW", 450), ("COURIER", 1200), ("ZOOM", 1200), ("EXPRESS", 1500)]
        );
        let post = &q.options[1];
        assert_eq!(
            (post.ship_by, post.delivery_earliest, post.delivery_latest),
            (day("2025-06-03"), day("2025-06-05"), day("2025-06-10"))
        );
        assert!(!q.estimate);
    }

    #[test]
    fn services_priced_in_another_currency_are_skipped_and_none_left_is_no_service() {
        let z = zone("Europe", &["FR"], &[]);
        let dollars =
            ShippingService { rates: vec![RateBracket { up_to_g: 5000, price: usd(100) }], ..service("US", &z) };
        let q = quote_to_france(&z, &[dollars.clone(), service("STANDARD", &z)], &one(100, [10, 10, 10])).unwrap();
        assert_eq!(q.options.len(), 1);
        assert_eq!((q.cheapest.as_str(), q.fastest.as_str()), ("STANDARD", "STANDARD"));
        let err = quote_to_france(&z, &[dollars], &one(100, [10, 10, 10])).unwrap_err();
        assert_eq!(err, NoShipping::NoService { zone: z.id, currency: eur(0).currency });
    }

    #[test]
    fn a_parcel_with_unknown_lines_gets_an_estimate() {
        let z = zone("Europe", &["FR"], &[]);
        let parcel = Parcel::of(&[(Some(400), None, 1)]);
        let q = quote_to_france(&z, &[service("STANDARD", &z)], &parcel).unwrap();
        assert!(q.estimate);
        assert_eq!(q.options[0].price, eur(450));
    }

    #[test]
    fn quotes_serialise_with_snake_case_fields_and_iso_dates() {
        let z = zone("Europe", &["FR"], &[]);
        let q = quote_to_france(&z, &[service("STANDARD", &z)], &one(100, [10, 10, 10])).unwrap();
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(json["options"][0]["ship_by"], "2025-06-03");
        assert_eq!(json["options"][0]["delivery_latest"], "2025-06-09");
        assert_eq!(json["options"][0]["price"], serde_json::json!({"amount": 450, "currency": "EUR"}));
        let calendar_json = serde_json::to_value(calendar(60, &["2025-06-09"])).unwrap();
        assert_eq!(calendar_json["cutoff"], "14:00:00");
        assert_eq!(calendar_json["working_days"]["saturday"], false);
    }

    #[test]
    fn a_valid_zone_is_returned_with_its_codes_upper_cased() {
        let mainland = zone("Mainland US", &["US"], &[]);
        let remote = zone(" Alaska ", &[], &["us-ak"]);
        let checked = check_zone("zone", &remote, std::slice::from_ref(&mainland)).unwrap();
        assert_eq!((checked.name.as_str(), checked.regions), ("Alaska", vec!["US-AK".to_string()]));
        // Replacing a zone does not clash with its own stored version.
        assert!(check_zone("zone", &mainland, std::slice::from_ref(&mainland)).is_ok());
    }

    #[test]
    fn every_zone_error_names_its_field() {
        let europe = zone("Europe", &["FR"], &["ES-CN"]);
        let others = [europe];
        let cases: [(ShippingZone, &str, &str); 9] = [
            (zone(" ", &["DE"], &[]), "zones[1].name", "is required"),
            (zone("Empty", &[], &[]), "zones[1].countries", "must list at least one country or region"),
            (
                zone("Bad", &["DE", "XX"], &[]),
                "zones[1].countries[1]",
                "must be an ISO 3166-1 alpha-2 country code such as GB or US",
            ),
            (zone("Twice", &["DE", "de"], &[]), "zones[1].countries[1]", "is listed twice"),
            (zone("Clash", &["fr"], &[]), "zones[1].countries[0]", "is already in the zone Europe"),
            (
                zone("Bad region", &["DE"], &["IT-"]),
                "zones[1].regions[0]",
                "must be an ISO 3166-2 subdivision code such as US-AK",
            ),
            (
                zone("Covered", &["DE"], &["DE-BY"]),
                "zones[1].regions[0]",
                "is already covered by its country in this zone",
            ),
            (zone("Twice", &[], &["IT-21", "it-21"]), "zones[1].regions[1]", "is listed twice"),
            (zone("Clash", &[], &["es-cn"]), "zones[1].regions[0]", "is already in the zone Europe"),
        ];
        for (z, field, message) in cases {
            assert_eq!(check_zone("zones[1]", &z, &others).unwrap_err(), FieldError::new(field, message), "{z:?}");
        }
        let many: Vec<String> = (0..=MAX_ZONE_ENTRIES).map(|i| format!("US-{i}")).collect();
        let big = ShippingZone { regions: many, ..zone("Big", &[], &[]) };
        assert_eq!(check_zone("", &big, &[]).unwrap_err().field, "regions");
    }

    #[test]
    fn a_valid_service_is_returned_with_its_code_upper_cased() {
        let z = zone("Europe", &["FR"], &[]);
        let s = ShippingService { code: " express ".to_string(), ..service("x", &z) };
        let checked = check_service("", &s, std::slice::from_ref(&z), &[]).unwrap();
        assert_eq!(checked.code, "EXPRESS");
        // The same code in another zone is fine.
        let other_zone = zone("UK", &["GB"], &[]);
        let elsewhere = service("EXPRESS", &other_zone);
        assert!(check_service("", &s, &[z, other_zone], &[elsewhere]).is_ok());
    }

    #[test]
    fn every_service_error_names_its_field() {
        let z = zone("Europe", &["FR"], &[]);
        let base = service("STANDARD", &z);
        let existing = service("EXPRESS", &z);
        let with_rates = |rates: Vec<RateBracket>| ShippingService { rates, ..base.clone() };
        let cases: Vec<(ShippingService, &str, &str)> = vec![
            (
                ShippingService { code: "no way".into(), ..base.clone() },
                "code",
                "may contain only letters, digits, '-' and '_'",
            ),
            (
                ShippingService { code: "express".into(), ..base.clone() },
                "code",
                "is already used by another service in this zone",
            ),
            (ShippingService { carrier: "".into(), ..base.clone() }, "carrier", "is required"),
            (ShippingService { name: "x".repeat(101), ..base.clone() }, "name", "must be at most 100 characters"),
            (
                ShippingService { zone: ShippingZoneId::generate(), ..base.clone() },
                "zone",
                "is not one of the vendor's shipping zones",
            ),
            (with_rates(vec![]), "rates", "must have from 1 to 50 weight brackets"),
            (
                with_rates(vec![RateBracket { up_to_g: 0, price: eur(1) }]),
                "rates[0].up_to_g",
                "must be from 1 to 1000000 g",
            ),
            (
                with_rates(vec![
                    RateBracket { up_to_g: 500, price: eur(1) },
                    RateBracket { up_to_g: 500, price: eur(2) },
                ]),
                "rates[1].up_to_g",
                "must be more than the bracket before it (500 g)",
            ),
            (
                with_rates(vec![
                    RateBracket { up_to_g: 500, price: eur(1) },
                    RateBracket { up_to_g: 400, price: eur(2) },
                ]),
                "rates[1].up_to_g",
                "must be more than the bracket before it (500 g)",
            ),
            (
                with_rates(vec![RateBracket { up_to_g: 500, price: eur(-1) }]),
                "rates[0].price.amount",
                "must not be negative",
            ),
            (
                with_rates(vec![
                    RateBracket { up_to_g: 500, price: eur(1) },
                    RateBracket { up_to_g: 900, price: usd(2) },
                ]),
                "rates[1].price.currency",
                "must be EUR, the currency of the first bracket",
            ),
            (ShippingService { max_weight_g: 0, ..base.clone() }, "max_weight_g", "must be from 1 to 1000000 g"),
            (
                ShippingService { max_weight_g: MAX_WEIGHT_G + 1, ..base.clone() },
                "max_weight_g",
                "must be from 1 to 1000000 g",
            ),
            (ShippingService { max_length_mm: 10_001, ..base.clone() }, "max_length_mm", "must be from 1 to 10000 mm"),
            (
                ShippingService { max_girth_mm: Some(50_001), ..base.clone() },
                "max_girth_mm",
                "must be from 1 to 50000 mm",
            ),
            (ShippingService { transit_days_max: 61, ..base.clone() }, "transit_days_max", "must be from 0 to 60 days"),
            (
                ShippingService { transit_days_min: 5, ..base.clone() },
                "transit_days_min",
                "must not be more than transit_days_max",
            ),
            (
                ShippingService { volumetric_divisor: Some(999), ..base.clone() },
                "volumetric_divisor",
                "must be from 1000 to 10000 cm³ per kg",
            ),
        ];
        for (s, field, message) in cases {
            let err = check_service("services[0]", &s, std::slice::from_ref(&z), std::slice::from_ref(&existing))
                .unwrap_err();
            assert_eq!(err, FieldError::new(format!("services[0].{field}"), message), "{s:?}");
        }
        // Free shipping is a price of zero, which is fine; so is a transit of 0 to 60 days.
        let free = ShippingService {
            transit_days_min: 0,
            transit_days_max: 60,
            ..with_rates(vec![RateBracket { up_to_g: 500, price: eur(0) }])
        };
        assert!(check_service("", &free, std::slice::from_ref(&z), &[]).is_ok());
    }

    #[test]
    fn every_calendar_error_names_its_field_and_holidays_come_back_in_order() {
        let ok = check_calendar("calendar", &calendar(-300, &["2025-12-25", "2025-07-04"])).unwrap();
        assert_eq!(ok.holidays, [day("2025-07-04"), day("2025-12-25")]);
        let none = WorkingDays {
            monday: false,
            tuesday: false,
            wednesday: false,
            thursday: false,
            friday: false,
            saturday: false,
            sunday: false,
        };
        let cases = [
            (calendar(841, &[]), "calendar.utc_offset_minutes", "must be from -720 to 840 minutes"),
            (calendar(-721, &[]), "calendar.utc_offset_minutes", "must be from -720 to 840 minutes"),
            (
                ShipCalendar { working_days: none, ..calendar(0, &[]) },
                "calendar.working_days",
                "must include at least one day",
            ),
            (calendar(0, &["2025-06-09", "2025-06-10", "2025-06-09"]), "calendar.holidays[2]", "is listed twice"),
        ];
        for (c, field, message) in cases {
            assert_eq!(check_calendar("calendar", &c).unwrap_err(), FieldError::new(field, message));
        }
        let many: Vec<NaiveDate> =
            (0..=MAX_HOLIDAYS as u64).map(|i| day("2025-01-01") + chrono::Days::new(i)).collect();
        let crowded = ShipCalendar { holidays: many, ..calendar(0, &[]) };
        assert_eq!(check_calendar("calendar", &crowded).unwrap_err().field, "calendar.holidays");
    }
}
