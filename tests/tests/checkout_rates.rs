//! What checkout will price with: the tax rates admin keeps, and each vendor's shipping.

use serde_json::{Value, json};
use stockyard_tests::{ApiResponse, Method, TestApp};

const TAX_RATES: &str = "/tax-rates";
const ADMIN_TAX_RATES: &str = "/admin/tax-rates";

async fn tax_rates(app: &TestApp) -> Value {
    app.request(Method::GET, TAX_RATES, None, None, &[]).await.expect(200).clone()
}

async fn put_tax_rates(app: &TestApp, token: Option<&str>, body: &Value) -> ApiResponse {
    app.request(Method::PUT, ADMIN_TAX_RATES, token, Some(body), &[]).await
}

fn uk_and_california(uk_standard: &str) -> Value {
    json!({ "countries": [
        { "country": "gb", "pricing": "tax_inclusive", "shipping_tax_class": "standard",
          "rates": [{ "tax_class": "standard", "rate": uk_standard, "name": " VAT 20% " },
                    { "tax_class": "reduced", "rate": "5", "name": "VAT 5%" }] },
        { "country": "US", "pricing": "tax_exclusive", "shipping_tax_class": "exempt",
          "rates": [{ "region": "us-ca", "tax_class": "standard", "rate": "7.25", "name": "CA sales tax" }] }
    ] })
}

/// The one test that writes the tax table (it is global: tests running at once would race on it).
#[tokio::test]
async fn admin_sets_the_tax_rates_anyone_reads_them_and_nobody_else_or_nothing_invalid_changes_them() {
    let app = TestApp::new();
    // Other tests check out against the table: they wait while this one rewrites it.
    let _alone = app.tax_table_alone();
    let (admin, customer, vendor) = tokio::join!(app.admin(), app.customer(), app.vendor_owner());

    let before = tax_rates(&app).await;
    assert!(before["version"].is_u64(), "{before}");
    if before["version"] == 0 {
        assert_eq!(before["countries"], json!([]), "before admin sets any, no country has rates");
        assert!(before.get("updated_at").is_none(), "{before}");
    }

    let set = put_tax_rates(&app, Some(admin.token()), &uk_and_california("20.00")).await;
    let stored = set.expect(200).clone();
    let version = stored["version"].as_u64().unwrap();
    assert_eq!(version, before["version"].as_u64().unwrap() + 1);
    assert!(stored["updated_at"].is_string(), "{stored}");
    // stored normalised: codes upper-case, regions without the country, rates without trailing zeros
    let gb = &stored["countries"][0];
    assert_eq!((gb["country"].as_str(), gb["rates"][0]["rate"].as_str()), (Some("GB"), Some("20")));
    assert_eq!(gb["rates"][0]["name"], "VAT 20%");
    assert_eq!(stored["countries"][1]["rates"][0]["region"], "CA");
    // anyone reads them, signed in or not
    assert_eq!(tax_rates(&app).await, stored);
    let read = app.request(Method::GET, TAX_RATES, Some(customer.token()), None, &[]).await;
    assert_eq!(read.expect(200), &stored);

    // Nobody but admin changes them: a customer, a vendor's owner, nobody signed in.
    let other = uk_and_california("17.5");
    put_tax_rates(&app, Some(customer.token()), &other).await.expect_error(403, "forbidden");
    put_tax_rates(&app, Some(vendor.owner.token()), &other).await.expect_error(403, "forbidden");
    put_tax_rates(&app, None, &other).await.expect_error(401, "unauthorized");
    assert_eq!(tax_rates(&app).await, stored);

    // Bad input is refused naming the field by its path, and changes nothing.
    let mut too_high = uk_and_california("20");
    too_high["countries"][1]["rates"][0]["rate"] = json!("107.25");
    put_tax_rates(&app, Some(admin.token()), &too_high).await.expect_invalid_field("countries[1].rates[0].rate");
    let mut twice = uk_and_california("20");
    twice["countries"][1]["country"] = json!("GB");
    put_tax_rates(&app, Some(admin.token()), &twice).await.expect_invalid_field("countries[1].country");
    let mut exempt_rate = uk_and_california("20");
    exempt_rate["countries"][0]["rates"][1]["tax_class"] = json!("exempt");
    put_tax_rates(&app, Some(admin.token()), &exempt_rate)
        .await
        .expect_invalid_field("countries[0].rates[1].tax_class");
    let mut not_a_number = uk_and_california("20");
    not_a_number["countries"][0]["rates"][0]["rate"] = json!("twenty");
    put_tax_rates(&app, Some(admin.token()), &not_a_number).await.expect_invalid_field("countries[0].rates[0].rate");
    for misspelt in [
        json!({ "countrys": [] }),
        json!({ "countries": [{ "country": "GB", "pricing": "tax_inclusive", "shipping_tax_class": "standard",
                                "rates": [{ "tax_class": "standard", "rate": "20", "name": "VAT", "vat": true }] }] }),
    ] {
        put_tax_rates(&app, Some(admin.token()), &misspelt).await.expect_error(400, "malformed_request");
    }
    assert_eq!(tax_rates(&app).await, stored);

    // The table in force, sent again, changes nothing; a change moves the version by one.
    let again = put_tax_rates(&app, Some(admin.token()), &uk_and_california("20")).await;
    assert_eq!(again.expect(200), &stored);
    let changed = put_tax_rates(&app, Some(admin.token()), &other).await;
    assert_eq!(changed.expect(200)["version"], version + 1);
    assert_eq!(changed.json["countries"][0]["rates"][0]["rate"], "17.5");
    assert_eq!(tax_rates(&app).await, changed.json);
}

