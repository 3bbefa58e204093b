pub mod locations;
