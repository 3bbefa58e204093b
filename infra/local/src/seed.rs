//! Demo marketplace for `make run`, created through the HTTP API like a client would
//! (README "API at a glance"). Safe to re-run: conflicts (409) mean "already there".

use std::time::Instant;

use anyhow::{Context, Result, bail};
use reqwest::Method;
use serde_json::{Value, json};

use crate::seed_catalog;
use crate::stack::Running;

/// Every demo user signs in with this password (local only).
pub const DEMO_PASSWORD: &str = "demo-password-1";

#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    base: String,
}

impl Api {
    pub(crate) fn new(base: &str) -> Self {
        Self { http: reqwest::Client::new(), base: base.to_string() }
    }

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
    pub(crate) async fn expect(
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

    pub(crate) async fn login(&self, email: &str, password: &str) -> Result<String> {
        let v = self
            .expect(Method::POST, "/auth/login", None, Some(json!({"email": email, "password": password})), false)
            .await?
            .unwrap_or_default();
        v["access_token"].as_str().map(str::to_string).with_context(|| format!("no access_token for {email}"))
    }

    /// Registers (unless taken) and signs in.
    pub(crate) async fn user(&self, email: &str, name: &str) -> Result<String> {
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

    /// Verifies the address of the signed-in user with the link emailed at registration (read from
    /// the stack's mailbox, as its owner would open it), unless it is verified already.
    pub(crate) async fn verify_email(&self, token: &str) -> Result<()> {
        let me = self.me(token).await?;
        if me["email_verified"].as_bool() == Some(true) {
            return Ok(());
        }
        let email = me["email"].as_str().context("the profile has an email")?.to_string();
        let marker = "/account/verify-email?token=";
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (_, sent) = self.call(Method::GET, &format!("/_local/emails?to={email}"), None, None).await?;
            let link = sent.as_array().into_iter().flatten().rev().find_map(|e| {
                let text = e["text"].as_str()?;
                text.split(marker).nth(1)?.split_whitespace().next().map(str::to_string)
            });
            if let Some(link) = link {
                self.expect(Method::POST, "/auth/email/verify", None, Some(json!({"token": link})), false).await?;
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("no verification email reached {email} within 30 s");
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    pub(crate) async fn me(&self, token: &str) -> Result<Value> {
        Ok(self.expect(Method::GET, "/me", Some(token), None, false).await?.unwrap_or_default())
    }
}

struct VendorSeed {
    name: &'static str,
    description: &'static str,
    owner: (&'static str, &'static str),
    staff: &'static [(&'static str, &'static str, &'static str)],
    locations: &'static [(&'static str, &'static str, &'static str)],
    demand: Option<&'static demand::Catalogue>,
    /// Base currency, default locale, country.
    profile: (&'static str, &'static str, &'static str),
    assortment: &'static seed_catalog::Assortment,
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
        demand: Some(&demand::FARM),
        profile: ("GBP", "en", "GB"),
        assortment: &seed_catalog::FARM,
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
        demand: Some(&demand::OUTFITTERS),
        profile: ("USD", "en", "GB"),
        assortment: &seed_catalog::OUTFITTERS,
    },
    VendorSeed {
        name: "Maison Lumière",
        description: "Lampes, linge de maison et objets de Lyon",
        owner: ("margot@maisonlumiere.example", "Margot Lumière"),
        staff: &[],
        locations: &[("WH-LYON", "Entrepôt de Lyon", "warehouse")],
        demand: None,
        profile: ("EUR", "fr", "FR"),
        assortment: &seed_catalog::MAISON,
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

    // Exchange rates and the demo category tree, before any product.
    let rates = json!({ "base": "EUR", "rates": { "USD": "1.08", "GBP": "0.85" } });
    api.expect(Method::PUT, "/admin/exchange-rates", Some(&admin), Some(rates), true).await?;
    let tree = seed_catalog::categories(&api, &admin).await.context("the demo categories")?;

    let mut lines = Vec::new();
    let mut demand_lines = Vec::new();
    let mut catalogue_lines = Vec::new();
    let mut sellers = Vec::new();
    let (mut staff_count, mut location_count, mut address_count) = (0, 0, 0);
    for v in VENDORS {
        let owner = api.user(v.owner.0, v.owner.1).await?;
        let mut me = api.me(&owner).await?;
        if me["vendor_id"].as_str().is_none() {
            api.verify_email(&owner).await?;
            api.expect(
                Method::POST,
                "/vendors",
                Some(&owner),
                Some(json!({"name": v.name, "description": v.description, "base_currency": v.profile.0,
                            "default_locale": v.profile.1, "country": v.profile.2})),
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
                Some(json!({"code": code, "name": name, "kind": kind, "country": v.profile.2})),
                true,
            )
            .await?;
            location_count += 1;
        }
        lines.push(format!("    {:<22} {vendor_id}  {}", v.name, staff_desc.join(", ")));
        if let Some(catalogue) = v.demand {
            demand_lines.push(
                demand::seed_vendor(&api, &owner, &vendor_id, catalogue, &tree)
                    .await
                    .with_context(|| format!("demand history of {}", v.name))?,
            );
        }
        catalogue_lines.push(
            seed_catalog::seed_vendor(&api, &owner, &vendor_id, v.assortment, &tree)
                .await
                .with_context(|| format!("catalogue of {}", v.name))?,
        );
        sellers.push((owner.clone(), vendor_id.clone()));
    }
    let (ready, pending) = seed_catalog::await_pictures(&api, &sellers).await?;
    catalogue_lines.push(format!(
        "  Pictures     {ready} ready through process-image{}",
        if pending > 0 { format!(", {pending} still processing") } else { String::new() }
    ));

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
    out.extend(demand_lines);
    out.extend(catalogue_lines);
    out.push(format!("  Demo logins  password for every demo user: {DEMO_PASSWORD}"));
    out.extend(lines);
    out.push(format!("    {:<22} {}", "customers", customers.join(", ")));
    out.push(format!("    {:<22} {support_email}", "support"));
    Ok(out.join("\n"))
}

/// Two years of daily sales for the demo vendors, sent through the demand API, then one forecast run.
mod demand {
    use anyhow::{Context, Result, bail};
    use reqwest::Method;
    use serde_json::{Value, json};

