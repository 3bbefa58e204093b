//! Scans from handheld barcode scanners and RFID readers: one request is one scan (a trigger pull,
//! a pass through a portal, an upload of a handheld's queue) of codes with an action at a
//! location. Codes name items by GTIN, SKU, GS1 batch code or SGTIN-96 EPC (an EPC's GTIN, like any
//! GTIN, through the vendor's barcode claim). Known codes apply and unknown ones are reported
//! beside them; the reads of one item (and batch) make one change of its stock through
//! `stock::apply`, claimed under the scan's id in the same transaction, so a scan sent again
//! applies nothing twice. A serialised unit (a tag, a GS1 code with a serial) counts once per
//! scan, once per reader within [`READ_WINDOW_MS`] (not for counts, which say what is there), and
//! is received once ever.

use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use stockyard_domain::FieldError;
use stockyard_domain::api_key::{KeyPermission, KeyTarget};
use stockyard_domain::channel::{Channel, SaleRecord};
use stockyard_domain::gtin::Gtin;
use stockyard_domain::ids::{ChannelId, LocationId, VariantId, VendorId};
use stockyard_domain::product::Variant;
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::scan::{CodeKind, ScanAction, ScannedCode, Unit, code_text};
use stockyard_domain::stock::{Actor, BatchQuantity, BinLocation, MAX_QUANTITY, MovementReason};
use stockyard_domain::values;
use stockyard_http::error::ErrorBody;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Need, Request, Response};
use stockyard_store::scans::{self, ScanLineRecord, TagReadRecord, UnitRecord};
use stockyard_store::{StoreError, Table, channels, products, stock as store};
use utoipa::ToSchema;

use super::channels::{LineError, LineStatus, per_stock_item, sell_scanned};
use super::lookup::{self, Failed, today};
use super::stock::{BinRequest, Record, count_change, movement};

/// How long a reader's read of a tag keeps its later reads of that tag from counting again.
pub const READ_WINDOW_MS: i64 = 5_000;
/// Most reads one scan takes.
const MAX_READS: usize = 500;
/// Longest scan id: a channel sale's id is `<scan id>/<variant id>`, at most 64 characters.
const MAX_SCAN_ID: usize = 36;
/// Serialised units one receipt transaction claims: with the stock item, its movement and the
/// scan's line it stays within DynamoDB's 100 writes.
const UNITS_PER_CHANGE: usize = 90;
/// Look-ups and tag claims made at once.
const PARALLEL: usize = 16;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRead {
    /// What the scanner or reader read: a GTIN, a SKU, a GS1 element string (bracketed, or as a
    /// scanner sends it with the group separator), an SGTIN-96 EPC as 24 hexadecimal digits or as
    /// an `urn:epc:` URI.
    #[schema(
        example = "4006381333931",
        min_length = 1,
        max_length = 128,
        pattern = "^[ -~\\u001d]*[!-~\\u001d][ -~\\u001d]*$"
    )]
    pub code: String,
    /// Units the read stands for (a case label scanned once: its count); 1 if left out. A
    /// serialised code (an EPC, a GS1 code with a serial) is one unit.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub quantity: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The device's own id of this scan, 1 to 36 visible ASCII characters: sending the scan again
    /// (after a timeout, say) applies nothing twice.
    #[schema(example = "dock-1/000482", min_length = 1, max_length = 36, pattern = "^[!-~]{1,36}$")]
    pub scan_id: String,
    /// The scanner or RFID reader (letters, digits, '-' and '_'): its reads of one tag within 5
    /// seconds count once.
    #[schema(value_type = values::ReaderCode, example = "DOCK-DOOR-1")]
    pub reader_id: String,
    pub action: ScanAction,
    /// Where the scan happens.
    pub location_id: LocationId,
    /// `sell` only, and required there: the channel the sale is recorded for.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    /// `move` only, and required there: the bin the scanned items are kept in from now on.
    #[serde(default)]
    pub bin: Option<BinRequest>,
    /// 1 to 500 reads.
    #[schema(min_items = 1, max_items = 500)]
    pub reads: Vec<ScanRead>,
}

/// What became of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadStatus {
    /// Its units were applied now.
    Applied,
    /// This scan applied it before (the scan was sent again): nothing changed.
    Duplicate,
    /// The same unit read again, in this scan or by this reader within 5 seconds: counted once.
    Repeat,
    /// The code names nothing of this vendor, or cannot be read: `error` says which.
    Unknown,
    /// Its change was refused (`error` says why): nothing changed.
    Refused,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadResult {
    /// The code as read (surrounding spaces trimmed).
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<CodeKind>,
    pub status: ReadStatus,
    /// Units the read stands for.
    pub units: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The GTIN the code names (an EPC's, decoded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// The change this read is part of: its index in `changes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<LineError>,
}

/// One change the scan made (or had made): one item's (or batch's) units.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanChange {
    pub sku: String,
    pub variant_id: VariantId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Units received, counted, moved or sold.
    pub units: u32,
    pub status: LineStatus,
    /// Receive and count: the stock item's version after the change (its ledger movement's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Count: on hand (of the batch) on record before, and the difference the count posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<i64>,
    /// Move: where the item is kept now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bin: Option<BinLocation>,
    /// Sell: the sale in the consolidated sales record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale: Option<SaleRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<LineError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanResponse {
    pub scan_id: String,
    pub reader_id: String,
    pub action: ScanAction,
    pub location_id: LocationId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    /// Reads by what became of them.
    pub applied: u32,
    pub duplicates: u32,
    pub repeats: u32,
    pub unknown: u32,
    pub refused: u32,
    /// No read was unknown or refused: everything the scan read is applied (now or before).
    pub complete: bool,
    /// What applied and what did not, in a sentence.
    #[schema(example = "4 of 5 reads applied; 1 code is unknown and changed nothing, the known codes applied")]
    pub message: String,
    /// One result per read, in the order sent.
    pub reads: Vec<ReadResult>,
    pub changes: Vec<ScanChange>,
}

