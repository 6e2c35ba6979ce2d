"""Calling another service over HTTP: one pooled client, a short timeout, bounded retries, a circuit breaker.

A service that depends on another must answer quickly when that one is slow or
down, and must not make things worse by hammering it. So:

- one `httpx.AsyncClient` per `ServiceClient` (the app makes one per process and
  closes it on shutdown), so connections are pooled;
- every attempt has a short deadline;
- only safe methods (GET, HEAD) are retried, and only when the connection failed
  or the answer was a 5xx, with exponential backoff and jitter. A POST is never
  retried: it may have done its work before the connection broke. A timeout is
  not retried either: a service that hangs once usually hangs again, and a
  retry would multiply the caller's wait;
- a circuit breaker counts consecutive failed calls; after `failure_threshold`
  it opens and calls fail at once, without touching the network, until a
  cool-down has passed; then one probe call goes through (half-open), and its
  success closes the breaker again while its failure re-opens it.

Every failure ends in `ServiceUnavailable` (a `DependencyUnavailable`, 503), so a
route that does not catch it answers `DEPENDENCY_UNAVAILABLE`. An answer below 500
(404, 409, ...) is the other service speaking, not failing: it is returned.
Nothing here knows what the other service is about.

Observable: `observe(observer)` reports every attempt and every call with its
outcome (kit/metrics.py turns them into Prometheus counters); the caller's
request id and W3C trace context travel on every call (kit/tracing.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import httpx

from .errors import DependencyUnavailable
from .logging import REQUEST_ID_HEADER, request_id_var
from .tracing import outgoing_trace_headers

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD"})


class CallObserver(Protocol):
    """What a metrics exporter implements to see a client's traffic.

    Attempt outcomes: `answered` (any status below 500), `server_error`, `timeout`,
    `connection_error`. Call outcomes: `success` (2xx/3xx), `refused` (4xx: the other service
    said no, it did not fail), `server_error`, `timeout`, `connection_error` (after any
    retries), `circuit_open` (refused without a call), `cancelled` (the caller went away).
    """

    def attempt(self, dependency: str, outcome: str) -> None: ...

    def call(self, dependency: str, outcome: str, seconds: float) -> None: ...


class ServiceUnavailable(DependencyUnavailable):
    """The other service could not answer (connection, timeout, 5xx), after any retries."""


class CircuitOpen(ServiceUnavailable):
    """Refused without a call: the other service failed too often lately."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