    use super::Api;
    use crate::demo_demand::{self, Profile};
    use rand::Rng as _;

    /// Groups of SKUs, each with the demo tree's leaf category its weekly pattern is pooled with
    /// and the supplier (by code) that replenishes it, and the SKUs a vendor sells at every
    /// location.
    pub struct Catalogue {
        pub prefix: &'static str,
        pub categories: &'static [(&'static str, &'static str, &'static [&'static str])],
        pub seed: u64,
    }

    pub const FARM: Catalogue = Catalogue {
        prefix: "GV",
        categories: &[
            (
                "dairy",
                "COTSWOLD-DAIRY",
                &["MILK-1L", "MILK-2L", "BUTTER", "YOGHURT", "CREAM", "CHEDDAR", "BRIE", "KEFIR"],
            ),
            (
                "pantry",
                "VALLEY-GROWERS",
                &["CARROTS", "POTATOES", "KALE", "LEEKS", "ONIONS", "BEETROOT", "SQUASH", "SPINACH"],
            ),
            (
                "bakery",
                "MILL-LANE-BAKERY",
                &["SOURDOUGH", "RYE", "BAGUETTE", "FLAPJACK", "SCONES", "CROISSANT", "BROWNIE", "OATCAKES"],
            ),
            ("dairy", "HILLSIDE-HENS", &["EGGS-6", "EGGS-12", "DUCK-EGGS", "QUAIL-EGGS"]),
            (
                "pantry",
                "PANTRY-WHOLESALE",
                &[
                    "HONEY",
                    "JAM",
                    "CHUTNEY",
                    "FLOUR",
                    "OATS",
                    "APPLE-JUICE",
                    "CIDER",
                    "MUSTARD",
                    "PASTA",
                    "RAPESEED-OIL",
                    "GRANOLA",
                    "TEA",
                ],
            ),
        ],
        seed: 2026,
    };

    pub const OUTFITTERS: Catalogue = Catalogue {
        prefix: "NW",
        categories: &[
            ("jackets", "ALPINE-TEXTILES", &["RAIN-JACKET", "DOWN-JACKET", "FLEECE", "SOFTSHELL", "GILET"]),
            ("gear", "TRAILWORKS", &["TENT-2P", "TENT-4P", "TARP", "BIVVY"]),
            ("boots", "PEAK-FOOTWEAR", &["HIKING-BOOT", "TRAIL-SHOE", "GAITERS", "WOOL-SOCKS"]),
            ("gear", "TRAILWORKS", &["HEADTORCH", "STOVE", "MUG", "DRY-BAG", "MAP-CASE", "COMPASS", "POLES"]),
        ],
        seed: 1999,
    };

    /// The vendor's demo suppliers, created unless it has them, as `(code, id)`.
    async fn suppliers(
        api: &Api,
        token: &str,
        vendor_id: &str,
        catalogue: &Catalogue,
    ) -> Result<Vec<(&'static str, String)>> {
        let path = format!("/vendors/{vendor_id}/suppliers?limit=100");
        let listed = api.expect(Method::GET, &path, Some(token), None, false).await?.unwrap_or_default();
        let mut codes: Vec<&'static str> = catalogue.categories.iter().map(|(_, code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        let mut out = Vec::new();
        for code in codes {
            let existing = listed["items"].as_array().into_iter().flatten().find(|s| s["code"] == code);
            let id = match existing {
                Some(s) => s["id"].as_str().context("a supplier id")?.to_string(),
                None => {
                    let name = code.split('-').map(title_case).collect::<Vec<_>>().join(" ");
                    let body = json!({
                        "code": code, "name": name, "email": format!("orders@{}.example", code.to_lowercase()),
                        "currency": "EUR", "lead_time_days": 3, "pack_size": 1
                    });
                    let path = format!("/vendors/{vendor_id}/suppliers");
                    let created = api.expect(Method::POST, &path, Some(token), Some(body), true).await?;
                    created.unwrap_or_default()["id"].as_str().context("a supplier id")?.to_string()
                }
            };
            out.push((code, id));
        }
        Ok(out)
    }

