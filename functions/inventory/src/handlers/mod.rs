pub mod alerts;
pub mod channels;
pub mod expiry;
pub mod locations;
pub mod lookup;
pub mod scans;
pub mod stock;
pub mod transfers;
