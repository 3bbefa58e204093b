//! Sample events for every template function (events/<fn>.json): API Gateway v2 requests,
//! SQS batches and EventBridge scheduled events. Generated once, then committed and edited
//! by hand; `stockyard-local events` only writes the missing ones unless `--force`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName as Attr};
use axum::body::Bytes;
use axum::http::Request;
use serde_json::{Value, json};

use crate::apigw::{EventContext, Route};
use crate::pump::sqs_event;
use crate::template::{FunctionEvent, Template};

const ACCOUNT: &str = "123456789012";

/// A plausible request body for a function, by binary name (README "API at a glance").
fn sample_body(binary: &str, method: &str) -> Option<Value> {
    let address = json!({
        "label": "Home", "recipient": "Ada Lovelace", "line1": "12 St James's Square", "line2": null,
        "city": "London", "region": null, "postal_code": "SW1Y 4JH", "country": "GB",
        "phone": "+441632960961", "is_default": true
    });
    Some(match binary {
        "register" => {
            json!({"email": "grace@example.com", "password": "correct horse battery", "name": "Grace Hopper"})
        }
        "login" => json!({"email": "ada@example.com", "password": crate::seed::DEMO_PASSWORD}),
        "refresh-token" | "revoke-token" => json!({"refresh_token": "REPLACE-WITH-A-REFRESH-TOKEN-FROM-LOGIN"}),
        "verify-email" | "confirm-email-change" => json!({"token": "REPLACE-WITH-THE-TOKEN-OF-THE-EMAILED-LINK"}),
        "forgot-password" => json!({"email": "ada@example.com"}),
        "reset-password" => {
            json!({"token": "REPLACE-WITH-THE-TOKEN-OF-THE-EMAILED-LINK", "password": "a much better passphrase"})
        }
        "change-password" => {
            json!({"current_password": crate::seed::DEMO_PASSWORD, "password": "a much better passphrase"})
        }
        "request-email-change" => json!({"email": "ada.king@example.com", "password": crate::seed::DEMO_PASSWORD}),
        "create-category" => json!({
            "names": {"en": "Shoes", "fr": "Chaussures"},
            "attributes": [{"code": "size", "labels": {"en": "Size", "fr": "Taille"}, "defines_variants": true,
                            "kind": {"type": "enum", "values": [{"code": "42", "labels": {"en": "42"}}]}}]
        }),
        "update-category" => json!({"names": {"en": "Footwear", "fr": "Chaussures"}}),
        "create-product" => json!({
            "category_id": "01JD2Z8Q4Y6W3V5T7R9P1N3M5K", "title": "Merino crew jumper",
            "description": "Soft **merino** wool.", "brand": "Northwind", "tags": ["wool", "winter"]
        }),
        "update-product" => json!({"title": "Merino crew jumper, navy"}),
        "set-product-status" => json!({"status": "published"}),
        "create-variant" => json!({"sku": "JUMPER-M-NAVY", "options": {}, "gtin": "4006381333931",
                                   "prices": {"EUR": {"amount": 7900}, "GBP": {"amount": 6900}}}),
        "update-variant" => json!({"prices": {"EUR": {"amount": 7500, "compare_at": 7900}}}),
        "put-product-translation" => {
            json!({"title": "Pull ras du cou en mérinos", "description": "Laine **mérinos** douce."})
        }
        "put-exchange-rates" => json!({"base": "EUR", "rates": {"USD": "1.0825", "GBP": "0.8571", "JPY": "161.25"}}),
        "put-tax-rates" => json!({"countries": [
            {"country": "GB", "pricing": "tax_inclusive", "shipping_tax_class": "standard",
             "rates": [{"tax_class": "standard", "rate": "20", "name": "VAT 20%"},
                       {"tax_class": "reduced", "rate": "5", "name": "VAT 5%"},
                       {"tax_class": "zero", "rate": "0", "name": "VAT 0%"}]},
            {"country": "US", "pricing": "tax_exclusive", "shipping_tax_class": "exempt",
             "rates": [{"region": "CA", "tax_class": "standard", "rate": "7.25", "name": "CA sales tax"}]}
        ]}),
        "put-vendor-shipping" => json!({
            "zones": [{"code": "UK", "name": "United Kingdom", "countries": ["GB"]},
                      {"code": "EU", "name": "Europe", "countries": ["FR", "DE", "NL"]}],
            "services": [{"zone_code": "UK", "code": "STANDARD", "carrier": "Royal Mail", "name": "Tracked 48",
                          "rates": [{"up_to_g": 2000, "price": {"amount": 395, "currency": "GBP"}},
                                    {"up_to_g": 10000, "price": {"amount": 795, "currency": "GBP"}}],
                          "max_weight_g": 20000, "max_length_mm": 1000,
                          "transit_days_min": 2, "transit_days_max": 3},
                         {"zone_code": "EU", "code": "STANDARD", "carrier": "DPD", "name": "Classic",
                          "rates": [{"up_to_g": 5000, "price": {"amount": 1295, "currency": "GBP"}}],
                          "max_weight_g": 31500, "max_length_mm": 1750, "max_girth_mm": 3000,
                          "transit_days_min": 3, "transit_days_max": 5, "volumetric_divisor": 5000}],
            "calendar": {"utc_offset_minutes": 0, "cutoff": "14:00:00",
                         "working_days": {"monday": true, "tuesday": true, "wednesday": true, "thursday": true,
                                          "friday": true, "saturday": false, "sunday": false},
                         "holidays": ["2026-12-25", "2026-12-28"]}
        }),
        "quote-checkout" | "checkout" => json!({
            "cart_id": "01JD2Z8Q4Y6W3V5T7R9P1N3CRT", "email": "ada@example.com",
            "shipping_address": {"recipient": "Ada Lovelace", "line1": "12 rue de Rivoli", "city": "Paris",
                                 "postal_code": "75001", "country": "FR"},
            "shipping_options": {}, "payment_provider": "card"
        }),
        "create-coupon" => json!({"vendor_id": "01JBZ4W9Q6T3M8K2R5X7N1C0VD", "code": "SPRING-15",
                                  "kind": {"type": "percentage", "percent": "15"},
                                  "minimum_spend": {"amount": 3000, "currency": "GBP"},
                                  "starts_at": "2026-03-01T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z",
                                  "usage_limit": 500, "per_customer_limit": 1}),
        "update-coupon" => json!({"ends_at": "2026-06-15T00:00:00Z", "usage_limit": 750}),
        "update-profile" => json!({"name": "Ada King", "phone": "+441632960961"}),
        "create-address" | "update-address" => address,
        "create-vendor" => {
            json!({"name": "Green Valley Farm", "description": "Organic vegetables and dairy from the Cotswolds"})
        }
        "update-vendor" => json!({"description": "Organic vegetables, dairy and eggs from the Cotswolds"}),
        "invite-staff" => json!({"email": "grace@example.com", "role": "inventory_manager"}),
        "update-staff-role" => json!({"role": "order_handler"}),
        "set-user-roles" => json!({"roles": ["customer", "support"]}),
        "set-vendor-status" => json!({"status": "suspended", "reason": "Unpaid marketplace fees"}),
        "create-location" => {
            json!({"code": "WH-LONDON", "name": "London warehouse", "kind": "warehouse", "country": "GB"})
        }
        "adjust-stock" => json!({"sku": "JUMPER-M-NAVY", "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC",
                                 "quantity": 24, "reason": "received", "note": "Delivery from Northwind"}),
        "count-stock" => json!({"location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC",
                                "lines": [{"sku": "JUMPER-M-NAVY", "counted": 22}]}),
        "update-stock-settings" => json!({"bin": {"zone": "A", "aisle": "03", "shelf": "2", "bin": "14"},
                                          "reorder_point": 10, "safety_stock": 4}),
        "create-stock-transfer" => json!({"sku": "JUMPER-M-NAVY", "from_location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC",
                                          "to_location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QD", "quantity": 5}),
        "create-supplier" => {
            json!({"code": "NORTHWIND", "name": "Northwind Traders", "email": "orders@northwind.example",
                                    "currency": "EUR", "lead_time_days": 5, "minimum_order": 25000, "pack_size": 6})
        }
        "update-supplier" => json!({"lead_time_days": 4, "minimum_order": null}),
        "create-purchase-order" => json!({"supplier_id": "01JBZ4W9Q6T3M8K2R5X7N1C0SP",
                                          "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC",
                                          "lines": [{"sku": "JUMPER-M-NAVY", "quantity": 24, "unit_cost": 2150}],
                                          "note": "Deliver to the back door"}),
        "update-purchase-order" => json!({"lines": [{"sku": "JUMPER-M-NAVY", "quantity": 36, "unit_cost": 2100}]}),
        "receive-purchase-order" => json!({"lines": [{"sku": "JUMPER-M-NAVY", "quantity": 12}],
                                           "note": "First pallet"}),
        "create-purchase-orders-from-suggestions" => json!({"supplier": "NORTHWIND"}),
        "create-channel" => json!({"code": "POS-SOHO", "name": "Soho shop till", "kind": "pos",
                                   "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC"}),
        "record-channel-sales" => {
            json!({"sales": [{"sale_id": "till-7/000123/1", "sku": "JUMPER-M-NAVY", "quantity": 1,
                                                    "unit_price": 6900, "currency": "GBP", "country": "GB"}]})
        }
        "record-channel-returns" => json!({"returns": [{"return_id": "rma-5531", "sale_id": "till-7/000123/1",
                                                        "sku": "JUMPER-M-NAVY", "quantity": 1, "restock": true}]}),
        "create-webhook-endpoint" => json!({"url": "https://shop.example/hooks/stockyard",
                                            "events": ["stock.availability_changed", "stock.low"],
                                            "description": "Storefront stock sync"}),
        "update-webhook-endpoint" => json!({"enabled": false}),
        "create-api-key" => json!({"name": "Soho till 2",
                                   "scope": {"kind": "channel", "channel_id": "01JBZ4W9Q6T3M8K2R5X7N1C0CH"},
                                   "permissions": ["channel_sales", "channel_returns"]}),
        "record-scans" => json!({"scan_id": "dock-1/000482", "reader_id": "DOCK-DOOR-1", "action": "receive",
                                 "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC",
                                 "reads": [{"code": "4006381333931", "quantity": 12},
                                           {"code": "(01)04006381333931(17)271231(10)LOT-7"},
                                           {"code": "3074257BF7194E4000001A85"}]}),
        "create-cart" => json!({"currency": "EUR", "locale": "en"}),
        "put-cart-line" => json!({"quantity": 2}),
        "merge-cart" => json!({"cart_id": "01JBZ4W9Q6T3M8K2R5X7N1C0CT",
                               "token": "REPLACE-WITH-THE-TOKEN-POST-/carts-GAVE-THE-GUEST"}),
        // Bodiless POSTs: the path says it all.
        "create-import"
        | "start-import"
        | "create-export"
        | "receive-stock-transfer"
        | "acknowledge-stock-alert"
        | "send-purchase-order"
        | "cancel-purchase-order"
        | "revoke-api-key" => return None,
        _ if matches!(method, "POST" | "PUT" | "PATCH") => json!({}),
        _ => return None,
    })
}

