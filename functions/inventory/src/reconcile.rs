//! `reconcile-stock`: recomputes every stock item's on hand from its ledger and reports drift.
//! Scheduled daily; `{ "vendor_id": "..." }` reconciles one vendor on demand.
//!
//! A stock item and its movement are written in one transaction, so the ledger of an item at
//! version n sums to its on hand at version n. The item is read first (strongly consistent), then
//! its ledger, and only movements up to the item's version count: a change committed between the
//! two reads is not drift. Reserved units are checked the same way (the movements' reserved
//! changes add up to the item's reserved units).

use anyhow::{Context, anyhow};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stockyard_domain::ids::{LocationId, VendorId};
use stockyard_store::{PageRequest, Table, stock, vendors};

pub struct JobDeps {
    pub table: Table,
}

impl JobDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { table: Table::from_env(sdk)? })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconcileRequest {
    vendor_id: Option<String>,
}

/// One stock item whose on hand disagrees with its ledger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Drift {
    pub vendor_id: VendorId,
    pub sku: String,
    pub location_id: LocationId,
    pub version: u64,
    pub on_hand: u32,
    /// What the ledger's movements up to `version` add up to.
    pub ledger_on_hand: i64,
    /// Units reserved on the item, and what the ledger's reserved changes add up to.
    #[serde(default)]
    pub reserved: u32,
    #[serde(default)]
    pub ledger_reserved: i64,
    /// Movements found up to `version` (a complete ledger has exactly `version`).
    pub movements: u64,
    /// A stock shard of the item whose ledger disagrees (then `on_hand` is its allotment), or
    /// whose allotments do not add up to the item's `allotted` (then `on_hand` is that sum,
    /// `ledger_on_hand` the item's `allotted`, and `shard` the highest shard read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u8>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReconcileReport {
    pub vendors: u32,
    pub stock_items: u32,
    pub drifted: Vec<Drift>,
}

/// Recomputes one stock item from its ledger; `None` when they agree.
pub async fn reconcile_item(table: &Table, item: &stockyard_domain::stock::StockItem) -> anyhow::Result<Option<Drift>> {
    let Some(item) = stock::get(table, item.vendor_id, item.variant_id, item.location_id).await? else {
        return Ok(None);
    };
    if (item.shards > 0 || item.allotted > 0)
        && let Some(drift) = reconcile_shards(table, &item).await?
    {
        return Ok(Some(drift));
    }
    let ledger = stock::all_movements(table, item.vendor_id, item.variant_id, item.location_id).await?;
    let counted: Vec<_> = ledger.iter().filter(|m| m.version <= item.version).collect();
    let ledger_on_hand: i64 = counted.iter().map(|m| m.quantity).sum();
    let ledger_reserved: i64 = counted.iter().map(|m| m.reserved_change).sum();
    let movements = counted.len() as u64;
    if ledger_on_hand == i64::from(item.on_hand)
        && ledger_reserved == i64::from(item.reserved)
        && movements == item.version
    {
        return Ok(None);
    }
    Ok(Some(Drift {
        vendor_id: item.vendor_id,
        sku: item.sku.clone(),
        location_id: item.location_id,
        version: item.version,
        on_hand: item.on_hand,
        ledger_on_hand,
        reserved: item.reserved,
        ledger_reserved,
        movements,
        shard: None,
    }))
}

