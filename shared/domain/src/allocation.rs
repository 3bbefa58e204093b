//! Which of a vendor's stock locations serve each line of an order.
//!
//! The vendor's rule puts the locations in order: its own priority list, or nearest to the
//! destination first. Each line is served whole by the first location that can, and otherwise
//! split across locations in that order, taking all each has, so a parcel is split only when no
//! single location holds the line. Lines are served in order and lines of the same variant draw on
//! the same availability. The stock given is what is available (on hand less reserved and
//! expired, as [`crate::stock::availability`] counts it); the store reserves what is allocated.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{LocationId, VariantId};

/// How a vendor orders its locations for serving an order (nearest first unless it says otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AllocationRule {
    /// The vendor's own order; locations it does not list come after, by id.
    Priority { locations: Vec<LocationId> },
    /// Locations in the destination country first, then on the same continent, then the rest;
    /// locations of no or an unknown country last. Ties go by id.
    #[default]
    Nearest,
}

/// What one location has available of one variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LocationStock {
    pub location: LocationId,
    /// ISO 3166-1 alpha-2, as the location records it (absent when the location has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "GB")]
    pub country: Option<String>,
    pub variant: VariantId,
    pub available: u32,
}

/// Units of one line taken from one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Allocation<L> {
    pub line: L,
    pub location: LocationId,
    pub variant: VariantId,
    pub quantity: u32,
}

/// The first line the vendor's locations cannot serve, with what was left for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortage<L> {
    pub line: L,
    pub variant: VariantId,
    pub requested: u32,
    /// What all locations still had of the variant once earlier lines were served.
    pub available: u32,
}

impl<L> fmt::Display for Shortage<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "only {} of variant {} available, {} requested", self.available, self.variant, self.requested)
    }
}

impl<L: fmt::Debug> std::error::Error for Shortage<L> {}

/// Chooses the locations that serve `lines` (each a line, its variant and quantity) from `stock`
/// under `rule`, for an order going to `destination` (ISO 3166-1 alpha-2). Allocations come in
/// line order, and within a line in the rule's order of locations; a line of quantity 0 gets none.
/// When the locations together cannot serve a line, the first such line is reported and nothing is
/// allocated.
pub fn allocate<L: Copy>(
    rule: &AllocationRule,
    lines: &[(L, VariantId, u32)],
    stock: &[LocationStock],
    destination: &str,
) -> Result<Vec<Allocation<L>>, Shortage<L>> {
    let order = location_order(rule, stock, destination);
    let mut left: BTreeMap<(VariantId, LocationId), u32> = BTreeMap::new();
    for s in stock {
        let held = left.entry((s.variant, s.location)).or_default();
        *held = held.saturating_add(s.available);
    }
    let mut allocations = Vec::new();
    for &(line, variant, requested) in lines {
        if requested == 0 {
            continue;
        }
        let holding: Vec<(LocationId, u32)> = order
            .iter()
            .filter_map(|&location| left.get(&(variant, location)).map(|&n| (location, n)))
            .filter(|&(_, n)| n > 0)
            .collect();
        let available = holding.iter().fold(0u32, |sum, &(_, n)| sum.saturating_add(n));
        if available < requested {
            return Err(Shortage { line, variant, requested, available });
        }
        let takes = match holding.iter().find(|&&(_, n)| n >= requested) {
            Some(&(location, _)) => vec![(location, requested)],
            None => {
                let mut still = requested;
                let mut takes = Vec::new();
                for &(location, n) in &holding {
                    if still == 0 {
                        break;
                    }
                    let take = n.min(still);
                    still -= take;
                    takes.push((location, take));
                }
                takes
            }
        };
        for (location, quantity) in takes {
            if let Some(n) = left.get_mut(&(variant, location)) {
                *n -= quantity;
            }
            allocations.push(Allocation { line, location, variant, quantity });
        }
    }
    Ok(allocations)
}

/// Every location in `stock`, in the order `rule` serves from for `destination`.
fn location_order(rule: &AllocationRule, stock: &[LocationStock], destination: &str) -> Vec<LocationId> {
    // Each location once, with the first country recorded for it.
    let mut countries: BTreeMap<LocationId, Option<String>> = BTreeMap::new();
    for s in stock {
        countries.entry(s.location).or_insert_with(|| s.country.as_deref().map(|c| c.trim().to_ascii_uppercase()));
    }
    let mut order: Vec<(usize, LocationId)> = match rule {
        AllocationRule::Priority { locations } => countries
            .keys()
            .map(|&id| (locations.iter().position(|&listed| listed == id).unwrap_or(locations.len()), id))
            .collect(),
        AllocationRule::Nearest => {
            let destination = destination.trim().to_ascii_uppercase();
            let home = continent(&destination);
            countries
                .iter()
                .map(|(&id, country)| {
                    let there = country.as_deref().and_then(continent);
                    let tier = match (country.as_deref(), there) {
                        (Some(c), _) if c == destination => 0,
                        (_, Some(there)) if Some(there) == home => 1,
                        (_, Some(_)) => 2,
                        (_, None) => 3,
                    };
                    (tier, id)
                })
                .collect()
        }
    };
    order.sort();
    order.into_iter().map(|(_, id)| id).collect()
}

