"""A link that a refusal or a deactivation leaves empty is `null` with its error, and the rest of
the answer arrives, through both routers.

Regressions: on the old schema (`Doctor.user: User!`, `Appointment.prescriptions: [Prescription!]!`)
Apollo's planner, like the GraphQL spec, nulled the nearest nullable parent of such a field, up to
`data: null`, while Hive Gateway stopped one level early and showed the rest (docs/pitfalls.md
#16): tests through Hive alone passed. Each test here asks Apollo Gateway too.
"""

from __future__ import annotations

import pytest

from .records import book, doctor_with_profile, next_slot, visit
from .stack import APOLLO, ROUTERS, Stack
from .test_admin import admin_token

pytestmark = pytest.mark.e2e

DIRECTORY = "{ doctors(limit: 100) { id displayName user { fullName } } }"
ONE_VISIT = "query($a: ID!) { appointment(id: $a) { id doctor { displayName user { fullName } } } }"
MY_VISITS = "{ me { appointments { id doctor { displayName user { fullName } } } } }"
ALL_APPOINTMENTS = "{ appointments { id prescriptions { id } } }"
BOOK_WITH_PRESCRIPTIONS = """mutation($i: BookAppointmentInput!) {
  bookAppointment(input: $i) { id status prescriptions { id } } }"""


def codes(body: dict) -> set[str]:
    return {error.get("extensions", {}).get("code") for error in body.get("errors", [])}


def answer(stack: Stack, query: str, variables: dict | None, token: str, router: str) -> dict:
    response = stack.graphql(query, variables, token=token, router=router)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is not None, f"{router}: {body}"
    return body


def test_a_deactivated_doctor_leaves_their_user_null_and_the_rest_of_the_answer(make_stack):
    # A long recheck: the directory keeps listing the doctor after the deactivation (its roster of
    # active doctors is not asked again), so the directory path is taken every time, not by luck.
    stack = make_stack(routers=ROUTERS, ACCOUNT_RECHECK_SECONDS="3600")
    admin = admin_token(stack)
    patient, doctor = stack.register_and_login("PATIENT"), doctor_with_profile(stack, "Dr Leaving")
    appointment = book(stack, patient["token"], doctor["id"], next_slot())
    before = stack.data(DIRECTORY, token=patient["token"])["doctors"]
    assert {"id": doctor["id"], "displayName": "Dr Leaving", "user": {"fullName": "E2E Doctor"}} in before

    stack.data(
        "mutation($id: ID!) { setUserActive(id: $id, active: false) { id isActive } }",
        {"id": doctor["id"]},
        token=admin,
    )

    gone = {"displayName": "Dr Leaving", "user": None}
    for router in ROUTERS:
        directory = answer(stack, DIRECTORY, None, patient["token"], router)
        listed = {entry["id"]: entry for entry in directory["data"]["doctors"]}
        assert listed[doctor["id"]] == {"id": doctor["id"], **gone}, f"{router}: {directory}"
        assert codes(directory) == {"NOT_FOUND"}, f"{router}: {directory}"

        one = answer(stack, ONE_VISIT, {"a": appointment}, patient["token"], router)
        assert one["data"] == {"appointment": {"id": appointment, "doctor": gone}}, f"{router}: {one}"

        mine = answer(stack, MY_VISITS, None, patient["token"], router)
        assert mine["data"]["me"]["appointments"] == [{"id": appointment, "doctor": gone}], f"{router}: {mine}"


@pytest.fixture(scope="module")
def people(stack: Stack) -> dict:
    patient, doctor = stack.register_and_login("PATIENT"), doctor_with_profile(stack)
    appointment, _prescription = visit(stack, patient, doctor)
    return {"admin": admin_token(stack), "patient": patient, "doctor": doctor, "appointment": appointment}


@pytest.mark.parametrize("router", ROUTERS)
def test_an_admins_appointments_come_with_prescriptions_null_and_forbidden(stack: Stack, people: dict, router: str):
    body = answer(stack, ALL_APPOINTMENTS, None, people["admin"], router)

    appointments = {entry["id"]: entry for entry in body["data"]["appointments"]}
    assert appointments[people["appointment"]] == {"id": people["appointment"], "prescriptions": None}
    assert all(entry["prescriptions"] is None for entry in appointments.values()), body
    assert codes(body) == {"FORBIDDEN"}, body


@pytest.mark.parametrize("router", ROUTERS)
def test_an_admins_booking_is_answered_with_prescriptions_null(stack: Stack, people: dict, router: str):
    booking = {"doctorId": people["doctor"]["id"], "startsAt": next_slot(), "patientId": people["patient"]["id"]}

    body = answer(stack, BOOK_WITH_PRESCRIPTIONS, {"i": booking}, people["admin"], router)

    booked = body["data"]["bookAppointment"]
    assert booked is not None and booked["id"] and booked["status"] == "BOOKED", body
    assert booked["prescriptions"] is None
    assert codes(body) == {"FORBIDDEN"}, body
    # The booking was made, and is the patient's.
    mine = stack.data("{ me { appointments { id } } }", token=people["patient"]["token"], router=APOLLO)
    assert booked["id"] in {entry["id"] for entry in mine["me"]["appointments"]}


@pytest.mark.parametrize("router", ROUTERS)
def test_a_patients_booking_lists_its_prescriptions(stack: Stack, people: dict, router: str):
    booking = {"doctorId": people["doctor"]["id"], "startsAt": next_slot()}

    body = answer(stack, BOOK_WITH_PRESCRIPTIONS, {"i": booking}, people["patient"]["token"], router)

    assert body["data"]["bookAppointment"]["prescriptions"] == [], body
    assert "errors" not in body, body
