//! Demand concepts shared by the forecast engine, the store and the API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

/// Whether a SKU-location needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// On hand + incoming does not cover expected demand until a new order could arrive.
    StockOut,
    /// Position exceeds the order-up-to level by more than the expected demand of a further
    /// lead time + review period.
    Overstock,
    None,
}

impl Risk {
    pub const ALL: [Risk; 3] = [Risk::StockOut, Risk::Overstock, Risk::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Risk::StockOut => "stock_out",
            Risk::Overstock => "overstock",
            Risk::None => "none",
        }
    }

    /// Parses a risk the client sent, naming `field` when it is not one.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| FieldError::new(field, "must be one of stock_out, overstock, none"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_risk_is_written_and_read_by_the_same_name() {
        for risk in Risk::ALL {
            assert_eq!(serde_json::to_value(risk).unwrap(), risk.as_str());
            assert_eq!(Risk::parse("risk", risk.as_str()).unwrap(), risk);
        }
        assert_eq!(Risk::parse("risk", "StockOut").unwrap_err().field, "risk");
    }
}
