//! Demand forecasting through the API: settings and sales in, a run, forecasts and replenishment
//! out; validation that changes nothing; vendor isolation; the nightly job, run for one vendor.

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use stockyard_tests::{TestApp, TestVendor, daily_history, today, unique_tag};

/// The nightly job, as its binary is named in template.yaml.
const NIGHTLY: &str = "nightly-demand-forecast";

fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number at {pointer}: {v}"))
}

/// A vendor with one warehouse, and the warehouse's id.
async fn vendor_with_location(app: &TestApp) -> (TestVendor, String) {
    let vendor = app.vendor_owner().await;
    let location = app.create_location(vendor.owner.token(), &vendor.id, &TestApp::location_body()).await;
    location.expect(201);
    (vendor, location.id())
}

/// The last day of history to record before a run through the API. The run reads up to yesterday
/// by its own clock; a history through today is complete whether or not the date turns between
/// recording and running (a day after the run's `as_of` is left out of it).
fn last_day_for_api_runs() -> NaiveDate {
    today()
}

/// STEADY sells 10 a day for two years; IDLE never sold. Both at one location, from one supplier,
/// with history up to `last_day`. Returns the vendor, the location and the supplier's id and code.
async fn steady_and_idle(app: &TestApp, last_day: NaiveDate) -> (TestVendor, String, (String, String)) {
    let (vendor, location) = vendor_with_location(app).await;
    let t = vendor.owner.token();
    let (supplier, code, _) = app.new_supplier(t, &vendor.id, 1).await;
    for (sku, on_hand) in [("STEADY", 20), ("IDLE", 0)] {
        let settings = TestApp::demand_settings(Some(&supplier), on_hand);
        app.put_demand_settings(t, &vendor.id, &location, sku, &settings).await.expect(200);
    }
    app.record_history(t, &vendor.id, &location, "STEADY", &daily_history(last_day, 730, |_| 10)).await;
    app.record_history(t, &vendor.id, &location, "IDLE", &daily_history(last_day, 366, |_| 0)).await;
    (vendor, location, (supplier, code))
}

