pub mod channels;
pub mod locations;
pub mod lookup;
pub mod stock;
pub mod transfers;