StateListener = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    """Closed -> open after `failure_threshold` consecutive failures -> half-open after `cooldown`.

    In half-open exactly one probe is let through; every other call keeps
    failing fast until the probe's outcome is known. The clock is injected so
    tests move time instead of sleeping. Not thread-safe: one per event loop.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown < 0:
            raise ValueError("cooldown must not be negative")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probe_in_flight = False
        # Observable counters, for metrics: monotonic over the breaker's life.
        self.consecutive_failures = 0
        self.times_opened = 0
        self.rejected = 0
        self._listeners: list[StateListener] = []

    @property
    def state(self) -> BreakerState:
        return self._state

    def on_change(self, listener: StateListener) -> None:
        """`listener(old, new)` runs on every state change (a metrics gauge, a log line)."""
        self._listeners.append(listener)

    def allow(self) -> bool:
        """Whether a call may go out now; a refusal is counted in `rejected`."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN and self.clock() - self._opened_at >= self.cooldown:
            self._move(BreakerState.HALF_OPEN)
        if self._state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        self.rejected += 1
        return False

    def record_success(self) -> None:
        self.consecutive_failures = 0
        self._probe_in_flight = False
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self.consecutive_failures += 1
        self._probe_in_flight = False
        if self._state is BreakerState.HALF_OPEN or (
            self._state is BreakerState.CLOSED and self.consecutive_failures >= self.failure_threshold
        ):
            self._open()

    def abandon(self) -> None:
        """A call let through ended with neither outcome (it was cancelled): free the probe slot."""
        self._probe_in_flight = False

    def retry_after(self) -> int:
        """Whole seconds until a probe may go out (0 unless open)."""
        if self._state is not BreakerState.OPEN:
            return 0
        return max(0, math.ceil(self._opened_at + self.cooldown - self.clock()))

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self._state.value,
            "consecutive_failures": self.consecutive_failures,
            "times_opened": self.times_opened,
            "rejected": self.rejected,
            "retry_after": self.retry_after(),
        }

    def _open(self) -> None:
        self._opened_at = self.clock()
        self.times_opened += 1
        self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if old is new:
            return
        log.warning("circuit breaker %s -> %s", old.value, new.value, extra={"breaker_state": new.value})
        for listener in self._listeners:
            listener(old, new)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with "equal jitter": half the step is fixed, half random.

    The fixed half guarantees the wait grows with each retry; the random half
    keeps many clients that failed together from retrying together.
    """

    base: float = 0.05
    cap: float = 1.0

    def delay(self, retry: int, rng: random.Random) -> float:
        step = min(self.cap, self.base * 2**retry)
        return step / 2 + rng.uniform(0, step / 2)


class ServiceClient:
    """A pooled, time-limited, retrying, breaker-guarded HTTP client for one other service."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: float = 2.0,
        retries: int = 2,
        backoff: Backoff | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if retries < 0:
            raise ValueError("retries must not be negative")
        self.name = name
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff or Backoff()
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        # Tests hand in an in-process transport (httpx.ASGITransport) to a real app.
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout), transport=transport, follow_redirects=False
        )
        # Network attempts made (retries included): what a test or a metric counts.
        self.attempts = 0
        self._observers: list[CallObserver] = []

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The pooled client (kit/tracing.py instruments it when tracing is on)."""
        return self._client

    def observe(self, observer: CallObserver) -> None:
        self._observers.append(observer)

    def _report_attempt(self, outcome: str) -> None:
        for observer in self._observers:
            observer.attempt(self.name, outcome)

    def _report_call(self, outcome: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        for observer in self._observers:
            observer.call(self.name, outcome, elapsed)

    async def get(self, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, headers=headers, **kwargs)

    async def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The other service's answer (any status below 500), or `ServiceUnavailable`."""
        method = method.upper()
        started = time.perf_counter()
        if not self.breaker.allow():
            self._report_call("circuit_open", started)
            raise CircuitOpen(
                f"The {self.name} service is unavailable; try again later.",
                retry_after=max(1, self.breaker.retry_after()),
            )
        sent_headers = self._headers(headers)
        tries = 1 + (self.retries if method in SAFE_METHODS else 0)
        outcome_recorded = False
        failure: str | None = None
        try:
            for attempt in range(tries):
                if attempt:
                    await self._sleep(self.backoff.delay(attempt - 1, self._rng))
                failure, retryable, response, error = await self._attempt(method, path, sent_headers, kwargs)
                if failure is None:
                    self.breaker.record_success()
                    outcome_recorded = True
                    self._report_call("success" if response.status_code < 400 else "refused", started)  # type: ignore[union-attr]
                    return response  # type: ignore[return-value]
                log.warning(
                    "call to %s failed",
                    self.name,
                    extra={
                        "dependency": self.name,
                        "method": method,
                        "attempt": attempt + 1,
                        "failure": failure,
                        "error": error,
                    },
                )
                if not retryable:
                    break
            self.breaker.record_failure()
            outcome_recorded = True
            self._report_call(failure or "server_error", started)
            raise ServiceUnavailable(f"The {self.name} service is unavailable; try again later.")
        finally:
            if not outcome_recorded:  # cancelled mid-call: neither a success nor the service's fault
                self.breaker.abandon()
                self._report_call("cancelled", started)

    async def _attempt(
        self, method: str, path: str, headers: dict[str, str], kwargs: dict[str, Any]
    ) -> tuple[str | None, bool, httpx.Response | None, str | None]:
        """(failure kind or None, whether a retry may help, response, what went wrong).

        Failure kinds: `timeout`, `connection_error`, `server_error` (the labels of the metrics).
        """
        self.attempts += 1
        result = await self._send(method, path, headers, kwargs)
        self._report_attempt(result[0] or "answered")
        return result

    async def _send(
        self, method: str, path: str, headers: dict[str, str], kwargs: dict[str, Any]
    ) -> tuple[str | None, bool, httpx.Response | None, str | None]:
        try:
            # httpx's timeout bounds each phase; this bounds the whole attempt, so
            # a server dripping one byte at a time cannot hold the caller.
            async with asyncio.timeout(self.timeout):
                response = await self._client.request(method, path, headers=headers, **kwargs)
        except (TimeoutError, httpx.ConnectTimeout) as exc:
            # A connect timeout never reached the service: as retryable as a refused connection.
            return "timeout", isinstance(exc, httpx.ConnectTimeout), None, type(exc).__name__
        except httpx.TimeoutException as exc:
            return "timeout", False, None, type(exc).__name__
        except httpx.TransportError as exc:
            return "connection_error", True, None, type(exc).__name__
        if response.status_code >= 500:
            return "server_error", True, response, f"status {response.status_code}"
        return None, False, response, None

    @staticmethod
    def _headers(headers: Mapping[str, str] | None) -> dict[str, str]:
        sent = {key.lower(): value for key, value in (headers or {}).items()}
        # The caller's request id and trace context travel on, so one request can be
        # followed across services' logs and traces.
        request_id = request_id_var.get()
        if request_id and REQUEST_ID_HEADER not in sent:
            sent[REQUEST_ID_HEADER] = request_id
        for name, value in outgoing_trace_headers().items():
            sent.setdefault(name, value)
        return sent

    async def aclose(self) -> None:
        await self._client.aclose()