fn shipping_path(vendor_id: &str) -> String {
    format!("/vendors/{vendor_id}/shipping")
}

fn calendar() -> Value {
    json!({ "utc_offset_minutes": 60, "cutoff": "14:00:00",
            "working_days": { "monday": true, "tuesday": true, "wednesday": true, "thursday": true,
                              "friday": true, "saturday": false, "sunday": false },
            "holidays": ["2026-12-25", "2026-05-01"] })
}

fn service(zone_code: &str, code: &str, price: i64) -> Value {
    json!({ "zone_code": zone_code, "code": code, "carrier": "La Poste", "name": "Colissimo",
            "rates": [{ "up_to_g": 2000, "price": { "amount": price, "currency": "EUR" } },
                      { "up_to_g": 10000, "price": { "amount": price * 2, "currency": "EUR" } }],
            "max_weight_g": 30000, "max_length_mm": 1500, "max_girth_mm": 3000,
            "transit_days_min": 2, "transit_days_max": 4 })
}

fn shipping(zones: Value, services: Value) -> Value {
    json!({ "zones": zones, "services": services, "calendar": calendar() })
}

fn france_and_europe() -> Value {
    shipping(
        json!([{ "code": "fr", "name": "France", "countries": ["FR"] },
               { "code": "EU", "name": "Europe", "countries": ["DE", "BE"], "regions": ["ES-CN"] }]),
        json!([service("FR", "standard", 495), service("fr", "EXPRESS", 1295), service("EU", "STANDARD", 995)]),
    )
}

async fn put_shipping(app: &TestApp, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
    app.request(Method::PUT, &shipping_path(vendor_id), Some(token), Some(body), &[]).await
}

async fn get_shipping(app: &TestApp, token: &str, vendor_id: &str) -> ApiResponse {
    app.request(Method::GET, &shipping_path(vendor_id), Some(token), None, &[]).await
}