/// Stable, valid ULIDs for path parameters.
fn sample_param(name: &str) -> String {
    match name {
        "vendorId" => "01JBZ4W9Q6T3M8K2R5X7N1C0VD",
        "userId" => "01JBZ4W9Q6T3M8K2R5X7N1C0US",
        "addressId" => "01JBZ4W9Q6T3M8K2R5X7N1C0AD",
        "invitationId" => "01JBZ4W9Q6T3M8K2R5X7N1C0NV",
        "locationId" => "01JBZ4W9Q6T3M8K2R5X7N1C0QC",
        "productId" => "01JBZ4W9Q6T3M8K2R5X7N1C0PR",
        "orderId" => "01JBZ4W9Q6T3M8K2R5X7N1C0RD",
        "importId" => "01JBZ4W9Q6T3M8K2R5X7N1C0MP",
        "exportId" => "01JBZ4W9Q6T3M8K2R5X7N1C0XP",
        "transferId" => "01JBZ4W9Q6T3M8K2R5X7N1C0TR",
        "supplierId" => "01JBZ4W9Q6T3M8K2R5X7N1C0SP",
        "purchaseOrderId" => "01JBZ4W9Q6T3M8K2R5X7N1C0P0",
        "channelId" => "01JBZ4W9Q6T3M8K2R5X7N1C0CH",
        "alertId" => "01JBZ4W9Q6T3M8K2R5X7N1C0AL",
        "webhookId" => "01JBZ4W9Q6T3M8K2R5X7N1C0WH",
        "apiKeyId" => "01JBZ4W9Q6T3M8K2R5X7N1C0AK",
        "cartId" => "01JBZ4W9Q6T3M8K2R5X7N1C0CT",
        "variantId" => "01JBZ4W9Q6T3M8K2R5X7N1C0VR",
        "couponId" => "01JBZ4W9Q6T3M8K2R5X7N1C0CP",
        "sku" => "JUMPER-M-NAVY",
        _ => "01JBZ4W9Q6T3M8K2R5X7N1C0XX",
    }
    .to_string()
}

