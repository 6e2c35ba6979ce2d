"""What every subgraph's GraphQL endpoint shares: error codes, masking, the router-only guard."""

from __future__ import annotations

import functools
import hmac
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import strawberry
from fastapi import Request
from graphql import GraphQLUnionType
from graphql.error import GraphQLError
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import BaseContext
from strawberry.federation.schema import FederationAny
from strawberry.types import Info

from .errors import AppError, Unauthenticated
from .graphql_limits import GraphQLLimits
from .jwt import TokenVerifier, bearer_token
from .logging import user_id_var
from .principal import Principal

log = logging.getLogger(__name__)

# graphql-core appends "Did you mean ...?" to validation errors (fields, arguments,
# types, input fields, enum values); it tells a stranger which names exist, so it
# is cut (Strawberry has no switch for it). It need not end the message ("Did you
# mean 'email'? Found: ..."); GraphQL names hold no "?", so it ends at the first.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _format_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, AppError):
        extensions = {"code": original.code, **_camel(original.extensions)}
        message = original.detail
    elif original is None:
        # Parse and validation errors: the client's own query, safe to describe.
        extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
        message = _FOUND.sub(".", _SUGGESTION.sub("", error.message))
    elif error.path is None:
        # Raised before any resolver ran (no path): a variable the schema could not
        # coerce. The client's mistake, not a fault, and not to be masked.
        extensions = {"code": "BAD_USER_INPUT"}
        message = _input_error_message(error)
    else:
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
        message = "Unexpected error."
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


# graphql-core quotes the whole rejected value after "found:" (of a variable or of a
# literal in the document), and a scalar's own message quotes the bad value: either
# may be a password, so neither is echoed.
_FOUND = re.compile(r"[,.]? found: .*$", re.DOTALL | re.IGNORECASE)


def _input_error_message(error: GraphQLError) -> str:
    if type(error.original_error) is GraphQLError:  # graphql-core's own: unknown or missing fields
        return _FOUND.sub(".", _SUGGESTION.sub("", error.message))
    return error.message.split(": ", 1)[0] + "."  # "Variable '$x' has invalid value at .field."


def _camel(values: dict[str, Any]) -> dict[str, Any]:
    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.title() for part in rest)

    return {camel(key): value for key, value in values.items()}


class ErrorCodes(SchemaExtension):
    """Puts the service's error `code` into `extensions` and masks everything unexpected."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_format_error(error) for error in result.errors]


class SubgraphSchema(strawberry.federation.Schema):
    """A federated schema that logs only unexpected errors.

    Strawberry logs every error with its traceback; a refused login or a
    missing record is an answer, not a fault, and would drown the real ones.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("federation_version", "2.9")
        self._definition = dict(kwargs)
        extensions = list(kwargs.pop("extensions", ()))
        super().__init__(extensions=[ErrorCodes, *extensions], **kwargs)

    def limited(self, limits: GraphQLLimits) -> SubgraphSchema:
        """The same schema (same SDL) with `limits` enforced; what the endpoint serves."""
        definition = dict(self._definition)
        definition["extensions"] = [*definition.get("extensions", ()), *limits.extensions(), *document_caches()]
        return SubgraphSchema(**definition)

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Strawberry's `_entities`, behind a check of each representation.

        Strawberry trusts the router to send `{"__typename": <entity>, <key fields>}` and
        fails with an unexpected error (masked, logged as a fault) on anything else: a
        string, a missing or unknown `__typename`, a missing or extra field. Those are
        refused here, each at its own index, as the caller's mistake (BAD_USER_INPUT).
        """
        results: list[Any] = [None] * len(representations)
        positions: list[int] = []
        valid: list[FederationAny] = []
        for index, representation in enumerate(representations):
            problem = _representation_problem(representation, self._entity_keys)
            if problem is None and isinstance(representation, dict):  # no problem: it is an object
                positions.append(index)
                valid.append(FederationAny(dict(representation)))
            else:
                results[index] = BadRepresentation(f"representations[{index}]: {problem}")
        for index, result in zip(positions, super().entities_resolver(info, valid), strict=True):
            results[index] = result
        return results

    @functools.cached_property
    def _entity_keys(self) -> dict[str, set[frozenset[str]]]:
        """Each entity type this subgraph resolves, and the field sets of its keys."""
        from strawberry.federation.schema_directives import Key

        entity = self._schema.type_map.get("_Entity")
        keys: dict[str, set[frozenset[str]]] = {}
        for member in entity.types if isinstance(entity, GraphQLUnionType) else ():
            definition = self.schema_converter.type_map[member.name].definition
            keys[member.name] = {
                frozenset(directive.fields.split())
                for directive in definition.directives or ()
                if isinstance(directive, Key)
            }
        return keys

    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        for error in errors:
            original = error.original_error
            if original is not None and not isinstance(original, AppError) and error.path is not None:
                log.error("unhandled error in resolver", exc_info=original, extra={"path": error.path})


# Parsed and validated documents, by query text (docs/performance.md). The router sends a few
# query shapes over and over, with only their variables changing; graphql-core 3.3 spends
# milliseconds validating even a tiny `_entities` document (its visitor rebuilds its dispatch
# per node), so each shape is parsed and validated once. The parse cache is keyed by the text
# and the parser options (the token limit included), the validation cache by the document and
# the rules (depth, aliases, root fields, introspection), so every limit still holds: a
# document that fails is refused from the cache as it was the first time. Factories, not
# instances: each request gets its own extension objects.
DOCUMENT_CACHE_SIZE = 256


def document_caches() -> list:
    from functools import partial

    from strawberry.extensions import ParserCache, ValidationCache

    return [partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE), partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE)]


class BadRepresentation(AppError):
    status = 400
    code = "BAD_USER_INPUT"
    title = "Not an entity representation"


def _representation_problem(representation: Any, keys: dict[str, set[frozenset[str]]]) -> str | None:
    """Why `representation` is not one this subgraph resolves, or None when it is."""
    if not isinstance(representation, dict):
        return "must be an object with __typename and the key fields"
    typename = representation.get("__typename")
    if typename not in keys:
        return "__typename must name an entity type of this subgraph"
    fields = frozenset(representation) - {"__typename"}
    if fields not in keys[typename]:
        return f"{typename} is referenced by its key fields only"
    if not all(isinstance(representation[name], str) for name in fields):
        return "key fields must be strings"
    return None


@dataclass
class GraphContext(BaseContext):
    """Per-request context; subgraphs subclass it to add their loaders."""

    principal: Principal | None = None
    auth_error: Unauthenticated | None = None
    request_id: str | None = None
    client_address: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise self.auth_error or Unauthenticated()
        return self.principal


async def principal_from_request(
    request: Request, verifier: TokenVerifier
) -> tuple[Principal | None, Unauthenticated | None]:
    """The caller, if any; a bad token is remembered and raised only where a field needs a caller."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        if request.headers.get("authorization"):
            return None, Unauthenticated("Invalid authorization header.")
        return None, None
    try:
        principal = await verifier.verify(token)
    except Unauthenticated as exc:
        return None, exc
    user_id_var.set(str(principal.user_id))
    return principal, None


