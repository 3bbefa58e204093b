//! Demand forecasting through the API: settings and sales in, a run, forecasts and replenishment
//! out; validation that changes nothing; vendor isolation; the nightly schedule.

use chrono::Datelike;
use serde_json::{Value, json};
use stockyard_tests::{TestApp, TestVendor, unique_tag};

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

/// STEADY sells 10 a day for two years; IDLE never sold. Both at one location, supplier ACME.
async fn steady_and_idle(app: &TestApp) -> (TestVendor, String) {
    let (vendor, location) = vendor_with_location(app).await;
    let t = vendor.owner.token();
    app.put_demand_settings(t, &vendor.id, &location, "STEADY", &TestApp::demand_settings("PANTRY", "ACME", 20))
        .await
        .expect(200);
    app.put_demand_settings(t, &vendor.id, &location, "IDLE", &TestApp::demand_settings("PANTRY", "ACME", 0))
        .await
        .expect(200);
    app.record_history(t, &vendor.id, &location, "STEADY", 730, |_| 10).await;
    app.record_history(t, &vendor.id, &location, "IDLE", 366, |_| 0).await;
    (vendor, location)
}

#[tokio::test]
async fn a_steady_seller_is_forecast_near_its_rate_and_ordered_up_to_its_need_while_an_idle_sku_orders_nothing() {
    let app = TestApp::new();
    let (vendor, location) = steady_and_idle(&app).await;
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
    assert_eq!(plan["suppliers"][0]["supplier"], "ACME");
    assert_eq!(plan["suppliers"][0]["lines"].as_array().map(Vec::len), Some(1), "only STEADY orders: {plan}");
    assert_eq!(plan["suppliers"][0]["lines"][0]["sku"], "STEADY");
    assert_eq!(num(plan, "/suppliers/0/total_units"), order_qty);
    assert!(plan["at_risk"].as_array().unwrap().iter().any(|l| l["sku"] == "STEADY" && l["risk"] == "stock_out"));
    let other = app.replenishment(t, &vendor.id, "supplier=OTHER").await;
    assert!(other.expect(200)["suppliers"].as_array().unwrap().is_empty());

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
    app.put_demand_settings(t, &vendor.id, &location, "WEEKEND", &TestApp::demand_settings("BAKERY", "ACME", 100))
        .await
        .expect(200);
    // 30 a day on Saturdays and Sundays, 5 on weekdays.
    let weekend = |d: chrono::NaiveDate| if d.weekday().num_days_from_monday() >= 5 { 30 } else { 5 };
    app.record_history(t, &vendor.id, &location, "WEEKEND", 400, weekend).await;
    app.run_forecast(t, &vendor.id).await.expect(201);
    let f = app.sku_forecast(t, &vendor.id, "WEEKEND").await;
    let daily: Vec<f64> =
        f.expect(200)["locations"][0]["daily"].as_array().unwrap().iter().filter_map(Value::as_f64).collect();
    let today = chrono::Utc::now().date_naive();
    let (mut weekend_days, mut weekdays) = (Vec::new(), Vec::new());
    for (i, units) in daily.iter().enumerate() {
        let day = today + chrono::Duration::days(i as i64);
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
    let mut bad = TestApp::demand_settings("DAIRY", "ACME", 5);
    bad["service_level"] = json!(1.2);
    app.put_demand_settings(t, &vendor.id, &location, "MILK", &bad).await.expect_invalid_field("service_level");
    bad = TestApp::demand_settings("DAIRY", "ACME", -1);
    app.put_demand_settings(t, &vendor.id, &location, "MILK", &bad).await.expect_invalid_field("on_hand");
    let good = TestApp::demand_settings("DAIRY", "ACME", 5);
    app.put_demand_settings(t, &vendor.id, &other.1, "MILK", &good).await.expect_error(404, "not_found");

    let today = chrono::Utc::now().date_naive();
    let future = [(today - chrono::Duration::days(1), 4), (today + chrono::Duration::days(1), 4)];
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
    let (a, a_location) = steady_and_idle(&app).await;
    app.run_forecast(a.owner.token(), &a.id).await.expect(201);
    let before = app.list_forecasts(a.owner.token(), &a.id, "").await.expect(200).clone();
    let (b, _) = vendor_with_location(&app).await;
    let b_manager = app.staff(&b, "inventory_manager").await;

    for attacker in [&b.owner, &b_manager] {
        let t = attacker.token();
        let settings = TestApp::demand_settings("PANTRY", "EVIL", 0);
        let answers = [
            app.list_forecasts(t, &a.id, "").await,
            app.sku_forecast(t, &a.id, "STEADY").await,
            app.replenishment(t, &a.id, "").await,
            app.put_demand_settings(t, &a.id, &a_location, "STEADY", &settings).await,
            app.record_sales(t, &a.id, &a_location, "STEADY", &[(chrono::Utc::now().date_naive(), 999)]).await,
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
    let settings = TestApp::demand_settings("DAIRY", "ACME", 1);
    app.put_demand_settings(viewer.token(), &vendor.id, &location, "MILK", &settings)
        .await
        .expect_error(403, "forbidden");
    app.list_forecasts(editor.token(), &vendor.id, "").await.expect_error(403, "forbidden");
    app.replenishment(support.token(), &vendor.id, "").await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn the_nightly_schedule_forecasts_vendors_with_demand_data_and_a_rerun_resumes_past_finished_ones() {
    let app = TestApp::new();
    let (vendor, _) = steady_and_idle(&app).await;
    let t = vendor.owner.token();

    let first = app.run_schedule("nightly-demand-forecast").await;
    let report = first.expect(200);
    let ran_for_us =
        report["runs"].as_array().unwrap().iter().any(|r| r["vendor_id"] == vendor.id.as_str() && r["series"] == 2);
    assert!(ran_for_us, "{first}");
    assert!(num(report, "/peak_memory_mb") > 0.0, "{first}");
    assert_eq!(app.list_forecasts(t, &vendor.id, "").await.items().len(), 2);

    // The same day again: this vendor is already done, so the run skips it.
    let second = app.run_schedule("nightly-demand-forecast").await;
    let again = second.expect(200);
    assert!(!again["runs"].as_array().unwrap().iter().any(|r| r["vendor_id"] == vendor.id.as_str()), "{second}");
    assert!(num(again, "/vendors_skipped") >= 1.0, "{second}");

    // On demand for one vendor it runs again regardless.
    let once = app.invoke("nightly-demand-forecast", &json!({ "vendor_id": vendor.id })).await;
    let once = once.expect(200);
    assert_eq!(once["runs"].as_array().map(Vec::len), Some(1), "{once}");
    assert_eq!(once["runs"][0]["vendor_id"], vendor.id.as_str());
}

#[tokio::test]
async fn a_sku_stocked_at_two_locations_has_a_forecast_for_each() {
    let app = TestApp::new();
    let (vendor, first) = vendor_with_location(&app).await;
    let t = vendor.owner.token();
    let second = app.create_location(t, &vendor.id, &TestApp::location_body()).await;
    let second = second.expect(201)["id"].as_str().unwrap().to_string();
    let sku = format!("TEA-{}", &unique_tag()[..8]).to_uppercase();
    for (location, rate) in [(&first, 4), (&second, 12)] {
        app.put_demand_settings(t, &vendor.id, location, &sku, &TestApp::demand_settings("DRINKS", "LEAF", 50))
            .await
            .expect(200);
        app.record_history(t, &vendor.id, location, &sku, 200, |_| rate).await;
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