#[tokio::test]
async fn a_steady_seller_is_forecast_near_its_rate_and_ordered_up_to_its_need_while_an_idle_sku_orders_nothing() {
    let app = TestApp::new();
    let (vendor, location, (supplier, code)) = steady_and_idle(&app, last_day_for_api_runs()).await;
    let t = vendor.owner.token();

    let run = app.run_forecast(t, &vendor.id).await;
    let summary = run.expect(201);
    assert_eq!(summary["status"], "finished", "{run}");
    assert_eq!(summary["series"], 2);
    assert_eq!(summary["forecasts_written"], 2);

    let steady = app.sku_forecast(t, &vendor.id, "steady").await;
    let f = &steady.expect(200)["locations"][0];
    assert_eq!(f["location_id"], location.as_str());
    assert_eq!(f["daily"].as_array().map(Vec::len), Some(28), "{steady}");
    let demand_28d = num(f, "/demand_28d");
    assert!((demand_28d - 280.0).abs() <= 28.0, "28 days at 10 a day is about 280, got {demand_28d}");
    // Lead time 3 + review 7 days at 10 a day.
    let expected = num(f, "/expected_demand");
    assert!((expected - 100.0).abs() <= 15.0, "{expected}");
    let (p90, p95, p98) = (num(f, "/quantiles/p90"), num(f, "/quantiles/p95"), num(f, "/quantiles/p98"));
    assert!(expected <= p90 + 1e-6 && p90 <= p95 + 1e-6 && p95 <= p98 + 1e-6, "{f}");
    let order_up_to = num(f, "/suggestion/order_up_to");
    let order_qty = num(f, "/suggestion/order_qty");
    assert!(order_up_to >= expected, "{f}");
    assert!(
        (order_qty - (order_up_to - 20.0)).abs() <= 1.0,
        "orders the gap between the order-up-to level and the 20 on hand: {f}"
    );
    assert_eq!(f["suggestion"]["risk"], "stock_out", "20 units do not last the 3-day lead time: {f}");

    let idle = app.sku_forecast(t, &vendor.id, "IDLE").await;
    let g = &idle.expect(200)["locations"][0];
    assert_eq!(num(g, "/demand_28d"), 0.0, "{g}");
    assert_eq!(num(g, "/suggestion/order_qty"), 0.0, "{g}");

    let plan = app.replenishment(t, &vendor.id, "").await;
    let plan = plan.expect(200);
    assert_eq!(plan["suppliers"].as_array().map(Vec::len), Some(1), "{plan}");
    assert_eq!(plan["suppliers"][0]["supplier_id"], supplier.as_str());
    assert_eq!(
        (plan["suppliers"][0]["supplier_code"].as_str(), plan["suppliers"][0]["supplier_name"].as_str()),
        (Some(code.as_str()), Some("Acme Dairy"))
    );
    assert_eq!(plan["suppliers"][0]["lines"].as_array().map(Vec::len), Some(1), "only STEADY orders: {plan}");
    assert_eq!(plan["suppliers"][0]["lines"][0]["sku"], "STEADY");
    assert_eq!(num(plan, "/suppliers/0/total_units"), order_qty);
    assert!(plan["at_risk"].as_array().unwrap().iter().any(|l| l["sku"] == "STEADY" && l["risk"] == "stock_out"));
    let (other, ..) = app.new_supplier(t, &vendor.id, 1).await;
    let of_other = app.replenishment(t, &vendor.id, &format!("supplier_id={other}")).await;
    assert!(of_other.expect(200)["suppliers"].as_array().unwrap().is_empty());
    let of_ours = app.replenishment(t, &vendor.id, &format!("supplier_id={supplier}")).await;
    assert_eq!(of_ours.expect(200)["suppliers"].as_array().map(Vec::len), Some(1));
    app.replenishment(t, &vendor.id, "supplier_id=ACME").await.expect_invalid_field("supplier_id");

    let all = app.list_forecasts(t, &vendor.id, "").await;
    let skus: Vec<&str> = all.items().iter().filter_map(|f| f["sku"].as_str()).collect();
    assert_eq!(skus, vec!["IDLE", "STEADY"], "by location, then SKU");
    let at_risk = app.list_forecasts(t, &vendor.id, "risk=stock_out").await;
    assert_eq!(at_risk.items().len(), 1, "{at_risk}");
    let paged = app.all_pages(t, &format!("/vendors/{}/forecasts?limit=1", vendor.id)).await;
    assert_eq!(paged.len(), 2);

    // A second run overwrites the same forecasts.
    app.run_forecast(t, &vendor.id).await.expect(201);
    assert_eq!(app.list_forecasts(t, &vendor.id, "").await.items().len(), 2);
}

#[tokio::test]
async fn a_weekly_pattern_shows_in_the_daily_forecast() {
    let app = TestApp::new();
    let (vendor, location) = vendor_with_location(&app).await;
    let t = vendor.owner.token();
    app.put_demand_settings(t, &vendor.id, &location, "WEEKEND", &TestApp::demand_settings(None, 100))
        .await
        .expect(200);
    // 30 a day on Saturdays and Sundays, 5 on weekdays.
    let weekend = |d: chrono::NaiveDate| if d.weekday().num_days_from_monday() >= 5 { 30 } else { 5 };
    app.record_history(t, &vendor.id, &location, "WEEKEND", &daily_history(last_day_for_api_runs(), 400, weekend))
        .await;
    app.run_forecast(t, &vendor.id).await.expect(201);
    let f = app.sku_forecast(t, &vendor.id, "WEEKEND").await;
    let forecast = &f.expect(200)["locations"][0];
    let daily: Vec<f64> = forecast["daily"].as_array().unwrap().iter().filter_map(Value::as_f64).collect();
    assert_eq!(daily.len(), 28, "{f}");
    // The daily points are the days after the forecast's own last day of history.
    let as_of: NaiveDate =
        serde_json::from_value(forecast["as_of"].clone()).unwrap_or_else(|e| panic!("as_of: {e}: {f}"));
    let (mut weekend_days, mut weekdays) = (Vec::new(), Vec::new());
    for (i, units) in daily.iter().enumerate() {
        let day = as_of + chrono::Duration::days(1 + i as i64);
        if weekend(day) == 30 { weekend_days.push(*units) } else { weekdays.push(*units) }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean(&weekend_days) > 2.0 * mean(&weekdays), "weekends {weekend_days:?} vs weekdays {weekdays:?}");
}

