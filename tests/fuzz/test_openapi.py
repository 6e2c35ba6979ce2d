"""Schemathesis against every service's OpenAPI document: every operation, as each role.

Each generated request (valid and invalid data, deterministic seed) goes to the real apps in
process; every response is held to the document: no server error, a documented status,
content type, headers and body schema, and invalid data refused. A bounded run is part of
the suite; `FUZZ_EXAMPLES=500 ./run test tests/fuzz` is the long one.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from subgraphs.cli import registry

from .live import EXAMPLES, ROLES, LiveSystem
from .report import FuzzReport

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
SENT = ("method", "url", "headers", "params", "content", "json", "data", "files")


def fuzz_settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same examples on every run: a failure reproduces
        database=None,  # nothing written next to the code
        phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
        suppress_health_check=list(HealthCheck),
    )


def run_operation(
    live: LiveSystem, report: FuzzReport, service: str, operation, role: str, strategy, *, negative: bool = False
) -> None:
    @fuzz_settings(EXAMPLES)
    @given(case=strategy)
    def examples(case) -> None:
        prepared = case.as_transport_kwargs(base_url="http://testserver", headers=live.headers[role])
        request = {key: value for key, value in prepared.items() if key in SENT}
        if isinstance(request.get("data"), bytes | str):  # raw bytes are `content` to httpx
            request["content"] = request.pop("data")
        if prepared.get("cookies"):
            cookies = "; ".join(f"{name}={value}" for name, value in prepared["cookies"].items())
            request["headers"] = {**request.get("headers", {}), "cookie": cookies}
        response = live.request(service, **request)
        report.examples += 1
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseExceptionGroup as group:
            for failure in group.exceptions:
                title = str(failure).strip().splitlines()[0]
                sent = {key: request[key] for key in ("params", "json", "content") if request.get(key) is not None}
                report.add_failure(
                    f"{operation.label} as {role}: {title} ({response.status_code})\n"
                    f"  sent: {str(sent)[:600]}\n  got: {response.text[:300]}\n  why: {str(failure)[:600]}"
                )

    try:
        examples()
    except Unsatisfiable:
        # Negative data for an operation with nothing to negate (no parameters, no body).
        if not negative:
            raise


@pytest.mark.parametrize("service", list(registry.SUBGRAPHS))
def test_openapi_fuzz(live: LiveSystem, service: str, backend: str):
    document = live.request(service, method="GET", url="/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    report = FuzzReport("openapi", service, backend)
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations.add(operation.label)
        known = {name: value for name, value in live.ids.items() if f"{{{name}}}" in operation.path}
        for role in ROLES:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)
                negative = mode is GenerationMode.NEGATIVE
                run_operation(live, report, service, operation, role, strategy, negative=negative)
            if known:  # and once more on records that exist
                strategy = operation.as_strategy(path_parameters=known)
                run_operation(live, report, service, operation, role, strategy)
    print(f"\n{report.summary()}")
    report.save()
    assert report.operations, "no operation found in the OpenAPI document"
    assert not report.failures, "\n".join(report.failures)
