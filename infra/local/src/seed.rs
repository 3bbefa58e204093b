//! Demo marketplace for `make run`, created through the HTTP API like a client would
//! (README "API at a glance"). Safe to re-run: conflicts (409) mean "already there".

use std::time::Instant;

use anyhow::{Context, Result, bail};
use reqwest::Method;
use serde_json::{Value, json};

use crate::stack::Running;

/// Every demo user signs in with this password (local only).
pub const DEMO_PASSWORD: &str = "demo-password-1";

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Result<(u16, Value)> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("{method} {path}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// Succeeds on 2xx, and on 409 when `conflict_ok`.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        conflict_ok: bool,
    ) -> Result<Option<Value>> {
        let (status, value) = self.call(method.clone(), path, token, body).await?;
        match status {
            200..=299 => Ok(Some(value)),
            409 if conflict_ok => Ok(None),
            _ => bail!("{method} {path}: HTTP {status}: {value}"),
        }
    }

    async fn login(&self, email: &str, password: &str) -> Result<String> {
        let v = self
            .expect(Method::POST, "/auth/login", None, Some(json!({"email": email, "password": password})), false)
            .await?
            .unwrap_or_default();
        v["access_token"].as_str().map(str::to_string).with_context(|| format!("no access_token for {email}"))
    }

    /// Registers (unless taken) and signs in.
    async fn user(&self, email: &str, name: &str) -> Result<String> {
        self.expect(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": email, "password": DEMO_PASSWORD, "name": name})),
            true,
        )
        .await?;
        self.login(email, DEMO_PASSWORD).await
    }

    async fn me(&self, token: &str) -> Result<Value> {
        Ok(self.expect(Method::GET, "/me", Some(token), None, false).await?.unwrap_or_default())
    }
}

struct VendorSeed {
    name: &'static str,
    description: &'static str,
    owner: (&'static str, &'static str),
    staff: &'static [(&'static str, &'static str, &'static str)],
    locations: &'static [(&'static str, &'static str, &'static str)],
}

const VENDORS: &[VendorSeed] = &[
    VendorSeed {
        name: "Green Valley Farm",
        description: "Organic vegetables, dairy and eggs from the Cotswolds",
        owner: ("gwen@greenvalley.example", "Gwen Green"),
        staff: &[
            ("ivan@greenvalley.example", "Ivan Inventory", "inventory_manager"),
            ("cora@greenvalley.example", "Cora Catalog", "catalog_editor"),
        ],
        locations: &[
            ("WH-COTSWOLDS", "Cotswolds packing barn", "warehouse"),
            ("SHOP-CIRENCESTER", "Cirencester farm shop", "store"),
        ],
    },
    VendorSeed {
        name: "Northwind Outfitters",
        description: "Outdoor clothing and camping gear",
        owner: ("nora@northwind.example", "Nora North"),
        staff: &[
            ("otto@northwind.example", "Otto Orders", "order_handler"),
            ("vera@northwind.example", "Vera Viewer", "viewer"),
        ],
        locations: &[("WH-LEEDS", "Leeds distribution centre", "warehouse")],
    },
];

const CUSTOMERS: &[(&str, &str, &str, &str, &str)] = &[
    ("ada@example.com", "Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH"),
    ("alan@example.com", "Alan Turing", "43 Adlington Road", "Wilmslow", "SK9 2BJ"),
];

