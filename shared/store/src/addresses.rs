//! A user's address book: at most `MAX_ADDRESSES` addresses, exactly one of them the default.
//!
//! Both invariants span several items, so they live on one guard item, the book: it holds the count
//! and the default's id under a version, and every change of the book is one transaction that
//! moves that version on. Two concurrent changes cannot both commit against the same version; the
//! loser reads again and retries, so neither a second default nor a 21st address can slip in.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use stockyard_domain::address::{Address, MAX_ADDRESSES, PostalAddress};
use stockyard_domain::ids::{AddressId, UserId};

use crate::entity::Entity;
use crate::table::Expr;
use crate::tx::Tx;
use crate::{StoreError, Table, keys};

impl Entity for Address {
    type Id = (UserId, AddressId);
    const NAME: &'static str = "address";
    fn key((user, id): &(UserId, AddressId)) -> keys::Key {
        keys::address(*user, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::address(self.user_id, self.id)
    }
}

/// The guard of one user's address book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressBookRecord {
    pub user_id: UserId,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_id: Option<AddressId>,
    /// Moved on by every change of the book.
    pub version: u64,
}

impl Entity for AddressBookRecord {
    type Id = UserId;
    const NAME: &'static str = "address book";
    fn key(user: &UserId) -> keys::Key {
        keys::address_book(*user)
    }
    fn key_of(&self) -> keys::Key {
        keys::address_book(self.user_id)
    }
}

/// Why an address-book change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("an address book holds at most {MAX_ADDRESSES} addresses")]
    Full,
    #[error("no such address")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Book {
    guard: AddressBookRecord,
    exists: bool,
    addresses: Vec<Address>,
}

async fn read(table: &Table, user: UserId) -> Result<Book, StoreError> {
    let collection = keys::addresses_of(user);
    let (guard, addresses) =
        tokio::try_join!(table.get::<AddressBookRecord>(&user), table.query_all::<Address>(&collection))?;
    let exists = guard.is_some();
    let guard = guard.unwrap_or(AddressBookRecord { user_id: user, count: 0, default_id: None, version: 0 });
    let mut addresses = addresses;
    for a in &mut addresses {
        a.is_default = guard.default_id == Some(a.id);
    }
    Ok(Book { guard, exists, addresses })
}

/// The book's next state, written only if nobody changed it since it was read.
fn guard_write(tx: &mut Tx, book: &Book, next: &AddressBookRecord) -> Result<(), StoreError> {
    let unchanged = if book.exists {
        Expr::new("version = :version").val(":version", &book.guard.version)
    } else {
        Expr::not_exists()
    };
    tx.put("address_book", next, Some(unchanged))?;
    Ok(())
}

/// Applies `change` to the book read fresh, retrying when a concurrent change won the race.
async fn change_book<T>(
    table: &Table,
    user: UserId,
    mut change: impl FnMut(&Book) -> Result<(Tx, T), AddressError>,
) -> Result<T, AddressError> {
    for _ in 0..crate::retry::ATTEMPTS * 2 {
        let book = read(table, user).await?;
        let (tx, out) = change(&book)?;
        match table.commit(tx).await {
            Ok(()) => return Ok(out),
            Err(e) if e.failed_at("address_book") => continue,
            Err(e) if e.failed_at("address") => return Err(AddressError::NotFound),
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled("the address book kept changing meanwhile".into()).into())
}

/// Every address of the book, the default first, then oldest first.
pub async fn list(table: &Table, user: UserId) -> Result<Vec<Address>, StoreError> {
    let mut addresses = read(table, user).await?.addresses;
    addresses.sort_by_key(|a| (!a.is_default, a.id));
    Ok(addresses)
}

/// Adds an address; the first one, or one marked so, becomes the default. `attach` may add steps
/// that must commit with it (the idempotency record of the response).
pub async fn add(
    table: &Table,
    user: UserId,
    fields: PostalAddress,
    make_default: bool,
    attach: impl Fn(&Address, &mut Tx) -> Result<(), StoreError>,
) -> Result<Address, AddressError> {
    let id = AddressId::generate();
    let now = Utc::now();
    change_book(table, user, |book| {
        if book.guard.count >= MAX_ADDRESSES || book.addresses.len() >= MAX_ADDRESSES as usize {
            return Err(AddressError::Full);
        }
        let mut address = Address::new(id, user, fields.clone(), now, now);
        address.is_default = make_default || book.guard.default_id.is_none();
        let next = AddressBookRecord {
            user_id: user,
            count: book.addresses.len() as u32 + 1,
            default_id: if address.is_default { Some(id) } else { book.guard.default_id },
            version: book.guard.version + 1,
        };
        let mut tx = table.tx();
        guard_write(&mut tx, book, &next)?;
        tx.put("address", &address, Some(Expr::not_exists()))?;
        attach(&address, &mut tx)?;
        Ok((tx, address))
    })
    .await
}

/// Replaces an address's fields; marking it default moves the default to it (the default stays the
/// default until another address takes its place).
pub async fn replace(
    table: &Table,
    user: UserId,
    id: AddressId,
    fields: PostalAddress,
    make_default: bool,
) -> Result<Address, AddressError> {
    let now = Utc::now();
    change_book(table, user, |book| {
        let current = book.addresses.iter().find(|a| a.id == id).ok_or(AddressError::NotFound)?;
        let mut address = Address::new(id, user, fields.clone(), current.created_at, now);
        address.is_default = make_default || current.is_default;
        let next = AddressBookRecord {
            default_id: if address.is_default { Some(id) } else { book.guard.default_id },
            version: book.guard.version + 1,
            ..book.guard.clone()
        };
        let mut tx = table.tx();
        guard_write(&mut tx, book, &next)?;
        tx.put("address", &address, Some(Expr::exists()))?;
        Ok((tx, address))
    })
    .await
}

/// Deletes an address; deleting the default makes the oldest remaining address the default.
pub async fn remove(table: &Table, user: UserId, id: AddressId) -> Result<(), AddressError> {
    change_book(table, user, |book| {
        if !book.addresses.iter().any(|a| a.id == id) {
            return Err(AddressError::NotFound);
        }
        let remaining = book.addresses.iter().filter(|a| a.id != id);
        let default_id = match book.guard.default_id {
            Some(d) if d != id => Some(d),
            _ => remaining.clone().map(|a| a.id).min(),
        };
        let next = AddressBookRecord {
            user_id: user,
            count: remaining.count() as u32,
            default_id,
            version: book.guard.version + 1,
        };
        let mut tx = table.tx();
        guard_write(&mut tx, book, &next)?;
        tx.delete::<Address>("address", &(user, id), Some(Expr::exists()))?;
        Ok((tx, ()))
    })
    .await
}