#[tokio::test]
async fn bad_settings_and_sales_are_refused_naming_the_field_and_change_nothing() {
    let app = TestApp::new();
    let (vendor, location) = vendor_with_location(&app).await;
    let other = vendor_with_location(&app).await;
    let t = vendor.owner.token();
    let mut bad = TestApp::demand_settings(None, 5);
    bad["service_level"] = json!(1.2);
    app.put_demand_settings(t, &vendor.id, &location, "MILK", &bad).await.expect_invalid_field("service_level");
    bad = TestApp::demand_settings(None, -1);
    app.put_demand_settings(t, &vendor.id, &location, "MILK", &bad).await.expect_invalid_field("on_hand");
    let good = TestApp::demand_settings(None, 5);
    app.put_demand_settings(t, &vendor.id, &other.1, "MILK", &good).await.expect_error(404, "not_found");

    let today = today();
    // The day after tomorrow: in the future even if the date turns before the API reads its clock.
    let future = [(today - chrono::Duration::days(1), 4), (today + chrono::Duration::days(2), 4)];
    app.record_sales(t, &vendor.id, &location, "MILK", &future).await.expect_invalid_field("days[1].date");
    let negative = [(today, -1)];
    app.record_sales(t, &vendor.id, &location, "MILK", &negative).await.expect_invalid_field("days[0].units");
    let elsewhere = [(today, 3)];
    app.record_sales(t, &vendor.id, &other.1, "MILK", &elsewhere).await.expect_error(404, "not_found");

    let run = app.run_forecast(t, &vendor.id).await;
    assert_eq!(run.expect(201)["series"], 0, "no settings were stored: {run}");
    assert!(app.list_forecasts(t, &vendor.id, "").await.items().is_empty());
    app.sku_forecast(t, &vendor.id, "MILK").await.expect_error(404, "not_found");
}

#[tokio::test]
async fn vendor_b_can_never_read_or_change_vendor_a_forecasts() {
    let app = TestApp::new();
    let (a, a_location, _) = steady_and_idle(&app, last_day_for_api_runs()).await;
    app.run_forecast(a.owner.token(), &a.id).await.expect(201);
    let before = app.list_forecasts(a.owner.token(), &a.id, "").await.expect(200).clone();
    let (b, _) = vendor_with_location(&app).await;
    let b_manager = app.staff(&b, "inventory_manager").await;
    let (b_supplier, ..) = app.new_supplier(b.owner.token(), &b.id, 1).await;

    for attacker in [&b.owner, &b_manager] {
        let t = attacker.token();
        let settings = TestApp::demand_settings(Some(&b_supplier), 0);
        let answers = [
            app.list_forecasts(t, &a.id, "").await,
            app.sku_forecast(t, &a.id, "STEADY").await,
            app.replenishment(t, &a.id, "").await,
            app.put_demand_settings(t, &a.id, &a_location, "STEADY", &settings).await,
            app.record_sales(t, &a.id, &a_location, "STEADY", &[(today(), 999)]).await,
            app.run_forecast(t, &a.id).await,
        ];
        for resp in answers {
            resp.expect_error(403, "forbidden");
        }
        // A's location through B's own vendor is no location of B's.
        app.put_demand_settings(t, &b.id, &a_location, "STEADY", &settings).await.expect_error(404, "not_found");
        app.sku_forecast(t, &b.id, "STEADY").await.expect_error(404, "not_found");
    }
    let after = app.list_forecasts(a.owner.token(), &a.id, "").await;
    assert_eq!(after.expect(200), &before, "vendor A's forecasts are unchanged");
}

