//! Domain events from the data itself. A committed write is the event: the table's stream
//! (DynamoDB Streams, new and old images) carries every change, and `route-table-events` turns the
//! changes that matter to another area into messages on that area's queue. No handler writes an
//! event beside its data, so none can be lost between a commit and a publish, and a change that
//! did not commit announces nothing.
//!
//! Delivery is at least once: the stream re-delivers a batch from the first record its function
//! could not route. Every event therefore carries the business id its consumer deduplicates on.

use serde::Deserialize;

use crate::StoreError;
use crate::account_mail::AccountMailRecord;
use crate::entity::Entity;
use crate::vendors::InvitationRecord;

/// A change another area acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    /// A vendor invited someone: the invitee gets an email.
    InvitationCreated(InvitationRecord),
    /// An account email was requested (a link to verify or reset, a notice of a change).
    AccountMailRequested(AccountMailRecord),
}

/// What kind of change a stream record is (its `eventName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Insert,
    Modify,
    Remove,
}

impl Change {
    pub fn parse(event_name: &str) -> Option<Self> {
        match event_name {
            "INSERT" => Some(Change::Insert),
            "MODIFY" => Some(Change::Modify),
            "REMOVE" => Some(Change::Remove),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct EntityName {
    #[serde(default)]
    entity: Option<String>,
}

/// The domain event a change of one item means, if any. `new_image` is the item after the change
/// (empty for a removal). An item of a known kind that cannot be read is an error (the router
/// reports it and the stream retries, then parks it); items of other kinds mean nothing.
pub fn from_change(change: Change, new_image: serde_dynamo::Item) -> Result<Option<DomainEvent>, StoreError> {
    let kind: EntityName = serde_dynamo::from_item(new_image.clone())?;
    Ok(match (change, kind.entity.as_deref()) {
        (Change::Insert, Some(InvitationRecord::NAME)) => {
            Some(DomainEvent::InvitationCreated(serde_dynamo::from_item(new_image)?))
        }
        (Change::Insert, Some(AccountMailRecord::NAME)) => {
            Some(DomainEvent::AccountMailRequested(serde_dynamo::from_item(new_image)?))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use stockyard_domain::ids::{InvitationId, UserId, VendorId};
    use stockyard_domain::roles::VendorRole;
    use stockyard_domain::values::Email;
    use stockyard_domain::vendor::InvitationStatus;

    fn invitation() -> InvitationRecord {
        InvitationRecord {
            id: InvitationId::generate(),
            vendor_id: VendorId::generate(),
            vendor_name: "Green Valley".into(),
            email: Email::parse("email", "grace@example.com").unwrap(),
            role: VendorRole::Viewer,
            status: InvitationStatus::Pending,
            invited_by: UserId::generate(),
            created_at: Utc::now(),
            expires_on: Utc::now(),
            accepted_at: None,
        }
    }

    /// The item exactly as the store writes it, as the stream's image carries it.
    fn image<E: Entity>(record: &E) -> serde_dynamo::Item {
        let item = crate::table::to_item(record).unwrap();
        let json = serde_json::to_value(
            item.into_iter()
                .map(|(k, v)| (k, serde_dynamo::AttributeValue::from(v)))
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .unwrap();
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_new_invitation_is_an_invitation_created_event_with_the_stored_record() {
        let record = invitation();
        let event = from_change(Change::Insert, image(&record)).unwrap();
        assert_eq!(event, Some(DomainEvent::InvitationCreated(record)));
    }

    #[test]
    fn other_changes_and_other_items_mean_nothing() {
        let record = invitation();
        assert_eq!(from_change(Change::Modify, image(&record)).unwrap(), None, "accepting is not a new invitation");
        assert_eq!(from_change(Change::Remove, serde_dynamo::Item::default()).unwrap(), None);
        let location = stockyard_domain::location::Location {
            id: stockyard_domain::ids::LocationId::generate(),
            vendor_id: VendorId::generate(),
            code: "WH-1".into(),
            name: "Warehouse".into(),
            kind: stockyard_domain::location::LocationKind::Warehouse,
            country: None,
            created_at: Utc::now(),
        };
        assert_eq!(from_change(Change::Insert, image(&location)).unwrap(), None);
    }

    #[test]
    fn an_invitation_item_that_cannot_be_read_is_an_error_not_silence() {
        let mut item = image(&invitation());
        item.remove("vendor_name");
        assert!(from_change(Change::Insert, item).is_err());
    }
}