/// A read as checked: its code and what it says.
struct Read {
    code: String,
    scanned: ScannedCode,
    quantity: u32,
}

fn scan_id(field: &str, raw: &str) -> Result<String, FieldError> {
    let id = raw.trim();
    if id.is_empty() || id.len() > MAX_SCAN_ID || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FieldError::new(field, format!("must be 1 to {MAX_SCAN_ID} visible ASCII characters")));
    }
    Ok(id.to_string())
}

/// Checks every read before anything is looked up: a malformed read refuses the whole scan.
fn check_reads(reads: &[ScanRead], today: NaiveDate) -> Result<Vec<Read>, ApiError> {
    if reads.is_empty() || reads.len() > MAX_READS {
        return Err(ApiError::invalid("reads", format!("must hold 1 to {MAX_READS} reads")));
    }
    reads
        .iter()
        .enumerate()
        .map(|(i, read)| {
            let code = code_text(&format!("reads[{i}].code"), &read.code)?;
            let scanned = ScannedCode::read(&code, today);
            let field = format!("reads[{i}].quantity");
            let quantity = match read.quantity {
                None => 1,
                Some(q) if (1..=i64::from(MAX_QUANTITY)).contains(&q) => q as u32,
                Some(_) => return Err(ApiError::invalid(&field, format!("must be between 1 and {MAX_QUANTITY}"))),
            };
            if quantity != 1 && scanned.unit().is_some() {
                return Err(ApiError::invalid(
                    &field,
                    "must be 1: a serialised code (an EPC, a GS1 serial) is one unit",
                ));
            }
            Ok(Read { code, scanned, quantity })
        })
        .collect()
}

/// The key permission each action needs.
fn permission(action: ScanAction) -> KeyPermission {
    match action {
        ScanAction::Receive => KeyPermission::ScanReceive,
        ScanAction::Count => KeyPermission::ScanCount,
        ScanAction::Move => KeyPermission::ScanMove,
        ScanAction::Sell => KeyPermission::ScanSell,
    }
}

/// Record what handheld scanners and RFID readers read at a location: `receive` puts the units
/// on hand, `count` posts a stock count of the scanned items (each item's on hand becomes the
/// units scanned; perishable items per batch code), `move` keeps the scanned items in `bin`, and
/// `sell` records a sale through `channel_id` (in the consolidated sales record once per scan and
/// item). Codes that name nothing of the vendor are reported per read (`unknown`) and the known
/// ones still apply; a serialised unit read twice counts once, and one received before is refused
/// (`already_received`). Sending the same `scan_id` again applies nothing twice. Inventory
/// managers and the owner scan; so do API keys with the action's scan permission at the location.
#[utoipa::path(post, path = "/vendors/{vendorId}/scans", tag = "inventory",
    security(("bearer" = ["vendor_owner", "inventory_manager"]),
             ("api_key" = ["scan_receive", "scan_count", "scan_move", "scan_sell"])),
    request_body = ScanRequest,
    params(("vendorId" = VendorId, Path)),
    responses((status = 200, body = ScanResponse), (status = 403, body = ErrorBody),
              (status = 422, description = "invalid_field, unknown_location or unknown_channel", body = ErrorBody)))]
pub async fn record_scans(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: ScanRequest = cx.body()?;
    let scan = scan_id("scan_id", &body.scan_id)?;
    let reader = values::ReaderCode::parse("reader_id", &body.reader_id)?;
    let action = body.action;
    match (action, body.channel_id.is_some()) {
        (ScanAction::Sell, false) => return Err(ApiError::invalid("channel_id", "is required to sell")),
        (ScanAction::Sell, true) | (_, false) => {}
        (_, true) => return Err(ApiError::invalid("channel_id", "is only taken when the action is sell")),
    }
    let bin = match (action, &body.bin) {
        (ScanAction::Move, Some(b)) => Some(BinLocation::parse("bin", &b.zone, &b.aisle, &b.shelf, &b.bin)?),
        (ScanAction::Move, None) => return Err(ApiError::invalid("bin", "is required to move")),
        (_, Some(_)) => return Err(ApiError::invalid("bin", "is only taken when the action is move")),
        (_, None) => None,
    };
    let today = today();
    let reads = check_reads(&body.reads, today)?;
    let location = body.location_id;
    let need = Need::or_api_key(VendorPermission::InventoryWrite, permission(action), KeyTarget::Location(location));
    let vendor = cx.vendor(need).await?.id();
    let table = cx.store().await?;
    let channel = async {
        match body.channel_id {
            None => Ok(None),
            Some(id) => channels::get(table, vendor, id).await?.map(Some).ok_or_else(|| {
                ApiError::unprocessable(
                    "unknown_channel",
                    Some("channel_id"),
                    "this vendor has no channel with this id",
                )
            }),
        }
    };
    let (_, channel) = tokio::try_join!(lookup::location_in_body(table, vendor, "location_id", location), channel)?;
    let scan = Scan { table, vendor, location, scan_id: scan, reader, action, actor: cx.actor(), today };
    let response = scan.run(reads, channel, bin).await?;
    Ok(ok(&response))
}

/// One scan being applied.
struct Scan<'a> {
    table: &'a Table,
    vendor: VendorId,
    location: LocationId,
    scan_id: String,
    reader: String,
    action: ScanAction,
    actor: Actor,
    today: NaiveDate,
}

/// What a read came to before any change: unknown, a repeat, or part of a change.
#[derive(Clone)]
struct ReadOutcome {
    status: ReadStatus,
    sku: Option<String>,
    change: Option<usize>,
    error: Option<LineError>,
}

