# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only controls of the local KMS server, served under ``/byok-api/`` (never part of AWS's API).

``GET  /byok-api/calls[?since=SEQ]``  -> ``{"seq": N, "calls": {"DescribeKey": 2, ...}, "total": 3}``:
    KMS operations received (every request with ``X-Amz-Target: TrentService.<Op>``, failed ones too)
    after sequence number SEQ (default 0). Take ``seq`` before an action and pass it as ``since`` after.
``GET  /byok-api/clock``              -> ``{"offset_seconds": S, "now": ISO}``
``POST /byok-api/clock``  ``{"offset_seconds": S}`` or ``{"advance_seconds": S}``: shift the server's clock
    (import token expiry, material ``ValidTo`` expiry, the ``ValidTo`` window of ImportKeyMaterial,
    ``ParametersValidTo``, rotation dates). Shifting it forward makes tokens and material expire.
``GET/POST /byok-api/config`` ``{"import_token_lifetime_seconds": S}``: lifetime of import tokens issued
    from now on (default 86400, or env ``BYOK_KMS_IMPORT_TOKEN_LIFETIME`` at server start).
``GET  /byok-api/delay``              -> ``{"delays": {"CreateAlias": {"seconds": S, "gather": N}}, "held": {...},
    "gathered": {...}, "timed_out": {...}}``: the delays set, and per operation how many requests were held, how
    many of them were released because their group was complete (``gather``) and how many after S seconds.
``POST /byok-api/delay``  ``{"operation": OP, "seconds": S}``: hold every request for the KMS operation OP
    (e.g. ``CreateAlias``) S seconds before it is processed. Requests are held before the server-wide request
    lock, so other requests (also more requests for OP) go on meanwhile: concurrent requests really overlap.
    With ``"gather": N`` a request for OP is held until N requests for OP are held, then those N are released
    together (and the next request starts a new group); S is the timeout after which a request goes on
    anyway. E.g. ``{"operation": "CreateAlias", "seconds": 30, "gather": 3}``: three runs creating the same
    alias have all passed DescribeKey and CreateKey before any CreateAlias is processed, so two of them lose.
    ``{"operation": OP, "seconds": 0}`` clears the delay of OP, ``{"clear": true}`` clears all delays;
    clearing releases the requests held for it at once.
``POST /byok-api/reset-controls``: clock offset 0, default token lifetime, no delays (the call log is kept).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

DEFAULT_TOKEN_LIFETIME = 86400.0
KMS_TARGET_PREFIX = "TrentService."
MAX_DELAY_SECONDS = 300.0


@dataclasses.dataclass(frozen=True)
class Delay:
    """How requests for one operation are held: ``seconds`` each, or until ``gather`` of them are held."""

    seconds: float
    gather: int = 0