const PUBLIC: &[&str] = &["register", "login", "refresh-token", "get-openapi", "create-cart"];

pub fn http_event(binary: &str, method: &str, path: &str) -> Result<Value> {
    let method = if method == "ANY" { "GET" } else { method };
    let mut path_parameters = HashMap::new();
    let mut raw_path = String::new();
    if path == "$default" {
        raw_path.push('/');
    }
    for seg in path.split('/').filter(|s| !s.is_empty() && *s != "$default") {
        raw_path.push('/');
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.trim_end_matches('+').strip_suffix('}')) {
            let v = sample_param(name);
            raw_path.push_str(&v);
            path_parameters.insert(name.to_string(), v);
        } else {
            raw_path.push_str(seg);
        }
    }
    let body = sample_body(binary, method).map(|b| serde_json::to_string_pretty(&b).unwrap_or_default());
    let query = if binary.starts_with("list-") { "?limit=20" } else { "" };
    let mut req = Request::builder()
        .method(method)
        .uri(format!("{raw_path}{query}"))
        .header("accept", "application/json")
        .header("host", "127.0.0.1:3000")
        .header("user-agent", "curl/8.5.0");
    if !PUBLIC.contains(&binary) {
        req = req.header("authorization", "Bearer REPLACE-WITH-AN-ACCESS-TOKEN");
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
        if matches!(
            binary,
            "register"
                | "create-vendor"
                | "create-address"
                | "create-location"
                | "invite-staff"
                | "adjust-stock"
                | "count-stock"
                | "create-stock-transfer"
                | "create-channel"
        ) {
            req = req.header("idempotency-key", "01JBZ4W9Q6T3M8K2R5X7N1C0IK");
        }
    }
    let req = req.body(Bytes::from(body.unwrap_or_default()))?;
    let ctx = EventContext {
        route_key: Route { method: method.into(), path: path.into(), function: binary.into() }.route_key(),
        path_parameters,
        request_id: "01JBZ4W9Q6T3M8K2R5X7N1C0RQ".into(),
        account_id: ACCOUNT.into(),
        domain_name: "127.0.0.1:3000".into(),
        time: chrono::DateTime::from_timestamp(1_730_000_000, 0).unwrap_or_default(),
    };
    Ok(serde_json::to_value(crate::apigw::request_event(&req, ctx))?)
}

