"""The working-hours rule on its own: local wall-clock windows in the doctor's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from subgraphs.appointments.doctors.hours import admits, overlapping, zone

MONDAY_9_TO_5 = [{"weekday": 0, "start": "09:00", "end": "17:00"}]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("starts", "minutes", "expected"),
    [
        # Europe/Berlin is UTC+1 in winter and UTC+2 in summer: 09:00 local moves in UTC.
        (utc(2030, 1, 7, 8, 0), 30, True),  # Monday 09:00 CET
        (utc(2030, 1, 7, 7, 30), 30, False),  # 08:30 CET
        (utc(2030, 7, 1, 7, 0), 30, True),  # Monday 09:00 CEST
        (utc(2030, 7, 1, 8, 0) - timedelta(minutes=90), 30, False),  # 08:30 CEST
        (utc(2030, 1, 7, 15, 30), 30, True),  # 16:30-17:00 CET
        (utc(2030, 1, 7, 15, 45), 30, False),  # runs to 17:15 CET
    ],
)
def test_hours_follow_the_doctors_clock_across_daylight_saving(starts, minutes, expected):
    assert admits(MONDAY_9_TO_5, "Europe/Berlin", starts, starts + timedelta(minutes=minutes)) is expected


def test_an_appointment_may_not_cross_local_midnight():
    always = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]
    assert not admits(always, "UTC", utc(2030, 1, 7, 23, 45), utc(2030, 1, 8, 0, 15))


def test_the_weekday_is_the_local_one():
    # Sunday 23:30 UTC is already Monday 08:30 in Tokyo (UTC+9).
    tokyo_monday = [{"weekday": 0, "start": "08:00", "end": "12:00"}]
    assert admits(tokyo_monday, "Asia/Tokyo", utc(2030, 1, 6, 23, 30), utc(2030, 1, 7, 0, 0))
    assert not admits(tokyo_monday, "UTC", utc(2030, 1, 6, 23, 30), utc(2030, 1, 7, 0, 0))


def test_overlapping_windows_are_detected_touching_ones_are_not():
    touching = [{"weekday": 1, "start": "09:00", "end": "12:00"}, {"weekday": 1, "start": "12:00", "end": "17:00"}]
    assert not overlapping(touching)
    assert overlapping([*touching, {"weekday": 1, "start": "11:00", "end": "13:00"}])
    other_days = [{"weekday": 1, "start": "09:00", "end": "12:00"}, {"weekday": 2, "start": "09:00", "end": "12:00"}]
    assert not overlapping(other_days)


@pytest.mark.parametrize("name", ["Nowhere/City", "", "../../etc/passwd", "/etc/localtime"])
def test_only_iana_names_are_zones(name):
    with pytest.raises(ValueError, match="unknown time zone"):
        zone(name)
