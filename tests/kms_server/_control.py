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
``POST /byok-api/reset-controls``: clock offset 0, default token lifetime (the call log is kept).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

DEFAULT_TOKEN_LIFETIME = 86400.0
KMS_TARGET_PREFIX = "TrentService."


class Controls:
    """Server-wide test controls and the KMS call log. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clock_offset = 0.0
        self.token_lifetime = self.default_token_lifetime()
        self._calls: list[str] = []

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
        if path == "/byok-api/reset-controls" and method == "POST":
            CONTROLS.reset()
            return _json_response(start_response, "200 OK", {"reset": True})
    except (ValueError, TypeError) as exc:
        return _json_response(start_response, "400 Bad Request", {"error": str(exc)})
    return _json_response(start_response, "404 Not Found", {"error": f"no control {method} {path}"})


def wrap_dispatcher(dispatcher_class: type) -> None:
    """Route /byok-api/ to the controls and log KMS operations, in front of moto's dispatcher."""
    if getattr(dispatcher_class, "_byok_wrapped", False):
        return
    original_call = dispatcher_class.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith("/byok-api/"):
            return control_app(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(KMS_TARGET_PREFIX):
            CONTROLS.record_call(target[len(KMS_TARGET_PREFIX):])
        return original_call(self, environ, start_response)

    dispatcher_class.__call__ = __call__
    dispatcher_class._byok_wrapped = True