def router_secret_guard(secret: str, header: str, previous: str | None = None):
    """A FastAPI dependency refusing requests that do not carry the router's secret.

    The subgraph endpoint exposes `_entities` and `_service`; only the router may call it.
    It guards WebSocket handshakes to the same path too (closed with 1008, policy violation).
    `previous` is accepted as well while a new secret is rolled out (docs/deployment.md).
    """
    accepted = [value.encode() for value in (secret, previous) if value]

    async def require_router_secret(connection: HTTPConnection) -> None:
        presented = connection.headers.get(header, "").encode()
        # Compared with every accepted secret, so timing does not tell which one matched.
        matches = [hmac.compare_digest(presented, expected) for expected in accepted]
        if not presented or not any(matches):
            if connection.scope["type"] == "websocket":
                raise WebSocketException(code=1008, reason="This endpoint is reserved for the router.")
            raise Unauthenticated("This endpoint is reserved for the router.")

    return require_router_secret


async def refuse_websockets(connection: HTTPConnection) -> None:
    """No subscriptions are offered: every WebSocket handshake is closed (1008) before anything runs."""
    if connection.scope["type"] == "websocket":
        raise WebSocketException(code=1008, reason="Subscriptions are not offered.")


def client_address(request: Request) -> str | None:
    """The end client's address: the router's `X-Forwarded-For` (trusted behind the secret) or the peer."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.client.host if request.client else None


def subgraph_router(schema, context_getter, settings) -> Any:
    """The `/graphql` endpoint of a subgraph: POST only, no IDE, no batching, router secret
    required, and the document and cost limits of `graphql_limits` enforced."""
    from fastapi import Depends
    from strawberry.fastapi import GraphQLRouter

    limits = GraphQLLimits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_root_fields=settings.graphql_max_root_fields,
        max_cost=settings.graphql_max_cost,
        introspection=settings.graphql_introspection
        if settings.graphql_introspection is not None
        else not settings.is_production,
    )
    return GraphQLRouter(
        schema.limited(limits),
        graphql_ide=None,
        allow_queries_via_get=False,
        context_getter=context_getter,
        subscription_protocols=(),
        dependencies=[
            Depends(refuse_websockets),
            Depends(
                router_secret_guard(
                    settings.router_secret, settings.router_secret_header, settings.router_secret_previous
                )
            ),
        ],
    )