/// One change to make: the reads of one item (and batch) at the scan's location.
struct Plan {
    variant: Variant,
    lot: Option<String>,
    expires_on: Option<NaiveDate>,
    /// Names the change within the scan (see [`ScanLineRecord::line`]).
    line: String,
    /// Reads of units that are not serialised, and their units.
    plain: Vec<usize>,
    plain_units: u32,
    /// Serialised units and the read of each.
    units: Vec<(usize, Unit)>,
    /// The read whose code names the change in a refusal.
    first: usize,
}

impl Plan {
    fn reads(&self) -> impl Iterator<Item = usize> + '_ {
        self.plain.iter().copied().chain(self.units.iter().map(|(read, _)| *read))
    }
    fn total(&self) -> u32 {
        self.plain_units.saturating_add(self.units.len() as u32)
    }
    fn field(&self) -> String {
        format!("reads[{}].code", self.first)
    }
}

/// What became of one planned change, and of reads within it that fared otherwise.
struct Done {
    change: ScanChange,
    /// Reads of the change whose status is not the change's (a unit received before).
    exceptions: Vec<(usize, ReadStatus, Option<LineError>)>,
}

fn line_error(e: &ApiError) -> LineError {
    LineError { code: e.code().to_string(), message: e.to_string(), field: e.field().map(String::from) }
}

fn refusal(code: &'static str, field: &str, message: &str) -> ApiError {
    ApiError::unprocessable(code, Some(field), message)
}