#[tokio::test]
async fn viewers_read_forecasts_but_catalog_editors_and_support_do_not() {
    let app = TestApp::new();
    let (vendor, location) = vendor_with_location(&app).await;
    let (viewer, editor, support) = tokio::join!(
        app.staff(&vendor, "viewer"),
        app.staff(&vendor, "catalog_editor"),
        app.user_with_platform_role("support"),
    );
    app.list_forecasts(viewer.token(), &vendor.id, "").await.expect(200);
    let settings = TestApp::demand_settings(None, 1);
    app.put_demand_settings(viewer.token(), &vendor.id, &location, "MILK", &settings)
        .await
        .expect_error(403, "forbidden");
    app.list_forecasts(editor.token(), &vendor.id, "").await.expect_error(403, "forbidden");
    app.replenishment(support.token(), &vendor.id, "").await.expect_error(403, "forbidden");
}

/// The nightly job run on demand for this test's vendors only, as of a day the test pins (the
/// scheduled run covers every vendor of the stack, which would reach other tests' data).
#[tokio::test]
async fn the_nightly_job_forecasts_just_the_vendor_it_is_given_from_history_up_to_the_given_day() {
    let app = TestApp::new();
    let as_of = today() - chrono::Duration::days(1);
    let ((vendor, ..), (neighbour, ..)) = tokio::join!(steady_and_idle(&app, as_of), steady_and_idle(&app, as_of));
    let t = vendor.owner.token();
    let request = json!({ "vendor_id": vendor.id, "as_of": as_of });

    let first = app.invoke(NIGHTLY, &request).await;
    let report = first.expect(200);
    assert_eq!(report["as_of"], as_of.to_string(), "{first}");
    assert_eq!(report["vendors"], 1, "{first}");
    assert_eq!(report["vendors_failed"], 0, "{first}");
    assert_eq!(report["runs"].as_array().map(Vec::len), Some(1), "only the vendor asked for: {first}");
    let run = &report["runs"][0];
    assert_eq!(run["vendor_id"], vendor.id.as_str(), "{first}");
    assert_eq!(run["as_of"], as_of.to_string(), "{first}");
    assert_eq!(run["status"], "finished", "{first}");
    assert_eq!(run["series"], 2, "{first}");
    assert!(num(report, "/peak_memory_mb") > 0.0, "{first}");
    let forecasts = app.list_forecasts(t, &vendor.id, "").await;
    assert_eq!(forecasts.items().len(), 2, "{forecasts}");
    for f in forecasts.items() {
        assert_eq!(f["as_of"], as_of.to_string(), "forecast from history up to the given day: {f}");
        assert_eq!(f["run_id"], run["run_id"], "{f}");
    }
    // The other vendor has demand data too, but was not asked for.
    let untouched = app.list_forecasts(neighbour.owner.token(), &neighbour.id, "").await;
    assert!(untouched.items().is_empty(), "{untouched}");

    // On demand it runs again for the same day, though the vendor is already done.
    let second = app.invoke(NIGHTLY, &request).await;
    let again = second.expect(200);
    assert_eq!(again["runs"].as_array().map(Vec::len), Some(1), "{second}");
    assert_eq!(again["runs"][0]["vendor_id"], vendor.id.as_str(), "{second}");
    assert_eq!(again["runs"][0]["series"], 2, "{second}");
    assert_ne!(again["runs"][0]["run_id"], run["run_id"], "a new run: {second}");
    let rewritten = app.list_forecasts(t, &vendor.id, "").await;
    assert_eq!(rewritten.items().len(), 2, "{rewritten}");
    assert!(rewritten.items().iter().all(|f| f["run_id"] == again["runs"][0]["run_id"]), "{rewritten}");

    // And the other vendor, once asked for, is forecast the same way.
    let theirs = app.invoke(NIGHTLY, &json!({ "vendor_id": neighbour.id, "as_of": as_of })).await;
    let theirs = theirs.expect(200);
    assert_eq!(theirs["runs"][0]["vendor_id"], neighbour.id.as_str(), "{theirs}");
    assert_eq!(app.list_forecasts(neighbour.owner.token(), &neighbour.id, "").await.items().len(), 2);
}