/// Sample message bodies for a queue: catalog events for the catalog queue, emails otherwise.
fn sample_messages(queue_id: &str) -> Vec<Value> {
    if queue_id == "ImageUploadsQueue" {
        let key = "uploads/01JBZ4W9Q6T3M8K2R5X7N1C0V1/01JBZ4W9Q6T3M8K2R5X7N1C0P1/01JBZ4W9Q6T3M8K2R5X7N1C0I1";
        return vec![crate::notify::event(
            "stockyard-local-catalogmediabucket",
            key,
            482_133,
            "\"d41d8cd98f00b204e9800998ecf8427e\"",
            "us-east-1",
        )];
    }
    let vendor = "01JBZ4W9Q6T3M8K2R5X7N1C0V1";
    if queue_id == "CatalogImportsQueue" {
        return vec![json!({ "vendor_id": vendor, "import_id": "01JBZ4W9Q6T3M8K2R5X7N1C0MP" })];
    }
    if queue_id == "CatalogExportsQueue" {
        return vec![json!({ "vendor_id": vendor, "export_id": "01JBZ4W9Q6T3M8K2R5X7N1C0XP" })];
    }
    if queue_id == "SalesEventsQueue" {
        return vec![json!({
            "vendor_id": vendor, "channel_id": "01JBZ4W9Q6T3M8K2R5X7N1C0CH", "channel_kind": "pos",
            "sale_id": "till-7/000123/1", "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC",
            "variant_id": "01JBZ4W9Q6T3M8K2R5X7N1C0A1", "product_id": "01JBZ4W9Q6T3M8K2R5X7N1C0P1",
            "sku": "JUMPER-M-NAVY", "quantity": 1, "unit_price": 6900, "currency": "GBP", "country": "GB",
            "sold_at": "2024-10-27T03:33:20Z", "recorded_at": "2024-10-27T03:33:21Z", "stock_version": 12
        })];
    }
    if queue_id == "AlertsQueue" {
        return vec![json!({
            "id": "01JBZ4W9Q6T3M8K2R5X7N1C0AL", "vendor_id": vendor, "variant_id": "01JBZ4W9Q6T3M8K2R5X7N1C0A1",
            "product_id": "01JBZ4W9Q6T3M8K2R5X7N1C0P1", "sku": "JUMPER-M-NAVY",
            "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC", "kind": "low", "available": 4, "reorder_point": 5,
            "version": 12, "raised_at": "2024-10-27T03:33:20Z"
        })];
    }
    if queue_id == "OrderEventsQueue" {
        let group = "01JBZ4W9Q6T3M8K2R5X7N1C0G1";
        return vec![
            json!({ "type": "order_paid", "group_id": group, "version": 2, "occurred_at": "2024-10-27T03:33:20Z" }),
            json!({ "type": "order_disputed", "group_id": group, "version": 3, "occurred_at": "2024-10-29T09:00:00Z",
                    "dispute": { "provider_dispute_id": "dp_1Nx2", "amount": { "amount": 1999, "currency": "EUR" },
                                 "reason": "product_not_received", "status": "open",
                                 "opened_at": "2024-10-29T09:00:00Z" } }),
        ];
    }
    let stock_event = json!({
        "id": "01JBZ4W9Q6T3M8K2R5X7N1C0EV", "created_at": "2024-10-27T03:33:20Z", "vendor_id": vendor,
        "type": "stock.availability_changed",
        "data": { "sku": "JUMPER-M-NAVY", "variant_id": "01JBZ4W9Q6T3M8K2R5X7N1C0A1",
                  "product_id": "01JBZ4W9Q6T3M8K2R5X7N1C0P1", "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC",
                  "available_before": 5, "available": 4, "on_hand": 4, "reserved": 0, "stock_version": 12 }
    });
    if queue_id == "WebhookEventsQueue" {
        return vec![stock_event];
    }
    if queue_id == "WebhookDeliveriesQueue" {
        return vec![json!({ "vendor_id": vendor, "endpoint_id": "01JBZ4W9Q6T3M8K2R5X7N1C0WH", "event": stock_event })];
    }
    if queue_id == "CatalogEventsQueue" {
        let product = "01JBZ4W9Q6T3M8K2R5X7N1C0P1";
        return vec![
            json!({ "event_id": "c4ca4238a0b923820dcc509a6f75849b", "occurred_at": "2024-10-27T03:33:20Z",
                    "type": "product.published", "product_id": product, "vendor_id": vendor }),
            json!({ "event_id": "c81e728d9d4c2f636f067f89cc14862c", "occurred_at": "2024-10-27T03:33:21Z",
                    "type": "product.price_changed", "product_id": product, "vendor_id": vendor,
                    "variant_id": "01JBZ4W9Q6T3M8K2R5X7N1C0A1" }),
        ];
    }
    let samples = [
        ("01JBZ4W9Q6T3M8K2R5X7N1C0E1", "grace@example.com", "You're invited to join Green Valley Farm on Stockyard"),
        ("01JBZ4W9Q6T3M8K2R5X7N1C0E2", "ada@example.com", "Welcome to Stockyard"),
    ];
    samples
        .iter()
        .map(|(id, to, subject)| {
            json!({
                "email_id": id, "to": [to], "subject": subject,
                "text": format!("Hello,\n\n{subject}.\n\n-- Stockyard"), "html": null
            })
        })
        .collect()
}

