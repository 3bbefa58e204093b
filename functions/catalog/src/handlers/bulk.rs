//! Bulk CSV of a vendor's catalog (owner and catalog editors). An import is made, uploaded to a
//! presigned URL, then started: the `import-products` job checks and writes it and leaves a report
//! per row and column. An export is queued: `export-products` writes the file, and reading the
//! export then gives a time-limited download URL.

use chrono::Utc;
use serde::Serialize;
use stockyard_domain::bulk::{CatalogExport, CatalogImport, FileJobStatus, ImportCounts, MAX_IMPORT_BYTES};
use stockyard_domain::ids::{ExportId, ImportId};
use stockyard_domain::roles::{VendorPermission, VendorRole};
use stockyard_http::error::ErrorBody;
use stockyard_http::response::{created, json, ok};
use stockyard_http::vendor_access::VendorAccess;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::StoreError;
use stockyard_store::catalog_files::{self, ExportRecord, ImportRecord};
use utoipa::ToSchema;

use crate::bulk::{self, ExportMessage, Files, ImportMessage, Presigned, is_csv};

/// What the bulk functions need: the API's table and token verifier, the files bucket and queues.
pub struct BulkDeps {
    pub api: ApiDeps,
    pub files: Files,
}

impl BulkDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { api: ApiDeps::from_env(sdk).await?, files: Files::from_env(sdk)? })
    }
}

/// A new import and where to upload its file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportUpload {
    #[serde(flatten)]
    pub import: CatalogImport,
    /// PUT the CSV here with the headers given, within 15 minutes, then start the import.
    pub upload: Presigned,
    /// The largest file the import takes, in bytes.
    pub max_bytes: u64,
}

/// An export, and once it is done a link to download it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    #[serde(flatten)]
    pub export: CatalogExport,
    /// Present once the export is done: GET it within 15 minutes (read the export again for a new one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<Presigned>,
}

/// Imports and exports are the catalog writers' (their reports name products and SKUs); a
/// suspended vendor's writers may still read them.
async fn catalog_files_reader(cx: &Ctx<'_>) -> Result<VendorAccess, ApiError> {
    let access = cx.vendor(VendorPermission::Read).await?;
    match access.role {
        Some(VendorRole::Owner | VendorRole::CatalogEditor) => Ok(access),
        Some(role) => Err(ApiError::Forbidden(format!("your role in this vendor ({role}) does not allow this"))),
        None => Err(ApiError::Forbidden("you are not a member of this vendor".into())),
    }
}

async fn vendor_import(cx: &Ctx<'_>, id: ImportId, access: &VendorAccess) -> Result<ImportRecord, ApiError> {
    catalog_files::get_import(cx.store().await?, access.id(), id).await?.ok_or(ApiError::NotFound("import"))
}

/// Make an import: answers its id and a presigned URL to PUT the CSV to (`text/csv`, at most 10 MB).
#[utoipa::path(post, path = "/vendors/{vendorId}/imports", tag = "catalog", security(("bearer" = ["vendor_owner", "catalog_editor"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path)),
    responses((status = 201, body = ImportUpload), (status = 403, body = ErrorBody)))]
pub async fn create_import(deps: &BulkDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let access = cx.vendor(VendorPermission::CatalogWrite).await?;
    let now = Utc::now();
    let id = ImportId::generate();
    let key = bulk::import_key(access.id(), id);
    let upload = deps.files.presign_upload(&key).await.map_err(ApiError::internal)?;
    let import = CatalogImport {
        id,
        vendor_id: access.id(),
        status: FileJobStatus::Uploading,
        created_by: cx.person()?.user_id,
        created_at: now,
        updated_at: now,
        counts: ImportCounts::default(),
        errors: Vec::new(),
        errors_truncated: false,
        failure: None,
        finished_at: None,
    };
    let record = ImportRecord { import, object_key: key, expires_at: catalog_files::expiry(now) };
    catalog_files::create_import(cx.store().await?, &record).await?;
    Ok(created(&ImportUpload { import: record.import, upload, max_bytes: MAX_IMPORT_BYTES }))
}

/// Start an uploaded import: checks the upload's size and type and queues the job (202). Starting
/// a queued import again queues it again (harmless: the job runs an import once).
#[utoipa::path(post, path = "/vendors/{vendorId}/imports/{importId}/start", tag = "catalog",
    security(("bearer" = ["vendor_owner", "catalog_editor"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("importId" = ImportId, Path)),
    responses((status = 202, body = CatalogImport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "upload_missing (nothing uploaded yet) or import_started (already running or finished)", body = ErrorBody),
              (status = 422, description = "file_too_large or unsupported_file_type: upload again, then start", body = ErrorBody)))]