#[tokio::test]
async fn a_sku_stocked_at_two_locations_has_a_forecast_for_each() {
    let app = TestApp::new();
    let (vendor, first) = vendor_with_location(&app).await;
    let t = vendor.owner.token();
    let last_day = last_day_for_api_runs();
    let second = app.create_location(t, &vendor.id, &TestApp::location_body()).await;
    let second = second.expect(201)["id"].as_str().unwrap().to_string();
    let sku = format!("TEA-{}", &unique_tag()[..8]).to_uppercase();
    for (location, rate) in [(&first, 4), (&second, 12)] {
        app.put_demand_settings(t, &vendor.id, location, &sku, &TestApp::demand_settings(None, 50)).await.expect(200);
        app.record_history(t, &vendor.id, location, &sku, &daily_history(last_day, 200, |_| rate)).await;
    }
    app.run_forecast(t, &vendor.id).await.expect(201);
    let resp = app.sku_forecast(t, &vendor.id, &sku).await;
    let locations = resp.expect(200)["locations"].as_array().unwrap().clone();
    assert_eq!(locations.len(), 2, "{resp}");
    let by_location = |id: &str| locations.iter().find(|l| l["location_id"] == id).map(|l| num(l, "/demand_28d"));
    let (low, high) = (by_location(&first).unwrap(), by_location(&second).unwrap());
    assert!((low - 112.0).abs() <= 12.0 && (high - 336.0).abs() <= 34.0, "{low} {high}");
    let one = app.list_forecasts(t, &vendor.id, &format!("location_id={second}")).await;
    assert_eq!(one.items().len(), 1);
}

/// Rewrites a SKU-location's settings behind the API into the form they had before settings
/// referred to suppliers and categories: free codes, no ids.
async fn settings_as_written_before_references(
    app: &TestApp,
    vendor: &str,
    location: &str,
    sku: &str,
    supplier_code: &str,
    category_code: &str,
) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let key = [
        ("PK".to_string(), S(format!("DEMAND#{vendor}"))),
        ("SK".to_string(), S(format!("SETTINGS#{location}#{sku}"))),
    ];
    app.dynamodb()
        .await
        .update_item()
        .table_name(app.table_name())
        .set_key(Some(key.into_iter().collect()))
        .update_expression("SET supplier = :s, category = :c REMOVE supplier_id, category_id")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":s", S(supplier_code.into()))
        .expression_attribute_values(":c", S(category_code.into()))
        .send()
        .await
        .expect("the settings are rewritten");
}

/// The forecast of `sku` at the vendor's first location.
async fn forecast_of(app: &TestApp, vendor: &TestVendor, sku: &str) -> Value {
    app.sku_forecast(vendor.owner.token(), &vendor.id, sku).await.expect(200)["locations"][0].clone()
}

