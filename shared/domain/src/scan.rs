//! What handheld scanners and RFID readers read, and what it names. A scanned code is one of:
//!
//! - a GTIN (the digits under a retail barcode, check digit right);
//! - a SKU (the vendor's own code, on shelf labels and Code 128 labels);
//! - a GS1 batch code: the element string a GS1-128 or GS1 DataMatrix label carries, with the
//!   item's GTIN (AI 01) and its lot (10), expiry date (17) and serial number (21) when printed;
//! - an RFID tag's EPC in SGTIN-96: the item's GTIN and a serial number, so one tag is one unit.
//!
//! Reading a code is pure: it says what the code claims. Whether the vendor has such an item is
//! the catalog's look-up (a GTIN through its barcode claim, a SKU through its SKU claim).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::gtin::{Gtin, check_digit};
use crate::values::{LotCode, Sku};

/// What a scan does with the units it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanAction {
    /// Goods arriving at the location: on hand goes up (ledger reason `received`).
    Receive,
    /// A stock count of the scanned items: each one's on hand becomes the units scanned.
    Count,
    /// The scanned items are now kept in the bin the scan names.
    Move,
    /// The scanned units were sold through a channel (a channel sale, once per scan).
    Sell,
}

impl ScanAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanAction::Receive => "receive",
            ScanAction::Count => "count",
            ScanAction::Move => "move",
            ScanAction::Sell => "sell",
        }
    }

    /// Whether a tag a reader saw moments ago counts again. A count states what is there, so every
    /// tag it reads counts once; the other actions would apply a lingering tag twice.
    pub fn skips_recent_reads(self) -> bool {
        !matches!(self, ScanAction::Count)
    }
}

/// The kinds of code a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    Gtin,
    Sku,
    /// A GS1 element string (GS1-128, GS1 DataMatrix) with a GTIN and its lot, expiry or serial.
    Batch,
    /// An RFID tag's SGTIN-96 EPC.
    Epc,
}

/// A code as read. `Unreadable` says why it is none of the kinds (the reason is shown to the
/// client beside the code; the rest of a scan still applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannedCode {
    Gtin(Gtin),
    Sku(String),
    Batch(BatchCode),
    Epc(Sgtin),
    Unreadable(String),
}

/// What a GS1 element string says about the item it labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCode {
    pub gtin: Gtin,
    /// AI (10), as a lot code (upper-case).
    pub lot: Option<String>,
    /// AI (17): the expiry date.
    pub expires_on: Option<NaiveDate>,
    /// AI (21): the serial number, which makes the code one unit.
    pub serial: Option<String>,
}

/// An SGTIN-96 EPC, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sgtin {
    /// The GTIN-14 the company prefix, indicator digit and item reference make.
    pub gtin: Gtin,
    /// The tag's serial number (38 bits).
    pub serial: u64,
    /// The filter value (1: point-of-sale item, 2: full case, ...), as encoded.
    pub filter: u8,
}

/// The longest code a scan takes, in characters.
pub const MAX_CODE_LEN: usize = 128;

/// The ASCII group separator, which GS1 element strings use as FNC1 after a variable-length field.
const GS: char = '\u{1d}';

/// Checks what a client sent as a code: 1 to [`MAX_CODE_LEN`] printable ASCII characters (spaces
/// inside, and the group separator of GS1 element strings, allowed) once surrounding white space is
/// trimmed.
pub fn code_text(field: &str, raw: &str) -> Result<String, FieldError> {
    let code = raw.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '\n');
    if code.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if code.chars().count() > MAX_CODE_LEN {
        return Err(FieldError::new(field, format!("must be at most {MAX_CODE_LEN} characters")));
    }
    if !code.chars().all(|c| c.is_ascii_graphic() || c == ' ' || c == GS) {
        return Err(FieldError::new(
            field,
            "must be printable ASCII characters (and the GS1 group separator), as a scanner sends them",
        ));
    }
    Ok(code.to_string())
}