pub fn sqs_sample(queue_arn: &str) -> Result<Value> {
    let queue_id = queue_arn.rsplit(':').next().unwrap_or_default().trim_start_matches("stockyard-");
    let messages: Vec<Message> = sample_messages(queue_id)
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            Message::builder()
                .message_id(format!("0e7c8f3b-1a1a-4c2d-857d-8f88ab53f16{i}"))
                .receipt_handle(format!("AQEB-sample-receipt-handle-{i}"))
                .md5_of_body("")
                .body(body.to_string())
                .attributes(Attr::ApproximateFirstReceiveTimestamp, "1730000000123")
                .attributes(Attr::ApproximateReceiveCount, "1")
                .attributes(Attr::SenderId, "AIDAIENQZJOLO23YVJ4VO")
                .attributes(Attr::SentTimestamp, "1730000000000")
                .build()
        })
        .collect();
    Ok(serde_json::to_value(sqs_event(&messages, queue_arn, "us-east-1"))?)
}

/// A table-stream event: a new invitation, as the store writes it.
pub fn table_stream_sample(table: &str) -> Value {
    let id = "01JBZ4W9Q6T3M8K2R5X7N1C0F1";
    let vendor = "01JBZ4W9Q6T3M8K2R5X7N1C0V1";
    let s = |v: &str| json!({ "S": v });
    json!({ "Records": [{
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_730_000_000.0,
            "Keys": { "PK": s(&format!("VENDOR#{vendor}")), "SK": s(&format!("INVITE#{id}")) },
            "NewImage": {
                "PK": s(&format!("VENDOR#{vendor}")), "SK": s(&format!("INVITE#{id}")),
                "GSI1PK": s("INVITEE#grace@example.com"), "GSI1SK": s(&format!("INVITE#{id}")),
                "entity": s("invitation"), "id": s(id), "vendor_id": s(vendor), "vendor_name": s("Green Valley Farm"),
                "email": s("grace@example.com"), "role": s("inventory_manager"), "status": s("pending"),
                "invited_by": s("01JBZ4W9Q6T3M8K2R5X7N1C0W1"), "created_at": s("2024-10-27T03:33:20Z"),
                "expires_on": s("2024-11-03T03:33:20Z"),
            },
            "SequenceNumber": "100000000000000000001",
            "SizeBytes": 412,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/stockyard-{table}/stream/2024-10-27T00:00:00.000"),
    }]})
}

