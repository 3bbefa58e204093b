//! API keys: how point-of-sale terminals, scanners and external marketplaces act for a vendor,
//! since they cannot sign in as people. The vendor's owner issues a key for the whole vendor, one
//! sales channel or one location, with a set of permissions; the key's secret is shown once and
//! kept only as a keyed hash (the HTTP crate makes and checks it). A revoked key is refused at once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{ApiKeyId, ChannelId, LocationId, UserId, VendorId};

/// One thing a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyPermission {
    /// Post sales to a channel (`POST .../channels/{channelId}/sales`).
    ChannelSales,
    /// Post returns to a channel (`POST .../channels/{channelId}/returns`).
    ChannelReturns,
    /// Scan goods in at a location (`POST .../scans`, action `receive`).
    ScanReceive,
    /// Post stock counts by scanning at a location (action `count`).
    ScanCount,
    /// Move goods to another bin by scanning at a location (action `move`).
    ScanMove,
    /// Sell by scanning at a location (action `sell`).
    ScanSell,
}

/// What a permission is limited by: sales and returns by channel, scans by location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Channel,
    Location,
}

impl KeyPermission {
    pub const ALL: [KeyPermission; 6] = [
        KeyPermission::ChannelSales,
        KeyPermission::ChannelReturns,
        KeyPermission::ScanReceive,
        KeyPermission::ScanCount,
        KeyPermission::ScanMove,
        KeyPermission::ScanSell,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyPermission::ChannelSales => "channel_sales",
            KeyPermission::ChannelReturns => "channel_returns",
            KeyPermission::ScanReceive => "scan_receive",
            KeyPermission::ScanCount => "scan_count",
            KeyPermission::ScanMove => "scan_move",
            KeyPermission::ScanSell => "scan_sell",
        }
    }

    /// What the permission lets a key do, for refusals.
    pub fn describe(self) -> &'static str {
        match self {
            KeyPermission::ChannelSales => "post sales to a channel",
            KeyPermission::ChannelReturns => "post returns to a channel",
            KeyPermission::ScanReceive => "receive goods by scanning",
            KeyPermission::ScanCount => "count stock by scanning",
            KeyPermission::ScanMove => "move goods between bins by scanning",
            KeyPermission::ScanSell => "sell by scanning",
        }
    }

    fn limit(self) -> Limit {
        match self {
            KeyPermission::ChannelSales | KeyPermission::ChannelReturns => Limit::Channel,
            _ => Limit::Location,
        }
    }
}

impl std::fmt::Display for KeyPermission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a key reaches within its vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ApiKeyScope {
    /// Every channel and location of the vendor (a struct variant, so that a field it does not
    /// take is refused like any other).
    Vendor {},
    /// One sales channel (sales and returns permissions).
    Channel { channel_id: ChannelId },
    /// One stock location (scan permissions).
    Location { location_id: LocationId },
}

impl utoipa::PartialSchema for ApiKeyScope {
    /// One object per kind, each with exactly its own fields (as the parser takes them).
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let kind = |name: &str, description: &str, id: Option<(&str, &str)>| {
            let tag = ObjectBuilder::new().schema_type(Type::String).enum_values(Some([name]));
            let mut object = ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(description))
                .property("kind", tag)
                .required("kind")
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            if let Some((field, schema)) = id {
                object = object.property(field, utoipa::openapi::Ref::from_schema_name(schema)).required(field);
            }
            object
        };
        OneOfBuilder::new()
            .description(Some("How far a key reaches within its vendor."))
            .item(kind("vendor", "Every channel and location of the vendor.", None))
            .item(kind(
                "channel",
                "One sales channel (sales and returns permissions).",
                Some(("channel_id", "ChannelId")),
            ))
            .item(kind("location", "One stock location (scan permissions).", Some(("location_id", "LocationId"))))
            .into()
    }
}

impl ToSchema for ApiKeyScope {}

