//! The exchange rates admin maintains: one current set, replaced whole. Prices a variant lacks in
//! a shopper's currency are converted from the vendor's base currency with them.

use stockyard_domain::exchange::ExchangeRates;

use crate::entity::Entity;
use crate::{StoreError, Table, keys};

impl Entity for ExchangeRates {
    type Id = ();
    const NAME: &'static str = "exchange rates";
    fn key(_: &()) -> keys::Key {
        keys::exchange_rates()
    }
    fn key_of(&self) -> keys::Key {
        keys::exchange_rates()
    }
}

pub async fn current(table: &Table) -> Result<Option<ExchangeRates>, StoreError> {
    table.get::<ExchangeRates>(&()).await
}

/// Replaces the current rates.
pub async fn replace(table: &Table, rates: &ExchangeRates) -> Result<(), StoreError> {
    table.put(rates, None).await
}