#[tokio::test]
async fn settings_written_with_codes_are_migrated_to_references_once_and_their_suggestions_ordered_from_the_supplier() {
    let app = TestApp::new();
    let admin = app.admin().await;
    let (vendor, location) = vendor_with_location(&app).await;
    let t = vendor.owner.token();
    // A catalog SKU (its product lends the category) and one Stockyard does not list.
    let category = app.plain_category(&admin).await;
    let product = app.draft_product(t, &vendor.id, &category).await;
    let sku = app.create_variant(t, &vendor.id, &product, &TestApp::variant_body()).await.expect(201)["sku"]
        .as_str()
        .unwrap()
        .to_string();
    let (supplier, code, _) = app.new_supplier(t, &vendor.id, 1).await;
    let loose = format!("LOOSE-{}", &unique_tag()[..8]).to_uppercase();
    for s in [sku.as_str(), loose.as_str()] {
        app.put_demand_settings(t, &vendor.id, &location, s, &TestApp::demand_settings(None, 0)).await.expect(200);
        app.record_history(t, &vendor.id, &location, s, &daily_history(last_day_for_api_runs(), 56, |_| 5)).await;
    }
    app.run_forecast(t, &vendor.id).await.expect(201);
    // As an earlier version left them: the supplier by its code (lower case, as typed), a
    // category code; the loose SKU's codes match nothing.
    settings_as_written_before_references(&app, &vendor.id, &location, &sku, &code.to_lowercase(), "PANTRY").await;
    settings_as_written_before_references(&app, &vendor.id, &location, &loose, "NOBODY", "NO-SUCH-CATEGORY").await;

    let payload = json!({ "vendor_id": vendor.id });
    let report = app.invoke("migrate-demand-references", &payload).await;
    let report = report.expect(200).clone();
    let counts =
        ["vendors", "settings", "migrated", "unresolved_suppliers", "unresolved_categories", "forecasts_relabelled"]
            .map(|k| report[k].as_u64().unwrap_or_else(|| panic!("{k}: {report}")));
    assert_eq!(counts, [1, 2, 1, 1, 1, 1], "{report}");
    let migrated = forecast_of(&app, &vendor, &sku).await;
    assert_eq!(
        (migrated["supplier_id"].as_str(), migrated["category_id"].as_str()),
        (Some(supplier.as_str()), Some(category.as_str()))
    );
    let unresolved = forecast_of(&app, &vendor, &loose).await;
    assert!(unresolved.get("supplier_id").is_none() && unresolved.get("category_id").is_none(), "{unresolved}");

    // Again: nothing left to do but the codes that match nothing.
    let again = app.invoke("migrate-demand-references", &payload).await;
    let again = again.expect(200);
    assert_eq!((again["migrated"].as_u64(), again["forecasts_relabelled"].as_u64()), (Some(0), Some(0)), "{again}");
    assert_eq!(again["unresolved_suppliers"], 1);

    // The supplier's draft holds the catalog SKU; the loose one names no supplier.
    let plan = app.replenishment(t, &vendor.id, "").await;
    let plan = plan.expect(200);
    let named: Vec<Option<&str>> =
        plan["suppliers"].as_array().unwrap().iter().map(|s| s["supplier_code"].as_str()).collect();
    assert_eq!(named, vec![Some(code.as_str()), None], "the supplier's order first, then those without: {plan}");
    let made = app.purchase_orders_from_suggestions(t, &vendor.id, &json!({}), None).await;
    let made = made.expect(201);
    assert_eq!(made["purchase_orders"].as_array().map(Vec::len), Some(1), "{made}");
    assert_eq!(made["purchase_orders"][0]["supplier"]["supplier_id"], supplier.as_str());
    assert_eq!(made["purchase_orders"][0]["lines"][0]["sku"], sku.as_str());
    assert_eq!(
        (made["not_ordered"][0]["sku"].as_str(), made["not_ordered"][0]["reason"].as_str()),
        (Some(loose.as_str()), Some("no_supplier"))
    );
}

#[tokio::test]
async fn a_forecast_run_migrates_the_settings_it_finds_with_codes_before_it_forecasts() {
    let app = TestApp::new();
    let (vendor, location) = vendor_with_location(&app).await;
    let t = vendor.owner.token();
    let (supplier, code, _) = app.new_supplier(t, &vendor.id, 1).await;
    app.put_demand_settings(t, &vendor.id, &location, "OATS", &TestApp::demand_settings(None, 0)).await.expect(200);
    app.record_history(t, &vendor.id, &location, "OATS", &daily_history(last_day_for_api_runs(), 56, |_| 5)).await;
    let category_code = format!("NO-SUCH-{}", &unique_tag()[..8]).to_uppercase();
    settings_as_written_before_references(&app, &vendor.id, &location, "OATS", &code, &category_code).await;

    app.run_forecast(t, &vendor.id).await.expect(201);
    let f = forecast_of(&app, &vendor, "OATS").await;
    assert_eq!(f["supplier_id"], supplier.as_str(), "{f}");
    let plan = app.replenishment(t, &vendor.id, &format!("supplier_id={supplier}")).await;
    assert_eq!(plan.expect(200)["suppliers"][0]["lines"][0]["sku"], "OATS");
    // What the run migrated stays migrated: the migration finds only the unmatched category code.
    let report = app.invoke("migrate-demand-references", &json!({ "vendor_id": vendor.id })).await;
    let report = report.expect(200);
    assert_eq!((report["migrated"].as_u64(), report["unresolved_categories"].as_u64()), (Some(0), Some(1)), "{report}");
}
