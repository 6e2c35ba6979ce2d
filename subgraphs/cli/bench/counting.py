"""What the benchmark counts inside a subgraph process, without touching the service's own code.

The bench launcher (`serve.py`) wraps the app `create_app()` returns in `CountingApp`, an ASGI
layer in front of it that:

- counts requests per route (`POST /graphql`, `GET /doctors/{id}`, ...) and the TCP connections
  they came on (distinct client ports: keep-alive at work or not);
- counts SQL statements, transactions (BEGIN) and pool checkouts per route and per engine,
  through SQLAlchemy events on every engine of the process. The route comes from a ContextVar
  set for the request; SQLAlchemy carries the context into its greenlets, and a background task
  started by a request (the audit trail's batched writes) inherits it, so its statements are
  told apart by engine instead: `main` is the service's own engine, `other` anything else
  (the audit trail's writer pool);
- optionally keeps the bodies of `/graphql` requests whose `x-request-id` starts with
  `capture-` (what the router sent, replayed by the router-cost scenario);
- answers `GET /_bench/counters` (and `/_bench/captures`, `POST /_bench/reset`) itself, only
  with the router secret.

None of this exists in a service started by `healthcare serve`: the wrapper is the bench's own,
so production serves no extra work per request.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections import Counter
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
route_var: ContextVar[str] = ContextVar("bench_route", default="(none)")
CAPTURE_PREFIX = b"capture-"


def route_of(method: str, path: str) -> str:
    return f"{method} {_UUID.sub('{id}', path)}"


class Counters:
    def __init__(self) -> None:
        self.main_engines: set[int] = set()  # ids of the services' own pools
        self.reset()

    def reset(self) -> None:
        self.requests: Counter[str] = Counter()
        self.sql: Counter[tuple[str, str]] = Counter()
        self.transactions: Counter[tuple[str, str]] = Counter()
        self.checkouts: Counter[tuple[str, str]] = Counter()
        self.connections: set[tuple[str, int]] = set()
        self.captures: list[dict[str, Any]] = []

    def engine_label(self, engine: Engine) -> str:
        # By pool: an engine with other execution options (the read-only, autocommit one) shares it.
        return "main" if id(engine.pool) in self.main_engines else "other"

    def snapshot(self) -> dict[str, Any]:
        def nested(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = {}
            for (engine, route), count in counter.items():
                out.setdefault(engine, {})[route] = count
            return out

        return {
            "requests": dict(self.requests),
            "sql": nested(self.sql),
            "transactions": nested(self.transactions),
            "checkouts": nested(self.checkouts),
            "connections": len(self.connections),
        }


COUNTERS = Counters()


def install_sql_counters(main_engines: list[Engine]) -> None:
    """Counts statements, transactions and checkouts on every engine of this process."""
    COUNTERS.main_engines = {id(engine.pool) for engine in main_engines}

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
        COUNTERS.sql[(COUNTERS.engine_label(conn.engine), route_var.get())] += 1

    @event.listens_for(Engine, "begin")
    def _begin(conn) -> None:
        COUNTERS.transactions[(COUNTERS.engine_label(conn.engine), route_var.get())] += 1

    @event.listens_for(Engine, "engine_connect")
    def _checkout(conn) -> None:
        # A Connection is made per checkout from the pool (and its pre-ping, when on).
        COUNTERS.checkouts[(COUNTERS.engine_label(conn.engine), route_var.get())] += 1


ACCOUNT_CHECK = "(account check)"


def label_account_checks() -> None:
    """Statements run to recheck a token's account (once per token per ACCOUNT_RECHECK_SECONDS,
    in every service) are counted under their own label: periodic, not per request."""
    from subgraphs.kit.jwt import AccountStatus

    original = AccountStatus.check

    async def check(self, token, principal):
        reset = route_var.set(ACCOUNT_CHECK)
        try:
            return await original(self, token, principal)
        finally:
            route_var.reset(reset)

    # Patched in place on purpose: every AccountStatus the services build is then labelled.
    AccountStatus.check = check  # type: ignore[method-assign]


class CountingApp:
    """ASGI layer in front of a subgraph app; see the module docstring."""

    def __init__(self, app, secret: str, secret_header: str, capture: bool = False) -> None:
        self.app = app
        self.secret = secret.encode()
        self.secret_header = secret_header.lower().encode()
        self.capture = capture

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/_bench/"):
            await self._own(scope, receive, send)
            return
        route = route_of(scope["method"], path)
        COUNTERS.requests[route] += 1
        client = scope.get("client")
        if client:
            COUNTERS.connections.add((client[0], client[1]))
        token = route_var.set(route)
        try:
            if self.capture and path == "/graphql":
                await self._captured(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            route_var.reset(token)

    async def _captured(self, scope, receive, send) -> None:
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"")
        if not request_id.startswith(CAPTURE_PREFIX):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        started = time.monotonic()
        sent = False

        async def replay_receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay_receive, send)
        finally:
            COUNTERS.captures.append(
                {
                    "request_id": request_id.decode("latin-1"),
                    "started": started,
                    "finished": time.monotonic(),
                    "body": body.decode(),
                    "authorization": headers.get(b"authorization", b"").decode("latin-1"),
                }
            )

    async def _own(self, scope, receive, send) -> None:
        presented = dict(scope["headers"]).get(self.secret_header, b"")
        if not presented or not hmac.compare_digest(presented, self.secret):
            await _json(send, 401, {"error": "router secret required"})
            return
        path = scope["path"]
        if path == "/_bench/counters":
            await _json(send, 200, COUNTERS.snapshot())
        elif path == "/_bench/captures":
            await _json(send, 200, COUNTERS.captures)
        elif path == "/_bench/reset" and scope["method"] == "POST":
            COUNTERS.reset()
            await _json(send, 200, {"reset": True})
        else:
            await _json(send, 404, {"error": "not found"})


async def _json(send, status: int, body: Any) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