/// What one request of a key touches, as the route says: the channel its sales go to, or the
/// location it scans at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTarget {
    Channel(ChannelId),
    Location(LocationId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyStatus {
    Active,
    /// Refused from its next request on.
    Revoked,
}

/// A vendor's API key as its owner sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub vendor_id: VendorId,
    /// What the key is for, such as "Soho till 2".
    pub name: String,
    pub scope: ApiKeyScope,
    /// What the key may do, in a fixed order.
    pub permissions: Vec<KeyPermission>,
    /// The start of the key and its last four characters, to recognise it by.
    #[schema(example = "syk_01JD2Z8Q4Y6W3V5T7R9P1N3M5K_…Xw7Q")]
    pub hint: String,
    pub status: ApiKeyStatus,
    pub created_at: DateTime<Utc>,
    /// The owner who issued it.
    pub created_by: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<UserId>,
}

/// Why a key may not do what a request asks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    #[error("this API key belongs to another vendor")]
    OtherVendor,
    #[error("this API key may not {}", .0.describe())]
    Permission(KeyPermission),
    #[error("this API key is limited to {0}")]
    OutOfScope(String),
}

impl ApiKey {
    pub fn is_active(&self) -> bool {
        self.status == ApiKeyStatus::Active
    }

    /// Whether this key may use `permission` on `target` of `vendor` (revocation is checked before).
    pub fn allows(&self, vendor: VendorId, permission: KeyPermission, target: KeyTarget) -> Result<(), KeyRefusal> {
        if self.vendor_id != vendor {
            return Err(KeyRefusal::OtherVendor);
        }
        if !self.permissions.contains(&permission) {
            return Err(KeyRefusal::Permission(permission));
        }
        match (self.scope, target) {
            (ApiKeyScope::Vendor {}, _) => Ok(()),
            (ApiKeyScope::Channel { channel_id }, KeyTarget::Channel(c)) if c == channel_id => Ok(()),
            (ApiKeyScope::Location { location_id }, KeyTarget::Location(l)) if l == location_id => Ok(()),
            (ApiKeyScope::Channel { channel_id }, _) => Err(KeyRefusal::OutOfScope(format!("channel {channel_id}"))),
            (ApiKeyScope::Location { location_id }, _) => {
                Err(KeyRefusal::OutOfScope(format!("location {location_id}")))
            }
        }
    }
}

