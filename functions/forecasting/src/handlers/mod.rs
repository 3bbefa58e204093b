pub mod demand;
pub mod forecasts;