pub async fn seed(running: &Running) -> Result<String> {
    let started = Instant::now();
    let api = Api { http: reqwest::Client::new(), base: running.api_url.clone() };
    let params = &running.parameters;
    let admin_email = params.get("AdminEmail").cloned().unwrap_or_default();
    let admin_password = params.get("AdminPassword").cloned().unwrap_or_default();
    let admin = api.login(&admin_email, &admin_password).await.context("admin login")?;

    let mut lines = Vec::new();
    let (mut staff_count, mut location_count, mut address_count) = (0, 0, 0);
    for v in VENDORS {
        let owner = api.user(v.owner.0, v.owner.1).await?;
        let mut me = api.me(&owner).await?;
        if me["vendor_id"].as_str().is_none() {
            api.expect(
                Method::POST,
                "/vendors",
                Some(&owner),
                Some(json!({"name": v.name, "description": v.description})),
                true,
            )
            .await?;
            me = api.me(&owner).await?;
        }
        let vendor_id = me["vendor_id"].as_str().context("owner has no vendor after creating one")?.to_string();
        let mut staff_desc = vec![format!("{} (owner)", v.owner.0)];
        for (email, name, role) in v.staff {
            api.expect(
                Method::POST,
                &format!("/vendors/{vendor_id}/invitations"),
                Some(&owner),
                Some(json!({"email": email, "role": role})),
                true,
            )
            .await?;
            let token = api.user(email, name).await?;
            let invitations = api
                .expect(Method::GET, "/me/invitations?status=pending", Some(&token), None, false)
                .await?
                .unwrap_or_default();
            for inv in invitations["items"].as_array().into_iter().flatten() {
                if inv["vendor_id"].as_str() == Some(vendor_id.as_str()) {
                    let id = inv["id"].as_str().unwrap_or_default();
                    api.expect(Method::POST, &format!("/invitations/{id}/accept"), Some(&token), None, true).await?;
                }
            }
            staff_count += 1;
            staff_desc.push(format!("{email} ({role})"));
        }
        for (code, name, kind) in v.locations {
            api.expect(
                Method::POST,
                &format!("/vendors/{vendor_id}/locations"),
                Some(&owner),
                Some(json!({"code": code, "name": name, "kind": kind, "country": "GB"})),
                true,
            )
            .await?;
            location_count += 1;
        }
        lines.push(format!("    {:<22} {vendor_id}  {}", v.name, staff_desc.join(", ")));
    }

    let mut customers = Vec::new();
    for (email, name, line1, city, postal_code) in CUSTOMERS {
        let token = api.user(email, name).await?;
        let existing = api.expect(Method::GET, "/me/addresses", Some(&token), None, false).await?.unwrap_or_default();
        if existing["items"].as_array().is_none_or(Vec::is_empty) {
            for (label, l1) in [("Home", *line1), ("Work", "1 Poultry")] {
                let city = if label == "Work" { "London" } else { city };
                let postal = if label == "Work" { "EC2R 8EJ" } else { postal_code };
                api.expect(
                    Method::POST,
                    "/me/addresses",
                    Some(&token),
                    Some(json!({"label": label, "recipient": name, "line1": l1, "city": city, "postal_code": postal, "country": "GB", "is_default": label == "Home"})),
                    true,
                )
                .await?;
                address_count += 1;
            }
        }
        customers.push(*email);
    }

    // A support agent, promoted by the administrator.
    let support_email = "sam@stockyard.example";
    api.user(support_email, "Sam Support").await?;
    let users = api
        .expect(Method::GET, &format!("/admin/users?email={support_email}"), Some(&admin), None, false)
        .await?
        .unwrap_or_default();
    if let Some(id) = users["items"].as_array().and_then(|a| a.first()).and_then(|u| u["id"].as_str()) {
        api.expect(
            Method::PUT,
            &format!("/admin/users/{id}/roles"),
            Some(&admin),
            Some(json!({"roles": ["support"]})),
            true,
        )
        .await?;
    }

    let mut out = vec![format!(
        "  Demo data    seeded in {:.1}s: {} vendors, {staff_count} staff, {location_count} locations, {} customers, {address_count} addresses",
        started.elapsed().as_secs_f64(),
        VENDORS.len(),
        customers.len()
    )];
    out.push(format!("  Demo logins  password for every demo user: {DEMO_PASSWORD}"));
    out.extend(lines);
    out.push(format!("    {:<22} {}", "customers", customers.join(", ")));
    out.push(format!("    {:<22} {support_email}", "support"));
    Ok(out.join("\n"))
}
