pub mod alerts;
pub mod channels;
pub mod locations;
pub mod lookup;
pub mod scans;
pub mod stock;
pub mod transfers;
