//! `aggregate-sales`: the sales events queue (every channel's sales and returns, from the table's
//! stream) → the daily sales history the forecasts read. A batch is grouped per SKU-location, so a
//! flash sale of one SKU is one history write per batch, not one per sale; each sale is counted
//! once however often it is delivered (see `demand::add_channel_units`).

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::StreamExt;
use lambda_runtime::LambdaEvent;
use stockyard_domain::channel::SaleRecord;
use stockyard_domain::ids::{LocationId, VendorId};
use stockyard_store::Table;
use stockyard_store::channels::SaleKind;
use stockyard_store::demand::{self, CHANNEL_UNITS_PER_WRITE, ChannelUnits};

pub struct SalesDeps {
    pub table: Table,
}

impl SalesDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { table: Table::from_env(sdk)? })
    }
}

/// The sales of one SKU-location in a batch, with the messages that carried them.
type Group = Vec<(String, ChannelUnits)>;

/// A SKU-location: vendor, location, SKU.
type SkuLocation = (VendorId, LocationId, String);

/// Sales grouped per SKU-location; messages that are not sales fail on their own.
pub fn group(event: SqsEvent) -> (BTreeMap<SkuLocation, Group>, Vec<String>) {
    let mut groups: BTreeMap<SkuLocation, Group> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for record in event.records {
        let id = record.message_id.unwrap_or_default();
        match serde_json::from_str::<SaleRecord>(record.body.as_deref().unwrap_or_default()) {
            Ok(sale) => {
                let kind = if sale.quantity < 0 { SaleKind::Return } else { SaleKind::Sale };
                let units = ChannelUnits {
                    sale: (sale.channel_id, kind, sale.sale_id.clone()),
                    day: sale.sold_at.date_naive(),
                    // net demand: a return (restocked or written off) takes its sale back
                    quantity: sale.quantity,
                };
                groups.entry((sale.vendor_id, sale.location_id, sale.sku.clone())).or_default().push((id, units));
            }
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "not a sale; it will be retried, then dead-lettered");
                unreadable.push(id);
            }
        }
    }
    (groups, unreadable)
}

pub async fn handle(deps: &SalesDeps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let (groups, mut failed) = group(event.payload);
    let table = &deps.table;
    let outcomes: Vec<Vec<String>> = futures_util::stream::iter(groups)
        .map(|((vendor, location, sku), sales)| async move {
            let mut failed = Vec::new();
            for chunk in sales.chunks(CHANNEL_UNITS_PER_WRITE) {
                let units: Vec<ChannelUnits> = chunk.iter().map(|(_, u)| u.clone()).collect();
                match demand::add_channel_units(table, vendor, location, &sku, &units).await {
                    Ok(counted) => {
                        tracing::info!(%vendor, %location, sku, sales = units.len(), counted, "sales history written")
                    }
                    Err(e) => {
                        tracing::error!(%vendor, %location, sku, error = %e, "sales history not written; retried");
                        failed.extend(chunk.iter().map(|(id, _)| id.clone()));
                    }
                }
            }
            failed
        })
        .buffer_unordered(8)
        .collect()
        .await;
    failed.extend(outcomes.into_iter().flatten());
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    Ok(response)
}
