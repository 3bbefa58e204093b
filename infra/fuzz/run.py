#!/usr/bin/env python3
"""Schemathesis against a running local stack, as four callers: a vendor's owner, a plain
customer, the administrator and an anonymous caller.

Run inside `stockyard-local exec` (which exports STOCKYARD_API_URL and the administrator's
credentials); `make fuzz` and `make test` do. Every check is enabled; `schemathesis.toml` beside
this file declares, per operation, the statuses of rules a schema cannot express.

    run.py [--max-examples N] [--phases examples,coverage,fuzzing,stateful] [--seed N] [--report DIR]
           [--callers owner,customer,admin,anonymous] [--jobs N] [--scoped]

Signs the callers up (fresh accounts each run), gives the owner a vendor with a stock location,
demand settings, a channel, an API key and shipping, and lets the generated path parameters be those ids
half of the time, so that requests reach the handlers' business rules and not only their 404s.
Exits non-zero on any failure.
"""

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCHEMATHESIS = ROOT / ".local" / "schemathesis" / "bin" / "schemathesis"
PASSWORD = "fuzzing-is-fun-42"


def call(api, method, path, body=None, token=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        raise SystemExit(f"fuzz: {method} {path} answered {err.code}: {err.read().decode()}") from None


def sign_up(api, who):
    email = f"fuzz-{who}-{time.time_ns()}@example.com"
    call(api, "POST", "/auth/register", {"email": email, "password": PASSWORD, "name": f"Fuzz {who}"})
    return email


def sign_in(api, email, password):
    _, body = call(api, "POST", "/auth/login", {"email": email, "password": password})
    return body["access_token"], body["user"]["id"]


def verify_email(api, email):
    """Opens the verification link emailed at registration (read from the stack's mailbox)."""
    deadline = time.time() + 30
    while time.time() < deadline:
        _, sent = call(api, "GET", f"/_local/emails?to={email}")
        for message in sent or []:
            text = message.get("text") or ""
            if "/account/verify-email?token=" in text:
                token = text.split("/account/verify-email?token=", 1)[1].split()[0]
                call(api, "POST", "/auth/email/verify", {"token": token})
                return
        time.sleep(0.2)
    raise SystemExit(f"fuzz: no verification email reached {email}")


def prepare(api):
    """The callers' accounts and the resources their requests may name."""
    owner_email, customer_email = sign_up(api, "owner"), sign_up(api, "customer")
    owner_token, owner_id = sign_in(api, owner_email, PASSWORD)
    customer_token, customer_id = sign_in(api, customer_email, PASSWORD)
    admin_email, admin_password = os.environ["STOCKYARD_ADMIN_EMAIL"], os.environ["STOCKYARD_ADMIN_PASSWORD"]
    admin_token, admin_id = sign_in(api, admin_email, admin_password)
    verify_email(api, owner_email)
    _, vendor = call(api, "POST", "/vendors", {"name": "Fuzzing Goods"}, owner_token)
    vendor_id = vendor["id"]
    location = {"code": "WH-1", "name": "Main warehouse", "kind": "warehouse", "country": "GB"}
    _, location = call(api, "POST", f"/vendors/{vendor_id}/locations", location, owner_token)
    _, invitation = call(
        api, "POST", f"/vendors/{vendor_id}/invitations", {"email": customer_email, "role": "viewer"}, owner_token
    )
    _, category = call(api, "POST", "/categories", {"names": {"en": f"Fuzzing {time.time_ns()}"}}, admin_token)
    product = {"category_id": category["id"], "title": "Fuzzing product"}
    _, product = call(api, "POST", f"/vendors/{vendor_id}/products", product, owner_token)
    variant = {"sku": "FUZZ-1", "prices": {"EUR": {"amount": 1000}}}
    _, variant = call(api, "POST", f"/vendors/{vendor_id}/products/{product['id']}/variants", variant, owner_token)
    stock = {"sku": "FUZZ-1", "location_id": location["id"], "quantity": 100, "reason": "received"}
    call(api, "POST", f"/vendors/{vendor_id}/stock/adjustments", stock, owner_token)
    store = {"code": "STORE-1", "name": "High street store", "kind": "store", "country": "GB"}
    _, store = call(api, "POST", f"/vendors/{vendor_id}/locations", store, owner_token)
    transfer = {"sku": "FUZZ-1", "from_location_id": location["id"], "to_location_id": store["id"], "quantity": 1}
    _, transfer = call(api, "POST", f"/vendors/{vendor_id}/transfers", transfer, owner_token)
    supplier = {"code": "ACME", "name": "Acme Dairy", "email": "orders@acme.example", "currency": "EUR",
                "lead_time_days": 2, "pack_size": 1}
    _, supplier = call(api, "POST", f"/vendors/{vendor_id}/suppliers", supplier, owner_token)
    settings = {"supplier_id": supplier["id"], "lead_time_days": 2, "review_period_days": 7, "service_level": 0.95,
                "on_hand": 10}
    call(api, "PUT", f"/vendors/{vendor_id}/demand/{location['id']}/MILK", settings, owner_token)
    order = {"supplier_id": supplier["id"], "location_id": location["id"],
             "lines": [{"sku": "FUZZ-1", "quantity": 10, "unit_cost": 450}]}
    _, order = call(api, "POST", f"/vendors/{vendor_id}/purchase-orders", order, owner_token)
    channel = {"code": "TILL-1", "name": "Till", "kind": "pos", "location_id": location["id"]}
    _, channel = call(api, "POST", f"/vendors/{vendor_id}/channels", channel, owner_token)
    sale = {"sales": [{"sale_id": "fuzz-1", "sku": "FUZZ-1", "quantity": 1}]}
    call(api, "POST", f"/vendors/{vendor_id}/channels/{channel['id']}/sales", sale, owner_token)
    key = {"name": "Fuzzing till", "scope": {"kind": "channel", "channel_id": channel["id"]},
           "permissions": ["channel_sales"]}
    _, key = call(api, "POST", f"/vendors/{vendor_id}/api-keys", key, owner_token)
    # a stock alert: the reorder point raised above what is available (the stream raises it)
    call(api, "PATCH", f"/vendors/{vendor_id}/skus/FUZZ-1/stock/{location['id']}", {"reorder_point": 1000}, owner_token)
    alert_id = None
    for _ in range(100):
        _, alerts = call(api, "GET", f"/vendors/{vendor_id}/alerts", None, owner_token)
        if alerts["items"]:
            alert_id = alerts["items"][0]["id"]
            break
        time.sleep(0.1)
    # a webhook endpoint, disabled: the fuzzing vendor's stock changes are sent nowhere
    webhook = {"url": "https://hooks.example/fuzz", "events": ["stock.low"], "enabled": False}
    _, webhook = call(api, "POST", f"/vendors/{vendor_id}/webhooks", webhook, owner_token)
    # shipping, so that its reads answer the vendor's settings and not only 404
    shipping = {"zones": [{"code": "HOME", "name": "Home market", "countries": ["GB"]}],
                "services": [{"zone_code": "HOME", "code": "STANDARD", "carrier": "Royal Mail", "name": "Tracked 48",
                              "rates": [{"up_to_g": 2000, "price": {"amount": 395, "currency": "GBP"}}],
                              "max_weight_g": 20000, "max_length_mm": 1000,
                              "transit_days_min": 2, "transit_days_max": 3}],
                "calendar": {"utc_offset_minutes": 0, "cutoff": "14:00:00",
                             "working_days": {"monday": True, "tuesday": True, "wednesday": True, "thursday": True,
                                              "friday": True, "saturday": False, "sunday": False}}}
    call(api, "PUT", f"/vendors/{vendor_id}/shipping", shipping, owner_token)
    # carts: the product on sale, the customer's cart and a guest's with a line; the guest's token
    # is sent as X-Cart-Token half of the time, so cart requests reach their rules and not only 404
    call(api, "PUT", f"/vendors/{vendor_id}/products/{product['id']}/status", {"status": "published"}, owner_token)
    _, customer_cart = call(api, "POST", "/carts", {"currency": "EUR"}, customer_token)
    _, guest_cart = call(api, "POST", "/carts", {"currency": "EUR"})
    cart_token = {"x-cart-token": guest_cart["token"]}
    call(api, "PUT", f"/carts/{guest_cart['id']}/lines/{variant['id']}", {"quantity": 1}, headers=cart_token)
    # a coupon of the vendor and one of the platform (codes are unique platform-wide: a run's own)
    run_tag = time.time_ns() % 10**9
    coupon = {"vendor_id": vendor_id, "code": f"FUZZ-V-{run_tag}", "kind": {"type": "percentage", "percent": "10"},
              "starts_at": "2026-01-01T00:00:00Z", "usage_limit": 100}
    _, vendor_coupon = call(api, "POST", "/coupons", coupon, owner_token)
    coupon = {"code": f"FUZZ-P-{run_tag}", "kind": {"type": "free_shipping"}, "starts_at": "2026-01-01T00:00:00Z"}
    _, platform_coupon = call(api, "POST", "/coupons", coupon, admin_token)
    callers = {
        "owner": (owner_email, PASSWORD),
        "customer": (customer_email, PASSWORD),
        "admin": (admin_email, admin_password),
        "anonymous": None,
    }
    known = {
        "vendorId": [vendor_id],
        "locationId": [location["id"], store["id"]],
        "userId": [owner_id, customer_id, admin_id],
        "invitationId": [invitation["id"]],
        "sku": ["MILK", "FUZZ-1"],
        "transferId": [transfer["transfer"]["id"]],
        "supplierId": [supplier["id"]],
        "purchaseOrderId": [order["id"]],
        "channelId": [channel["id"]],
        "alertId": [alert_id] if alert_id else [],
        "webhookId": [webhook["id"]],
        "apiKeyId": [key["api_key"]["id"]],
        "couponId": [vendor_coupon["id"], platform_coupon["id"]],
        "categoryId": [category["id"]],
        "productId": [product["id"]],
        "variantId": [variant["id"]],
        "locale": ["fr"],
        "cartId": [customer_cart["id"], guest_cart["id"]],
        "header.X-Cart-Token": [guest_cart["token"]],
    }
    return callers, known


def config_for(known, workdir):
    """schemathesis.toml beside this file, with the known ids as dictionaries of path parameters
    (a name `header.<Name>` is a header's)."""
    text = (HERE / "schemathesis.toml").read_text()
    lines = [text, "", "# Written by run.py: ids of this run's resources, used half of the time."]
    for name, values in known.items():
        lines.append(f"[dictionaries.{name.replace('.', '_')}]\nvalues = {json.dumps(values)}")
    lines.append("[parameters]")
    for name in known:
        parameter = name if name.startswith("header.") else f"path.{name}"
        lines.append(f'"{parameter}" = {{ dictionary = "{name.replace(".", "_")}", probability = 0.5 }}')
    path = workdir / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# The operations a caller of the bounded pass covers: anonymous, the public ones; customer, those
# and the ones open to any signed-in user or naming the customer role. The owner covers every one.
SCOPES = {"anonymous": set(), "customer": {"customer"}}


def scoped_operations(api, who):
    """The operations `who` may use, as Schemathesis names them ("GET /carts"): public ones (no
    security, or an empty requirement among its alternatives), and for a signed-in caller those any
    signed-in user may call (`bearer: []`) or whose roles include one of its own. The schema stays
    whole, so an undeclared method is still one; refusing a caller on every other route is the
    authorisation tests' and the full pass's job."""
    roles = SCOPES[who]
    signed_in = who != "anonymous"
    with urllib.request.urlopen(f"{api}/openapi.json", timeout=30) as response:
        document = json.load(response)
    default = document.get("security")
    names = []
    for path, item in document["paths"].items():
        for method in ("get", "put", "post", "delete", "patch"):
            if method not in item:
                continue
            security = item[method].get("security", default)
            public = not security or any(requirement == {} for requirement in security)
            bearer = [r["bearer"] for r in security or [] if "bearer" in r]
            usable = any(not scopes or roles & set(scopes) for scopes in bearer)
            if public or (signed_in and usable):
                names.append(f"{method.upper()} {path}")
    return names


def case_count(report):
    """Schemathesis's own count of test cases ("N generated, N passed, ..."), or "unknown"."""
    counts = re.findall(r"^\s*(\d+ generated, .*)$", report, re.MULTILINE)
    return counts[-1].strip() if counts else "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--phases", default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--report", default=None, help="directory for the JUnit reports")
    parser.add_argument("--callers", default="owner,customer,admin,anonymous")
    parser.add_argument("--jobs", type=int, default=1, help="callers run at once (each with one worker)")
    parser.add_argument(
        "--scoped",
        action="store_true",
        help="the anonymous and customer callers cover only the operations open to them (make test's bounded pass)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print a caller's whole report only when it fails (make test: the test runner's summary stays last)",
    )
    args = parser.parse_args()

    api = os.environ["STOCKYARD_API_URL"].rstrip("/")
    if not SCHEMATHESIS.exists():
        raise SystemExit("fuzz: Schemathesis is not installed; run infra/scripts/install.sh --with-schemathesis")
    started = time.monotonic()
    callers, known = prepare(api)
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"stockyard-fuzz-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    config = config_for(known, workdir)

    def run(who):
        command = [str(SCHEMATHESIS), "--config-file", str(config), "run", f"{api}/openapi.json", "--url", api]
        if args.scoped and who in SCOPES:
            for name in scoped_operations(api, who):
                command += ["--include-name", name]
        command += ["--checks", "all", "--max-response-time", "10", "-w", "1", "--no-color"]
        if callers[who] is not None:
            token, _ = sign_in(api, *callers[who])  # just before its run, so it stays valid
            command += ["-H", f"Authorization: Bearer {token}"]
        if args.max_examples:
            command += ["--max-examples", str(args.max_examples)]
        if args.phases:
            command += ["--phases", args.phases]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        if args.report:
            command += ["--report", "junit", "--report-junit-path", f"{args.report}/fuzz-{who}.xml"]
        begun = time.monotonic()
        output = workdir / f"{who}.log"
        with output.open("w") as out:
            status = subprocess.run(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT).returncode
        return who, status, time.monotonic() - begun, output

    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for who, status, seconds, output in pool.map(run, args.callers.split(",")):
            report = output.read_text()
            if status != 0 or not args.quiet:
                print(f"\n===== fuzz as {who} =====\n{report}", flush=True)
            results.append((who, status, seconds, case_count(report), output))

    print("\n===== fuzz summary =====")
    for who, status, seconds, cases, output in results:
        outcome = "passed" if status == 0 else f"FAILED (exit {status})"
        print(f"  {who:<10} {outcome:<16} {seconds:6.0f}s  test cases: {cases}  ({output})")
    print(f"  total {time.monotonic() - started:.0f}s")
    sys.exit(0 if all(status == 0 for _, status, *_ in results) else 1)


if __name__ == "__main__":
    main()