pub async fn start_import(deps: &BulkDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let id = cx.path("importId", ImportId::parse)?;
    let access = cx.vendor(VendorPermission::CatalogWrite).await?;
    let current = vendor_import(&cx, id, &access).await?;
    if !matches!(current.import.status, FileJobStatus::Uploading | FileJobStatus::Queued) {
        return Err(import_started(current.import.status));
    }
    let Some(uploaded) = deps.files.uploaded(&current.object_key).await.map_err(ApiError::internal)? else {
        return Err(ApiError::conflict(
            "upload_missing",
            "nothing was uploaded for this import yet: PUT the file to its upload URL",
        ));
    };
    if uploaded.size > MAX_IMPORT_BYTES {
        return Err(ApiError::unprocessable(
            "file_too_large",
            None,
            format!("the file has {} bytes; an import takes at most {MAX_IMPORT_BYTES}", uploaded.size),
        ));
    }
    if !is_csv(uploaded.content_type.as_deref()) {
        return Err(ApiError::unprocessable(
            "unsupported_file_type",
            None,
            "the file was not uploaded as text/csv: upload it again with Content-Type: text/csv",
        ));
    }
    let table = cx.store().await?;
    let from = [FileJobStatus::Uploading, FileJobStatus::Queued];
    let record =
        match catalog_files::move_import(table, access.id(), id, &from, FileJobStatus::Queued, Utc::now()).await {
            Ok(r) => r,
            Err(StoreError::ConditionFailed) => {
                let status = vendor_import(&cx, id, &access).await?.import.status;
                return Err(import_started(status));
            }
            Err(e) => return Err(e.into()),
        };
    let queue = deps
        .files
        .imports
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no imports queue configured")))?;
    let message =
        serde_json::to_string(&ImportMessage { vendor_id: access.id(), import_id: id }).map_err(ApiError::internal)?;
    queue.publish_raw(&message).await.map_err(ApiError::internal)?;
    Ok(json(lambda_http::http::StatusCode::ACCEPTED, &record.import))
}

fn import_started(status: FileJobStatus) -> ApiError {
    ApiError::conflict(
        "import_started",
        format!("this import is {} already; make a new import to import again", status.as_str()),
    )
}

/// An import: its status, counts (progress while it runs) and, once done, every problem by row and column.
#[utoipa::path(get, path = "/vendors/{vendorId}/imports/{importId}", tag = "catalog",
    security(("bearer" = ["vendor_owner", "catalog_editor"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("importId" = ImportId, Path)),
    responses((status = 200, body = CatalogImport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_import(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("importId", ImportId::parse)?;
    let access = catalog_files_reader(&cx).await?;
    Ok(ok(&vendor_import(&cx, id, &access).await?.import))
}

/// Export the vendor's catalog as CSV (the import's columns): queues the job (202).
#[utoipa::path(post, path = "/vendors/{vendorId}/exports", tag = "catalog", security(("bearer" = ["vendor_owner", "catalog_editor"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path)),
    responses((status = 202, body = CatalogExport), (status = 403, body = ErrorBody)))]
pub async fn create_export(deps: &BulkDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let access = cx.vendor(VendorPermission::CatalogWrite).await?;
    let queue = deps
        .files
        .exports
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no exports queue configured")))?;
    let now = Utc::now();
    let id = ExportId::generate();
    let export = CatalogExport {
        id,
        vendor_id: access.id(),
        status: FileJobStatus::Queued,
        created_by: cx.person()?.user_id,
        created_at: now,
        updated_at: now,
        products: 0,
        rows: 0,
        failure: None,
        finished_at: None,
    };
    let record =
        ExportRecord { export, object_key: bulk::export_key(access.id(), id), expires_at: catalog_files::expiry(now) };
    catalog_files::create_export(cx.store().await?, &record).await?;
    let message =
        serde_json::to_string(&ExportMessage { vendor_id: access.id(), export_id: id }).map_err(ApiError::internal)?;
    queue.publish_raw(&message).await.map_err(ApiError::internal)?;
    Ok(json(lambda_http::http::StatusCode::ACCEPTED, &record.export))
}

/// An export: its status and, once done, a download URL valid 15 minutes.
#[utoipa::path(get, path = "/vendors/{vendorId}/exports/{exportId}", tag = "catalog",
    security(("bearer" = ["vendor_owner", "catalog_editor"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("exportId" = ExportId, Path)),
    responses((status = 200, body = ExportView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_export(deps: &BulkDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let id = cx.path("exportId", ExportId::parse)?;
    let access = catalog_files_reader(&cx).await?;
    let record =
        catalog_files::get_export(cx.store().await?, access.id(), id).await?.ok_or(ApiError::NotFound("export"))?;
    let download = if record.export.status == FileJobStatus::Done {
        Some(deps.files.presign_download(&record.object_key).await.map_err(ApiError::internal)?)
    } else {
        None
    };
    Ok(ok(&ExportView { export: record.export, download }))
}