/// Recomputes every stock shard an item may have from its own ledger, and the item's `allotted`
/// from the shards' allotments; the first disagreement found, if any.
async fn reconcile_shards(table: &Table, item: &stockyard_domain::stock::StockItem) -> anyhow::Result<Option<Drift>> {
    let id = (item.vendor_id, item.variant_id, item.location_id);
    let shards: Vec<_> =
        stock::shards_of(table, item, stockyard_domain::stock::MAX_SHARDS).await?.into_iter().flatten().collect();
    let drift = |shard, (version, on_hand, ledger_on_hand), (reserved, ledger_reserved), movements| Drift {
        vendor_id: item.vendor_id,
        sku: item.sku.clone(),
        location_id: item.location_id,
        version,
        on_hand,
        ledger_on_hand,
        reserved,
        ledger_reserved,
        movements,
        shard: Some(shard),
    };
    for shard in &shards {
        let ledger = stock::all_shard_movements(table, id, shard.shard).await?;
        let counted: Vec<_> = ledger.iter().filter(|m| m.version <= shard.version).collect();
        let allotted: i64 = counted.iter().map(|m| m.quantity).sum();
        let reserved: i64 = counted.iter().map(|m| m.reserved_change).sum();
        if allotted != i64::from(shard.allotted)
            || reserved != i64::from(shard.reserved)
            || counted.len() as u64 != shard.version
        {
            let numbers = (shard.version, shard.allotted, allotted);
            return Ok(Some(drift(shard.shard, numbers, (shard.reserved, reserved), counted.len() as u64)));
        }
    }
    let allotted: u32 = shards.iter().map(|s| s.allotted).sum();
    if allotted != item.allotted {
        // A split made meanwhile moves both: only an item that stayed as read has drifted.
        let now = stock::get(table, item.vendor_id, item.variant_id, item.location_id).await?;
        if now.is_none_or(|now| now.version != item.version) {
            return Ok(None);
        }
        let last = stockyard_domain::stock::MAX_SHARDS - 1;
        let numbers = (item.version, allotted, i64::from(item.allotted));
        return Ok(Some(drift(last, numbers, (item.reserved, i64::from(item.reserved)), item.version)));
    }
    Ok(None)
}

async fn reconcile_vendor(table: &Table, vendor: VendorId, report: &mut ReconcileReport) -> anyhow::Result<()> {
    let items = stock::of_vendor(table, vendor, None, usize::MAX).await?;
    report.vendors += 1;
    for item in &items {
        report.stock_items += 1;
        if let Some(drift) = reconcile_item(table, item).await? {
            tracing::error!(
                vendor = %drift.vendor_id, sku = drift.sku, location = %drift.location_id, on_hand = drift.on_hand,
                ledger_on_hand = drift.ledger_on_hand, reserved = drift.reserved,
                ledger_reserved = drift.ledger_reserved, version = drift.version, movements = drift.movements,
                "stock drift: on hand or reserved disagrees with the ledger"
            );
            report.drifted.push(drift);
        }
    }
    tracing::info!(%vendor, stock_items = items.len(), drifted = report.drifted.len(), "vendor reconciled");
    Ok(())
}

pub async fn handle(deps: &JobDeps, event: LambdaEvent<Value>) -> Result<ReconcileReport, lambda_runtime::Error> {
    let request: ReconcileRequest = if event.payload.get("source").and_then(Value::as_str) == Some("aws.events") {
        ReconcileRequest::default()
    } else {
        serde_json::from_value(event.payload.clone()).context("the payload is { \"vendor_id\"? }")?
    };
    let mut report = ReconcileReport::default();
    match request.vendor_id {
        Some(raw) => {
            let vendor = VendorId::parse("vendor_id", &raw).map_err(|e| anyhow!("{e}"))?;
            reconcile_vendor(&deps.table, vendor, &mut report).await?;
        }
        None => {
            let mut page = PageRequest { limit: 100, cursor: None, newest_first: false };
            loop {
                let found = vendors::list(&deps.table, &page, None).await?;
                for vendor in &found.items {
                    reconcile_vendor(&deps.table, vendor.id, &mut report).await?;
                }
                match found.next_cursor {
                    Some(cursor) => page.cursor = Some(cursor),
                    None => break,
                }
            }
        }
    }
    tracing::info!(
        vendors = report.vendors,
        stock_items = report.stock_items,
        drifted = report.drifted.len(),
        "stock reconciled"
    );
    Ok(report)
}
