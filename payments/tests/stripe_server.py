"""localstripe, extended with what the payment tests need and localstripe lacks.

    python -m payments.tests.stripe_server --port 8420

Runs localstripe's own aiohttp app (PaymentIntents, PaymentMethods, ... unchanged) and adds:
- ``Idempotency-Key`` on every POST, as Stripe does: the first result for a key is
  replayed for later requests with that key, a same-key request while the first is still
  running gets 409 (results of requests that failed before the endpoint ran - simulated
  outages - are not kept);
- Connect: ``/v1/accounts`` (create, retrieve), ``/v1/account_links``;
- ``/v1/transfers`` (create, retrieve, list filtered by transfer_group / destination);
- test controls under ``/_config/``: finish an account's onboarding (or create many
  onboarded accounts at once, for the benchmark), inject faults into
  the next transfer calls (500 before or after the transfer is made, a slow answer that
  outlives the client's timeout, a definite refusal), and reset everything.
localstripe's store is kept in memory only (it otherwise pickles itself to a shared
/tmp file after every write, which is slow and collides between concurrent suites).
"""
import argparse
import asyncio
import random
import socket
import string
import time

from aiohttp import web
from localstripe import resources
from localstripe.errors import UserError
from localstripe.server import app, get_api_key, get_post_data, json_response, unflatten_data

resources.Store.dump_to_disk = lambda self: None

ACCOUNTS: dict[str, dict] = {}
TRANSFERS: dict[str, dict] = {}
IDEMPOTENT: dict[tuple, tuple[int, bytes]] = {}
IN_PROGRESS: set[tuple] = set()
FAULTS: list[dict] = []


def _id(prefix: str) -> str:
    return prefix + "".join(random.choice(string.ascii_letters + string.digits)
                            for _ in range(16))


def _api_error(status: int, message: str) -> web.Response:
    return json_response({"error": {"type": "api_error", "message": message}}, status=status)


class _Unsaved(Exception):
    """Failed before the endpoint ran: Stripe keeps no idempotent result for it."""

    def __init__(self, response: web.Response):
        self.response = response