impl Scan<'_> {
    async fn run(
        &self,
        reads: Vec<Read>,
        channel: Option<Channel>,
        bin: Option<BinLocation>,
    ) -> Result<ScanResponse, ApiError> {
        let variants = self.resolve(&reads).await?;
        let mut outcomes: Vec<ReadOutcome> =
            vec![ReadOutcome { status: ReadStatus::Applied, sku: None, change: None, error: None }; reads.len()];
        // Each read's item, or why it has none; each serialised unit once per scan.
        let mut known: Vec<Option<Variant>> = Vec::with_capacity(reads.len());
        let mut seen = HashSet::new();
        for (i, read) in reads.iter().enumerate() {
            let found = match &read.scanned {
                ScannedCode::Unreadable(why) => Err(("unreadable_code", format!("this code {why}"))),
                scanned => match variants.get(&lookup_key(scanned)).cloned().flatten() {
                    Some(variant) => Ok(variant),
                    None => Err(("unknown_code", unknown_message(scanned))),
                },
            };
            match found {
                Ok(variant) => {
                    outcomes[i].sku = Some(variant.sku.clone());
                    let repeat = read.scanned.unit().is_some_and(|unit| !seen.insert(unit));
                    if repeat {
                        outcomes[i].status = ReadStatus::Repeat;
                        outcomes[i].error = Some(repeat_error("was read earlier in this scan"));
                        known.push(None);
                    } else {
                        known.push(Some(variant));
                    }
                }
                Err((code, message)) => {
                    outcomes[i].status = ReadStatus::Unknown;
                    outcomes[i].error =
                        Some(LineError { code: code.into(), message, field: Some(format!("reads[{i}].code")) });
                    known.push(None);
                }
            }
        }
        let claimed = self.claim_reads(&reads, &mut known, &mut outcomes).await?;
        let plans = self.plan(&reads, &known);
        let done = self.apply(plans, channel.as_ref(), bin.as_ref()).await;
        let mut changes = Vec::with_capacity(done.len());
        for (index, (reads_of_change, result)) in done.into_iter().enumerate() {
            let status = match result.change.status {
                LineStatus::Applied => ReadStatus::Applied,
                LineStatus::Duplicate => ReadStatus::Duplicate,
                LineStatus::Refused => ReadStatus::Refused,
            };
            for read in reads_of_change {
                outcomes[read].change = Some(index);
                outcomes[read].status = status;
                outcomes[read].error = result.change.error.clone();
            }
            for (read, status, error) in result.exceptions {
                outcomes[read].status = status;
                outcomes[read].error = error;
            }
            changes.push(result.change);
        }
        self.release_refused(claimed, &outcomes).await;
        Ok(self.respond(reads, outcomes, changes, channel.map(|c| c.id)))
    }

    /// Looks up every GTIN and SKU the reads name, each once: the vendor's variant, or none.
    async fn resolve(&self, reads: &[Read]) -> Result<HashMap<String, Option<Variant>>, ApiError> {
        let mut wanted: Vec<(String, Option<Gtin>, Option<String>)> = Vec::new();
        let mut keys = HashSet::new();
        for read in reads {
            let key = lookup_key(&read.scanned);
            if !matches!(read.scanned, ScannedCode::Unreadable(_)) && keys.insert(key.clone()) {
                wanted.push((key, read.scanned.gtin().cloned(), read.scanned.sku().map(String::from)));
            }
        }
        let (table, vendor) = (self.table, self.vendor);
        let found = in_parallel(wanted, |(key, gtin, sku)| async move {
            let variant = match (gtin, sku) {
                (Some(gtin), _) => products::variant_by_gtin(table, vendor, &gtin).await?,
                (None, Some(sku)) => products::variant_by_sku(table, vendor, &sku).await?,
                (None, None) => None,
            };
            Ok::<_, StoreError>((key, variant))
        })
        .await;
        Ok(found.into_iter().collect::<Result<_, _>>()?)
    }

    /// Claims each serialised unit's read for this reader (not for counts): a unit the reader read
    /// within the window for another scan is a repeat and applies nothing. The units claimed.
    async fn claim_reads(
        &self,
        reads: &[Read],
        known: &mut [Option<Variant>],
        outcomes: &mut [ReadOutcome],
    ) -> Result<Vec<(usize, Unit)>, ApiError> {
        if !self.action.skips_recent_reads() {
            return Ok(Vec::new());
        }
        let units: Vec<(usize, Unit)> = reads
            .iter()
            .enumerate()
            .filter(|(i, _)| known[*i].is_some())
            .filter_map(|(i, read)| read.scanned.unit().map(|unit| (i, unit)))
            .collect();
        let now = Utc::now().timestamp_millis();
        let records: Vec<(usize, Unit, TagReadRecord)> = units
            .into_iter()
            .map(|(i, unit)| {
                let record = TagReadRecord {
                    vendor_id: self.vendor,
                    reader_id: self.reader.clone(),
                    gtin14: unit.gtin14.clone(),
                    serial: unit.serial.clone(),
                    scan_id: self.scan_id.clone(),
                    until_ms: now + READ_WINDOW_MS,
                    expires_at: now / 1000 + 3600,
                };
                (i, unit, record)
            })
            .collect();
        let table = self.table;
        let claims = in_parallel(records, |(i, unit, record)| async move {
            let counts = scans::claim_read(table, &record, now).await?;
            Ok::<_, StoreError>((i, unit, counts))
        })
        .await;
        let mut claimed = Vec::new();
        for claim in claims {
            let (i, unit, counts) = claim?;
            if counts {
                claimed.push((i, unit));
            } else {
                known[i] = None;
                outcomes[i].status = ReadStatus::Repeat;
                outcomes[i].error = Some(repeat_error("was read by this reader within the last 5 seconds"));
            }
        }
        Ok(claimed)
    }

    /// Gives back the reads whose change was refused, so the reader's next read of them counts.
    async fn release_refused(&self, claimed: Vec<(usize, Unit)>, outcomes: &[ReadOutcome]) {
        let refused: Vec<(usize, Unit)> =
            claimed.into_iter().filter(|(i, _)| outcomes[*i].status == ReadStatus::Refused).collect();
        let (table, vendor, reader, scan) = (self.table, self.vendor, self.reader.as_str(), self.scan_id.as_str());
        let released = in_parallel(refused, |(i, unit)| async move {
            (i, scans::release_read(table, vendor, reader, &unit, scan).await)
        })
        .await;
        for (read, result) in released {
            if let Err(e) = result {
                tracing::warn!(error = %e, read, "a refused read kept its reader window");
            }
        }
    }

    /// Groups the reads still standing into changes: one per item (and per batch of a perishable
    /// item, for receipts and counts), in the order each item was first read; a receipt of many
    /// serialised units in parts of [`UNITS_PER_CHANGE`].
    fn plan(&self, reads: &[Read], known: &[Option<Variant>]) -> Vec<Plan> {
        // A sale of a scanned batch code takes that batch, not the first-expiring one.
        let by_batch = matches!(self.action, ScanAction::Receive | ScanAction::Count | ScanAction::Sell);
        let mut order: Vec<(VariantId, Option<String>)> = Vec::new();
        let mut groups: HashMap<(VariantId, Option<String>), Plan> = HashMap::new();
        for (i, (read, variant)) in reads.iter().zip(known).enumerate() {
            let Some(variant) = variant else { continue };
            let perishable = variant.shelf_life_days.is_some();
            let lot = if by_batch && perishable { read.scanned.lot().map(String::from) } else { None };
            let key = (variant.id, lot.clone());
            let plan = groups.entry(key.clone()).or_insert_with(|| {
                order.push(key.clone());
                Plan {
                    variant: variant.clone(),
                    lot,
                    expires_on: None,
                    line: String::new(),
                    plain: Vec::new(),
                    plain_units: 0,
                    units: Vec::new(),
                    first: i,
                }
            });
            if plan.expires_on.is_none() && perishable {
                plan.expires_on = read.scanned.expires_on();
            }
            match read.scanned.unit() {
                Some(unit) => plan.units.push((i, unit)),
                None => {
                    plan.plain.push(i);
                    plan.plain_units = plan.plain_units.saturating_add(read.quantity);
                }
            }
        }
        let mut plans = Vec::new();
        for key in order {
            let Some(mut plan) = groups.remove(&key) else { continue };
            let base = format!("{}#{}#{}", self.action.as_str(), plan.variant.id, plan.lot.as_deref().unwrap_or("-"));
            if self.action != ScanAction::Receive || plan.units.len() <= UNITS_PER_CHANGE {
                plan.line = format!("{base}#0");
                plans.push(plan);
                continue;
            }
            // Parts named by their place in the units sorted, so a scan sent again makes the same parts.
            plan.units.sort_by(|a, b| a.1.cmp(&b.1));
            let units = std::mem::take(&mut plan.units);
            for (part, chunk) in units.chunks(UNITS_PER_CHANGE).enumerate() {
                let first_of_part = if part == 0 { plan.first } else { chunk[0].0 };
                plans.push(Plan {
                    variant: plan.variant.clone(),
                    lot: plan.lot.clone(),
                    expires_on: plan.expires_on,
                    line: format!("{base}#{part}"),
                    plain: if part == 0 { std::mem::take(&mut plan.plain) } else { Vec::new() },
                    plain_units: if part == 0 { plan.plain_units } else { 0 },
                    units: chunk.to_vec(),
                    first: first_of_part,
                });
            }
        }
        plans
    }

    /// Applies the changes, those of one stock item one after another, several items at once; the
    /// reads of each change with what became of it, in plan order.
    async fn apply(
        &self,
        plans: Vec<Plan>,
        channel: Option<&Channel>,
        bin: Option<&BinLocation>,
    ) -> Vec<(Vec<usize>, Done)> {
        let work: Vec<_> = plans
            .into_iter()
            .enumerate()
            .map(|(i, plan)| {
                let item = (plan.variant.id, self.location);
                ((i, plan), item)
            })
            .collect();
        let mut done: Vec<(usize, Vec<usize>, Done)> = per_stock_item(work, |(i, plan)| async move {
            let reads: Vec<usize> = plan.reads().collect();
            let result = match self.action {
                ScanAction::Receive => self.receive(plan).await,
                ScanAction::Count => self.count(plan).await,
                ScanAction::Move => self.move_to(plan, bin).await,
                ScanAction::Sell => self.sell(plan, channel).await,
            };
            (i, reads, result)
        })
        .await;
        done.sort_by_key(|(i, ..)| *i);
        done.into_iter().map(|(_, reads, result)| (reads, result)).collect()
    }

    fn change(&self, plan: &Plan, status: LineStatus) -> ScanChange {
        ScanChange {
            sku: plan.variant.sku.clone(),
            variant_id: plan.variant.id,
            lot: plan.lot.clone(),
            units: plan.total(),
            status,
            version: None,
            previous: None,
            difference: None,
            bin: None,
            sale: None,
            error: None,
        }
    }

    fn refused(&self, plan: &Plan, error: &ApiError) -> Done {
        let mut change = self.change(plan, LineStatus::Refused);
        change.error = Some(line_error(error));
        Done { change, exceptions: Vec::new() }
    }

    /// A change the scan made before (its line is on record): reported as a duplicate.
    fn duplicate(&self, plan: &Plan, line: &ScanLineRecord) -> Done {
        let mut change = self.change(plan, LineStatus::Duplicate);
        change.units = line.units;
        change.version = Some(line.stock_version);
        change.previous = line.previous;
        change.difference = line.previous.map(|p| i64::from(line.units) - i64::from(p));
        Done { change, exceptions: Vec::new() }
    }

    fn line_record(&self, plan: &Plan, units: u32, previous: Option<u32>, version: u64) -> ScanLineRecord {
        let now = Utc::now();
        ScanLineRecord {
            vendor_id: self.vendor,
            scan_id: self.scan_id.clone(),
            line: plan.line.clone(),
            action: self.action,
            location_id: self.location,
            variant_id: plan.variant.id,
            sku: plan.variant.sku.clone(),
            lot: plan.lot.clone(),
            units,
            previous,
            stock_version: version,
            recorded_at: now,
            expires_at: (now + scans::LINE_RETENTION).timestamp(),
        }
    }

    fn record(&self, reason: MovementReason) -> Record {
        Record { reason, reference: Some(format!("scan:{}", self.scan_id)), note: None, actor: self.actor.clone() }
    }

    /// The batch a perishable item's units go into (or are counted in): the code's lot, and its
    /// expiry date or today + the shelf life. `None` for an item without a shelf life.
    fn batch(&self, plan: &Plan) -> Result<Option<(String, NaiveDate)>, ApiError> {
        let Some(shelf_life) = plan.variant.shelf_life_days else { return Ok(None) };
        let lot = plan.lot.clone().ok_or_else(|| {
            refusal(
                "lot_required",
                &plan.field(),
                "perishable stock is held in batches: scan the batch code (GS1 with its lot)",
            )
        })?;
        let expires_on = plan.expires_on.unwrap_or(self.today + Days::new(u64::from(shelf_life)));
        Ok(Some((lot, expires_on)))
    }

    async fn receive(&self, plan: Plan) -> Done {
        let batch = match self.batch(&plan) {
            Ok(batch) => batch,
            Err(e) => return self.refused(&plan, &e),
        };
        if batch.as_ref().is_some_and(|(_, expires_on)| *expires_on < self.today) {
            let e = refusal("batch_expired", &plan.field(), "this batch is past its expiry date");
            return self.refused(&plan, &e);
        }
        match scans::line(self.table, self.vendor, &self.scan_id, &plan.line).await {
            Ok(Some(line)) => return self.duplicate(&plan, &line),
            Ok(None) => {}
            Err(e) => return self.refused(&plan, &e.into()),
        }
        // Units received before: by this scan (sent again) or by another.
        let listed: Vec<Unit> = plan.units.iter().map(|(_, unit)| unit.clone()).collect();
        let on_record = match scans::units(self.table, self.vendor, listed).await {
            Ok(records) => records,
            Err(e) => return self.refused(&plan, &e.into()),
        };
        let mut exceptions = Vec::new();
        let mut fresh: Vec<(usize, Unit)> = Vec::new();
        for ((read, unit), record) in plan.units.iter().zip(on_record) {
            match record {
                None => fresh.push((*read, unit.clone())),
                Some(record) => exceptions.push(self.received_before(*read, &record)),
            }
        }
        loop {
            let units = plan.plain_units.saturating_add(fresh.len() as u32);
            if units == 0 {
                // every unit was received before: by this scan (sent again), or refused
                let again = exceptions.iter().all(|(_, status, _)| *status == ReadStatus::Duplicate);
                let mut change = self.change(&plan, if again { LineStatus::Duplicate } else { LineStatus::Refused });
                change.units = 0;
                change.error = exceptions.iter().find_map(|(_, _, e)| e.clone());
                return Done { change, exceptions };
            }
            let outcome = self.receive_units(&plan, batch.as_ref(), units, &fresh).await;
            match outcome {
                Ok(version) => {
                    let mut change = self.change(&plan, LineStatus::Applied);
                    change.units = units;
                    change.version = Some(version);
                    return Done { change, exceptions };
                }
                Err(Failed::Store(e)) if scans::unit_step(&e).is_some() => {
                    // received meanwhile by another scan: that unit is refused, the rest go on
                    let index = scans::unit_step(&e).unwrap_or_default();
                    if index >= fresh.len() {
                        return self.refused(&plan, &e.into());
                    }
                    let (read, unit) = fresh.remove(index);
                    match scans::units(self.table, self.vendor, vec![unit]).await {
                        Ok(mut records) => match records.pop().flatten() {
                            Some(record) => exceptions.push(self.received_before(read, &record)),
                            None => {
                                return self
                                    .refused(&plan, &ApiError::internal(anyhow::anyhow!("a unit claim vanished")));
                            }
                        },
                        Err(e) => return self.refused(&plan, &e.into()),
                    }
                }
                Err(Failed::Store(e)) if e.failed_at(scans::LINE_CLAIMED) => {
                    return match scans::line(self.table, self.vendor, &self.scan_id, &plan.line).await {
                        Ok(Some(line)) => self.duplicate(&plan, &line),
                        Ok(None) => self.refused(&plan, &ApiError::internal(anyhow::anyhow!("a scan line vanished"))),
                        Err(e) => self.refused(&plan, &e.into()),
                    };
                }
                Err(Failed::Store(e)) => return Done { exceptions, ..self.refused(&plan, &e.into()) },
                Err(Failed::Api(e)) => return Done { exceptions, ..self.refused(&plan, &e) },
            }
        }
    }

    /// A unit on record already: this scan received it (it is being sent again), or another did.
    fn received_before(&self, read: usize, record: &UnitRecord) -> (usize, ReadStatus, Option<LineError>) {
        if record.scan_id == self.scan_id {
            return (read, ReadStatus::Duplicate, None);
        }
        let e = ApiError::Conflict {
            code: "already_received",
            message: format!(
                "this unit ({} serial {}) was received by scan {} on {}",
                record.sku,
                record.serial,
                record.scan_id,
                record.received_at.date_naive()
            ),
            field: Some(format!("reads[{read}].code")),
        };
        (read, ReadStatus::Refused, Some(line_error(&e)))
    }

    /// One receipt: the units on hand (into the batch), its movement, the scan's line and each
    /// serialised unit's claim, in one transaction through `stock::apply`. The stock item's version.
    async fn receive_units(
        &self,
        plan: &Plan,
        batch: Option<&(String, NaiveDate)>,
        units: u32,
        fresh: &[(usize, Unit)],
    ) -> Result<u64, Failed> {
        let field = plan.field();
        let variant = &plan.variant;
        store::apply(self.table, (self.vendor, variant.id, self.location), |before| {
            let mut item = lookup::current_item(before, variant, self.location);
            let quantity = i64::from(units);
            let batches: Vec<BatchQuantity> = batch
                .iter()
                .map(|(lot, expires_on)| BatchQuantity { lot: lot.clone(), expires_on: *expires_on, quantity })
                .collect();
            item.apply(quantity, &batches, Utc::now()).map_err(|e| lookup::stock_error(&field, e))?;
            let movement = movement(&item, quantity, batches, self.record(MovementReason::Received));
            let received: Vec<UnitRecord> = fresh
                .iter()
                .map(|(_, unit)| UnitRecord {
                    vendor_id: self.vendor,
                    gtin14: unit.gtin14.clone(),
                    serial: unit.serial.clone(),
                    variant_id: variant.id,
                    sku: variant.sku.clone(),
                    location_id: self.location,
                    scan_id: self.scan_id.clone(),
                    received_at: item.updated_at,
                })
                .collect();
            let line = self.line_record(plan, units, None, item.version);
            Ok::<_, Failed>((scans::change(self.table, before, &item, &movement, &line, &received)?, item.version))
        })
        .await
    }

    async fn count(&self, plan: Plan) -> Done {
        let batch = match self.batch(&plan) {
            Ok(batch) => batch,
            Err(e) => return self.refused(&plan, &e),
        };
        match scans::line(self.table, self.vendor, &self.scan_id, &plan.line).await {
            Ok(Some(line)) => return self.duplicate(&plan, &line),
            Ok(None) => {}
            Err(e) => return self.refused(&plan, &e.into()),
        }
        let counted = plan.total();
        let field = plan.field();
        let variant = &plan.variant;
        let outcome = store::apply(self.table, (self.vendor, variant.id, self.location), |before| {
            let mut item = lookup::current_item(before, variant, self.location);
            let (previous, batches, difference) = count_change(&item, counted, batch.as_ref());
            item.apply(difference, &batches, Utc::now()).map_err(|e| lookup::stock_error(&field, e))?;
            let movement = movement(&item, difference, batches, self.record(MovementReason::Count));
            let line = self.line_record(&plan, counted, Some(previous), item.version);
            let tx = scans::change(self.table, before, &item, &movement, &line, &[])?;
            Ok::<_, Failed>((tx, (previous, difference, item.version)))
        })
        .await;
        match outcome {
            Ok((previous, difference, version)) => {
                let mut change = self.change(&plan, LineStatus::Applied);
                change.version = Some(version);
                change.previous = Some(previous);
                change.difference = Some(difference);
                Done { change, exceptions: Vec::new() }
            }
            Err(Failed::Store(e)) if e.failed_at(scans::LINE_CLAIMED) => {
                match scans::line(self.table, self.vendor, &self.scan_id, &plan.line).await {
                    Ok(Some(line)) => self.duplicate(&plan, &line),
                    Ok(None) => self.refused(&plan, &ApiError::internal(anyhow::anyhow!("a scan line vanished"))),
                    Err(e) => self.refused(&plan, &e.into()),
                }
            }
            Err(Failed::Store(e)) => self.refused(&plan, &e.into()),
            Err(Failed::Api(e)) => self.refused(&plan, &e),
        }
    }

    /// Keeps the item in the bin from now on: a setting of its stock item, not a change of stock.
    async fn move_to(&self, plan: Plan, bin: Option<&BinLocation>) -> Done {
        let Some(bin) = bin else {
            return self.refused(&plan, &ApiError::internal(anyhow::anyhow!("a move without a bin")));
        };
        let fresh = lookup::empty_item(&plan.variant, self.location);
        match store::set_settings(self.table, &fresh, Some(Some(bin)), None, None).await {
            Ok(item) => {
                let mut change = self.change(&plan, LineStatus::Applied);
                change.bin = item.bin;
                Done { change, exceptions: Vec::new() }
            }
            Err(e) => self.refused(&plan, &e.into()),
        }
    }

    /// A channel sale of the units, recorded as sale `<scan id>/<variant id>` (and `/<lot>` when
    /// the codes named a batch).
    async fn sell(&self, plan: Plan, channel: Option<&Channel>) -> Done {
        let Some(channel) = channel else {
            return self.refused(&plan, &ApiError::internal(anyhow::anyhow!("a sale without a channel")));
        };
        let sale_id = match &plan.lot {
            Some(lot) => format!("{}/{}/{lot}", self.scan_id, plan.variant.id),
            None => format!("{}/{}", self.scan_id, plan.variant.id),
        };
        let field = plan.field();
        let result = sell_scanned(
            self.table,
            channel,
            &sale_id,
            &plan.variant,
            self.location,
            (plan.total(), plan.lot.clone()),
            &self.actor,
            &field,
        )
        .await;
        let mut change = self.change(&plan, result.status);
        if let Some(sale) = &result.record {
            change.units = sale.quantity.unsigned_abs() as u32;
            change.version = sale.stock_version;
        }
        change.sale = result.record;
        change.error = result.error;
        Done { change, exceptions: Vec::new() }
    }

    fn respond(
        &self,
        reads: Vec<Read>,
        outcomes: Vec<ReadOutcome>,
        changes: Vec<ScanChange>,
        channel: Option<ChannelId>,
    ) -> ScanResponse {
        let results: Vec<ReadResult> = reads
            .into_iter()
            .zip(outcomes)
            .map(|(read, outcome)| {
                let unit = read.scanned.unit();
                ReadResult {
                    kind: read.scanned.kind(),
                    status: outcome.status,
                    units: read.quantity,
                    sku: outcome.sku,
                    gtin: read.scanned.gtin().map(|g| g.as_str().to_string()),
                    lot: read.scanned.lot().map(String::from),
                    serial: unit.map(|u| u.serial),
                    change: outcome.change,
                    error: outcome.error,
                    code: read.code,
                }
            })
            .collect();
        let count = |status: ReadStatus| results.iter().filter(|r| r.status == status).count() as u32;
        let (applied, duplicates, repeats, unknown, refused) = (
            count(ReadStatus::Applied),
            count(ReadStatus::Duplicate),
            count(ReadStatus::Repeat),
            count(ReadStatus::Unknown),
            count(ReadStatus::Refused),
        );
        ScanResponse {
            scan_id: self.scan_id.clone(),
            reader_id: self.reader.clone(),
            action: self.action,
            location_id: self.location,
            channel_id: channel,
            applied,
            duplicates,
            repeats,
            unknown,
            refused,
            complete: unknown == 0 && refused == 0,
            message: summary(results.len(), applied, duplicates, repeats, unknown, refused),
            reads: results,
            changes,
        }
    }
}

