"""Documents whose cost the tests know: appointments and their doctors, nested (the amplification
that depth alone does not bound, `Appointment.doctor` -> `Doctor.appointments` -> ...), and the
README's operations, which must fit."""

from __future__ import annotations

import re

from graphql import OperationDefinitionNode, parse

from subgraphs.cli.processes import PROJECT_DIR


def nested(levels: int, limit: int | None = None, root: str | None = None) -> str:
    """`{ appointments { doctor { appointments { ... { id } } } } }`: `levels` lists of appointments,
    at the root or under `root` (`me`, as in the reproduction: six lists are 13 levels of fields)."""
    argument = f"(limit: {limit})" if limit is not None else ""
    selection = f"appointments{argument} {{ id }}"
    for _ in range(levels - 1):
        selection = f"appointments{argument} {{ doctor {{ {selection} }} }}"
    return f"{{ {root} {{ {selection} }} }}" if root else f"{{ {selection} }}"


def nested_cost(levels: int, size: int) -> int:
    """What `nested(levels)` costs with lists of `size`: size^k appointments at the k-th list, each 1,
    and as many doctors under every list but the last."""
    return 2 * sum(size**level for level in range(1, levels)) + size**levels


def readme_operations() -> dict[str, str]:
    """Every operation in the README's GraphQL blocks, and the one its curl example sends, by name."""
    readme = (PROJECT_DIR / "README.md").read_text()
    documents = re.findall(r"```graphql\n(.*?)```", readme, re.DOTALL)
    documents += [query.replace('\\"', '"') for query in re.findall(r'"query": "(\{.*?\})"\}', readme)]
    operations = {}
    for document in documents:
        for definition in parse(document).definitions:
            if isinstance(definition, OperationDefinitionNode):
                name = definition.name.value if definition.name else "curl example"
                operations[name] = document[definition.loc.start : definition.loc.end]
    return operations