class Controls:
    """Server-wide test controls and the KMS call log. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)
        self.clock_offset = 0.0
        self.token_lifetime = self.default_token_lifetime()
        self._calls: list[str] = []
        self._delays: dict[str, Delay] = {}
        self._waiting: Counter[str] = Counter()  # requests of the current group, per operation
        self._generation: Counter[str] = Counter()  # bumped when a group is released or a delay cleared
        self._held: Counter[str] = Counter()
        self._gathered: Counter[str] = Counter()
        self._timed_out: Counter[str] = Counter()

    @staticmethod
    def default_token_lifetime() -> float:
        return float(os.environ.get("BYOK_KMS_IMPORT_TOKEN_LIFETIME", DEFAULT_TOKEN_LIFETIME))

    def now(self) -> datetime:
        """The server's notion of the current time (UTC, aware), shifted by the test clock offset."""
        return datetime.now(timezone.utc) + timedelta(seconds=self.clock_offset)

    def record_call(self, operation: str) -> None:
        with self._lock:
            self._calls.append(operation)

    def calls_since(self, seq: int) -> dict[str, Any]:
        with self._lock:
            current = len(self._calls)
            counts = Counter(self._calls[max(seq, 0):])
        return {"seq": current, "calls": dict(counts), "total": sum(counts.values())}

    def reset(self) -> None:
        with self._lock:
            self.clock_offset = 0.0
            self.token_lifetime = self.default_token_lifetime()
            self._clear_delays(list(self._delays))

    # -- delays ------------------------------------------------------------------------------------

    def _clear_delays(self, operations: list[str]) -> None:
        """Drop the delays of these operations and release their held requests (lock held)."""
        for operation in operations:
            self._delays.pop(operation, None)
            self._waiting[operation] = 0
            self._generation[operation] += 1
        self._released.notify_all()

    def set_delay(self, operation: Any, seconds: Any = 0, gather: Any = 0) -> None:
        if not isinstance(operation, str) or not operation.isalnum():
            raise ValueError(f"operation must be a KMS operation name such as CreateAlias, not {operation!r}")
        seconds = float(seconds)
        if not 0 <= seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"seconds must be between 0 and {MAX_DELAY_SECONDS:g}, not {seconds:g}")
        if isinstance(gather, bool) or not isinstance(gather, int) or gather < 0:
            raise ValueError(f"gather must be a whole number >= 0, not {gather!r}")
        with self._lock:
            self._clear_delays([operation])
            if seconds > 0:
                self._delays[operation] = Delay(seconds, gather)

    def clear_delays(self) -> None:
        with self._lock:
            self._clear_delays(list(self._delays))

    def delays(self) -> dict[str, Any]:
        with self._lock:
            return {
                "delays": {op: dataclasses.asdict(delay) for op, delay in self._delays.items()},
                "held": dict(self._held), "gathered": dict(self._gathered), "timed_out": dict(self._timed_out),
            }

    def hold(self, operation: str) -> None:
        """Hold a request for ``operation`` as its delay says (returns at once without one). Waits on a
        condition, so the lock is free while it waits."""
        with self._lock:
            delay = self._delays.get(operation)
            if delay is None:
                return
            self._held[operation] += 1
            deadline = time.monotonic() + delay.seconds
            generation = self._generation[operation]
            self._waiting[operation] += 1
            if delay.gather and self._waiting[operation] >= delay.gather:
                self._gathered[operation] += self._waiting[operation]
                self._waiting[operation] = 0
                self._generation[operation] += 1
                self._released.notify_all()
                return
            while self._generation[operation] == generation:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._waiting[operation] -= 1
                    if delay.gather:
                        self._timed_out[operation] += 1
                    return
                self._released.wait(remaining)


CONTROLS = Controls()


def _json_response(start_response: Callable[..., Any], status: str, body: Any) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


def control_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WSGI app for /byok-api/..."""
    path = environ.get("PATH_INFO", "").rstrip("/")
    method = environ.get("REQUEST_METHOD", "GET")
    try:
        body = _read_json(environ) if method == "POST" else {}
        if path == "/byok-api/calls":
            since = int(parse_qs(environ.get("QUERY_STRING", "")).get("since", ["0"])[0])
            return _json_response(start_response, "200 OK", CONTROLS.calls_since(since))
        if path == "/byok-api/clock":
            if "offset_seconds" in body:
                CONTROLS.clock_offset = float(body["offset_seconds"])
            if "advance_seconds" in body:
                CONTROLS.clock_offset += float(body["advance_seconds"])
            return _json_response(start_response, "200 OK", {
                "offset_seconds": CONTROLS.clock_offset, "now": CONTROLS.now().isoformat()})
        if path == "/byok-api/config":
            if "import_token_lifetime_seconds" in body:
                CONTROLS.token_lifetime = float(body["import_token_lifetime_seconds"])
            return _json_response(start_response, "200 OK", {
                "import_token_lifetime_seconds": CONTROLS.token_lifetime})
        if path == "/byok-api/delay":
            if method == "POST":
                if body.get("clear"):
                    CONTROLS.clear_delays()
                else:
                    CONTROLS.set_delay(body.get("operation"), body.get("seconds", 0), body.get("gather", 0))
            return _json_response(start_response, "200 OK", CONTROLS.delays())
        if path == "/byok-api/reset-controls" and method == "POST":
            CONTROLS.reset()
            return _json_response(start_response, "200 OK", {"reset": True})
    except (ValueError, TypeError) as exc:
        return _json_response(start_response, "400 Bad Request", {"error": str(exc)})
    return _json_response(start_response, "404 Not Found", {"error": f"no control {method} {path}"})


def wrap_dispatcher(dispatcher_class: type) -> None:
    """Route /byok-api/ to the controls, log KMS operations and apply delays, in front of moto's dispatcher."""
    if getattr(dispatcher_class, "_byok_wrapped", False):
        return
    original_call = dispatcher_class.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith("/byok-api/"):
            return control_app(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(KMS_TARGET_PREFIX):
            operation = target[len(KMS_TARGET_PREFIX):]
            CONTROLS.record_call(operation)
            # Before moto's dispatcher, so before _responses.REQUEST_LOCK: a held request blocks nobody.
            CONTROLS.hold(operation)
        return original_call(self, environ, start_response)

    dispatcher_class.__call__ = __call__
    dispatcher_class._byok_wrapped = True
