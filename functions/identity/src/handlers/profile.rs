//! The signed-in user's own profile.

use chrono::Utc;
use stockyard_domain::values::{bounded_text, phone};
use stockyard_http::error::ErrorBody;
use stockyard_http::request::json_body;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Request, Response};
use stockyard_store::identity::UserRecord;
use stockyard_store::table::{Change, Expr};
use stockyard_store::{StoreError, keys};

use crate::dto::{UpdateProfileRequest, UserView};

/// My profile.
#[utoipa::path(get, path = "/me", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn get_profile(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let user = super::load_user(&deps.table, me.user_id).await?;
    Ok(ok(&UserView::from(user)))
}

/// Change my name or phone number.
#[utoipa::path(patch, path = "/me", tag = "profile", security(("bearer" = [])), request_body = UpdateProfileRequest,
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_profile(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let body: UpdateProfileRequest = json_body(&req)?;
    let mut set = vec!["updated_at = :now".to_string()];
    let mut remove = vec![];
    let mut update = Expr::default().str(":now", Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    if let Some(name) = &body.name {
        update = update.str(":name", bounded_text("name", name, 1, 100)?).name("#name", "name");
        set.push("#name = :name".into());
    }
    match body.phone.as_deref().map(str::trim) {
        None => {}
        Some("") => remove.push("phone"),
        Some(raw) => {
            update = update.str(":phone", phone("phone", raw)?);
            set.push("phone = :phone".into());
        }
    }
    update.expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        update.expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    match deps.table.update::<UserRecord>(&keys::user(me.user_id), Change::new(update).when(Expr::exists())).await {
        Ok(user) => Ok(ok(&UserView::from(user))),
        Err(StoreError::ConditionFailed) => Err(ApiError::NotFound("user")),
        Err(e) => Err(e.into()),
    }
}
