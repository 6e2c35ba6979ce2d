"""The object-level authorization matrix: ONE table, resource x role x path -> expected outcome.

Every REST route, GraphQL root field and `_entities` type of every service is a row (the
coverage check in `uncovered` fails the suite for any that is not); each row has one
expected outcome per actor. `check` plays every (row, actor) case against the real apps,
in process and wired to each other (`tests/system.py`), and reports what differs.

Actors (the columns), around one patient's records:

  anonymous      no token
  owner          patient A, whose appointment X (with doctor D1) and prescription P are the targets
  other_patient  patient B, with records of their own (appointment Y, prescription Q, with D2)
  doctor         D1: A's doctor (a care relationship: X is theirs, P was issued by them)
  other_doctor   D2: a doctor with no relationship to A
  admin

Outcomes:

  ok        2xx; a read returns the target (a list contains it)
  absent    2xx, but the target is not in the answer (a list narrowed to what the caller may see)
  redacted  the record, with its private fields (phone, date of birth) null
  refused   a WebSocket handshake closed before anything ran
  401 403 404, or another code: the error answer, REST status or GraphQL `extensions.code`
            (a GraphQL field the caller may not see is null with that code)

A path is `METHOD /route[?query]` (REST), `query <field>`, `mutation <field>` or
`_entities <Type>[.<field>]`, optionally followed by ` #variant`. Service `*` is every service.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.routing import APIWebSocketRoute, iter_route_contexts

from subgraphs.cli import registry
from subgraphs.kit.settings import DEV_ROUTER_SECRET

from ..system import PASSWORD, System

ACTORS = ("anonymous", "owner", "other_patient", "doctor", "other_doctor", "admin")
SERVICES = tuple(registry.SUBGRAPHS)
SHORT = {"UNAUTHENTICATED": "401", "FORBIDDEN": "403", "NOT_FOUND": "404"}

# fmt: off
TABLE = """
service       | resource                      | path                                          | anonymous | owner    | other_patient | doctor         | other_doctor          | admin
*             | health and readiness          | GET /health                                   | ok        | ok       | ok            | ok             | ok                    | ok
*             | health and readiness          | GET /ready                                    | ok        | ok       | ok            | ok             | ok                    | ok
*             | metrics                       | GET /metrics                                  | ok        | ok       | ok            | ok             | ok                    | ok
*             | API description               | GET /openapi.json                             | ok        | ok       | ok            | ok             | ok                    | ok
*             | API description               | GET /docs                                     | ok        | ok       | ok            | ok             | ok                    | ok
*             | API description               | GET /docs/oauth2-redirect                     | ok        | ok       | ok            | ok             | ok                    | ok
*             | API description               | GET /redoc                                    | ok        | ok       | ok            | ok             | ok                    | ok
*             | subgraph endpoint             | POST /graphql #without the router secret      | 401       | 401      | 401           | 401            | 401                   | 401
*             | subgraph endpoint             | GET /graphql #without the router secret       | 401       | 401      | 401           | 401            | 401                   | 401
*             | subgraph endpoint             | WS /graphql #without the router secret        | refused   | refused  | refused       | refused        | refused               | refused
*             | subgraph endpoint             | WS /graphql #with the router secret           | refused   | refused  | refused       | refused        | refused               | refused
*             | subgraph schema               | query _service                                | ok        | ok       | ok            | ok             | ok                    | ok
auth          | own profile                   | GET /users/profile                            | 401       | ok       | ok            | ok             | ok                    | ok
auth          | own profile                   | PUT /users/profile                            | 401       | ok       | ok            | ok             | ok                    | ok
auth          | own profile                   | query me                                      | 401       | ok       | ok            | ok             | ok                    | ok
auth          | own profile                   | mutation updateProfile                        | 401       | ok       | ok            | ok             | ok                    | ok
auth          | the patient's profile         | query user                                    | 401       | ok       | 404           | ok             | 404                   | ok
auth          | the patient's profile         | _entities User                                | 401       | ok       | 404           | ok             | 404                   | ok
auth          | a doctor's directory entry    | query user #the doctor                        | 401       | ok       | ok            | ok             | ok                    | ok
auth          | a doctor's private fields     | _entities User #the doctor's phone            | 401       | redacted | redacted      | ok             | redacted              | ok
auth          | user management               | GET /users                                    | 401       | 403      | 403           | 403            | 403                   | ok
auth          | user management               | PATCH /users/{user_id}                        | 401       | 403      | 403           | 403            | 403                   | ok
auth          | user counts                   | GET /users/stats                              | 401       | 403      | 403           | 403            | 403                   | ok
auth          | user counts                   | _entities Analytics                           | 401       | 403      | 403           | 403            | 403                   | ok
auth          | audit trail                   | GET /audit                                    | 401       | ok       | absent        | absent         | absent                | ok
auth          | sign-in                       | POST /auth/register                           | ok        | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | POST /auth/login                              | ok        | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | POST /auth/token                              | ok        | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | GET /auth/validate-token                      | 401       | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | POST /auth/validate-token                     | 401       | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | POST /auth/logout                             | ok        | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | GET /.well-known/jwks.json                    | ok        | ok       | ok            | ok             | ok                    | ok
auth          | active doctors (internal)     | GET /internal/active-doctors #no secret       | 401       | 401      | 401           | 401            | 401                   | 401
auth          | active doctors (internal)     | GET /internal/active-doctors #secret          | ok        | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | mutation register                             | ok        | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | mutation login                                | ok        | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | mutation refreshToken                         | ok        | ok       | ok            | ok             | ok                    | ok
auth          | sign-in                       | mutation logout                               | ok        | ok       | ok            | ok             | ok                    | ok
appointments  | own doctor profile            | POST /doctors/profile                         | 401       | 403      | 403           | PROFILE_EXISTS | PROFILE_EXISTS        | 403
appointments  | own doctor profile            | GET /doctors/profile                          | 401       | 403      | 403           | ok             | ok                    | 403
appointments  | own doctor profile            | PUT /doctors/profile                          | 401       | 403      | 403           | ok             | ok                    | 403
appointments  | own doctor profile            | mutation createDoctorProfile                  | 401       | 403      | 403           | PROFILE_EXISTS | PROFILE_EXISTS        | 403
appointments  | own doctor profile            | mutation updateDoctorProfile                  | 401       | 403      | 403           | ok             | ok                    | 403
appointments  | doctor directory              | GET /doctors                                  | 401       | ok       | ok            | ok             | ok                    | ok
appointments  | doctor directory              | GET /doctors/{doctor_id}                      | 401       | ok       | ok            | ok             | ok                    | ok
appointments  | doctor directory              | query doctors                                 | 401       | ok       | ok            | ok             | ok                    | ok
appointments  | doctor directory              | query doctor                                  | 401       | ok       | ok            | ok             | ok                    | ok
appointments  | doctor directory              | _entities Doctor                              | 401       | ok       | ok            | ok             | ok                    | ok
appointments  | doctor directory              | _entities User.doctorProfile                  | 401       | ok       | ok            | ok             | ok                    | ok
appointments  | the appointment               | GET /appointments/{appointment_id}            | 401       | ok       | 404           | ok             | 404                   | ok
appointments  | the appointment               | query appointment                             | 401       | ok       | 404           | ok             | 404                   | ok
appointments  | the appointment               | _entities Appointment                         | 401       | ok       | 404           | ok             | 404                   | ok
appointments  | appointment lists             | GET /appointments                             | 401       | ok       | absent        | ok             | absent                | ok
appointments  | appointment lists             | GET /appointments?patient_id=owner            | 401       | ok       | absent        | ok             | absent                | ok
appointments  | appointment lists             | GET /appointments?doctor_id=doctor            | 401       | ok       | absent        | ok             | absent                | ok
appointments  | appointment lists             | query appointments                            | 401       | ok       | absent        | ok             | absent                | ok
appointments  | appointment lists             | _entities User.appointments                   | 401       | ok       | absent        | ok             | absent                | ok
appointments  | appointment lists             | _entities Doctor.appointments                 | 401       | ok       | absent        | ok             | absent                | ok
appointments  | booking for the patient       | POST /appointments                            | 401       | ok       | 403           | 403            | 403                   | ok
appointments  | booking for the patient       | mutation bookAppointment                      | 401       | ok       | 403           | 403            | 403                   | ok
appointments  | changing the appointment      | PUT /appointments/{appointment_id}            | 401       | ok       | 404           | ok             | 404                   | ok
appointments  | changing the appointment      | DELETE /appointments/{appointment_id}         | 401       | ok       | 404           | ok             | 404                   | ok
appointments  | changing the appointment      | mutation updateAppointment                    | 401       | ok       | 404           | ok             | 404                   | ok
appointments  | changing the appointment      | mutation cancelAppointment                    | 401       | ok       | 404           | ok             | 404                   | ok
appointments  | appointment counts            | GET /appointments/stats                       | 401       | 403      | 403           | 403            | 403                   | ok
appointments  | appointment counts            | _entities Analytics                           | 401       | 403      | 403           | 403            | 403                   | ok
appointments  | care relationships (internal) | POST /internal/care-relationships #no secret  | 401       | 401      | 401           | 401            | 401                   | 401
appointments  | care relationships (internal) | POST /internal/care-relationships #secret     | ok        | ok       | ok            | ok             | ok                    | ok
appointments  | audit trail                   | GET /audit                                    | 401       | ok       | absent        | absent         | absent                | ok
prescriptions | the prescription              | GET /prescriptions/{prescription_id}          | 401       | ok       | 404           | ok             | 404                   | 403
prescriptions | the prescription              | query prescription                            | 401       | ok       | 404           | ok             | 404                   | 403
prescriptions | the prescription              | _entities Prescription                        | 401       | ok       | 404           | ok             | 404                   | 403
prescriptions | prescription lists            | GET /prescriptions                            | 401       | ok       | absent        | ok             | absent                | 403
prescriptions | prescription lists            | GET /prescriptions?patient_id=owner           | 401       | ok       | absent        | ok             | absent                | 403
prescriptions | prescription lists            | GET /prescriptions?appointment_id=appointment | 401       | ok       | absent        | ok             | absent                | 403
prescriptions | prescription lists            | query prescriptions                           | 401       | ok       | absent        | ok             | absent                | 403
prescriptions | prescription lists            | _entities User.prescriptions                  | 401       | ok       | absent        | ok             | absent                | 403
prescriptions | prescription lists            | _entities Appointment.prescriptions           | 401       | ok       | absent        | ok             | absent                | 403
prescriptions | issuing at the appointment    | POST /prescriptions                           | 401       | 403      | 403           | ok             | APPOINTMENT_NOT_FOUND | 403
prescriptions | issuing at the appointment    | mutation issuePrescription                    | 401       | 403      | 403           | ok             | APPOINTMENT_NOT_FOUND | 403
prescriptions | changing the prescription     | PUT /prescriptions/{prescription_id}          | 401       | 403      | 403           | ok             | 404                   | 403
prescriptions | changing the prescription     | mutation updatePrescription                   | 401       | 403      | 403           | ok             | 404                   | 403
prescriptions | prescription counts           | GET /prescriptions/stats                      | 401       | 403      | 403           | 403            | 403                   | ok
prescriptions | prescription counts           | _entities Analytics                           | 401       | 403      | 403           | 403            | 403                   | ok
prescriptions | a doctor reference (no data)  | _entities Doctor                              | ok        | ok       | ok            | ok             | ok                    | ok
prescriptions | audit trail                   | GET /audit                                    | 401       | ok       | absent        | absent         | absent                | ok
admin         | analytics                     | GET /admin/analytics                          | 401       | 403      | 403           | 403            | 403                   | ok
admin         | analytics                     | query analytics                               | 401       | 403      | 403           | 403            | 403                   | ok
admin         | analytics                     | _entities Analytics                           | 401       | 403      | 403           | 403            | 403                   | ok
admin         | user management               | GET /admin/users                              | 401       | 403      | 403           | 403            | 403                   | ok
admin         | user management               | PATCH /admin/users/{user_id}                  | 401       | 403      | 403           | 403            | 403                   | ok
admin         | user management               | query adminUsers                              | 401       | 403      | 403           | 403            | 403                   | ok
admin         | user management               | mutation setUserActive                        | 401       | 403      | 403           | 403            | 403                   | ok
admin         | user management               | mutation changeUserRole                       | 401       | 403      | 403           | 403            | 403                   | ok
admin         | a user reference (no data)    | _entities User                                | ok        | ok       | ok            | ok             | ok                    | ok
"""
# fmt: on


@dataclass(frozen=True)
class Row:
    service: str
    resource: str
    path: str
    expected: dict[str, str]

    @property
    def kind(self) -> str:
        head = self.path.split(" ", 1)[0]
        return {"query": "query", "mutation": "mutation", "_entities": "entity"}.get(head, "rest")

    @property
    def covers(self) -> str:
        """What this row stands for in the coverage check: `GET /x/{id}`, `query me`, `_entities User`."""
        path = self.path.split(" #", 1)[0]
        head, rest = path.split(" ", 1)
        if self.kind == "rest":
            return f"{head} {rest.split('?', 1)[0]}"
        if self.kind == "entity":
            return f"_entities {rest.split('.', 1)[0]}"
        return path


@dataclass(frozen=True)
class Case:
    row: Row
    actor: str

    @property
    def expected(self) -> str:
        return self.row.expected[self.actor]

    def __str__(self) -> str:
        return f"{self.row.service} {self.row.path} as {self.actor}"


def parse(table: str = TABLE) -> list[Row]:
    lines = [line for line in table.strip().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split("|")]
    assert tuple(header[3:]) == ACTORS, header
    rows = []
    for line in lines[1:]:
        service, resource, path, *outcomes = (cell.strip() for cell in line.split("|"))
        assert len(outcomes) == len(ACTORS), line
        for name in SERVICES if service == "*" else (service,):
            rows.append(Row(name, resource, path, dict(zip(ACTORS, outcomes, strict=True))))
    keys = [(row.service, row.path) for row in rows]
    duplicates = {key for key in keys if keys.count(key) > 1}
    assert not duplicates, f"rows given twice: {duplicates}"
    return rows


ROWS = parse()
CASES = [Case(row, actor) for row in ROWS for actor in ACTORS]


# -- coverage: every route, root field and entity type is a row -------------------------------


def surface(app, schema) -> set[str]:
    """What a service exposes: its routes, its Query and Mutation fields, its entity types."""
    exposed = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIWebSocketRoute):
            exposed.add(f"WS {route.path}")
            continue
        for method in route.methods or ():
            if method != "HEAD":  # answered by GET
                exposed.add(f"{method} {route.path}")
    graphql = schema._schema
    for kind, root in (("query", graphql.query_type), ("mutation", graphql.mutation_type)):
        for name in root.fields if root else ():
            if name != "_entities":
                exposed.add(f"{kind} {name}")
    entity = graphql.type_map.get("_Entity")
    for member in entity.types if entity else ():
        exposed.add(f"_entities {member.name}")
    return exposed


def uncovered(service: str, app, schema) -> tuple[set[str], set[str]]:
    """(exposed but not in the table, in the table but not exposed) for one service."""
    covered = {row.covers for row in ROWS if row.service == service}
    exposed = surface(app, schema)
    return exposed - covered, covered - exposed


# -- the world the cases run in ---------------------------------------------------------------

_days = itertools.count(400)  # bookings far from any the fixtures make


def next_slot() -> str:
    day = datetime.now(UTC).date() + timedelta(days=next(_days))
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC).isoformat()


@dataclass
class World:
    system: System
    people: dict[str, dict | None]
    appointment: dict  # X: the owner's, with the doctor, arrived
    prescription: dict  # P: issued by the doctor to the owner at X
    spare: dict  # a patient whose credentials the sign-in rows use

    def id(self, who: str) -> str:
        return self.people[who]["id"]

    def headers(self, actor: str) -> dict[str, str]:
        person = self.people[actor]
        return person["headers"] if person else {}

    def client(self, service: str) -> httpx.AsyncClient:
        return self.system.clients[service]

    async def fresh_appointment(self) -> dict:
        """A booked appointment of the owner with the doctor, for a case that changes one."""
        return await self.system.appointment(self.people["doctor"], self.people["owner"])

    async def fresh_prescription(self) -> dict:
        return await self.system.prescription(self.people["doctor"], self.appointment)

    async def fresh_tokens(self) -> dict:
        response = await self.client("auth").post(
            "/auth/login", json={"email": self.spare["email"], "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def new_registration(self) -> dict:
        return {
            "email": f"matrix-{uuid.uuid4().hex[:10]}@example.org",
            "password": PASSWORD,
            "full_name": "Matrix Registrant",
        }


async def build_world(system: System) -> World:
    admin = await system.user("admin")
    owner, other_patient, spare = await system.user(), await system.user(), await system.user()
    doctor, other_doctor = await system.doctor(), await system.doctor()
    # The doctor's phone is private: a directory entry shows it to no one else.
    changed = await system.auth.put("/users/profile", json={"phone": "+44 20 7946 0001"}, headers=doctor["headers"])
    assert changed.status_code == 200, changed.text
    # Many bookings for one patient here: the limit itself is tested in test_rate_limits.py.
    system.apps["appointments"].state.appointments.booking_limit.limit = 100_000
    appointment = await system.appointment(doctor, owner, "arrived")
    prescription = await system.prescription(doctor, appointment)
    theirs = await system.appointment(other_doctor, other_patient, "arrived")
    await system.prescription(other_doctor, theirs)
    world = World(
        system,
        {
            "anonymous": None,
            "owner": owner,
            "other_patient": other_patient,
            "doctor": doctor,
            "other_doctor": other_doctor,
            "admin": admin,
        },
        appointment,
        prescription,
        spare,
    )
    # Events about the owner's records in every trail (the /audit rows look for them).
    for service, path in (
        ("auth", "/users/profile"),
        ("appointments", f"/appointments/{appointment['id']}"),
        ("prescriptions", f"/prescriptions/{prescription['id']}"),
    ):
        assert (await system.clients[service].get(path, headers=owner["headers"])).status_code == 200
        await system.apps[service].state.audit.flush()
    return world


# -- how each path is called ------------------------------------------------------------------

Run = Callable[[World, str], Awaitable[str]]
OPS: dict[tuple[str, str], Run] = {}


def outcome_of_error(code: str | None) -> str:
    return SHORT.get(code or "", code or "error")


def matched(value: Any, target: str | None, private: str | None = None) -> str:
    if isinstance(value, dict) and "items" in value:
        value = value["items"]
    if private is not None:
        return "redacted" if value.get(private) is None else "ok"
    if target is None:
        return "ok"
    if isinstance(value, list):
        return "ok" if target in {str(item.get("id")) for item in value if item} else "absent"
    if isinstance(value, dict):
        return "ok" if str(value.get("id")) == target else f"another record ({value.get('id')})"
    return "absent"


def rest_outcome(response: httpx.Response, target: str | None = None, private: str | None = None) -> str:
    if response.status_code >= 500:
        return f"server error {response.status_code}"
    if response.status_code >= 300:
        try:
            return outcome_of_error(response.json().get("code"))
        except ValueError:
            return f"status {response.status_code}"
    if target is None and private is None:
        return "ok"
    return matched(response.json(), target, private)


def graphql_outcome(result: dict, pick: Callable[[dict], Any], target: str | None, private: str | None = None) -> str:
    errors = result.get("errors")
    if errors:
        return outcome_of_error(errors[0].get("extensions", {}).get("code"))
    return matched(pick(result["data"]), target, private)


def rest(
    service: str,
    path: str,
    *,
    route: Callable[[World], str] | None = None,
    body: Callable[[World, str], Any] | None = None,
    target: Callable[[World], str] | None = None,
    fresh: Callable[[World], Awaitable[dict]] | None = None,
    fresh_for: tuple[str, ...] = (),
    form: bool = False,
    headers: Callable[[World], dict] | None = None,
    check: Callable[[httpx.Response, World], str] | None = None,
) -> None:
    """A REST row. `fresh` makes a new target for the actors in `fresh_for` (writes that succeed)."""
    method = path.split(" ", 1)[0]

    async def run(world: World, actor: str) -> str:
        record = await fresh(world) if fresh is not None and actor in fresh_for else None
        url = route(world) if route is not None else path.split(" ", 1)[1].split(" #", 1)[0]
        if record is not None:
            url = url.replace(world.appointment["id"], record["id"]).replace(world.prescription["id"], record["id"])
        sent = {**world.headers(actor), **(headers(world) if headers else {})}
        payload = body(world, actor) if body is not None else None
        if record is not None and isinstance(payload, dict) and "version" in payload:
            payload["version"] = record["version"]
        kwargs: dict[str, Any] = {"data": payload} if form else ({"json": payload} if payload is not None else {})
        response = await world.client(service).request(method, url, headers=sent, **kwargs)
        if check is not None:
            return check(response, world)
        return rest_outcome(response, target(world) if target else None)

    OPS[(service, path)] = run


def graphql(
    service: str,
    path: str,
    query: str,
    *,
    variables: Callable[[World, str], dict] | None = None,
    pick: Callable[[dict], Any] = lambda data: next(iter(data.values())),
    target: Callable[[World], str] | None = None,
    private: str | None = None,
    fresh: Callable[[World], Awaitable[dict]] | None = None,
    fresh_for: tuple[str, ...] = (),
) -> None:
    """A GraphQL row, sent to the subgraph with the router secret (as the router would)."""

    async def run(world: World, actor: str) -> str:
        record = await fresh(world) if fresh is not None and actor in fresh_for else None
        values = variables(world, actor) if variables is not None else {}
        if record is not None:
            values = json.loads(
                json.dumps(values)
                .replace(world.appointment["id"], record["id"])
                .replace(world.prescription["id"], record["id"])
            )
            if "version" in json.dumps(values):
                values["i"]["version"] = record["version"]
        headers = {"x-router-secret": DEV_ROUTER_SECRET, **world.headers(actor)}
        response = await world.client(service).post(
            "/graphql", json={"query": query, "variables": values}, headers=headers
        )
        if response.status_code >= 300:
            return rest_outcome(response)
        return graphql_outcome(response.json(), pick, target(world) if target else None, private)

    OPS[(service, path)] = run


def entities(service: str, path: str, typename: str, selection: str, representation, **options) -> None:
    query = f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on {typename} {{ {selection} }} }} }}"
    field_name = path.split(" #", 1)[0].split(" ", 1)[1].partition(".")[2]

    def pick(data: dict) -> Any:
        entity = data["_entities"][0]
        return entity[field_name] if field_name and entity is not None else entity

    graphql(
        service,
        path,
        query,
        variables=lambda world, _actor: {"r": [{"__typename": typename, "id": representation(world)}]},
        pick=pick,
        **options,
    )


async def websocket(world: World, service: str, with_secret: bool, actor: str) -> str:
    """A WebSocket handshake on /graphql, played straight on the ASGI app (httpx speaks no WebSocket)."""
    import asyncio

    headers = {**world.headers(actor), **({"x-router-secret": DEV_ROUTER_SECRET} if with_secret else {})}
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "subprotocols": ["graphql-transport-ws"],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    inbox = [{"type": "websocket.connect"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict) -> None:
        sent.append(message)

    try:
        await asyncio.wait_for(world.system.apps[service](scope, receive, send), 10)
    except Exception as exc:  # noqa: BLE001 - an unhandled error is the finding
        return f"server error ({type(exc).__name__})"
    if any(message["type"] == "websocket.accept" for message in sent):
        return "accepted"
    return "refused"


def _define() -> None:
    A = lambda world: world.appointment["id"]  # noqa: E731
    P = lambda world: world.prescription["id"]  # noqa: E731
    OWNER = lambda world: world.id("owner")  # noqa: E731
    DOCTOR = lambda world: world.id("doctor")  # noqa: E731
    SUCCEEDS_FOR_OWNER_DOCTOR_ADMIN = ("owner", "doctor", "admin")

    for service in SERVICES:
        for path in ("/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"):
            rest(service, f"GET {path}")
        rest(service, "POST /graphql #without the router secret", body=lambda _w, _a: {"query": "{ __typename }"})
        rest(service, "GET /graphql #without the router secret", route=lambda _w: "/graphql?query=%7B__typename%7D")
        for with_secret, label in ((False, "without"), (True, "with")):
            OPS[(service, f"WS /graphql #{label} the router secret")] = lambda world, actor, s=service, w=with_secret: (
                websocket(world, s, w, actor)
            )
        graphql(service, "query _service", "{ _service { sdl } }", pick=lambda data: data["_service"])

    # -- auth ------------------------------------------------------------------------------
    rest("auth", "GET /users/profile")
    rest("auth", "PUT /users/profile", body=lambda _w, actor: {"full_name": f"Matrix {actor}"})
    graphql("auth", "query me", "{ me { id } }")
    graphql(
        "auth",
        "mutation updateProfile",
        "mutation($i: ProfileInput!) { updateProfile(input: $i) { id } }",
        variables=lambda _w, actor: {"i": {"fullName": f"Matrix {actor}"}},
    )
    graphql("auth", "query user", "query($id: ID!) { user(id: $id) { id } }",
            variables=lambda w, _a: {"id": w.id("owner")}, target=OWNER)  # fmt: skip
    entities("auth", "_entities User", "User", "id", OWNER, target=OWNER)
    graphql("auth", "query user #the doctor", "query($id: ID!) { user(id: $id) { id } }",
            variables=lambda w, _a: {"id": w.id("doctor")}, target=DOCTOR)  # fmt: skip
    entities("auth", "_entities User #the doctor's phone", "User", "id phone", DOCTOR, private="phone")
    rest("auth", "GET /users", target=OWNER)
    rest("auth", "PATCH /users/{user_id}", route=lambda w: f"/users/{w.id('owner')}",
         body=lambda _w, _a: {"is_active": True})  # fmt: skip
    rest("auth", "GET /users/stats")
    entities("auth", "_entities Analytics", "Analytics", "users { total }", lambda _w: "current")
    for service in ("auth", "appointments", "prescriptions"):
        rest(service, "GET /audit", route=lambda w: f"/audit?patient_id={w.id('owner')}&limit=100",
             check=lambda response, w: _about_owner(response, w))  # fmt: skip
    rest("auth", "POST /auth/register", body=lambda w, _a: w.new_registration())
    rest("auth", "POST /auth/login", body=lambda w, _a: {"email": w.spare["email"], "password": PASSWORD})
    rest("auth", "POST /auth/token", form=True,
         body=lambda w, _a: {"grant_type": "password", "username": w.spare["email"], "password": PASSWORD})  # fmt: skip
    rest("auth", "GET /auth/validate-token")
    rest("auth", "POST /auth/validate-token")
    OPS[("auth", "POST /auth/logout")] = _logout_rest
    rest("auth", "GET /.well-known/jwks.json")
    rest("auth", "GET /internal/active-doctors #no secret", check=_lists_the_doctor)
    rest("auth", "GET /internal/active-doctors #secret", check=_lists_the_doctor,
         headers=lambda _w: {"x-router-secret": DEV_ROUTER_SECRET})  # fmt: skip
    graphql(
        "auth",
        "mutation register",
        "mutation($i: RegisterInput!) { register(input: $i) { id } }",
        variables=lambda w, _a: {"i": {"email": w.new_registration()["email"], "password": PASSWORD, "fullName": "M"}},
    )
    graphql(
        "auth",
        "mutation login",
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        variables=lambda w, _a: {"e": w.spare["email"], "p": PASSWORD},
    )
    OPS[("auth", "mutation refreshToken")] = _refresh_graphql
    OPS[("auth", "mutation logout")] = _logout_graphql

    # -- appointments ----------------------------------------------------------------------
    profile = {"display_name": "Dr Matrix", "specialty": "general practice", "license_number": "LIC-M"}
    rest("appointments", "POST /doctors/profile", body=lambda _w, _a: profile)
    rest("appointments", "GET /doctors/profile")
    rest("appointments", "PUT /doctors/profile", body=lambda _w, _a: {"bio": "Matrix bio"})
    graphql(
        "appointments",
        "mutation createDoctorProfile",
        "mutation($i: DoctorInput!) { createDoctorProfile(input: $i) { id } }",
        variables=lambda _w, _a: {"i": {"displayName": "Dr M", "specialty": "gp", "licenseNumber": "LIC-M"}},
    )
    graphql(
        "appointments",
        "mutation updateDoctorProfile",
        "mutation($i: DoctorUpdateInput!) { updateDoctorProfile(input: $i) { id } }",
        variables=lambda _w, _a: {"i": {"bio": "Matrix bio"}},
    )
    rest("appointments", "GET /doctors", route=lambda _w: "/doctors?limit=100", target=DOCTOR)
    rest("appointments", "GET /doctors/{doctor_id}", route=lambda w: f"/doctors/{w.id('doctor')}", target=DOCTOR)
    graphql("appointments", "query doctors", "{ doctors(limit: 100) { id } }", target=DOCTOR)
    graphql("appointments", "query doctor", "query($id: ID!) { doctor(id: $id) { id } }",
            variables=lambda w, _a: {"id": w.id("doctor")}, target=DOCTOR)  # fmt: skip
    entities("appointments", "_entities Doctor", "Doctor", "id", DOCTOR, target=DOCTOR)
    entities("appointments", "_entities User.doctorProfile", "User", "doctorProfile { id }", DOCTOR, target=DOCTOR)
    rest("appointments", "GET /appointments/{appointment_id}", route=lambda w: f"/appointments/{A(w)}", target=A)
    graphql("appointments", "query appointment", "query($id: ID!) { appointment(id: $id) { id } }",
            variables=lambda w, _a: {"id": A(w)}, target=A)  # fmt: skip
    entities("appointments", "_entities Appointment", "Appointment", "id", A, target=A)
    rest("appointments", "GET /appointments", route=lambda _w: "/appointments?limit=100", target=A)
    rest("appointments", "GET /appointments?patient_id=owner",
         route=lambda w: f"/appointments?limit=100&patient_id={w.id('owner')}", target=A)  # fmt: skip
    rest("appointments", "GET /appointments?doctor_id=doctor",
         route=lambda w: f"/appointments?limit=100&doctor_id={w.id('doctor')}", target=A)  # fmt: skip
    graphql("appointments", "query appointments", "{ appointments(limit: 100) { id } }", target=A)
    entities("appointments", "_entities User.appointments", "User", "appointments(limit: 100) { id }", OWNER,
             target=A)  # fmt: skip
    entities("appointments", "_entities Doctor.appointments", "Doctor", "appointments(limit: 100) { id }", DOCTOR,
             target=A)  # fmt: skip

    def booking(world: World, actor: str) -> dict:
        body = {"doctor_id": world.id("doctor"), "starts_at": next_slot()}
        if actor != "owner":  # only an admin may name the patient; the others try to
            body["patient_id"] = world.id("owner")
        return body

    rest("appointments", "POST /appointments", body=booking)

    def booking_input(world: World, actor: str) -> dict:
        names = {"doctor_id": "doctorId", "starts_at": "startsAt", "patient_id": "patientId"}
        return {"i": {names[key]: value for key, value in booking(world, actor).items()}}

    graphql(
        "appointments",
        "mutation bookAppointment",
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
        variables=booking_input,
    )

    def change(_world: World, actor: str) -> dict:
        # What each role may change of its own appointment (docs/appointments.md).
        return {"notes": "Matrix note"} if actor in ("doctor", "other_doctor") else {"reason": "Matrix reason"}

    rest("appointments", "PUT /appointments/{appointment_id}", route=lambda w: f"/appointments/{A(w)}", body=change,
         fresh=World.fresh_appointment, fresh_for=SUCCEEDS_FOR_OWNER_DOCTOR_ADMIN)  # fmt: skip
    rest("appointments", "DELETE /appointments/{appointment_id}", route=lambda w: f"/appointments/{A(w)}",
         fresh=World.fresh_appointment, fresh_for=SUCCEEDS_FOR_OWNER_DOCTOR_ADMIN)  # fmt: skip
    graphql(
        "appointments",
        "mutation updateAppointment",
        "mutation($id: ID!, $i: AppointmentUpdateInput!) { updateAppointment(id: $id, input: $i) { id } }",
        variables=lambda w, actor: {"id": A(w), "i": change(w, actor)},
        fresh=World.fresh_appointment,
        fresh_for=SUCCEEDS_FOR_OWNER_DOCTOR_ADMIN,
    )
    graphql(
        "appointments",
        "mutation cancelAppointment",
        "mutation($id: ID!) { cancelAppointment(id: $id) { id } }",
        variables=lambda w, _a: {"id": A(w)},
        fresh=World.fresh_appointment,
        fresh_for=SUCCEEDS_FOR_OWNER_DOCTOR_ADMIN,
    )
    rest("appointments", "GET /appointments/stats")
    entities("appointments", "_entities Analytics", "Analytics", "appointments { total }", lambda _w: "current")
    care = lambda w, _a: {"doctor_id": w.id("doctor"), "patient_ids": [w.id("owner")]}  # noqa: E731
    rest("appointments", "POST /internal/care-relationships #no secret", body=care)
    rest("appointments", "POST /internal/care-relationships #secret", body=care,
         headers=lambda _w: {"x-router-secret": DEV_ROUTER_SECRET})  # fmt: skip

    # -- prescriptions ---------------------------------------------------------------------
    rest("prescriptions", "GET /prescriptions/{prescription_id}", route=lambda w: f"/prescriptions/{P(w)}", target=P)
    graphql("prescriptions", "query prescription", "query($id: ID!) { prescription(id: $id) { id } }",
            variables=lambda w, _a: {"id": P(w)}, target=P)  # fmt: skip
    entities("prescriptions", "_entities Prescription", "Prescription", "id", P, target=P)
    rest("prescriptions", "GET /prescriptions", route=lambda _w: "/prescriptions?limit=100", target=P)
    rest("prescriptions", "GET /prescriptions?patient_id=owner",
         route=lambda w: f"/prescriptions?limit=100&patient_id={w.id('owner')}", target=P)  # fmt: skip
    rest("prescriptions", "GET /prescriptions?appointment_id=appointment",
         route=lambda w: f"/prescriptions?limit=100&appointment_id={A(w)}", target=P)  # fmt: skip
    graphql("prescriptions", "query prescriptions", "{ prescriptions(limit: 100) { id } }", target=P)
    entities("prescriptions", "_entities User.prescriptions", "User", "prescriptions(limit: 100) { id }", OWNER,
             target=P)  # fmt: skip
    entities("prescriptions", "_entities Appointment.prescriptions", "Appointment", "prescriptions(limit: 100) { id }",
             A, target=P)  # fmt: skip
    issue = {"medication": "Matrix 5 mg", "dosage": "1 tablet", "frequency": "daily"}
    rest("prescriptions", "POST /prescriptions", body=lambda w, _a: {"appointment_id": A(w), **issue})
    graphql(
        "prescriptions",
        "mutation issuePrescription",
        "mutation($i: IssuePrescriptionInput!) { issuePrescription(input: $i) { id } }",
        variables=lambda w, _a: {"i": {"appointmentId": A(w), **issue}},
    )
    rest("prescriptions", "PUT /prescriptions/{prescription_id}", route=lambda w: f"/prescriptions/{P(w)}",
         body=lambda _w, _a: {"version": 1, "instructions": "Matrix"}, fresh=World.fresh_prescription,
         fresh_for=("doctor",))  # fmt: skip
    graphql(
        "prescriptions",
        "mutation updatePrescription",
        "mutation($id: ID!, $i: PrescriptionUpdateInput!) { updatePrescription(id: $id, input: $i) { id } }",
        variables=lambda w, _a: {"id": P(w), "i": {"version": 1, "instructions": "Matrix"}},
        fresh=World.fresh_prescription,
        fresh_for=("doctor",),
    )
    rest("prescriptions", "GET /prescriptions/stats")
    entities("prescriptions", "_entities Analytics", "Analytics", "prescriptions { total }", lambda _w: "current")
    entities("prescriptions", "_entities Doctor", "Doctor", "id", DOCTOR, target=DOCTOR)

    # -- admin -----------------------------------------------------------------------------
    rest("admin", "GET /admin/analytics")
    graphql("admin", "query analytics", "{ analytics { id generatedAt } }")
    entities("admin", "_entities Analytics", "Analytics", "id generatedAt", lambda _w: "current")
    rest("admin", "GET /admin/users", route=lambda _w: "/admin/users?limit=100", target=OWNER)
    rest("admin", "PATCH /admin/users/{user_id}", route=lambda w: f"/admin/users/{w.id('owner')}",
         body=lambda _w, _a: {"is_active": True})  # fmt: skip
    graphql("admin", "query adminUsers", "{ adminUsers(limit: 100) { id } }", target=OWNER)
    graphql("admin", "mutation setUserActive", "mutation($id: ID!) { setUserActive(id: $id, active: true) { id } }",
            variables=lambda w, _a: {"id": w.id("owner")}, target=OWNER)  # fmt: skip
    graphql("admin", "mutation changeUserRole",
            "mutation($id: ID!) { changeUserRole(id: $id, role: PATIENT) { id } }",
            variables=lambda w, _a: {"id": w.id("owner")}, target=OWNER)  # fmt: skip
    entities("admin", "_entities User", "User", "id", OWNER, target=OWNER)


def _about_owner(response: httpx.Response, world: World) -> str:
    """`GET /audit`: may the caller see the events about the owner's records?"""
    if response.status_code != 200:
        return rest_outcome(response)
    items = response.json()["items"]
    return "ok" if any(item["patient_id"] == world.id("owner") for item in items) else "absent"


