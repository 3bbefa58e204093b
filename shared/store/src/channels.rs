//! A vendor's sales channels, and the sales and returns they report: one record per channel and
//! sale id (claimed in the same transaction as the stock it takes, so a sale applies once however
//! often it is sent), indexed by vendor and day for the consolidated sales record.

use stockyard_domain::channel::{Channel, ChannelKind, SaleRecord};
use stockyard_domain::ids::{ChannelId, VendorId};

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

impl Entity for Channel {
    type Id = (VendorId, ChannelId);
    const NAME: &'static str = "channel";
    fn key((vendor, id): &Self::Id) -> keys::Key {
        keys::channel(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::channel(self.vendor_id, self.id)
    }
}

/// Reserves a channel code within its vendor (and the one storefront).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChannelClaimRecord {
    pub vendor_id: VendorId,
    pub claim: String,
    pub channel_id: ChannelId,
}

impl Entity for ChannelClaimRecord {
    type Id = (VendorId, String);
    const NAME: &'static str = "channel claim";
    fn key((vendor, claim): &Self::Id) -> keys::Key {
        keys::channel_claim(*vendor, claim)
    }
    fn key_of(&self) -> keys::Key {
        keys::channel_claim(self.vendor_id, &self.claim)
    }
}

/// Whether a sale record is a sale or a return (their ids are separate namespaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleKind {
    Sale,
    Return,
}

impl SaleKind {
    fn of(record: &SaleRecord) -> Self {
        if record.quantity < 0 { SaleKind::Return } else { SaleKind::Sale }
    }
}

impl Entity for SaleRecord {
    type Id = (VendorId, ChannelId, SaleKind, String);
    const NAME: &'static str = "sale";
    fn key((vendor, channel, kind, id): &Self::Id) -> keys::Key {
        keys::sale(*vendor, *channel, *kind == SaleKind::Return, id)
    }
    fn key_of(&self) -> keys::Key {
        keys::sale(self.vendor_id, self.channel_id, SaleKind::of(self) == SaleKind::Return, &self.sale_id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::sales_of_day(self))
    }
}

/// The step of [`create`] that fails when the vendor has a channel with the code (or a storefront).
pub const CODE_TAKEN: &str = "channel_code";
pub const STOREFRONT_TAKEN: &str = "storefront";
/// The step of [`record`] that fails when the channel reported this sale (or return) already.
pub const ALREADY_RECORDED: &str = "sale";
/// The step of [`count_return`] that fails when more would be returned than was sold.
pub const RETURNS_EXCEED_SALE: &str = "returned";

pub fn create(table: &Table, channel: &Channel) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let claim = |claim: String| ChannelClaimRecord { vendor_id: channel.vendor_id, claim, channel_id: channel.id };
    tx.put(CODE_TAKEN, &claim(format!("CODE#{}", channel.code)), Some(Expr::not_exists()))?;
    if channel.kind == ChannelKind::Storefront {
        tx.put(STOREFRONT_TAKEN, &claim("STOREFRONT".into()), Some(Expr::not_exists()))?;
    }
    tx.put("channel", channel, Some(Expr::not_exists()))?;
    Ok(tx)
}

pub async fn get(table: &Table, vendor: VendorId, id: ChannelId) -> Result<Option<Channel>, StoreError> {
    table.get::<Channel>(&(vendor, id)).await
}

pub async fn list(table: &Table, vendor: VendorId, page: &PageRequest) -> Result<Page<Channel>, StoreError> {
    table.query(&keys::channels_of(vendor), page).await
}

/// Adds the sale (or return) to a transaction, once: step [`ALREADY_RECORDED`] fails when the
/// channel reported it before.
pub fn record(tx: &mut Tx, sale: &SaleRecord) -> Result<(), StoreError> {
    tx.put(ALREADY_RECORDED, sale, Some(Expr::not_exists()))?;
    Ok(())
}

/// Counts `quantity` units returned against a sale, never more than it sold (step
/// [`RETURNS_EXCEED_SALE`]).
pub fn count_return(tx: &mut Tx, sale: &SaleRecord, quantity: u32) -> Result<(), StoreError> {
    let most_before = sale.quantity - i64::from(quantity);
    let change = Change::new(Expr::new("ADD returned :q").val(":q", &quantity))
        .when(Expr::new("attribute_not_exists(returned) OR returned <= :most").val(":most", &most_before));
    let id = (sale.vendor_id, sale.channel_id, SaleKind::Sale, sale.sale_id.clone());
    tx.update::<SaleRecord>(RETURNS_EXCEED_SALE, &id, change)?;
    Ok(())
}

/// Records a return that puts nothing back on hand (written off), counted against the sale it
/// names if any, in one transaction (steps [`ALREADY_RECORDED`], [`RETURNS_EXCEED_SALE`]).
pub async fn record_written_off_return(
    table: &Table,
    record: &SaleRecord,
    against: Option<&SaleRecord>,
    quantity: u32,
) -> Result<(), StoreError> {
    let mut tx = table.tx();
    self::record(&mut tx, record)?;
    if let Some(sale) = against {
        count_return(&mut tx, sale, quantity)?;
    }
    table.commit(tx).await
}

/// A sale (or return) a channel reported, if it did.
pub async fn sale(
    table: &Table,
    vendor: VendorId,
    channel: ChannelId,
    kind: SaleKind,
    id: &str,
) -> Result<Option<SaleRecord>, StoreError> {
    table.get::<SaleRecord>(&(vendor, channel, kind, id.to_string())).await
}

/// The consolidated sales record of one vendor and day (every channel, returns as negative
/// quantities), in order of sale time.
pub async fn of_day(
    table: &Table,
    vendor: VendorId,
    day: chrono::NaiveDate,
    page: &PageRequest,
) -> Result<Page<SaleRecord>, StoreError> {
    table.query_sharded(&keys::sales_of_vendor_day(vendor, day), page).await
}
