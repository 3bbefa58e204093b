pub mod orders;
pub mod receipts;
pub mod suggestions;
pub mod suppliers;