def _lists_the_doctor(response: httpx.Response, world: World) -> str:
    """`GET /internal/active-doctors`: is the doctor among the ids?"""
    if response.status_code != 200:
        return rest_outcome(response)
    return "ok" if world.id("doctor") in response.json()["doctor_ids"] else "absent"


async def _logout_rest(world: World, actor: str) -> str:
    tokens = await world.fresh_tokens()
    response = await world.client("auth").post(
        "/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=world.headers(actor)
    )
    return rest_outcome(response)


async def _refresh_graphql(world: World, actor: str) -> str:
    tokens = await world.fresh_tokens()
    query = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"
    return await _auth_graphql(world, actor, query, {"t": tokens["refresh_token"]})


async def _logout_graphql(world: World, actor: str) -> str:
    tokens = await world.fresh_tokens()
    return await _auth_graphql(
        world, actor, "mutation($t: String!) { logout(refreshToken: $t) }", {"t": tokens["refresh_token"]}
    )


async def _auth_graphql(world: World, actor: str, query: str, variables: dict) -> str:
    headers = {"x-router-secret": DEV_ROUTER_SECRET, **world.headers(actor)}
    response = await world.client("auth").post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return graphql_outcome(response.json(), lambda data: next(iter(data.values())), None)


_define()


# -- the checker ------------------------------------------------------------------------------


@dataclass
class Failure:
    case: Case
    observed: str

    def __str__(self) -> str:
        return f"{self.case}: expected {self.case.expected}, got {self.observed}"


@dataclass
class Report:
    cases: int = 0
    failures: list[Failure] = field(default_factory=list)

    def failed(self, service: str, path: str, actor: str) -> bool:
        return any((f.case.row.service, f.case.row.path, f.case.actor) == (service, path, actor) for f in self.failures)


def missing_ops() -> list[tuple[str, str]]:
    return [(row.service, row.path) for row in ROWS if (row.service, row.path) not in OPS]


async def check(world: World, cases: list[Case] = CASES) -> Report:
    """Plays every case against the running apps; a case whose outcome differs is a failure."""
    report = Report()
    for case in cases:
        observed = await OPS[(case.row.service, case.row.path)](world, case.actor)
        report.cases += 1
        if observed != case.expected:
            report.failures.append(Failure(case, observed))
    return report