impl ScannedCode {
    /// Reads a code checked by [`code_text`]. `today` places the two-digit years of GS1 dates.
    pub fn read(code: &str, today: NaiveDate) -> Self {
        let unreadable = ScannedCode::Unreadable;
        // An AIM symbology identifier that a scanner may put first: GS1-128, GS1 DataMatrix,
        // GS1 QR Code and GS1 DataBar carry element strings.
        for prefix in ["]C1", "]d2", "]Q3", "]e0"] {
            if let Some(rest) = code.strip_prefix(prefix) {
                return gs1(rest, today).map(ScannedCode::Batch).unwrap_or_else(unreadable);
            }
        }
        let lower = code.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("urn:epc:tag:sgtin-96:") {
            return epc_tag_uri(rest).map(ScannedCode::Epc).unwrap_or_else(unreadable);
        }
        if let Some(rest) = lower.strip_prefix("urn:epc:id:sgtin:") {
            return epc_pure_uri(rest).map(ScannedCode::Epc).unwrap_or_else(unreadable);
        }
        if code.len() == 24 && code.bytes().all(|b| b.is_ascii_hexdigit()) && code.starts_with("30") {
            return sgtin96(code).map(ScannedCode::Epc).unwrap_or_else(unreadable);
        }
        if code.starts_with('(') {
            return gs1(code, today).map(ScannedCode::Batch).unwrap_or_else(unreadable);
        }
        if looks_like_raw_gs1(code) {
            return gs1(code, today).map(ScannedCode::Batch).unwrap_or_else(unreadable);
        }
        let digits = code.bytes().all(|b| b.is_ascii_digit()) && matches!(code.len(), 8 | 12 | 13 | 14);
        if digits && let Ok(gtin) = Gtin::parse("code", code) {
            return ScannedCode::Gtin(gtin);
        }
        match Sku::parse("code", code) {
            Ok(sku) => ScannedCode::Sku(sku),
            Err(_) => unreadable("is not a GTIN, a SKU, a GS1 batch code or an SGTIN-96 EPC".into()),
        }
    }

    pub fn kind(&self) -> Option<CodeKind> {
        match self {
            ScannedCode::Gtin(_) => Some(CodeKind::Gtin),
            ScannedCode::Sku(_) => Some(CodeKind::Sku),
            ScannedCode::Batch(_) => Some(CodeKind::Batch),
            ScannedCode::Epc(_) => Some(CodeKind::Epc),
            ScannedCode::Unreadable(_) => None,
        }
    }

    /// The GTIN the code names, if it names the item by GTIN.
    pub fn gtin(&self) -> Option<&Gtin> {
        match self {
            ScannedCode::Gtin(gtin) => Some(gtin),
            ScannedCode::Batch(batch) => Some(&batch.gtin),
            ScannedCode::Epc(epc) => Some(&epc.gtin),
            _ => None,
        }
    }

    pub fn sku(&self) -> Option<&str> {
        match self {
            ScannedCode::Sku(sku) => Some(sku),
            _ => None,
        }
    }

    pub fn lot(&self) -> Option<&str> {
        match self {
            ScannedCode::Batch(batch) => batch.lot.as_deref(),
            _ => None,
        }
    }

    pub fn expires_on(&self) -> Option<NaiveDate> {
        match self {
            ScannedCode::Batch(batch) => batch.expires_on,
            _ => None,
        }
    }

    /// The one physical unit a serialised code names: its GTIN-14 and serial number. An EPC always
    /// names one; a GS1 code when it carries a serial (21).
    pub fn unit(&self) -> Option<Unit> {
        match self {
            ScannedCode::Epc(epc) => Some(Unit { gtin14: epc.gtin.as_gtin14(), serial: epc.serial.to_string() }),
            ScannedCode::Batch(BatchCode { gtin, serial: Some(serial), .. }) => {
                Some(Unit { gtin14: gtin.as_gtin14(), serial: serial.clone() })
            }
            _ => None,
        }
    }
}

/// One serialised unit: the same physical item whether its tag or its label was read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unit {
    pub gtin14: String,
    pub serial: String,
}

/// The bit and digit lengths of the company prefix and item reference for each SGTIN partition
/// value: (company prefix bits, digits, item reference bits, digits). Together they are always 44
/// bits and 13 digits.
const PARTITIONS: [(u32, usize, u32, usize); 7] =
    [(40, 12, 4, 1), (37, 11, 7, 2), (34, 10, 10, 3), (30, 9, 14, 4), (27, 8, 17, 5), (24, 7, 20, 6), (20, 6, 24, 7)];

/// SGTIN-96's header byte.
const SGTIN96_HEADER: u128 = 0x30;
/// Bits of an SGTIN-96 serial number.
const SERIAL_BITS: u32 = 38;