fn zone_id(settings: &Value, code: &str) -> String {
    let zones = settings["zones"].as_array().unwrap();
    let zone = zones.iter().find(|z| z["code"] == code).unwrap_or_else(|| panic!("no zone {code}: {settings}"));
    zone["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_vendor_sets_its_shipping_and_its_staff_read_it_back_with_zone_ids_kept_by_code() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let (manager, viewer) = tokio::join!(app.staff(&vendor, "inventory_manager"), app.staff(&vendor, "viewer"));
    let owner = vendor.owner.token();
    get_shipping(&app, owner, &vendor.id).await.expect_error(404, "not_found");

    let set = put_shipping(&app, owner, &vendor.id, &france_and_europe()).await;
    let stored = set.expect(200).clone();
    assert_eq!((stored["vendor_id"].as_str(), stored["version"].as_u64()), (Some(vendor.id.as_str()), Some(1)));
    assert_eq!(stored["updated_by"], vendor.owner.id.as_str());
    let (fr, eu) = (zone_id(&stored, "FR"), zone_id(&stored, "EU"));
    assert_ne!(fr, eu);
    // services name their zone by its id; codes are upper-cased
    let services: Vec<(&str, &str)> = stored["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["zone"].as_str().unwrap(), s["code"].as_str().unwrap()))
        .collect();
    assert_eq!(services, [(fr.as_str(), "STANDARD"), (fr.as_str(), "EXPRESS"), (eu.as_str(), "STANDARD")]);
    assert_eq!(stored["zones"][1]["regions"], json!(["ES-CN"]));
    assert_eq!(stored["calendar"]["holidays"], json!(["2026-05-01", "2026-12-25"]), "in date order");

    for reader in [owner, manager.token(), viewer.token()] {
        assert_eq!(get_shipping(&app, reader, &vendor.id).await.expect(200), &stored);
    }

    // The same again changes nothing.
    let again = put_shipping(&app, owner, &vendor.id, &france_and_europe()).await;
    assert_eq!(again.expect(200), &stored);

    // An inventory manager drops France, keeps Europe and adds the UK: Europe keeps its id.
    let next = shipping(
        json!([{ "code": "UK", "name": "United Kingdom", "countries": ["GB"] },
               { "code": "eu", "name": "Europe", "countries": ["DE", "BE", "FR"] }]),
        json!([service("EU", "STANDARD", 995), service("UK", "STANDARD", 1495)]),
    );
    let changed = put_shipping(&app, manager.token(), &vendor.id, &next).await;
    let changed = changed.expect(200).clone();
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["updated_by"], manager.id.as_str());
    assert_eq!(zone_id(&changed, "EU"), eu);
    assert!(![fr.as_str(), eu.as_str()].contains(&zone_id(&changed, "UK").as_str()));
    assert_eq!(get_shipping(&app, viewer.token(), &vendor.id).await.expect(200), &changed);

    // A viewer reads but does not change it.
    put_shipping(&app, viewer.token(), &vendor.id, &france_and_europe()).await.expect_error(403, "forbidden");
    assert_eq!(get_shipping(&app, owner, &vendor.id).await.expect(200), &changed);
}

#[tokio::test]
async fn another_vendors_owner_can_neither_read_nor_change_a_vendors_shipping() {
    let app = TestApp::new();
    let (vendor, other) = tokio::join!(app.vendor_owner(), app.vendor_owner());
    let stored = put_shipping(&app, vendor.owner.token(), &vendor.id, &france_and_europe()).await.expect(200).clone();
    let intruder = other.owner.token();
    get_shipping(&app, intruder, &vendor.id).await.expect_error(403, "forbidden");
    let mine = shipping(json!([{ "code": "ALL", "name": "Everywhere", "countries": ["FR", "DE"] }]), json!([]));
    put_shipping(&app, intruder, &vendor.id, &mine).await.expect_error(403, "forbidden");
    assert_eq!(get_shipping(&app, vendor.owner.token(), &vendor.id).await.expect(200), &stored);
    // nor does a customer, nor anyone signed out
    let customer = app.customer().await;
    get_shipping(&app, customer.token(), &vendor.id).await.expect_error(403, "forbidden");
    let anonymous = app.request(Method::GET, &shipping_path(&vendor.id), None, None, &[]).await;
    anonymous.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn bad_shipping_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let v = vendor.id.as_str();

    // Before anything is set: refused, and still nothing set.
    let unknown_zone = shipping(
        json!([{ "code": "FR", "name": "France", "countries": ["FR"] }]),
        json!([service("EU", "STANDARD", 995)]),
    );
    put_shipping(&app, owner, v, &unknown_zone).await.expect_invalid_field("services[0].zone_code");
    get_shipping(&app, owner, v).await.expect_error(404, "not_found");

    let stored = put_shipping(&app, owner, v, &france_and_europe()).await.expect(200).clone();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = france_and_europe();
        edit(&mut body);
        body
    };
    let cases = [
        (with(&|b| b["zones"][1]["countries"][1] = json!("fr")), "zones[1].countries[1]"),
        (with(&|b| b["zones"][1]["countries"][0] = json!("XX")), "zones[1].countries[0]"),
        (with(&|b| b["zones"][1]["code"] = json!("FR")), "zones[1].code"),
        (with(&|b| b["zones"][0]["name"] = json!("  ")), "zones[0].name"),
        (with(&|b| b["services"][1]["code"] = json!("Standard")), "services[1].code"),
        (with(&|b| b["services"][2]["rates"][1]["up_to_g"] = json!(1000)), "services[2].rates[1].up_to_g"),
        (
            with(&|b| b["services"][0]["rates"][1]["price"]["currency"] = json!("USD")),
            "services[0].rates[1].price.currency",
        ),
        (with(&|b| b["services"][0]["transit_days_min"] = json!(9)), "services[0].transit_days_min"),
        (with(&|b| b["calendar"]["holidays"][1] = json!("2026-12-25")), "calendar.holidays[1]"),
        (with(&|b| b["calendar"]["utc_offset_minutes"] = json!(900)), "calendar.utc_offset_minutes"),
    ];
    for (body, field) in &cases {
        put_shipping(&app, owner, v, body).await.expect_invalid_field(field);
    }
    let unknown_field = with(&|b| b["services"][0]["zone"] = json!("FR"));
    let refused = put_shipping(&app, owner, v, &unknown_field).await;
    refused.expect_error(400, "malformed_request");
    assert_eq!(get_shipping(&app, owner, v).await.expect(200), &stored, "nothing changed");
}

