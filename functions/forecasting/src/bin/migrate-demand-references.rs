//! `migrate-demand-references`: turns the supplier and category codes of demand settings written
//! before they referred to suppliers and categories into references (see the `migrate` module).
//! Invoked once after a deploy (`make migrate`), with `{}` for every vendor, `{ "vendor_id": ... }`
//! for one, or `{ "cursor": ... }` to go on where a previous invocation stopped.

use lambda_runtime::LambdaEvent;
use stockyard_forecasting::migrate::{self, MigrateReport, MigrateRequest};
use stockyard_store::Table;

async fn handle(
    table: &'static Table,
    event: LambdaEvent<MigrateRequest>,
) -> Result<MigrateReport, lambda_runtime::Error> {
    Ok(migrate::run(table, event.payload).await?)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(async |sdk| Ok(Table::from_env(sdk)?), handle).await
}
