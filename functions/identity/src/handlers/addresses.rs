//! The signed-in user's address book (at most 20 addresses, one of them the default).

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::Utc;
use lambda_http::http::StatusCode;
use stockyard_domain::address::{AddressInput, PostalAddress};
use stockyard_domain::ids::{AddressId, UserId};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::{commit, idempotent};
use stockyard_http::request::{json_body, path};
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, ListResponse, Request, Response, no_content};
use stockyard_store::identity::AddressRecord;
use stockyard_store::table::{Change, Expr};
use stockyard_store::{StoreError, Table, keys};

use crate::dto::{AddressRequest, AddressView};

pub const MAX_ADDRESSES: usize = 20;

fn parse(body: &AddressRequest) -> Result<PostalAddress, ApiError> {
    Ok(PostalAddress::parse(AddressInput {
        label: body.label.as_deref(),
        recipient: &body.recipient,
        line1: &body.line1,
        line2: body.line2.as_deref(),
        city: &body.city,
        region: body.region.as_deref(),
        postal_code: &body.postal_code,
        country: &body.country,
        phone: body.phone.as_deref(),
    })?)
}

async fn all(table: &Table, user: UserId) -> Result<Vec<AddressRecord>, ApiError> {
    Ok(table.query_all::<AddressRecord>(&keys::addresses_of(user)).await?)
}

/// Writes that clear the default flag on every other address.
fn clear_other_defaults(
    table: &Table,
    existing: &[AddressRecord],
    keep: AddressId,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    existing
        .iter()
        .filter(|a| a.is_default && a.id != keep)
        .map(|a| {
            table
                .tx_update(
                    &keys::address(a.user_id, a.id),
                    Change::new(Expr::new("SET is_default = :f").value(":f", AttributeValue::Bool(false)))
                        .when(Expr::exists()),
                )
                .map_err(ApiError::from)
        })
        .collect()
}

fn record(
    user: UserId,
    id: AddressId,
    a: PostalAddress,
    is_default: bool,
    created_at: chrono::DateTime<Utc>,
) -> AddressRecord {
    AddressRecord {
        id,
        user_id: user,
        label: a.label,
        recipient: a.recipient,
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        region: a.region,
        postal_code: a.postal_code,
        country: a.country,
        phone: a.phone,
        is_default,
        created_at,
        updated_at: Utc::now(),
    }
}

/// My addresses, the default first.
#[utoipa::path(get, path = "/me/addresses", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = ListResponse<AddressView>), (status = 401, body = ErrorBody)))]
pub async fn list_addresses(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let mut items: Vec<AddressView> = all(&deps.table, me.user_id).await?.into_iter().map(Into::into).collect();
    items.sort_by_key(|a| (!a.is_default, a.id));
    Ok(ok(&ListResponse { items, next_cursor: None }))
}

/// Add an address.
#[utoipa::path(post, path = "/me/addresses", tag = "profile", security(("bearer" = [])), request_body = AddressRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 201, body = AddressView), (status = 422, description = "invalid_field or too_many_addresses", body = ErrorBody)))]
pub async fn create_address(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let body: AddressRequest = json_body(&req)?;
    let address = parse(&body)?;
    idempotent(&req, &me.user_id.to_string(), &deps.table, async |key| {
        let existing = all(&deps.table, me.user_id).await?;
        if existing.len() >= MAX_ADDRESSES {
            return Err(ApiError::unprocessable(
                "too_many_addresses",
                None,
                format!("an address book holds at most {MAX_ADDRESSES} addresses"),
            ));
        }
        let id = AddressId::generate();
        let is_default = body.is_default || existing.is_empty();
        let new = record(me.user_id, id, address, is_default, Utc::now());
        let mut writes =
            vec![deps.table.tx_put(&keys::address(me.user_id, id), None, &new, Some(Expr::not_exists()))?];
        if is_default {
            writes.extend(clear_other_defaults(&deps.table, &existing, id)?);
        }
        commit(&deps.table, writes, key, StatusCode::CREATED, &AddressView::from(new), |_| {
            ApiError::conflict("address_changed", "your address book changed meanwhile; try again")
        })
        .await
    })
    .await
}

/// Replace an address.
#[utoipa::path(put, path = "/me/addresses/{addressId}", tag = "profile", security(("bearer" = [])), request_body = AddressRequest,
    params(("addressId" = String, Path)),
    responses((status = 200, body = AddressView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_address(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let id = path(&req, "addressId", AddressId::parse)?;
    let body: AddressRequest = json_body(&req)?;
    let address = parse(&body)?;
    let existing = all(&deps.table, me.user_id).await?;
    let current = existing.iter().find(|a| a.id == id).ok_or(ApiError::NotFound("address"))?;
    // The default stays the default until another address takes its place.
    let is_default = body.is_default || current.is_default;
    let updated = record(me.user_id, id, address, is_default, current.created_at);
    let mut writes = vec![deps.table.tx_put(&keys::address(me.user_id, id), None, &updated, Some(Expr::exists()))?];
    if is_default {
        writes.extend(clear_other_defaults(&deps.table, &existing, id)?);
    }
    match deps.table.transact(writes).await {
        Ok(()) => Ok(ok(&AddressView::from(updated))),
        Err(StoreError::TransactionConflict { index: 0 }) => Err(ApiError::NotFound("address")),
        Err(StoreError::TransactionConflict { .. }) => {
            Err(ApiError::conflict("address_changed", "your address book changed meanwhile; try again"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Delete an address. Deleting the default makes the oldest remaining address the default.
#[utoipa::path(delete, path = "/me/addresses/{addressId}", tag = "profile", security(("bearer" = [])),
    params(("addressId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_address(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let id = path(&req, "addressId", AddressId::parse)?;
    let existing = all(&deps.table, me.user_id).await?;
    let current = existing.iter().find(|a| a.id == id).ok_or(ApiError::NotFound("address"))?;
    let mut writes = vec![deps.table.tx_delete(&keys::address(me.user_id, id), Some(Expr::exists()))?];
    let successor = existing.iter().find(|a| a.id != id).filter(|_| current.is_default);
    if let Some(next) = successor {
        writes.push(deps.table.tx_update(
            &keys::address(me.user_id, next.id),
            Change::new(Expr::new("SET is_default = :t").value(":t", AttributeValue::Bool(true))).when(Expr::exists()),
        )?);
    }
    match deps.table.transact(writes).await {
        Ok(()) => Ok(no_content()),
        Err(StoreError::TransactionConflict { index: 0 }) => Err(ApiError::NotFound("address")),
        Err(StoreError::TransactionConflict { .. }) => {
            Err(ApiError::conflict("address_changed", "your address book changed meanwhile; try again"))
        }
        Err(e) => Err(e.into()),
    }
}
