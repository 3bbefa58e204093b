//! Demand data against DynamoDB Local, through the real SDK: sales history years, concurrent
//! writers, forecasts written in batches and read back in pages, the replenishment index and the
//! sparse listing of vendors. An in-crate test module run like `emulator_tests`; every test uses
//! fresh vendors.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use stockyard_domain::demand::Risk;
use stockyard_domain::ids::{CategoryId, ForecastRunId, LocationId, SupplierId, VendorId};

use crate::PageRequest;
use crate::demand::{self, DemandSettingsRecord, ForecastRecord, ForecastRunRecord, RunStatus};

use crate::emulator_tests::table;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn daily_units_across_a_year_boundary_round_trip_and_a_later_write_replaces_only_its_days() {
    let table = table().await;
    let (vendor, location) = (VendorId::generate(), LocationId::generate());
    let days = [(date("2025-12-30"), 4), (date("2025-12-31"), 300), (date("2026-01-01"), 0), (date("2026-01-02"), 7)];
    let (years, _) = demand::set_daily_units(&table, vendor, location, "MILK-1L", &days).await.unwrap();
    assert_eq!(years, 2);

    let y2025 = demand::history_year(&table, vendor, location, "MILK-1L", 2025).await.unwrap().unwrap();
    let units = y2025.daily_units().unwrap();
    assert_eq!(units.len(), 365);
    assert_eq!(&units[363..], &[4, 300]);
    assert!(units[..363].iter().all(|u| *u == 0));
    let y2026 = demand::history_year(&table, vendor, location, "MILK-1L", 2026).await.unwrap().unwrap();
    assert_eq!(y2026.daily_units().unwrap(), vec![0, 7]);
    assert!(y2026.units.len() <= 2, "one byte a day for small counts");

    demand::set_daily_units(&table, vendor, location, "MILK-1L", &[(date("2025-12-31"), 5)]).await.unwrap();
    let again = demand::history_year(&table, vendor, location, "MILK-1L", 2025).await.unwrap().unwrap();
    assert_eq!(&again.daily_units().unwrap()[363..], &[4, 5]);
    assert_eq!(again.version, y2025.version + 1);

    let all = demand::read_history(&table, vendor, &[location], 2026).await.unwrap();
    assert_eq!(all.iter().map(|h| h.year).collect::<Vec<_>>(), vec![2026], "years before the first are filtered out");
    let all = demand::read_history(&table, vendor, &[location, LocationId::generate()], 2000).await.unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn concurrent_writers_of_one_year_lose_no_day() {
    let table = table().await;
    let (vendor, location) = (VendorId::generate(), LocationId::generate());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..6u32 {
        let table = table.clone();
        tasks.spawn(async move {
            let day = date("2026-03-01") + Duration::days(i64::from(i));
            demand::set_daily_units(&table, vendor, location, "EGGS-12", &[(day, i + 1)]).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let year = demand::history_year(&table, vendor, location, "EGGS-12", 2026).await.unwrap().unwrap();
    let units = year.daily_units().unwrap();
    let march1 = date("2026-03-01").format("%j").to_string().parse::<usize>().unwrap() - 1;
    assert_eq!(&units[march1..march1 + 6], &[1, 2, 3, 4, 5, 6]);
    assert_eq!(year.version, 6);
}

fn forecast(
    vendor: VendorId,
    location: LocationId,
    sku: &str,
    supplier: Option<SupplierId>,
    order_qty: f64,
    risk: Risk,
) -> ForecastRecord {
    ForecastRecord {
        vendor_id: vendor,
        location_id: location,
        sku: sku.into(),
        supplier_id: supplier,
        category_id: Some(CategoryId::generate()),
        model: if risk == Risk::None { "pooled_profile".into() } else { "croston_sba".into() },
        daily: vec![1.5; 28],
        demand_28d: 42.0,
        lead_time_days: 3,
        review_period_days: 7,
        service_level: 0.95,
        expected_demand: 15.0,
        p90: 19.0,
        p95: 21.0,
        p98: 24.0,
        on_hand: 4,
        incoming: 0,
        stock_source: demand::StockSource::Tracked,
        safety_stock: 6.0,
        reorder_point: 10.0,
        order_up_to: 21.0,
        order_qty,
        days_of_cover: Some(2.7),
        review: None,
        risk,
        run_id: ForecastRunId::generate(),
        as_of: date("2026-11-24"),
        generated_at: Utc::now(),
    }
}

#[tokio::test]
async fn forecasts_are_written_in_batches_and_read_back_in_pages_by_location_then_sku() {
    let table = table().await;
    let vendor = VendorId::generate();
    let (a, b) = (LocationId::generate(), LocationId::generate());
    let (acme, other) = (SupplierId::generate(), SupplierId::generate());
    let mut all = Vec::new();
    for i in 0..40u32 {
        let location = if i.is_multiple_of(2) { a } else { b };
        let (qty, risk) = match i % 5 {
            0 => (12.0, Risk::StockOut),
            1 => (0.0, Risk::Overstock),
            2 => (6.0, Risk::None),
            _ => (0.0, Risk::None),
        };
        let supplier = [Some(acme), Some(other), None][i as usize % 3];
        all.push(forecast(vendor, location, &format!("SKU-{i:03}"), supplier, qty, risk));
    }
    assert_eq!(demand::write_forecasts(&table, &all, 4).await.unwrap(), 40);
    // Re-running overwrites the same items.
    assert_eq!(demand::write_forecasts(&table, &all, 4).await.unwrap(), 40);

    let mut read = Vec::new();
    let mut page = PageRequest::first(7);
    loop {
        let next = demand::forecasts(&table, vendor, None, None, None, &page).await.unwrap();
        assert!(next.items.len() <= 7);
        assert!(!next.partial, "40 forecasts are read well within the budget");
        if next.next_cursor.is_some() {
            assert_eq!(next.items.len(), 7, "only a full page has a next page");
        }
        read.extend(next.items.into_iter().map(|f| (f.location_id, f.sku)));
        match next.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    let mut expected: Vec<_> = all.iter().map(|f| (f.location_id, f.sku.clone())).collect();
    expected.sort_by_key(|(l, s)| (l.to_string(), s.clone()));
    assert_eq!(read, expected);

    let at_a = demand::forecasts(&table, vendor, Some(a), None, None, &PageRequest::first(100)).await.unwrap();
    assert_eq!(at_a.items.len(), 20);
    assert_eq!(at_a.next_cursor, None);
    assert!(at_a.items.iter().all(|f| f.location_id == a));
    let stock_outs =
        demand::forecasts(&table, vendor, None, Some(Risk::StockOut), Some("croston_sba"), &PageRequest::first(100))
            .await
            .unwrap();
    assert_eq!(stock_outs.items.len(), 8);
    assert!(stock_outs.items.iter().all(|f| f.risk == Risk::StockOut && f.model == "croston_sba"));
    assert!(!stock_outs.partial && stock_outs.next_cursor.is_none());
    // A filtered page is filled past the items that do not match: 8 stock-outs among 40, 3 a page.
    let first =
        demand::forecasts(&table, vendor, None, Some(Risk::StockOut), None, &PageRequest::first(3)).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert!(first.items.iter().all(|f| f.risk == Risk::StockOut));

    let actionable = demand::actionable(&table, vendor, None).await.unwrap();
    assert_eq!(actionable.len(), all.iter().filter(|f| f.actionable()).count());
    let unassigned = actionable.iter().position(|f| f.supplier_id.is_none()).expect("some without a supplier");
    assert!(actionable[unassigned..].iter().all(|f| f.supplier_id.is_none()), "those without a supplier come last");
    let of_acme = demand::actionable(&table, vendor, Some(acme)).await.unwrap();
    assert!(!of_acme.is_empty() && of_acme.iter().all(|f| f.supplier_id == Some(acme)));
    let elsewhere = demand::actionable(&table, VendorId::generate(), None).await.unwrap();
    assert!(elsewhere.is_empty());
}

#[tokio::test]
async fn a_vendor_is_listed_for_the_nightly_run_once_however_often_its_settings_change() {
    let table = table().await;
    let vendor = VendorId::generate();
    let settings = DemandSettingsRecord {
        vendor_id: vendor,
        location_id: LocationId::generate(),
        sku: "MILK-1L".into(),
        supplier_id: Some(SupplierId::generate()),
        category_id: None,
        unresolved_supplier_code: None,
        unresolved_category_code: None,
        lead_time_days: 3,
        review_period_days: 7,
        service_level: 0.95,
        min_order_qty: 0,
        pack_multiple: 1,
        on_hand: 10,
        incoming: 0,
        updated_at: Utc::now(),
    };
    demand::put_settings(&table, &settings).await.unwrap();
    demand::put_settings(&table, &DemandSettingsRecord { on_hand: 3, ..settings.clone() }).await.unwrap();
    let stored = demand::all_settings(&table, vendor).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].on_hand, 3);

    let mut page = PageRequest::first(100);
    let mut seen = 0;
    loop {
        let next = demand::vendors(&table, &page).await.unwrap();
        seen += next.items.iter().filter(|m| m.vendor_id == vendor).count();
        match next.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, 1);
}

#[tokio::test]
async fn the_latest_run_is_the_newest_one() {
    let table = table().await;
    let vendor = VendorId::generate();
    assert!(demand::latest_run(&table, vendor).await.unwrap().is_none());
    for status in [RunStatus::Failed, RunStatus::Finished] {
        let run = ForecastRunRecord {
            run_id: ForecastRunId::generate(),
            vendor_id: vendor,
            as_of: date("2026-11-24"),
            trigger: "schedule".into(),
            status,
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            series: 3,
            forecasts_written: 3,
            orders_suggested: 1,
            at_risk: 0,
            duration_ms: Some(12),
            error: None,
            rejected: Vec::new(),
        };
        demand::put_run(&table, &run).await.unwrap();
    }
    assert_eq!(demand::latest_run(&table, vendor).await.unwrap().unwrap().status, RunStatus::Finished);
}

#[tokio::test]
async fn a_vendors_day_is_claimed_by_one_worker_finished_once_and_failures_are_listed_until_done() {
    use demand::{Claim, DayStatus};
    let table = table().await;
    let (vendor, other) = (VendorId::generate(), VendorId::generate());
    // A day no test shares: the nightly run record of a day is global.
    let as_of = date("2031-01-01") + Duration::days(i64::from(rand_day()));
    let lease = std::time::Duration::from_secs(300);

    // Two deliveries of the same message: the first claims, the second finds it busy.
    let Claim::Held(held) = demand::claim_vendor_day(&table, vendor, as_of, "first", lease).await.unwrap() else {
        panic!("the first claim holds the day")
    };
    assert!(matches!(demand::claim_vendor_day(&table, vendor, as_of, "second", lease).await.unwrap(), Claim::Busy(_)));

    // The holder fails: the day is listed as failed and claimable again.
    demand::fail_vendor_day(&table, &held, "the store was unreachable").await.unwrap();
    let failed = demand::failed_vendor_days(&table, as_of).await.unwrap();
    assert_eq!(failed.iter().map(|d| d.vendor_id).collect::<Vec<_>>(), vec![vendor]);
    assert_eq!(failed[0].error.as_deref(), Some("the store was unreachable"));
    // The stale holder cannot finish what it no longer holds.
    let Claim::Held(again) = demand::claim_vendor_day(&table, vendor, as_of, "third", lease).await.unwrap() else {
        panic!("a failed day is claimed again")
    };
    assert_eq!(again.attempts, 2);
    assert!(demand::finish_vendor_day(&table, &held, ForecastRunId::generate(), 10).await.is_err());
    demand::finish_vendor_day(&table, &again, ForecastRunId::generate(), 10).await.unwrap();

    // Done is done: a late duplicate does nothing, and the failure listing is empty.
    assert_eq!(demand::claim_vendor_day(&table, vendor, as_of, "fourth", lease).await.unwrap(), Claim::Done);
    assert_eq!(demand::vendor_day(&table, vendor, as_of).await.unwrap().map(|d| d.status), Some(DayStatus::Done));
    assert!(demand::failed_vendor_days(&table, as_of).await.unwrap().is_empty());

    // The run counts one vendor done, one failed attempt, its series; the enqueue count is kept.
    let Claim::Held(other_day) = demand::claim_vendor_day(&table, other, as_of, "x", lease).await.unwrap() else {
        panic!("another vendor's day is free")
    };
    demand::finish_vendor_day(&table, &other_day, ForecastRunId::generate(), 5).await.unwrap();
    demand::record_enqueued(&table, as_of, 2).await.unwrap();
    demand::record_enqueued(&table, as_of, 1).await.unwrap(); // a smaller recount never lowers it
    let run = demand::nightly_run(&table, as_of).await.unwrap().unwrap();
    assert_eq!((run.vendors, run.done, run.failed_attempts, run.series), (2, 2, 1, 15));
}

/// A day offset unlikely to collide between test runs sharing an emulator.
fn rand_day() -> u32 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 20_000) as u32
}

/// A sale record as a channel's sale writes it, for the history's aggregation.
fn sale(
    vendor: VendorId,
    location: LocationId,
    channel: stockyard_domain::ids::ChannelId,
    id: &str,
    quantity: i64,
) -> stockyard_domain::channel::SaleRecord {
    stockyard_domain::channel::SaleRecord {
        vendor_id: vendor,
        channel_id: channel,
        channel_kind: stockyard_domain::channel::ChannelKind::Pos,
        sale_id: id.into(),
        location_id: location,
        variant_id: stockyard_domain::ids::VariantId::generate(),
        product_id: stockyard_domain::ids::ProductId::generate(),
        sku: "MILK-1L".into(),
        quantity,
        unit_price: None,
        currency: None,
        country: None,
        region: None,
        sold_at: Utc::now(),
        recorded_at: Utc::now(),
        stock_version: Some(1),
        restocked: None,
        returns_sale_id: None,
        returned: 0,
    }
}

#[tokio::test]
async fn channel_sales_are_counted_once_however_often_delivered_and_replace_an_imported_day() {
    use crate::channels::{self, SaleKind};
    use crate::demand::ChannelUnits;
    let table = table().await;
    let (vendor, location, channel) =
        (VendorId::generate(), LocationId::generate(), stockyard_domain::ids::ChannelId::generate());
    let today = Utc::now().date_naive();
    demand::set_daily_units(&table, vendor, location, "MILK-1L", &[(today, 40)]).await.unwrap();
    let records = [sale(vendor, location, channel, "s1", 3), sale(vendor, location, channel, "s2", 2)];
    for record in &records {
        let mut tx = table.tx();
        channels::record(&mut tx, record).unwrap();
        table.commit(tx).await.unwrap();
    }
    let units = |r: &stockyard_domain::channel::SaleRecord| ChannelUnits {
        sale: (channel, SaleKind::Sale, r.sale_id.clone()),
        day: today,
        quantity: r.quantity,
    };
    let all: Vec<ChannelUnits> = records.iter().map(units).collect();
    let twice: Vec<ChannelUnits> = all.iter().chain(all.iter()).cloned().collect();
    assert_eq!(demand::add_channel_units(&table, vendor, location, "MILK-1L", &twice).await.unwrap(), 2);
    assert_eq!(
        demand::add_channel_units(&table, vendor, location, "MILK-1L", &all[..1]).await.unwrap(),
        0,
        "delivered again"
    );
    let year = demand::history_year(&table, vendor, location, "MILK-1L", today.year()).await.unwrap().unwrap();
    let day = today.ordinal0() as usize;
    assert_eq!(year.daily_units().unwrap()[day], 5, "channel sales replace the imported 40, each counted once");
    assert!(year.channel_day(day));
    let (_, kept) = demand::set_daily_units(&table, vendor, location, "MILK-1L", &[(today, 1)]).await.unwrap();
    assert_eq!(kept, 1, "an import never overwrites a channel day");
}