/// The continents countries are grouped by for [`AllocationRule::Nearest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Continent {
    Africa,
    Antarctica,
    Asia,
    Europe,
    NorthAmerica,
    Oceania,
    SouthAmerica,
}

/// Every ISO 3166-1 alpha-2 code by continent. North America takes in Central America and the
/// Caribbean; Cyprus is counted in Europe (an EU member, and shipped to as one), Turkey and the
/// Caucasus in Asia, Russia in Europe; remote territories go with the continent they are part of.
const CONTINENTS: [(Continent, &str); 7] = [
    (
        Continent::Africa,
        "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA \
         NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
    ),
    (Continent::Antarctica, "AQ BV GS HM TF"),
    (
        Continent::Asia,
        "AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM MN MO MV MY NP \
         OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE",
    ),
    (
        Continent::Europe,
        "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME \
         MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA",
    ),
    (
        Continent::NorthAmerica,
        "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI PA PM PR SV SX TC \
         TT US VC VG VI",
    ),
    (Continent::Oceania, "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS"),
    (Continent::SouthAmerica, "AR BO BR CL CO EC FK GF GY PE PY SR UY VE"),
];

/// The continent of a country code (upper-case ISO 3166-1 alpha-2); `None` for a code not known.
pub fn continent(country: &str) -> Option<Continent> {
    if country.len() != 2 {
        return None;
    }
    CONTINENTS.iter().find(|(_, codes)| codes.split_whitespace().any(|c| c == country)).map(|&(continent, _)| continent)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Location ids in creation order, so tests can say which sorts first by id.
    fn locations<const N: usize>() -> [LocationId; N] {
        std::array::from_fn(|_| LocationId::generate())
    }

    fn at(location: LocationId, country: &str, variant: VariantId, available: u32) -> LocationStock {
        let country = (!country.is_empty()).then(|| country.to_string());
        LocationStock { location, country, variant, available }
    }

    fn served(allocations: &[Allocation<u32>]) -> Vec<(u32, LocationId, u32)> {
        allocations.iter().map(|a| (a.line, a.location, a.quantity)).collect()
    }

    #[test]
    fn the_vendors_priority_comes_first_then_unlisted_locations_by_id() {
        let [a, b, c, d] = locations();
        let v = VariantId::generate();
        let stock = [at(a, "GB", v, 5), at(b, "GB", v, 5), at(c, "GB", v, 5), at(d, "GB", v, 5)];
        let rule = AllocationRule::Priority { locations: vec![c, a] };
        assert_eq!(location_order(&rule, &stock, "GB"), vec![c, a, b, d]);
        let got = allocate(&rule, &[(1, v, 3)], &stock, "GB").unwrap();
        assert_eq!(got, vec![Allocation { line: 1, location: c, variant: v, quantity: 3 }]);
        let unlisted_only = AllocationRule::Priority { locations: vec![] };
        assert_eq!(served(&allocate(&unlisted_only, &[(1, v, 3)], &stock, "GB").unwrap()), vec![(1, a, 3)]);
    }

    #[test]
    fn one_location_serving_the_whole_line_is_preferred_to_a_split() {
        let [first, second, third] = locations();
        let v = VariantId::generate();
        let stock = [at(first, "FR", v, 2), at(second, "FR", v, 1), at(third, "FR", v, 6)];
        let rule = AllocationRule::Priority { locations: vec![first, second, third] };
        let got = allocate(&rule, &[(7, v, 4)], &stock, "FR").unwrap();
        assert_eq!(served(&got), vec![(7, third, 4)], "the third holds it all, though later in order");
    }

    #[test]
    fn a_line_no_location_holds_whole_is_split_in_rule_order_taking_all_each_has() {
        let [first, second, third] = locations();
        let v = VariantId::generate();
        let stock = [at(first, "FR", v, 3), at(second, "FR", v, 4), at(third, "FR", v, 2)];
        let rule = AllocationRule::Priority { locations: vec![second, first, third] };
        let got = allocate(&rule, &[(1, v, 6)], &stock, "FR").unwrap();
        assert_eq!(served(&got), vec![(1, second, 4), (1, first, 2)]);
        assert!(got.iter().all(|a| a.variant == v));
    }

    #[test]
    fn lines_of_the_same_variant_draw_on_the_same_stock() {
        let [a, b] = locations();
        let (v, w) = (VariantId::generate(), VariantId::generate());
        let stock = [at(a, "DE", v, 5), at(b, "DE", v, 5), at(a, "DE", w, 1)];
        let rule = AllocationRule::Priority { locations: vec![a, b] };
        let got = allocate(&rule, &[(1, v, 4), (2, w, 1), (3, v, 4)], &stock, "DE").unwrap();
        // After line 1 the first location has 1 left, so line 3 is served whole by the second.
        assert_eq!(served(&got), vec![(1, a, 4), (2, a, 1), (3, b, 4)]);
        let got = allocate(&rule, &[(1, v, 4), (3, v, 6)], &stock, "DE").unwrap();
        assert_eq!(served(&got), vec![(1, a, 4), (3, a, 1), (3, b, 5)]);
    }

    #[test]
    fn the_first_line_short_is_reported_with_what_was_left_for_it() {
        let [a, b] = locations();
        let v = VariantId::generate();
        let stock = [at(a, "DE", v, 3), at(b, "DE", v, 2)];
        let rule = AllocationRule::Nearest;
        let short = allocate(&rule, &[(1, v, 4), (2, v, 2), (3, v, 9)], &stock, "DE").unwrap_err();
        assert_eq!(short, Shortage { line: 2, variant: v, requested: 2, available: 1 });
        assert!(short.to_string().contains("only 1 of variant"), "{short}");
        let unknown = VariantId::generate();
        let short = allocate(&rule, &[(1, unknown, 1)], &stock, "DE").unwrap_err();
        assert_eq!((short.requested, short.available), (1, 0), "a variant no location holds");
        assert_eq!(allocate(&rule, &[(1, v, 5), (2, unknown, 0)], &stock, "DE").unwrap().len(), 2);
    }

    #[test]
    fn nearest_serves_from_the_same_country_then_continent_then_the_rest_then_unknown() {
        let [unknown, us, none, de, gb, fr] = locations();
        let v = VariantId::generate();
        let stock = [
            at(unknown, "XK", v, 10),
            at(us, "US", v, 10),
            at(none, "", v, 10),
            at(de, "DE", v, 10),
            at(gb, "GB", v, 10),
            at(fr, "fr", v, 10),
        ];
        assert_eq!(location_order(&AllocationRule::Nearest, &stock, "fr"), vec![fr, de, gb, us, unknown, none]);
        assert_eq!(location_order(&AllocationRule::Nearest, &stock, "CA"), vec![us, de, gb, fr, unknown, none]);
        let got = allocate(&AllocationRule::Nearest, &[(1, v, 15)], &stock, "FR").unwrap();
        assert_eq!(served(&got), vec![(1, fr, 10), (1, de, 5)], "ties on the continent go by id");
    }

    #[test]
    fn a_destination_of_unknown_country_still_prefers_locations_in_it_and_otherwise_goes_by_id() {
        let [a, b, c] = locations();
        let v = VariantId::generate();
        let stock = [at(a, "GB", v, 10), at(b, "", v, 10), at(c, "XK", v, 10)];
        assert_eq!(location_order(&AllocationRule::Nearest, &stock, "XK"), vec![c, a, b]);
        assert_eq!(location_order(&AllocationRule::Nearest, &stock, "ZZ"), vec![a, b, c]);
    }

    #[test]
    fn every_country_has_exactly_one_continent() {
        let mut seen = std::collections::BTreeSet::new();
        for (_, codes) in CONTINENTS {
            for code in codes.split_whitespace() {
                assert_eq!(crate::address::country("country", code).as_deref(), Ok(code));
                assert!(seen.insert(code), "{code} listed twice");
            }
        }
        assert_eq!(seen.len(), 249, "every ISO 3166-1 alpha-2 code");
        assert_eq!(continent("JP"), Some(Continent::Asia));
        assert_eq!(continent("BR"), Some(Continent::SouthAmerica));
        assert_eq!(continent("XK"), None);
        assert_eq!(continent("G"), None);
    }

    #[test]
    fn a_rule_is_written_with_a_snake_case_tag() {
        let [a] = locations();
        let rule = AllocationRule::Priority { locations: vec![a] };
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(json, serde_json::json!({"type": "priority", "locations": [a.to_string()]}));
        assert_eq!(serde_json::to_value(AllocationRule::Nearest).unwrap(), serde_json::json!({"type": "nearest"}));
        assert_eq!(serde_json::from_value::<AllocationRule>(json).unwrap(), rule);
    }
}
