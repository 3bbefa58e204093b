//! What scans leave behind so that they apply once: the changes a scan made (claimed in the
//! transaction of the stock change, so a retried scan applies nothing twice), the serialised
//! units received (one physical unit is received once), and each reader's recent tag reads (a
//! tag a reader sees again within a few seconds counts once).

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{LocationId, VariantId, VendorId};
use stockyard_domain::scan::{ScanAction, Unit};
use stockyard_domain::stock::{Movement, StockItem};

use crate::entity::Entity;
use crate::table::Expr;
use crate::tx::Tx;
use crate::{StoreError, Table, keys};

/// How long a scan's changes are remembered: a device retrying a scan later than this applies it
/// again.
pub const LINE_RETENTION: Duration = Duration::days(30);

/// The step of [`claim_line`] that fails when the scan made this change already.
pub const LINE_CLAIMED: &str = "scan_line";
/// The steps of [`claim_unit`] are `unit:<i>`, `i` the unit's index in the caller's list.
const UNIT_STEP: &str = "unit";

/// One change a scan made (a receipt or a count of one item, or of one batch of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanLineRecord {
    pub vendor_id: VendorId,
    pub scan_id: String,
    /// Names the change within the scan (its action, item, batch and part).
    pub line: String,
    pub action: ScanAction,
    pub location_id: LocationId,
    pub variant_id: VariantId,
    pub sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Units received, or counted.
    pub units: u32,
    /// A count: what was on record just before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<u32>,
    /// The stock item's version the change made.
    pub stock_version: u64,
    pub recorded_at: DateTime<Utc>,
    pub expires_at: i64,
}

impl Entity for ScanLineRecord {
    type Id = (VendorId, String, String);
    const NAME: &'static str = "scan line";
    fn key((vendor, scan, line): &Self::Id) -> keys::Key {
        keys::scan_line(*vendor, scan, line)
    }
    fn key_of(&self) -> keys::Key {
        keys::scan_line(self.vendor_id, &self.scan_id, &self.line)
    }
}

/// A serialised unit received into stock (by its tag or its GS1 code with a serial).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRecord {
    pub vendor_id: VendorId,
    pub gtin14: String,
    pub serial: String,
    pub variant_id: VariantId,
    pub sku: String,
    pub location_id: LocationId,
    /// The scan that received it.
    pub scan_id: String,
    pub received_at: DateTime<Utc>,
}

impl UnitRecord {
    pub fn unit(&self) -> Unit {
        Unit { gtin14: self.gtin14.clone(), serial: self.serial.clone() }
    }
}

impl Entity for UnitRecord {
    type Id = (VendorId, Unit);
    const NAME: &'static str = "received unit";
    fn key((vendor, unit): &Self::Id) -> keys::Key {
        keys::received_unit(*vendor, unit)
    }
    fn key_of(&self) -> keys::Key {
        keys::received_unit(self.vendor_id, &self.unit())
    }
}

/// A reader's last counted read of a tag: until `until_ms` the same reader's reads of it are
/// repeats (unless they come from the scan that counted it, retried).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagReadRecord {
    pub vendor_id: VendorId,
    pub reader_id: String,
    pub gtin14: String,
    pub serial: String,
    pub scan_id: String,
    /// Milliseconds since the Unix epoch (compared as a number in the claim's condition).
    pub until_ms: i64,
    /// TTL: DynamoDB removes it some time after.
    pub expires_at: i64,
}

impl Entity for TagReadRecord {
    type Id = (VendorId, String, Unit);
    const NAME: &'static str = "tag read";
    fn key((vendor, reader, unit): &Self::Id) -> keys::Key {
        keys::tag_read(*vendor, reader, unit)
    }
    fn key_of(&self) -> keys::Key {
        keys::tag_read(
            self.vendor_id,
            &self.reader_id,
            &Unit { gtin14: self.gtin14.clone(), serial: self.serial.clone() },
        )
    }
}

/// Reads made at once when looking several items up.
const PARALLEL_READS: usize = 16;

/// The change `line` of a scan, if the scan made it.
pub async fn line(
    table: &Table,
    vendor: VendorId,
    scan_id: &str,
    line: &str,
) -> Result<Option<ScanLineRecord>, StoreError> {
    table.get::<ScanLineRecord>(&(vendor, scan_id.to_string(), line.to_string())).await
}

/// Adds the record of a scan's change to its transaction, once: step [`LINE_CLAIMED`] fails when
/// the scan made this change before.
/// A scan's change of one stock item (see [`crate::stock::change`]) with the scan's line and the
/// serialised units it receives, each claimed once: the line under [`LINE_CLAIMED`], unit `i` of
/// `units` under `unit:<i>` (see [`unit_step`]).
pub fn change(
    table: &Table,
    before: Option<&StockItem>,
    after: &StockItem,
    movement: &Movement,
    line: &ScanLineRecord,
    units: &[UnitRecord],
) -> Result<Tx, StoreError> {
    let mut tx = crate::stock::change(table, before, after, movement, 0)?;
    claim_line(&mut tx, line)?;
    for (index, unit) in units.iter().enumerate() {
        claim_unit(&mut tx, index, unit)?;
    }
    Ok(tx)
}

pub(crate) fn claim_line(tx: &mut Tx, record: &ScanLineRecord) -> Result<(), StoreError> {
    tx.put(LINE_CLAIMED, record, Some(Expr::not_exists()))?;
    Ok(())
}

/// Whatever is on record of each unit, in the order given.
pub async fn units(table: &Table, vendor: VendorId, units: Vec<Unit>) -> Result<Vec<Option<UnitRecord>>, StoreError> {
    let reads = units.into_iter().map(|unit| async move { table.get::<UnitRecord>(&(vendor, unit)).await });
    let found: Vec<_> = futures_util::stream::iter(reads).buffered(PARALLEL_READS).collect().await;
    found.into_iter().collect()
}

/// Adds the receipt of a unit to a transaction, once: step `unit:<index>` fails (see
/// [`unit_step`]) when the unit was received before.
pub(crate) fn claim_unit(tx: &mut Tx, index: usize, record: &UnitRecord) -> Result<(), StoreError> {
    tx.put(format!("{UNIT_STEP}:{index}"), record, Some(Expr::not_exists()))?;
    Ok(())
}

/// The index given to [`claim_unit`] whose unit was received already, when that failed a transaction.
pub fn unit_step(error: &StoreError) -> Option<usize> {
    let StoreError::Conflict { step } = error else { return None };
    step.strip_prefix(UNIT_STEP)?.strip_prefix(':')?.parse().ok()
}

/// Counts a reader's read of a tag, unless the reader counted the tag within its window (until
/// `until_ms`) for another scan: `true` when this read counts. A retried scan's read counts again;
/// two scans reading a tag at once count it once (one conditional write wins).
pub async fn claim_read(table: &Table, record: &TagReadRecord, now_ms: i64) -> Result<bool, StoreError> {
    let lapsed = Expr::new("attribute_not_exists(PK) OR until_ms < :now OR scan_id = :scan")
        .val(":now", &now_ms)
        .val(":scan", &record.scan_id);
    match table.put(record, Some(lapsed)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives a read back (its change was refused), so the reader's next read of the tag counts;
/// nothing happens when another scan holds it by now.
pub async fn release_read(
    table: &Table,
    vendor: VendorId,
    reader_id: &str,
    unit: &Unit,
    scan_id: &str,
) -> Result<(), StoreError> {
    let mine = Expr::new("scan_id = :scan").val(":scan", scan_id);
    match table.delete::<TagReadRecord>(&(vendor, reader_id.to_string(), unit.clone()), Some(mine)).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}