/// Runs `work` on every item, [`PARALLEL`] at a time; the results in no particular order. The
/// items are owned and the futures made from them by an iterator, so the future stays `Send` for
/// every lifetime the runtime asks about.
async fn in_parallel<T, R, F, Fut>(items: Vec<T>, work: F) -> Vec<R>
where
    F: FnMut(T) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    futures_util::stream::iter(items.into_iter().map(work)).buffer_unordered(PARALLEL).collect().await
}

/// What a read is looked up by: its GTIN (as GTIN-14, so every length of one item meets), or its SKU.
fn lookup_key(scanned: &ScannedCode) -> String {
    match (scanned.gtin(), scanned.sku()) {
        (Some(gtin), _) => format!("gtin:{}", gtin.as_gtin14()),
        (None, Some(sku)) => format!("sku:{sku}"),
        _ => String::new(),
    }
}

fn unknown_message(scanned: &ScannedCode) -> String {
    match (scanned.gtin(), scanned.kind()) {
        (Some(gtin), Some(CodeKind::Epc)) => format!("no variant of this vendor has this tag's GTIN {gtin}"),
        (Some(gtin), _) => format!("no variant of this vendor has the GTIN {gtin}"),
        _ => "no variant of this vendor has this SKU".into(),
    }
}

fn repeat_error(why: &str) -> LineError {
    LineError { code: "repeat_read".into(), message: format!("this unit {why}; it counts once"), field: None }
}

