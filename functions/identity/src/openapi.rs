//! The identity API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers::{addresses, admin, api_keys, auth, profile, recovery, staff, vendors};

#[derive(OpenApi)]
#[openapi(paths(
    auth::register,
    auth::login,
    auth::refresh,
    auth::revoke,
    recovery::verify_email,
    recovery::forgot_password,
    recovery::reset_password,
    recovery::confirm_email_change,
    recovery::request_email_verification,
    recovery::change_password,
    recovery::request_email_change,
    profile::get_profile,
    profile::update_profile,
    addresses::list_addresses,
    addresses::create_address,
    addresses::update_address,
    addresses::delete_address,
    vendors::create_vendor,
    vendors::get_vendor,
    vendors::update_vendor,
    staff::list_staff,
    staff::invite_staff,
    staff::list_vendor_invitations,
    staff::list_my_invitations,
    staff::accept_invitation,
    staff::update_staff_role,
    staff::remove_staff,
    api_keys::create_api_key,
    api_keys::list_api_keys,
    api_keys::revoke_api_key,
    admin::list_users,
    admin::set_user_roles,
    admin::list_vendors,
    admin::set_vendor_status,
))]
pub struct IdentityApi;