    fn title_case(word: &str) -> String {
        let lower = word.to_lowercase();
        let mut chars = lower.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
    }

    const DAYS: usize = 730;
    const PARALLEL: usize = 8;

    /// Seeds the vendor's demand data unless it already has forecasts; returns a summary line.
    pub async fn seed_vendor(
        api: &Api,
        token: &str,
        vendor_id: &str,
        catalogue: &Catalogue,
        tree: &[(&'static str, String)],
    ) -> Result<String> {
        let existing = api
            .expect(Method::GET, &format!("/vendors/{vendor_id}/forecasts?limit=1"), Some(token), None, false)
            .await?;
        if existing.and_then(|v| v["items"].as_array().map(|a| !a.is_empty())).unwrap_or(false) {
            return Ok(format!("  Demand       {}: already seeded", catalogue.prefix));
        }
        let locations =
            api.expect(Method::GET, &format!("/vendors/{vendor_id}/locations"), Some(token), None, false).await?;
        let locations: Vec<String> = locations.unwrap_or_default()["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["id"].as_str().map(String::from))
            .collect();
        let suppliers = suppliers(api, token, vendor_id, catalogue).await?;
        let last = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        let mut rng = demo_demand::rng(catalogue.seed);
        let mut jobs = Vec::new();
        let mut i = 0;
        for (leaf, supplier, skus) in catalogue.categories {
            let category =
                tree.iter().find(|(key, _)| key == leaf).map(|(_, id)| id.as_str()).context("a demo leaf")?;
            let supplier = suppliers.iter().find(|(code, _)| code == supplier).map(|(_, id)| id.as_str());
            for sku in *skus {
                for (l, location) in locations.iter().enumerate() {
                    let mut profile = Profile::varied(&mut rng, i, DAYS);
                    // The shop sells less than the warehouse ships.
                    profile.base *= if l == 0 { 1.0 } else { 0.4 };
                    let history = profile.history(&mut rng, last, DAYS);
                    let recent: u32 = history.iter().rev().take(14).map(|(_, u)| u).sum();
                    // Some SKUs run low, a few are overstocked, most hold about two weeks.
                    let on_hand = match i % 9 {
                        0 => 0,
                        1 => recent * 6,
                        _ => (f64::from(recent) * rng.random_range(0.3..1.4)) as u32,
                    };
                    let (level, pack) = ([0.9, 0.95, 0.98][i % 3], [1, 6, 12][i % 3]);
                    let settings = json!({
                        "category_id": category, "supplier_id": supplier,
                        "lead_time_days": 2 + (i % 5) as u32, "review_period_days": if i.is_multiple_of(2) { 7 } else { 14 },
                        "service_level": level, "min_order_qty": if i.is_multiple_of(4) { 12 } else { 0 },
                        "pack_multiple": pack, "on_hand": on_hand, "incoming": 0
                    });
                    jobs.push((location.clone(), format!("{}-{sku}", catalogue.prefix), settings, history));
                    i += 1;
                }
            }
        }
        let series = jobs.len();
        let mut tasks = tokio::task::JoinSet::new();
        let mut jobs = jobs.into_iter();
        loop {
            while tasks.len() < PARALLEL {
                let Some((location, sku, settings, history)) = jobs.next() else { break };
                let (api, token, vendor) = (api.clone(), token.to_string(), vendor_id.to_string());
                tasks.spawn(async move {
                    let base = format!("/vendors/{vendor}/demand/{location}/{sku}");
                    api.expect(Method::PUT, &base, Some(&token), Some(settings), false).await?;
                    for chunk in history.chunks(366) {
                        let days: Vec<Value> =
                            chunk.iter().map(|(d, u)| json!({"date": d.to_string(), "units": u})).collect();
                        let body = json!({ "days": days });
                        api.expect(Method::POST, &format!("{base}/sales"), Some(&token), Some(body), false).await?;
                    }
                    anyhow::Ok(())
                });
            }
            match tasks.join_next().await {
                Some(done) => done.context("a seeding task stopped")??,
                None => break,
            }
        }
        let run =
            api.expect(Method::POST, &format!("/vendors/{vendor_id}/forecast-runs"), Some(token), None, false).await;
        let run = match run {
            Ok(Some(run)) => run,
            Ok(None) => bail!("the forecast run answered nothing"),
            Err(e) => {
                return Ok(format!(
                    "  Demand       {}: {series} SKU-locations × {DAYS} days; forecast failed: {e:#}",
                    catalogue.prefix
                ));
            }
        };
        Ok(format!(
            "  Demand       {}: {series} SKU-locations × {DAYS} days; forecast in {} ms: {} orders suggested, {} at risk",
            catalogue.prefix, run["duration_ms"], run["orders_suggested"], run["at_risk"]
        ))
    }
}