fn mask(bits: u32) -> u128 {
    (1u128 << bits) - 1
}

/// Decodes an SGTIN-96 EPC written as 24 hexadecimal digits: header (8 bits, 0x30), filter (3),
/// partition (3), company prefix and item reference (44 bits between them, split as the partition
/// says), serial (38).
pub fn sgtin96(hex: &str) -> Result<Sgtin, String> {
    if hex.len() != 24 {
        return Err("an SGTIN-96 EPC is 24 hexadecimal digits".into());
    }
    let value = u128::from_str_radix(hex, 16).map_err(|_| "an SGTIN-96 EPC is 24 hexadecimal digits".to_string())?;
    if value >> 88 != SGTIN96_HEADER {
        return Err(format!("EPC header {:02X} is not SGTIN-96 (30)", value >> 88));
    }
    let filter = ((value >> 85) & 0b111) as u8;
    let partition = ((value >> 82) & 0b111) as usize;
    let &(prefix_bits, prefix_digits, item_bits, item_digits) =
        PARTITIONS.get(partition).ok_or_else(|| format!("EPC partition {partition} does not exist (0-6)"))?;
    let prefix = (value >> (SERIAL_BITS + item_bits)) & mask(prefix_bits);
    let item = (value >> SERIAL_BITS) & mask(item_bits);
    let serial = (value & mask(SERIAL_BITS)) as u64;
    if prefix >= 10u128.pow(prefix_digits as u32) {
        return Err(format!("EPC company prefix {prefix} has more than {prefix_digits} digits"));
    }
    if item >= 10u128.pow(item_digits as u32) {
        return Err(format!("EPC item reference {item} has more than {item_digits} digits"));
    }
    let gtin = gtin_of(&format!("{prefix:0prefix_digits$}"), &format!("{item:0item_digits$}"))?;
    Ok(Sgtin { gtin, serial, filter })
}

/// The GTIN-14 of a company prefix and an item reference whose first digit is the indicator:
/// indicator, company prefix, the rest of the item reference, then the check digit.
fn gtin_of(prefix: &str, item: &str) -> Result<Gtin, String> {
    let body = format!("{}{prefix}{}", &item[..1], &item[1..]);
    let digits = format!("{body}{}", check_digit(body.as_bytes()));
    Gtin::parse("code", &digits).map_err(|e| format!("the EPC's GTIN {digits} {}", e.message))
}

/// `urn:epc:tag:sgtin-96:<filter>.<company prefix>.<item reference>.<serial>` (lower-cased).
fn epc_tag_uri(rest: &str) -> Result<Sgtin, String> {
    let parts: Vec<&str> = rest.split('.').collect();
    let [filter, prefix, item, serial] = parts.as_slice() else {
        return Err("an SGTIN-96 tag URI has a filter, company prefix, item reference and serial".into());
    };
    let filter = filter.parse::<u8>().ok().filter(|f| *f < 8).ok_or("the tag URI's filter is 0-7")?;
    let sgtin = epc_parts(prefix, item, serial)?;
    Ok(Sgtin { filter, ..sgtin })
}

/// `urn:epc:id:sgtin:<company prefix>.<item reference>.<serial>` (lower-cased; numeric serials only,
/// as SGTIN-96 carries them).
fn epc_pure_uri(rest: &str) -> Result<Sgtin, String> {
    let parts: Vec<&str> = rest.split('.').collect();
    let [prefix, item, serial] = parts.as_slice() else {
        return Err("an SGTIN URI has a company prefix, item reference and serial".into());
    };
    epc_parts(prefix, item, serial)
}

fn epc_parts(prefix: &str, item: &str, serial: &str) -> Result<Sgtin, String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(prefix) || !digits(item) || !(6..=12).contains(&prefix.len()) || prefix.len() + item.len() != 13 {
        return Err("the EPC's company prefix (6-12 digits) and item reference make 13 digits".into());
    }
    let numeric = digits(serial) && (serial == "0" || !serial.starts_with('0'));
    let serial = serial
        .parse::<u64>()
        .ok()
        .filter(|s| numeric && *s <= mask(SERIAL_BITS) as u64)
        .ok_or_else(|| "an SGTIN-96 serial is a number up to 274877906943 without leading zeros".to_string())?;
    Ok(Sgtin { gtin: gtin_of(prefix, item)?, serial, filter: 0 })
}

