"""Hive Gateway and Apollo Gateway give the same `data` and the same error codes.

The operations are the README's ("Calling it": its GraphQL blocks, the queries its curl lines send
and its inline examples) and the router authorization matrix's, each sent by an anonymous caller,
a patient, their doctor and an admin through both routers. A difference fails the test unless the
table "Known differences between the routers" in docs/router.md lists it; a listed difference that
no longer happens fails too, so the table stays true. Error messages and paths are not compared
(their wording and the paths of failed fetches differ by design: docs/router.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from graphql import GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse

from subgraphs.cli.processes import PROJECT_DIR

from ..security.test_router_matrix import QUERIES as MATRIX_QUERIES
from .records import doctor_with_profile, next_slot, visit
from .stack import APOLLO, HIVE, Stack
from .test_admin import admin_token

pytestmark = pytest.mark.e2e

CALLERS = ("anonymous", "patient", "doctor", "admin")
# The README's login: the account exists in this test's world, so its curl line works as shown.
DEMO_EMAIL, DEMO_PASSWORD = "maria.garcia@demo.health", "demo passphrase"
# Values a mutation makes anew on every call: each router's call books its own slot, issues its
# own prescription, signs in with its own token. Compared as "present", not by value.
MINTED = {"id", "startsAt", "endsAt", "accessToken"}
# A clock reading, in any answer.
CLOCK = {"generatedAt"}


# --- the operations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    key: str  # its name, or its text when it has none
    document: str
    variables: tuple[str, ...]
    mutation: bool


def operations_in(document: str) -> list[Operation]:
    found = []
    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode):
            text = document[definition.loc.start : definition.loc.end]
            found.append(
                Operation(
                    key=definition.name.value if definition.name else " ".join(text.split()),
                    document=text,
                    variables=tuple(variable.variable.name.value for variable in definition.variable_definitions or ()),
                    mutation=definition.operation == OperationType.MUTATION,
                )
            )
    return found


def readme_operations() -> list[Operation]:
    readme = (PROJECT_DIR / "README.md").read_text()
    section = re.search(r"^## Calling it\n(.*?)^## ", readme, re.DOTALL | re.MULTILINE)
    assert section, "README.md has no '## Calling it' section"
    text = section.group(1)
    documents = re.findall(r"```graphql\n(.*?)```", text, re.DOTALL)
    # What the curl lines send: `"query": "..."`, a JSON string.
    documents += [json.loads(f'"{query}"') for query in re.findall(r'"query": "((?:[^"\\]|\\.)*)"', text)]
    operations = [operation for document in documents for operation in operations_in(document)]
    # Inline examples in the prose: `{ ... }` that is GraphQL (not a JSON answer).
    for inline in re.findall(r"`(\{ [^`]*\})`", text):
        try:
            operations += operations_in(inline)
        except GraphQLSyntaxError:
            continue
    return operations


def matrix_operations() -> list[Operation]:
    return [
        Operation(f"matrix: {name}", query, tuple(re.findall(r"\$(\w+)", query.split("{", 1)[0])), False)
        for name, query in MATRIX_QUERIES.items()
    ]


OPERATIONS = {operation.key: operation for operation in [*readme_operations(), *matrix_operations()]}


# --- the known differences (docs/router.md) --------------------------------------------------

ROUTER_DOC = PROJECT_DIR / "docs" / "router.md"


def known_differences() -> dict[tuple[str, str], str]:
    """(operation, caller) -> the difference, from the table under the heading."""
    text = ROUTER_DOC.read_text()
    heading = re.search(r"^#+ Known differences between the routers\n", text, re.MULTILINE)
    assert heading, "docs/router.md has no 'Known differences between the routers' heading"
    rows = []
    for line in text[heading.end() :].splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break  # the end of the table
    header, _rule, *body = rows
    assert header == ["operation", "callers", "difference", "reason"], header
    known = {}
    for operation, callers, difference, reason in body:
        key = operation.strip("`")
        assert key in OPERATIONS, f"docs/router.md lists an operation the tests do not send: {operation}"
        assert difference and reason, f"docs/router.md: {operation} needs a difference and a reason"
        for caller in CALLERS if callers == "all" else [name.strip() for name in callers.split(",")]:
            assert caller in CALLERS, f"docs/router.md: unknown caller {caller!r} for {operation}"
            known[(key, caller)] = difference
    return known


KNOWN = known_differences()


# --- the callers and their records -----------------------------------------------------------


@pytest.fixture(scope="module")
def world(stack: Stack) -> dict:
    patient, doctor = stack.register_and_login("PATIENT"), doctor_with_profile(stack, "Dr Same")
    appointment, prescription = visit(stack, patient, doctor)
    stack.data(
        "mutation($i: RegisterInput!) { register(input: $i) { id } }",
        {"i": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "fullName": "Maria Garcia"}},
    )
    tokens = {"anonymous": None, "patient": patient["token"], "doctor": doctor["token"], "admin": admin_token(stack)}
    variables = {
        "doctor": doctor["id"],
        "appointment": appointment,
        "from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
        # the matrix's names
        "a": appointment,
        "p": prescription,
        "u": patient["id"],
        "d": doctor["id"],
    }
    return {"tokens": tokens, "variables": variables}


def variables_for(operation: Operation, world: dict) -> dict:
    # A booking is made twice (once per router): each at a slot of its own.
    fresh = {"at": next_slot()}
    return {name: fresh[name] if name in fresh else world["variables"][name] for name in operation.variables}


def comparable(value, mutation: bool):
    """`value` with what differs between any two calls (MINTED in a mutation's answer, CLOCK)
    replaced by whether it is there."""
    if isinstance(value, list):
        return [comparable(item, mutation) for item in value]
    if isinstance(value, dict):
        return {
            key: (item is not None) if key in CLOCK or (mutation and key in MINTED) else comparable(item, mutation)
            for key, item in value.items()
        }
    return value


@dataclass
class Outcome:
    data: object
    codes: list[str]

    @classmethod
    def of(cls, stack: Stack, operation: Operation, world: dict, caller: str, router: str) -> Outcome:
        response = stack.graphql(
            operation.document, variables_for(operation, world), token=world["tokens"][caller], router=router
        )
        assert response.status_code in (200, 400), response.text
        body = response.json()
        codes = sorted(error.get("extensions", {}).get("code") or "(none)" for error in body.get("errors", []))
        return cls(comparable(body.get("data"), operation.mutation), codes)


def test_the_readme_and_the_matrix_give_operations_to_compare():
    assert {"Dashboard", "Day", "Book", "Prescribe", "Admin"} <= set(OPERATIONS), sorted(OPERATIONS)
    assert any(key.startswith("{ me {") for key in OPERATIONS), "the README's curl query is missing"
    assert len([key for key in OPERATIONS if key.startswith("matrix: ")]) == len(MATRIX_QUERIES)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("key", list(OPERATIONS))
def test_both_routers_give_the_same_data_and_codes(stack: Stack, world: dict, key: str, caller: str):
    operation = OPERATIONS[key]

    hive = Outcome.of(stack, operation, world, caller, HIVE)
    apollo = Outcome.of(stack, operation, world, caller, APOLLO)

    same = hive == apollo
    listed = KNOWN.get((key, caller))
    if listed is None:
        assert same, f"{key} as {caller}:\n  hive:   {hive}\n  apollo: {apollo}\n(not in docs/router.md)"
    else:
        assert not same, f"docs/router.md lists '{listed}' for {key} as {caller}, but both answer {hive}"
