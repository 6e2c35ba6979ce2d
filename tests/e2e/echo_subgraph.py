"""A tiny federated subgraph for router tests: it reports the headers the router sent it.

Its fields are nullable, so that when it fails the router can still answer the other fields.

Run by the e2e fixtures with `python -m uvicorn tests.e2e.echo_subgraph:app --port N`. It is
not part of the system: it lets the tests see what reaches a subgraph (propagated headers, the
router secret, X-Forwarded-For) and make a subgraph slow on purpose.
"""

from __future__ import annotations

import asyncio

import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter
from strawberry.types import Info


@strawberry.type
class Header:
    name: str
    value: str


@strawberry.type
class Query:
    @strawberry.field(description="Every header of the request that reached this subgraph.")
    def echo_headers(self, info: Info) -> list[Header] | None:
        request = info.context["request"]
        return [Header(name=name, value=value) for name, value in request.headers.items()]

    @strawberry.field(description="Answers after `seconds` (at most 30).")
    async def slow(self, seconds: float) -> str | None:
        await asyncio.sleep(min(max(seconds, 0.0), 30.0))
        return "finally"


schema = strawberry.federation.Schema(query=Query, federation_version="2.9")
app = FastAPI()
app.include_router(GraphQLRouter(schema, graphql_ide=None), prefix="/graphql")


@app.get("/ready")
async def ready() -> dict:
    return {"status": "ready"}