/// A code that starts like an unbracketed GS1 element string: AI 01 with a GTIN-14 whose check
/// digit is right, then more application identifiers (a bare GTIN-14 is read as a GTIN).
fn looks_like_raw_gs1(code: &str) -> bool {
    code.len() > 16
        && code.starts_with("01")
        && code[2..16].bytes().all(|b| b.is_ascii_digit())
        && Gtin::parse("code", &code[2..16]).is_ok()
}

/// The application identifiers read from GS1 element strings, with their data's length
/// (`Fixed(n)`) or longest length (`Variable(n)`, ended by the group separator or the end).
#[derive(Clone, Copy)]
enum AiLength {
    Fixed(usize),
    Variable(usize),
}

fn ai_length(ai: &str) -> Option<AiLength> {
    Some(match ai {
        "01" | "02" => AiLength::Fixed(14),
        "11" | "12" | "13" | "15" | "16" | "17" => AiLength::Fixed(6),
        "10" | "21" => AiLength::Variable(20),
        "37" => AiLength::Variable(8),
        _ => return None,
    })
}

/// Reads a GS1 element string, bracketed (`(01)09506000134352(17)271231(10)AB12`) or as a scanner
/// sends it (`0109506000134352172712311 0AB12`, a group separator after each variable-length field
/// that is not last). Unbracketed strings may hold AIs 01, 02, 10, 11-17, 21 and 37; bracketed ones
/// any AI (those not read here are skipped).
fn gs1(code: &str, today: NaiveDate) -> Result<BatchCode, String> {
    let fields = if code.starts_with('(') { bracketed(code)? } else { unbracketed(code)? };
    let mut gtin = None;
    let (mut lot, mut expires_on, mut serial) = (None, None, None);
    for (ai, data) in fields {
        let seen = match ai.as_str() {
            "01" => {
                gtin.replace(Gtin::parse("code", &data).map_err(|e| format!("GS1 (01) {}", e.message))?.as_gtin14())
            }
            "10" => {
                lot.replace(LotCode::parse("code", &data).map_err(|e| format!("GS1 lot (10) {}", e.message))?);
                None
            }
            "17" => {
                expires_on.replace(gs1_date(&data, today).ok_or("GS1 expiry date (17) is not a YYMMDD date")?);
                None
            }
            "21" => {
                serial.replace(gs1_serial(&data).ok_or("GS1 serial (21) is 1-20 characters of GS1's set 82")?);
                None
            }
            _ => None,
        };
        if seen.is_some() {
            return Err("a GS1 code names its GTIN (01) once".into());
        }
    }
    let gtin = gtin.ok_or("a GS1 code without a GTIN (01) names no item")?;
    let gtin = Gtin::parse("code", &gtin).map_err(|e| e.message)?;
    Ok(BatchCode { gtin, lot, expires_on, serial })
}

fn bracketed(code: &str) -> Result<Vec<(String, String)>, String> {
    let mut fields = Vec::new();
    let mut rest = code;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('(').ok_or("a bracketed GS1 code is (AI)data(AI)data...")?;
        let (ai, after) = inner.split_once(')').ok_or("a GS1 application identifier is closed by ')'")?;
        if !(2..=4).contains(&ai.len()) || !ai.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("({ai}) is not a GS1 application identifier"));
        }
        let end = after.find('(').unwrap_or(after.len());
        let data = after[..end].trim_end_matches(GS);
        if data.is_empty() {
            return Err(format!("GS1 ({ai}) has no data"));
        }
        if let Some(length) = ai_length(ai) {
            check_length(ai, data, length)?;
        }
        fields.push((ai.to_string(), data.to_string()));
        rest = &after[end..];
    }
    Ok(fields)
}

fn unbracketed(code: &str) -> Result<Vec<(String, String)>, String> {
    let mut fields = Vec::new();
    let mut rest = code;
    while !rest.is_empty() {
        rest = rest.trim_start_matches(GS);
        if rest.is_empty() {
            break;
        }
        let ai = rest.get(..2).ok_or("a GS1 code ends in the middle of an application identifier")?;
        let length = ai_length(ai).ok_or_else(|| {
            format!("GS1 application identifier {ai} is not read unbracketed; send the code as (AI)data")
        })?;
        let after = &rest[2..];
        let (data, next) = match length {
            AiLength::Fixed(n) => (after.get(..n).ok_or_else(|| format!("GS1 ({ai}) has {n} characters"))?, n),
            AiLength::Variable(_) => {
                let end = after.find(GS).unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        check_length(ai, data, length)?;
        fields.push((ai.to_string(), data.to_string()));
        rest = &after[next..];
    }
    Ok(fields)
}

fn check_length(ai: &str, data: &str, length: AiLength) -> Result<(), String> {
    match length {
        AiLength::Fixed(n) if data.len() != n || !data.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("GS1 ({ai}) is {n} digits"))
        }
        AiLength::Variable(n) if data.is_empty() || data.len() > n => Err(format!("GS1 ({ai}) is 1 to {n} characters")),
        _ => Ok(()),
    }
}