#[tokio::test]
async fn two_changes_at_once_never_silently_lose_one() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let (owner, v) = (vendor.owner.token(), vendor.id.as_str());
    put_shipping(&app, owner, v, &france_and_europe()).await.expect(200);
    let bodies: Vec<Value> = (0..4)
        .map(|i| shipping(json!([{ "code": format!("Z{i}"), "name": "Zone", "countries": ["FR"] }]), json!([])))
        .collect();
    let answers = futures_join(&app, owner, v, &bodies).await;
    let mut versions = Vec::new();
    for (answer, body) in answers.iter().zip(&bodies) {
        match answer.status {
            200 => {
                assert_eq!(answer.json["zones"][0]["code"], body["zones"][0]["code"]);
                versions.push(answer.json["version"].as_u64().unwrap());
            }
            _ => {
                answer.expect_error(409, "changed_meanwhile");
            }
        }
    }
    // every change that was accepted has a version of its own; none was written over unseen
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), answers.iter().filter(|a| a.status == 200).count(), "{answers:?}");
    assert!(!versions.is_empty());
    let last = get_shipping(&app, owner, v).await.expect(200).clone();
    assert_eq!(last["version"].as_u64(), versions.last().copied());
    let winner = answers.iter().find(|a| a.status == 200 && a.json["version"] == last["version"]).unwrap();
    assert_eq!(&winner.json, &last);
}

async fn futures_join(app: &TestApp, token: &str, vendor_id: &str, bodies: &[Value]) -> Vec<ApiResponse> {
    let calls = bodies.iter().map(|body| put_shipping(app, token, vendor_id, body));
    futures_util::future::join_all(calls).await
}
