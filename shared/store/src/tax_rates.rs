//! The tax table admin maintains: one item, replaced whole, under a version that every change
//! moves by one. Checkout taxes with it.

use stockyard_domain::tax::TaxRates;

use crate::entity::Entity;
use crate::table::Expr;
use crate::{StoreError, Table, keys};

impl Entity for TaxRates {
    type Id = ();
    const NAME: &'static str = "tax rates";
    fn key(_: &()) -> keys::Key {
        keys::tax_rates()
    }
    fn key_of(&self) -> keys::Key {
        keys::tax_rates()
    }
}

/// The rates in force: the empty table at version 0 before an admin set any.
pub async fn current(table: &Table) -> Result<TaxRates, StoreError> {
    Ok(table.get::<TaxRates>(&()).await?.unwrap_or_else(TaxRates::unset))
}

/// Writes `rates` over the table as it was at `read_version` (0: none yet).
/// [`StoreError::ConditionFailed`] when it changed meanwhile: nothing is written.
pub async fn replace(table: &Table, read_version: u64, rates: &TaxRates) -> Result<(), StoreError> {
    let unchanged = if read_version == 0 {
        Expr::not_exists()
    } else {
        Expr::new("#version = :read").name("#version", "version").val(":read", &read_version)
    };
    table.put(rates, Some(unchanged)).await
}