/// The permissions a new key asks for, checked against its scope and put in a fixed order: at
/// least one, none twice, and each usable within the scope (sales and returns need a channel or
/// the whole vendor; scans a location or the whole vendor). A refusal names `permissions[i]`.
pub fn check_grant(scope: &ApiKeyScope, permissions: &[KeyPermission]) -> Result<Vec<KeyPermission>, FieldError> {
    if permissions.is_empty() {
        return Err(FieldError::new("permissions", "must name at least one permission"));
    }
    let mut granted: Vec<KeyPermission> = Vec::with_capacity(permissions.len());
    for (i, permission) in permissions.iter().enumerate() {
        let field = format!("permissions[{i}]");
        if granted.contains(permission) {
            return Err(FieldError::new(field, "is listed twice"));
        }
        let fits = match (scope, permission.limit()) {
            (ApiKeyScope::Vendor {}, _) => true,
            (ApiKeyScope::Channel { .. }, limit) => limit == Limit::Channel,
            (ApiKeyScope::Location { .. }, limit) => limit == Limit::Location,
        };
        if !fits {
            let needs = match permission.limit() {
                Limit::Channel => "a channel or the whole vendor",
                Limit::Location => "a location or the whole vendor",
            };
            return Err(FieldError::new(field, format!("{permission} needs a key scoped to {needs}")));
        }
        granted.push(*permission);
    }
    granted.sort();
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyPermission::*;

    fn key(scope: ApiKeyScope, permissions: &[KeyPermission]) -> ApiKey {
        ApiKey {
            id: ApiKeyId::generate(),
            vendor_id: VendorId::generate(),
            name: "Till 2".into(),
            scope,
            permissions: permissions.to_vec(),
            hint: "syk_…abcd".into(),
            status: ApiKeyStatus::Active,
            created_at: Utc::now(),
            created_by: UserId::generate(),
            revoked_at: None,
            revoked_by: None,
        }
    }

    #[test]
    fn a_channel_key_posts_sales_to_its_channel_only() {
        let (c, d) = (ChannelId::generate(), ChannelId::generate());
        let till = key(ApiKeyScope::Channel { channel_id: c }, &[ChannelSales]);
        let v = till.vendor_id;
        assert_eq!(till.allows(v, ChannelSales, KeyTarget::Channel(c)), Ok(()));
        let other = till.allows(v, ChannelSales, KeyTarget::Channel(d)).unwrap_err();
        assert_eq!(other.to_string(), format!("this API key is limited to channel {c}"));
        assert_eq!(till.allows(v, ChannelReturns, KeyTarget::Channel(c)), Err(KeyRefusal::Permission(ChannelReturns)));
        assert_eq!(
            till.allows(VendorId::generate(), ChannelSales, KeyTarget::Channel(c)),
            Err(KeyRefusal::OtherVendor)
        );
    }

    #[test]
    fn a_location_key_scans_at_its_location_only_and_a_vendor_key_anywhere() {
        let (l, m) = (LocationId::generate(), LocationId::generate());
        let dock = key(ApiKeyScope::Location { location_id: l }, &[ScanReceive, ScanCount]);
        let v = dock.vendor_id;
        assert!(dock.allows(v, ScanReceive, KeyTarget::Location(l)).is_ok());
        assert!(matches!(dock.allows(v, ScanReceive, KeyTarget::Location(m)), Err(KeyRefusal::OutOfScope(_))));
        assert_eq!(dock.allows(v, ScanSell, KeyTarget::Location(l)), Err(KeyRefusal::Permission(ScanSell)));
        assert!(dock.allows(v, ScanReceive, KeyTarget::Channel(ChannelId::generate())).is_err());
        let everywhere = key(ApiKeyScope::Vendor {}, &KeyPermission::ALL);
        let v = everywhere.vendor_id;
        assert!(everywhere.allows(v, ScanSell, KeyTarget::Location(m)).is_ok());
        assert!(everywhere.allows(v, ChannelReturns, KeyTarget::Channel(ChannelId::generate())).is_ok());
    }

    #[test]
    fn a_grant_needs_permissions_that_fit_its_scope_each_once() {
        let channel = ApiKeyScope::Channel { channel_id: ChannelId::generate() };
        let location = ApiKeyScope::Location { location_id: LocationId::generate() };
        assert_eq!(check_grant(&channel, &[ChannelReturns, ChannelSales]), Ok(vec![ChannelSales, ChannelReturns]));
        assert_eq!(check_grant(&location, &[]).unwrap_err().field, "permissions");
        assert_eq!(check_grant(&channel, &[ChannelSales, ScanSell]).unwrap_err().field, "permissions[1]");
        assert_eq!(check_grant(&location, &[ChannelSales]).unwrap_err().field, "permissions[0]");
        assert_eq!(check_grant(&location, &[ScanMove, ScanMove]).unwrap_err().field, "permissions[1]");
        assert_eq!(check_grant(&ApiKeyScope::Vendor {}, &KeyPermission::ALL).unwrap().len(), 6);
    }

    #[test]
    fn scopes_travel_tagged_with_their_kind_and_refuse_what_they_do_not_take() {
        let id = ChannelId::generate();
        let scope = ApiKeyScope::Channel { channel_id: id };
        assert_eq!(serde_json::to_value(scope).unwrap(), serde_json::json!({"kind": "channel", "channel_id": id}));
        let vendor: ApiKeyScope = serde_json::from_value(serde_json::json!({"kind": "vendor"})).unwrap();
        assert_eq!(vendor, ApiKeyScope::Vendor {});
        let stray = serde_json::json!({"kind": "vendor", "channel_id": id});
        assert!(serde_json::from_value::<ApiKeyScope>(stray).is_err());
        assert!(serde_json::from_value::<ApiKeyScope>(serde_json::json!({"kind": "location"})).is_err());
    }
}