/// The response's sentence: how many reads applied, and what did not and why.
fn summary(total: usize, applied: u32, duplicates: u32, repeats: u32, unknown: u32, refused: u32) -> String {
    let plural = |n: u32, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
    let mut parts = vec![format!("{applied} of {total} reads applied")];
    if duplicates > 0 {
        parts.push(format!(
            "{} applied before (this scan was sent again)",
            plural(duplicates, "read was", "reads were")
        ));
    }
    if repeats > 0 {
        parts.push(format!("{} of a unit already counted", plural(repeats, "read was a repeat", "reads were repeats")));
    }
    if refused > 0 {
        parts.push(format!("{} refused and changed nothing", plural(refused, "read was", "reads were")));
    }
    if unknown > 0 {
        let known = if applied + duplicates > 0 { ", the known codes applied" } else { "" };
        parts.push(format!("{} and changed nothing{known}", plural(unknown, "code is unknown", "codes are unknown")));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(code: &str, quantity: Option<i64>) -> ScanRead {
        ScanRead { code: code.into(), quantity }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn reads_are_checked_one_by_one_naming_the_read_at_fault() {
        let field = |reads: &[ScanRead]| check_reads(reads, today()).err().and_then(|e| e.field().map(String::from));
        assert_eq!(field(&[]), Some("reads".into()));
        assert_eq!(field(&[read("4006381333931", None), read(" ", None)]), Some("reads[1].code".into()));
        assert_eq!(field(&[read("4006381333931", Some(0))]), Some("reads[0].quantity".into()));
        assert_eq!(field(&[read("3074257BF7194E4000001A85", Some(2))]), Some("reads[0].quantity".into()));
        let checked = check_reads(&[read("4006381333931", Some(12)), read("no such code!", None)], today()).unwrap();
        assert_eq!(checked[0].quantity, 12);
        assert!(
            matches!(checked[1].scanned, ScannedCode::Unreadable(_)),
            "an unreadable code is reported, not refused"
        );
        let too_many: Vec<ScanRead> = (0..501).map(|_| read("A", None)).collect();
        assert_eq!(field(&too_many), Some("reads".into()));
    }

    #[test]
    fn a_scan_id_is_short_visible_ascii_so_a_sale_id_made_from_it_fits() {
        assert_eq!(scan_id("scan_id", " h7/000123 ").unwrap(), "h7/000123");
        assert!(scan_id("scan_id", &"x".repeat(37)).is_err());
        assert!(scan_id("scan_id", "a b").is_err());
        let sale_id = format!("{}/{}", "x".repeat(36), VariantId::generate());
        assert!(stockyard_domain::channel::external_id("sale_id", &sale_id).is_ok());
    }

    #[test]
    fn each_action_needs_its_own_key_permission() {
        let all: HashSet<KeyPermission> =
            [ScanAction::Receive, ScanAction::Count, ScanAction::Move, ScanAction::Sell].map(permission).into();
        assert_eq!(all.len(), 4);
        assert!(!all.contains(&KeyPermission::ChannelSales));
    }

    /// A scan request with `body`, as `bearer`, to handlers whose store nothing answers: a 4xx
    /// proves the request was refused before anything was read or written.
    async fn refused_before_the_store(body: &str, bearer: &str) -> (u16, serde_json::Value) {
        let deps = stockyard_testkit::unreachable_api_deps();
        let params = serde_json::json!({ "vendorId": "01JBZ4W9Q6T3M8K2R5X7N1C0VD" });
        let req = stockyard_testkit::request(
            "POST",
            "/vendors/{vendorId}/scans",
            params,
            serde_json::Value::Null,
            Some(body),
            Some(bearer),
        );
        let resp = stockyard_http::serve::handle(req, |r| record_scans(&deps, r)).await;
        (resp.status().as_u16(), stockyard_testkit::error_of(&resp))
    }

    #[tokio::test]
    async fn a_malformed_scan_is_refused_naming_the_field_before_anything_is_read() {
        let token = stockyard_testkit::customer_token("ada@example.com");
        let scan = |extra: &str| {
            format!(r#"{{"scan_id":"s1","reader_id":"DOCK-1","location_id":"01JBZ4W9Q6T3M8K2R5X7N1C0QC",{extra}}}"#)
        };
        for (extra, field) in [
            (r#""action":"receive","reads":[{"code":"4006381333931","quantity":0}]"#, "reads[0].quantity"),
            (r#""action":"sell","reads":[{"code":"4006381333931"}]"#, "channel_id"),
            (r#""action":"move","reads":[{"code":"4006381333931"}]"#, "bin"),
            (r#""action":"count","reads":[]"#, "reads"),
        ] {
            let (status, error) = refused_before_the_store(&scan(extra), &token).await;
            assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{extra}: {error}");
        }
        let (status, error) = refused_before_the_store(&scan(r#""action":"teleport","reads":[]"#), &token).await;
        assert_eq!((status, error["code"].as_str()), (400, Some("malformed_request")));
    }

    #[tokio::test]
    async fn an_api_key_that_is_malformed_is_refused_before_anything_is_read() {
        let body = r#"{"scan_id":"s1","reader_id":"R","action":"receive","location_id":"01JBZ4W9Q6T3M8K2R5X7N1C0QC","reads":[{"code":"A"}]}"#;
        let (status, error) = refused_before_the_store(body, "syk_not-a-key").await;
        assert_eq!((status, error["code"].as_str()), (401, Some("unauthorized")));
    }

    #[tokio::test]
    async fn a_route_that_takes_no_keys_refuses_a_key_before_anything_is_read() {
        let deps = stockyard_testkit::unreachable_api_deps();
        let key = stockyard_http::api_keys::ApiKeyToken::generate().unwrap().reveal();
        let params = serde_json::json!({ "vendorId": "01JBZ4W9Q6T3M8K2R5X7N1C0VD" });
        let req = stockyard_testkit::request(
            "GET",
            "/vendors/{vendorId}/stock",
            params,
            serde_json::Value::Null,
            None,
            Some(&key),
        );
        let resp = stockyard_http::serve::handle(req, |r| super::super::stock::list_stock(&deps, r)).await;
        assert_eq!(resp.status(), 403);
        let error = stockyard_testkit::error_of(&resp);
        assert_eq!(error["code"], "forbidden");
        assert!(error["message"].as_str().unwrap().contains("API key"), "{error}");
    }

    #[test]
    fn the_summary_says_what_applied_and_why_the_rest_did_not() {
        assert_eq!(summary(3, 3, 0, 0, 0, 0), "3 of 3 reads applied");
        assert_eq!(
            summary(5, 3, 0, 1, 1, 0),
            "3 of 5 reads applied; 1 read was a repeat of a unit already counted; 1 code is unknown and changed \
             nothing, the known codes applied"
        );
        assert_eq!(summary(2, 0, 0, 0, 2, 0), "0 of 2 reads applied; 2 codes are unknown and changed nothing");
        assert_eq!(
            summary(4, 0, 3, 0, 0, 1),
            "0 of 4 reads applied; 3 reads were applied before (this scan was sent again); 1 read was refused and \
             changed nothing"
        );
    }
}
