"""The kit's client for calling another service: timeouts, retries, backoff, the circuit breaker.

The other service is an `httpx.MockTransport` handler (what leaves the system),
which counts what reaches it; time is an injected clock and an injected sleep,
so nothing here waits on the wall clock except the one real timeout.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from subgraphs.kit.errors import DependencyUnavailable
from subgraphs.kit.logging import request_id_var
from subgraphs.kit.service_client import (
    Backoff,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    ServiceClient,
    ServiceUnavailable,
)


class Remote:
    """The other service: answers from a script (status codes or exceptions), records every request."""

    def __init__(self, *script) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []
        self.release = asyncio.Event()
        self.hanging = asyncio.Event()  # set once a request waits in "hang"

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step == "hang":
            self.hanging.set()
            await self.release.wait()
            return httpx.Response(200, json={})
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step, json={"status": step})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def client_for(remote: Remote, *, retries=2, threshold=3, cooldown=30.0, timeout=2.0, clock=None, sleep=None):
    clock = clock or Clock()
    return ServiceClient(
        "appointment",
        "http://remote.test",
        timeout=timeout,
        retries=retries,
        backoff=Backoff(base=0.1, cap=0.3),
        breaker=CircuitBreaker(failure_threshold=threshold, cooldown=cooldown, clock=clock),
        transport=httpx.MockTransport(remote),
        sleep=sleep or Sleeps(),
        rng=random.Random(7),
    )


def refused() -> httpx.ConnectError:
    return httpx.ConnectError("connection refused")


async def test_an_answer_below_500_is_returned_as_is_without_retry():
    remote = Remote(404)
    client = client_for(remote)
    response = await client.get("/things/1")
    assert response.status_code == 404
    assert len(remote.requests) == 1
    assert client.breaker.state is BreakerState.CLOSED and client.breaker.consecutive_failures == 0


async def test_get_retries_5xx_with_growing_jittered_backoff_then_succeeds():
    remote = Remote(503, 500, 200)
    sleeps = Sleeps()
    client = client_for(remote, retries=2, sleep=sleeps)
    response = await client.get("/things/1")
    assert response.status_code == 200
    assert len(remote.requests) == 3 and client.attempts == 3
    # Equal jitter: retry n waits between half and all of min(cap, base * 2**n).
    assert 0.05 <= sleeps.delays[0] <= 0.1
    assert 0.1 <= sleeps.delays[1] <= 0.2
    assert client.breaker.consecutive_failures == 0


async def test_connection_errors_are_retried_a_bounded_number_of_times():
    remote = Remote(refused())
    client = client_for(remote, retries=2)
    with pytest.raises(ServiceUnavailable) as caught:
        await client.get("/things/1")
    assert isinstance(caught.value, DependencyUnavailable)
    assert caught.value.status == 503 and caught.value.code == "DEPENDENCY_UNAVAILABLE"
    assert len(remote.requests) == 3
    # One failed call is one failure for the breaker, however many attempts it took.
    assert client.breaker.consecutive_failures == 1


@pytest.mark.parametrize("step", [500, refused()], ids=["5xx", "connection"])
async def test_non_idempotent_calls_are_never_retried(step):
    remote = Remote(step)
    client = client_for(remote, retries=3)
    with pytest.raises(ServiceUnavailable):
        await client.request("POST", "/things", json={"a": 1})
    assert len(remote.requests) == 1


async def test_a_read_timeout_is_not_retried():
    remote = Remote(httpx.ReadTimeout("slow"))
    client = client_for(remote, retries=3)
    with pytest.raises(ServiceUnavailable):
        await client.get("/things/1")
    assert len(remote.requests) == 1


async def test_a_hanging_service_costs_one_timeout():
    remote = Remote("hang")
    client = client_for(remote, retries=3, timeout=0.05)
    try:
        with pytest.raises(ServiceUnavailable):
            await client.get("/things/1")
    finally:
        remote.release.set()
    assert len(remote.requests) == 1 and client.attempts == 1
    assert client.breaker.consecutive_failures == 1


async def test_breaker_opens_after_threshold_and_then_fails_fast_without_the_network():
    clock = Clock()
    remote = Remote(500)
    client = client_for(remote, retries=1, threshold=3, cooldown=30, clock=clock)
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            await client.get("/things/1")
    assert client.breaker.state is BreakerState.OPEN
    reached = len(remote.requests)
    assert reached == 3 * 2

    clock.now += 10
    with pytest.raises(CircuitOpen) as caught:
        await client.get("/things/1")
    assert len(remote.requests) == reached
    assert caught.value.extensions["retry_after"] == 20
    assert client.breaker.rejected == 1


async def test_breaker_half_opens_after_cooldown_and_a_successful_probe_closes_it():
    clock = Clock()
    remote = Remote(500, 500, 200)
    changes: list[tuple[str, str]] = []
    client = client_for(remote, retries=0, threshold=2, cooldown=30, clock=clock)
    client.breaker.on_change(lambda old, new: changes.append((old.value, new.value)))
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            await client.get("/x")
    assert client.breaker.state is BreakerState.OPEN

    clock.now += 29.9
    with pytest.raises(CircuitOpen):
        await client.get("/x")
    clock.now += 0.1
    assert (await client.get("/x")).status_code == 200
    assert client.breaker.state is BreakerState.CLOSED
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert client.breaker.snapshot() == {
        "state": "closed",
        "consecutive_failures": 0,
        "times_opened": 1,
        "rejected": 1,
        "retry_after": 0,
    }


async def test_a_failed_probe_opens_the_breaker_again_for_a_full_cooldown():
    clock = Clock()
    remote = Remote(500)
    client = client_for(remote, retries=2, threshold=1, cooldown=30, clock=clock)
    with pytest.raises(ServiceUnavailable):
        await client.get("/x")
    clock.now += 30
    with pytest.raises(ServiceUnavailable) as caught:
        await client.get("/x")  # the probe: it reaches the service and fails
    assert not isinstance(caught.value, CircuitOpen)
    assert client.breaker.state is BreakerState.OPEN and client.breaker.times_opened == 2
    assert client.breaker.retry_after() == 30
    reached = len(remote.requests)
    with pytest.raises(CircuitOpen):
        await client.get("/x")
    assert len(remote.requests) == reached


async def test_half_open_lets_exactly_one_probe_through():
    clock = Clock()
    remote = Remote(500, "hang")
    client = client_for(remote, retries=0, threshold=1, cooldown=5, clock=clock)
    with pytest.raises(ServiceUnavailable):
        await client.get("/x")
    clock.now += 5
    probe = asyncio.create_task(client.get("/x"))
    await remote.hanging.wait()  # the probe reached the service and waits there
    with pytest.raises(CircuitOpen):
        await client.get("/x")
    assert len(remote.requests) == 2
    remote.release.set()
    assert (await probe).status_code == 200
    assert client.breaker.state is BreakerState.CLOSED


async def test_a_cancelled_probe_frees_the_probe_slot():
    clock = Clock()
    remote = Remote(500, "hang")
    client = client_for(remote, retries=0, threshold=1, cooldown=5, clock=clock)
    with pytest.raises(ServiceUnavailable):
        await client.get("/x")
    clock.now += 5
    probe = asyncio.create_task(client.get("/x"))
    await remote.hanging.wait()
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    remote.script = [200]
    assert (await client.get("/x")).status_code == 200
    assert client.breaker.state is BreakerState.CLOSED


async def test_a_4xx_answer_resets_the_failure_count():
    remote = Remote(500, 500, 404, 500, 500)
    client = client_for(remote, retries=0, threshold=3)
    for expected in (ServiceUnavailable, ServiceUnavailable, None, ServiceUnavailable, ServiceUnavailable):
        if expected is None:
            assert (await client.get("/x")).status_code == 404
        else:
            with pytest.raises(expected):
                await client.get("/x")
    assert client.breaker.state is BreakerState.CLOSED
    assert client.breaker.consecutive_failures == 2


async def test_the_request_id_travels_and_caller_headers_are_sent():
    remote = Remote(200)
    client = client_for(remote)
    token = request_id_var.set("req-42")
    try:
        await client.get("/x", headers={"Authorization": "Bearer abc"})
        await client.get("/x", headers={"X-Request-Id": "explicit"})
    finally:
        request_id_var.reset(token)
    first, second = remote.requests
    assert first.headers["x-request-id"] == "req-42"
    assert first.headers["authorization"] == "Bearer abc"
    assert second.headers["x-request-id"] == "explicit"


async def test_one_pooled_client_is_closed_on_aclose():
    client = client_for(Remote(200))
    await client.get("/x")
    await client.aclose()
    with pytest.raises(RuntimeError):
        await client.get("/x")


def test_backoff_grows_and_is_capped():
    rng = random.Random(1)
    backoff = Backoff(base=0.1, cap=0.4)
    for retry, (low, high) in enumerate([(0.05, 0.1), (0.1, 0.2), (0.2, 0.4), (0.2, 0.4)]):
        delay = backoff.delay(retry, rng)
        assert low <= delay <= high


@pytest.mark.parametrize("kwargs", [{"failure_threshold": 0}, {"cooldown": -1}], ids=["threshold", "cooldown"])
def test_breaker_refuses_nonsense_settings(kwargs):
    with pytest.raises(ValueError):
        CircuitBreaker(**kwargs)