/// One event per function, keyed by binary name.
pub fn all(template: &Template) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for f in template.functions()? {
        // A function without events is invoked directly; give it an empty object.
        let event = match f.events.first() {
            None => json!({}),
            Some(FunctionEvent::Http { method, path, .. }) => http_event(&f.binary, method, path)?,
            Some(FunctionEvent::Sqs { queue, .. }) => {
                let queue_id =
                    queue.get("Fn::GetAtt").and_then(|a| a.get(0)).and_then(Value::as_str).unwrap_or("Queue");
                sqs_sample(&format!("arn:aws:sqs:us-east-1:{ACCOUNT}:stockyard-{queue_id}"))?
            }
            Some(FunctionEvent::Schedule { name, .. }) => {
                let mut ev = crate::schedule::scheduled_event(
                    &format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/stockyard-{}-{name}", f.logical_id),
                    ACCOUNT,
                    "us-east-1",
                    chrono::DateTime::from_timestamp(1_730_000_000, 0).unwrap_or_default(),
                );
                ev["id"] = json!("cdc73f9d-aea9-11e3-9d5a-835b769c0d9c");
                ev
            }
            Some(FunctionEvent::TableStream { table, .. }) => table_stream_sample(table),
        };
        out.insert(f.binary.clone(), event);
    }
    Ok(out)
}