/// A GS1 YYMMDD date: the century is the one that puts the year within 49 years before and 50
/// after this year; day 00 is the last day of the month.
fn gs1_date(data: &str, today: NaiveDate) -> Option<NaiveDate> {
    let number = |range: std::ops::Range<usize>| data.get(range)?.parse::<u32>().ok();
    let (yy, month, day) = (number(0..2)? as i32, number(2..4)?, number(4..6)?);
    let this_year = today.year();
    let mut year = this_year - this_year.rem_euclid(100) + yy;
    if year - this_year > 50 {
        year -= 100;
    } else if this_year - year > 49 {
        year += 100;
    }
    if day == 0 {
        let first_next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        return (1..=12).contains(&month).then(|| first_next.pred_opt()).flatten();
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// A GS1 serial number (21): 1 to 20 characters of GS1's character set 82 (printable ASCII but the
/// space and `#$@[\]^\`{|}~`).
fn gs1_serial(data: &str) -> Option<String> {
    let in_set_82 = |c: char| c.is_ascii_graphic() && !"#$@[\\]^`{|}~".contains(c);
    (!data.is_empty() && data.len() <= 20 && data.chars().all(in_set_82)).then(|| data.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        day(2026, 11, 30)
    }

    /// An SGTIN-96 EPC packed by hand from its fields, bit by bit as a string of 0s and 1s (not with
    /// the decoder's shifts), then written as hexadecimal.
    fn pack(
        filter: u32,
        partition: u32,
        prefix: u64,
        prefix_bits: usize,
        item: u64,
        item_bits: usize,
        serial: u64,
    ) -> String {
        let bits = |value: u64, width: usize| format!("{value:0width$b}");
        let all = [
            bits(0x30, 8),
            bits(filter.into(), 3),
            bits(partition.into(), 3),
            bits(prefix, prefix_bits),
            bits(item, item_bits),
            bits(serial, 38),
        ]
        .concat();
        assert_eq!(all.len(), 96);
        all.as_bytes()
            .chunks(4)
            .map(|nibble| format!("{:X}", u8::from_str_radix(std::str::from_utf8(nibble).unwrap(), 2).unwrap()))
            .collect()
    }

    #[test]
    fn the_tag_data_standards_worked_example_decodes_to_its_gtin_and_serial() {
        // urn:epc:tag:sgtin-96:3.0614141.812345.6789: company prefix 0614141 (7 digits, partition
        // 5), indicator 8, item reference 12345; GTIN body 8061414112345, whose weighted sum is
        // 8·3+0+6·3+1+4·3+1+4·3+1+1·3+2+3·3+4+5·3 = 102, so the check digit is 8.
        let hex = "3074257BF7194E4000001A85";
        assert_eq!(pack(3, 5, 614141, 24, 812345, 20, 6789), hex, "the hand packing agrees with the standard");
        let epc = sgtin96(hex).unwrap();
        assert_eq!(epc.gtin.as_str(), "80614141123458");
        assert_eq!((epc.serial, epc.filter), (6789, 3));
        assert_eq!(read(hex), ScannedCode::Epc(epc.clone()));
        assert_eq!(read(hex.to_lowercase()), ScannedCode::Epc(epc.clone()), "hex digits in either case");
        assert_eq!(read("urn:epc:tag:sgtin-96:3.0614141.812345.6789"), ScannedCode::Epc(epc.clone()));
        assert_eq!(read("urn:epc:id:sgtin:0614141.812345.6789"), ScannedCode::Epc(Sgtin { filter: 0, ..epc }));
    }

    #[test]
    fn every_partition_splits_the_company_prefix_and_item_reference_as_the_standard_says() {
        // GTIN-13 4006381333931 on a tag: indicator 0, GTIN body 400638133393 + check digit 1.
        // Each partition gives the company prefix a different number of the 12 digits after the
        // indicator; the item reference is the indicator and the rest.
        let cases: [(u32, &str, usize, &str, usize); 7] = [
            (0, "400638133393", 40, "0", 4),
            (1, "40063813339", 37, "03", 7),
            (2, "4006381333", 34, "093", 10),
            (3, "400638133", 30, "0393", 14),
            (4, "40063813", 27, "03393", 17),
            (5, "4006381", 24, "033393", 20),
            (6, "400638", 20, "0133393", 24),
        ];
        for (partition, prefix, prefix_bits, item, item_bits) in cases {
            let hex = pack(1, partition, prefix.parse().unwrap(), prefix_bits, item.parse().unwrap(), item_bits, 42);
            let epc = sgtin96(&hex).unwrap_or_else(|e| panic!("partition {partition}: {e}"));
            assert_eq!(epc.gtin.as_str(), "04006381333931", "partition {partition}");
            assert_eq!(epc.gtin.as_gtin14(), Gtin::parse("g", "4006381333931").unwrap().as_gtin14());
            assert_eq!((epc.serial, epc.filter), (42, 1));
        }
    }

    #[test]
    fn the_largest_serial_and_an_indicator_digit_survive_decoding() {
        // Indicator 1 (a case of the item): GTIN-14 body 1400638133393, weighted sum
        // 3·3+9+3·3+3+3·3+1+8·3+3+6·3+0+0+4+1·3 = 92 → check digit 8.
        let hex = pack(2, 5, 4006381, 24, 133393, 20, (1 << 38) - 1);
        let epc = sgtin96(&hex).unwrap();
        assert_eq!(epc.gtin.as_str(), "14006381333938");
        assert_eq!(epc.serial, 274_877_906_943);
    }

    #[test]
    fn epcs_that_cannot_be_sgtin_96_are_unreadable_with_the_reason() {
        let bad_partition = pack(1, 7, 0, 20, 0, 24, 1);
        assert!(sgtin96(&bad_partition).unwrap_err().contains("partition 7"));
        // company prefix 999999999999 needs 40 bits; in partition 5 it would overflow 7 digits
        let too_big = pack(1, 5, (1 << 24) - 1, 24, 0, 20, 1);
        assert!(sgtin96(&too_big).unwrap_err().contains("more than 7 digits"));
        assert!(sgtin96("3174257BF7194E4000001A85").unwrap_err().contains("not SGTIN-96"));
        assert!(matches!(read("3074257BF7194E4000001A8"), ScannedCode::Sku(_)), "23 digits are no EPC");
        assert!(matches!(read(&bad_partition), ScannedCode::Unreadable(why) if why.contains("partition")));
        assert!(matches!(read("urn:epc:id:sgtin:0614141.812345.06789"), ScannedCode::Unreadable(_)));
        assert!(matches!(read("urn:epc:id:sgtin:0614141.81234.6789"), ScannedCode::Unreadable(_)));
    }

    #[test]
    fn gtins_skus_and_other_codes_are_told_apart() {
        assert_eq!(read("4006381333931"), ScannedCode::Gtin(Gtin::parse("g", "4006381333931").unwrap()));
        assert_eq!(read("4006381333932"), ScannedCode::Sku("4006381333932".into()), "a wrong check digit is no GTIN");
        assert_eq!(read("jumper-m-navy"), ScannedCode::Sku("JUMPER-M-NAVY".into()));
        assert!(matches!(read("https://example.com/p/1"), ScannedCode::Unreadable(_)));
        assert!(matches!(read("A".repeat(65)), ScannedCode::Unreadable(_)), "longer than a SKU");
    }

    #[test]
    fn gs1_batch_codes_give_the_gtin_lot_expiry_and_serial_bracketed_or_as_scanned() {
        let gtin = Gtin::parse("g", "09506000134352").unwrap();
        let expected = BatchCode {
            gtin: gtin.clone(),
            lot: Some("AB-12".into()),
            expires_on: Some(day(2027, 12, 31)),
            serial: None,
        };
        assert_eq!(read("(01)09506000134352(17)271231(10)ab-12"), ScannedCode::Batch(expected.clone()));
        // as a GS1-128 scanner sends it: symbology identifier, no brackets; (10) after the
        // fixed-length (17) needs no separator
        assert_eq!(read("]C101095060001343521727123110AB-12"), ScannedCode::Batch(expected.clone()));
        assert_eq!(read("010950600013435217271231\u{1d}"), read("(01)09506000134352(17)271231"));
        // a variable-length field that is not last ends with the group separator
        let serialised = read("]d2010950600013435210AB-12\u{1d}21XYZ-9");
        assert_eq!(
            serialised,
            ScannedCode::Batch(BatchCode { expires_on: None, serial: Some("XYZ-9".into()), ..expected.clone() })
        );
        assert_eq!(serialised.unit(), Some(Unit { gtin14: "09506000134352".into(), serial: "XYZ-9".into() }));
        // AIs not read here are skipped when bracketed (a net weight); unbracketed they cannot be
        let weighed = read("(01)09506000134352(3103)000750(10)AB-12");
        assert_eq!(weighed.lot(), Some("AB-12"));
        let unbracketed = read("01095060001343523103000750");
        assert!(matches!(unbracketed, ScannedCode::Unreadable(why) if why.contains("not read unbracketed")));
        assert_eq!(read("(01)09506000134352").gtin(), Some(&gtin), "a GTIN alone is still a GS1 code");
    }

    fn read(code: impl AsRef<str>) -> ScannedCode {
        ScannedCode::read(code.as_ref(), today())
    }

    #[test]
    fn gs1_dates_take_the_nearest_century_and_day_zero_is_the_months_last() {
        assert_eq!(gs1_date("271231", today()), Some(day(2027, 12, 31)));
        assert_eq!(gs1_date("760101", today()), Some(day(2076, 1, 1)), "up to 50 years ahead");
        assert_eq!(gs1_date("770101", today()), Some(day(1977, 1, 1)), "more is the past century");
        assert_eq!(gs1_date("280200", today()), Some(day(2028, 2, 29)), "a leap year's February");
        assert_eq!(gs1_date("261200", today()), Some(day(2026, 12, 31)));
        assert_eq!(gs1_date("261301", today()), None);
        assert_eq!(gs1_date("260231", today()), None);
    }

    #[test]
    fn malformed_gs1_codes_are_unreadable_with_the_reason() {
        for (code, why) in [
            ("(10)AB12", "without a GTIN"),
            ("(01)09506000134353(10)AB12", "check digit"),
            ("(01)09506000134352(17)2712", "6 digits"),
            ("(01)09506000134352(10)A B", "lot"),
            ("(01)09506000134352(01)09506000134352", "once"),
            ("(01)09506000134352(21)", "no data"),
            ("(01)09506000134352(21)a#b", "serial"),
        ] {
            match read(code) {
                ScannedCode::Unreadable(reason) => assert!(reason.contains(why), "{code}: {reason}"),
                other => panic!("{code} read as {other:?}"),
            }
        }
    }

    #[test]
    fn only_serialised_codes_name_a_unit_and_a_tag_and_its_label_name_the_same_one() {
        assert_eq!(read("4006381333931").unit(), None);
        assert_eq!(read("(01)04006381333931(10)L1").unit(), None);
        let hex = pack(1, 5, 4006381, 24, 33393, 20, 77);
        assert_eq!(read(&hex).unit(), read("(01)04006381333931(21)77").unit());
        assert_eq!(read(&hex).unit().unwrap().gtin14, "04006381333931");
    }

    #[test]
    fn code_text_takes_what_scanners_send_and_nothing_else() {
        assert_eq!(code_text("c", "  4006381333931\r\n").unwrap(), "4006381333931");
        assert_eq!(code_text("c", "01095\u{1d}10AB").unwrap(), "01095\u{1d}10AB");
        assert!(code_text("c", " ").is_err());
        assert_eq!(code_text("c", "BOX 12").unwrap(), "BOX 12", "Code 128 carries spaces");
        assert!(code_text("c", "caf\u{e9}").is_err());
        assert!(code_text("c", "a\u{0}b").is_err());
        assert_eq!(code_text("c", &"9".repeat(129)).unwrap_err().field, "c");
    }

    #[test]
    fn only_counts_let_a_tag_read_moments_ago_count_again() {
        assert!(ScanAction::Receive.skips_recent_reads());
        assert!(ScanAction::Sell.skips_recent_reads());
        assert!(ScanAction::Move.skips_recent_reads());
        assert!(!ScanAction::Count.skips_recent_reads());
    }
}