@web.middleware
async def idempotency_middleware(request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or request.path.startswith("/_config/"):
        return await handler(request)
    cache_key = (get_api_key(request), key)
    if cache_key in IDEMPOTENT:
        status, body = IDEMPOTENT[cache_key]
        return web.Response(status=status, body=body, content_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
    if cache_key in IN_PROGRESS:
        # Stripe's answer to a same-key request while the first is still running.
        return json_response({"error": {
            "type": "idempotency_error",
            "message": "There is currently another in-progress request using this "
                       "Idempotent Key. Please try again later."}}, status=409)
    IN_PROGRESS.add(cache_key)
    try:
        response = await handler(request)
    except UserError as error:
        response = error.to_response()
    except _Unsaved as unsaved:
        return unsaved.response
    finally:
        IN_PROGRESS.discard(cache_key)
    IDEMPOTENT[cache_key] = (response.status, response.body)
    return response


# localstripe's error middleware is the outermost; ours sits right inside it.
app.middlewares.insert(1, idempotency_middleware)


# --- Connect accounts ----------------------------------------------------------------------

async def account_create(request):
    data = await get_post_data(request) or {}
    account = {
        "id": _id("acct_"), "object": "account", "type": data.get("type", "express"),
        "email": data.get("email"), "metadata": data.get("metadata") or {},
        "details_submitted": False, "payouts_enabled": False, "charges_enabled": False,
        "capabilities": {"transfers": "inactive"}, "created": int(time.time()),
    }
    ACCOUNTS[account["id"]] = account
    return json_response(account)


def _account(account_id: str) -> dict:
    if account_id not in ACCOUNTS:
        raise UserError(404, f"No such account: '{account_id}'",
                        {"code": "resource_missing", "param": "account"})
    return ACCOUNTS[account_id]


async def account_retrieve(request):
    return json_response(_account(request.match_info["id"]))


async def account_link_create(request):
    data = await get_post_data(request) or {}
    account = _account(data.get("account", ""))
    return json_response({
        "object": "account_link", "created": int(time.time()),
        "expires_at": int(time.time()) + 300,
        "url": f"https://connect.stripe.test/setup/e/{account['id']}/{_id('')}",
    })


async def config_accounts_bulk(request):
    """{"count": n}: n onboarded accounts at once (benchmark fixtures)."""
    count = int((await request.json())["count"])
    ids = []
    for _ in range(count):
        account_id = _id("acct_")
        ACCOUNTS[account_id] = {
            "id": account_id, "object": "account", "type": "express", "metadata": {},
            "details_submitted": True, "payouts_enabled": True, "charges_enabled": True,
            "capabilities": {"transfers": "active"}, "created": int(time.time())}
        ids.append(account_id)
    return json_response({"ids": ids})


async def config_onboard(request):
    account = _account(request.match_info["id"])
    account.update(details_submitted=True, payouts_enabled=True, charges_enabled=True,
                   capabilities={"transfers": "active"})
    return json_response(account)


# --- Transfers -----------------------------------------------------------------------------

def _next_fault() -> dict | None:
    if not FAULTS:
        return None
    fault = FAULTS[0]
    fault["count"] -= 1
    if fault["count"] <= 0:
        FAULTS.pop(0)
    return fault


async def transfer_create(request):
    data = await get_post_data(request) or {}
    fault = _next_fault()
    mode = fault["mode"] if fault else None
    if mode == "error_before":
        raise _Unsaved(_api_error(500, "Simulated outage (nothing was transferred)."))
    if mode == "timeout_before":
        await asyncio.sleep(fault.get("delay", 2.0))
        raise _Unsaved(_api_error(500, "Simulated slow outage (nothing was transferred)."))
    if mode == "decline":
        raise UserError(400, "You have insufficient funds in your Stripe account.",
                        {"code": "balance_insufficient"})
    try:
        amount = int(data.get("amount"))
        assert amount > 0
        assert data.get("currency")
    except (TypeError, ValueError, AssertionError):
        raise UserError(400, "Invalid amount or currency", {"param": "amount"})
    account = _account(data.get("destination", ""))
    if account["capabilities"].get("transfers") != "active":
        raise UserError(400, "Your destination account needs to have at least one of the "
                        "following capabilities enabled: transfers, crypto_transfers, "
                        "legacy_payments", {"code": "insufficient_capabilities_for_transfer",
                                            "param": "destination"})
    transfer = {
        "id": _id("tr_"), "object": "transfer", "amount": amount,
        "currency": data["currency"], "destination": account["id"],
        "transfer_group": data.get("transfer_group"), "metadata": data.get("metadata") or {},
        "created": int(time.time()), "reversed": False,
        "idempotency_key": request.headers.get("Idempotency-Key"),
    }
    TRANSFERS[transfer["id"]] = transfer
    if mode == "error_after":
        return _api_error(500, "Simulated failure after the transfer was made.")
    if mode == "timeout_after":
        await asyncio.sleep(fault.get("delay", 2.0))
    return json_response(transfer)


async def transfer_retrieve(request):
    transfer_id = request.match_info["id"]
    if transfer_id not in TRANSFERS:
        raise UserError(404, f"No such transfer: '{transfer_id}'", {"code": "resource_missing"})
    return json_response(TRANSFERS[transfer_id])


async def transfer_list(request):
    query = unflatten_data(request.query)
    found = [transfer for transfer in TRANSFERS.values()
             if all(transfer.get(field) == query[field]
                    for field in ("transfer_group", "destination") if field in query)]
    found.sort(key=lambda transfer: transfer["created"], reverse=True)
    limit = int(query.get("limit", 10))
    return json_response({"object": "list", "url": "/v1/transfers", "has_more":
                          len(found) > limit, "data": found[:limit]})


# --- Test controls -------------------------------------------------------------------------

async def config_faults(request):
    """{"mode": error_before | error_after | timeout_before | timeout_after | decline,
    "count": n, "delay": seconds} - applies to the next n transfer creations."""
    data = await request.json()
    FAULTS.append({"mode": data["mode"], "count": int(data.get("count", 1)),
                   "delay": float(data.get("delay", 2.0))})
    return json_response({"faults": FAULTS})


async def config_transfers(request):
    return json_response({"data": list(TRANSFERS.values())})


async def config_reset(request):
    for table in (ACCOUNTS, TRANSFERS, IDEMPOTENT, IN_PROGRESS):
        table.clear()
    FAULTS.clear()
    resources.store.clear()
    return web.Response()


for method, path, handler in [
    ("POST", "/v1/accounts", account_create),
    ("GET", "/v1/accounts/{id}", account_retrieve),
    ("POST", "/v1/account_links", account_link_create),
    ("POST", "/v1/transfers", transfer_create),
    ("GET", "/v1/transfers", transfer_list),
    ("GET", "/v1/transfers/{id}", transfer_retrieve),
    ("POST", "/_config/accounts/bulk", config_accounts_bulk),
    ("POST", "/_config/accounts/{id}/onboard", config_onboard),
    ("POST", "/_config/faults", config_faults),
    ("GET", "/_config/transfers", config_transfers),
    ("POST", "/_config/reset", config_reset),
]:
    app.router.add_route(method, path, handler)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    web.run_app(app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