pub fn write_all(root: &Path, force: bool) -> Result<()> {
    let template = Template::load(&root.join("template.yaml"))?;
    let dir = root.join("events");
    std::fs::create_dir_all(&dir)?;
    let (mut written, mut kept) = (0, 0);
    for (binary, event) in all(&template)? {
        let path = dir.join(format!("{binary}.json"));
        if path.exists() && !force {
            kept += 1;
            continue;
        }
        let mut text = serde_json::to_string_pretty(&event)?;
        text.push('\n');
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written += 1;
    }
    println!("events: {written} written, {kept} kept (existing; --force overwrites) in {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_samples_fill_path_parameters_and_bodies() {
        let ev = http_event("update-staff-role", "PUT", "/vendors/{vendorId}/staff/{userId}").unwrap();
        assert_eq!(ev["routeKey"], "PUT /vendors/{vendorId}/staff/{userId}");
        assert_eq!(ev["pathParameters"]["vendorId"], "01JBZ4W9Q6T3M8K2R5X7N1C0VD");
        assert!(ev["rawPath"].as_str().unwrap().ends_with("/staff/01JBZ4W9Q6T3M8K2R5X7N1C0US"));
        let body: Value = serde_json::from_str(ev["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["role"], "order_handler");
        assert!(ev["headers"]["authorization"].as_str().unwrap().starts_with("Bearer "));
        let login = http_event("login", "POST", "/auth/login").unwrap();
        assert!(login["headers"].get("authorization").is_none());
        let get = http_event("get-profile", "GET", "/me").unwrap();
        assert!(get.get("body").is_none());
    }

    #[test]
    fn every_template_function_gets_an_event() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let t = Template::load(&path).unwrap();
        let events = all(&t).unwrap();
        assert_eq!(events.len(), t.functions().unwrap().len());
        for (name, ev) in &events {
            assert!(ev.is_object(), "{name}");
        }
    }

    #[test]
    fn sqs_samples_carry_email_messages() {
        let ev = sqs_sample("arn:aws:sqs:us-east-1:1:q").unwrap();
        let body: Value = serde_json::from_str(ev["Records"][0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["to"][0], "grace@example.com");
        assert!(body["email_id"].as_str().unwrap().starts_with("01J"));
    }
}
