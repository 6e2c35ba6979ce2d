"""Object-level authorization, as one table played against the real services (tests/security/matrix.py).

Every service's REST routes, GraphQL root fields and `_entities` types must be rows of the
table; every (row, actor) case must end as the table says; and taking a rule away from a
service makes cases fail (the matrix can tell).
"""

from __future__ import annotations

import importlib

import pytest

from subgraphs.cli import registry

from ..system import in_process_system
from . import matrix


@pytest.fixture
async def world(database_for, tmp_path):
    async with in_process_system(database_for, tmp_path) as system:
        yield await matrix.build_world(system)


def test_every_route_root_field_and_entity_of_every_service_is_in_the_table(tmp_path):
    problems = []
    for subgraph in registry.SUBGRAPHS.values():
        overrides = {"data_dir": tmp_path}
        if subgraph.owns_tables:
            overrides["database_url"] = f"sqlite:///{tmp_path}/{subgraph.name}.db"
        app = importlib.import_module(f"{subgraph.package}.app").create_app(subgraph.settings(**overrides))
        exposed_only, table_only = matrix.uncovered(subgraph.name, app, subgraph.schema())
        problems += [f"{subgraph.name}: {item} is not in the table" for item in sorted(exposed_only)]
        problems += [f"{subgraph.name}: the table names {item}, which the service does not have" for item in table_only]
    problems += [f"{service}: no way to call {path}" for service, path in matrix.missing_ops()]
    assert not problems, "\n".join(problems)


def test_the_table_has_a_case_per_row_and_actor():
    assert len(matrix.CASES) == len(matrix.ROWS) * len(matrix.ACTORS)
    print(f"\nauthorization matrix: {len(matrix.ROWS)} rows x {len(matrix.ACTORS)} actors = {len(matrix.CASES)} cases")


async def test_every_case_of_the_matrix_holds(world, backend, record_property):
    report = await matrix.check(world)
    record_property("matrix_cases", report.cases)
    print(f"\nauthorization matrix ({backend}): {report.cases} cases, {len(report.failures)} failures")
    assert report.cases == len(matrix.CASES)
    assert not report.failures, "\n".join(str(failure) for failure in report.failures)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_taking_away_the_appointment_visibility_rule_fails_the_matrix(world, monkeypatch):
    from subgraphs.appointments.appointments import rules

    monkeypatch.setattr(rules, "may_see", lambda _principal, _appointment: True)
    cases = [case for case in matrix.CASES if case.row.service == "appointments"]
    report = await matrix.check(world, cases)
    assert report.failures
    for path in ("GET /appointments/{appointment_id}", "query appointment", "_entities Appointment"):
        for actor in ("other_patient", "other_doctor"):
            assert report.failed("appointments", path, actor), (path, actor)
    # Only the cases that rule decides fail: lists are scoped elsewhere and still hold.
    assert not report.failed("appointments", "GET /appointments", "other_patient")
    assert not report.failed("appointments", "GET /appointments/{appointment_id}", "owner")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_letting_admins_read_prescriptions_fails_the_matrix(world, monkeypatch):
    from subgraphs.prescriptions.prescriptions import rules
    from subgraphs.prescriptions.prescriptions.schemas import Scope

    real = rules.scope_of
    monkeypatch.setattr(rules, "scope_of", lambda principal: Scope() if principal.is_admin else real(principal))
    cases = [case for case in matrix.CASES if case.row.service == "prescriptions" and case.actor == "admin"]
    report = await matrix.check(world, cases)
    failed = {failure.case.row.path for failure in report.failures}
    assert {
        "GET /prescriptions/{prescription_id}",
        "GET /prescriptions",
        "query prescription",
        "query prescriptions",
        "_entities Prescription",
        "_entities User.prescriptions",
        "_entities Appointment.prescriptions",
    } <= failed
