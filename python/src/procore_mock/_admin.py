"""Thin helpers over the mock's public ``/__admin`` API.

Every helper is one HTTP call; the mock implements every rule (clock, limits, faults, journal,
state) and this module only spells the calls. Standard library only, so installing the wheel
brings no dependencies.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, cast
from urllib.parse import urlencode

__all__ = ["AdminApi", "AdminError", "Json"]

#: A decoded JSON value, as the admin API returns it.
Json = Any

# The mock runs on this machine: an HTTP(S)_PROXY in the environment must not capture its calls.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class AdminError(Exception):
    """An ``/__admin`` call answered with a status other than 2xx.

    Attributes:
        method: the HTTP method of the call.
        path: the path called, with its query string.
        status: the HTTP status the mock answered.
        body: the decoded JSON error body (``{"message": ..., "errors": ...}``), or the raw text
            when it was not JSON.
    """

    def __init__(self, method: str, path: str, status: int, body: Json) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        detail = body.get("message", body) if isinstance(body, dict) else body
        super().__init__(f"{method} {path} answered {status}: {detail}")


class AdminApi:
    """The ``/__admin`` API of a mock at ``url``.

    :class:`procore_mock.ProcoreMock` (what :func:`procore_mock.serve` and the pytest fixtures
    give you) is one of these; construct one yourself to drive a mock started some other way,
    e.g. ``AdminApi("http://127.0.0.1:4010")``.
    """

    def __init__(self, url: str, admin_token: str | None = None, timeout: float = 30.0) -> None:
        """Targets the mock at ``url``.

        Args:
            url: the mock's base URL, e.g. ``http://127.0.0.1:4010`` (no trailing path).
            admin_token: sent as ``Authorization: Bearer`` on admin calls when the mock was
                started with ``--admin-token``.
            timeout: seconds to wait for each admin call.
        """
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self.timeout = timeout

    # The generic call: for every helper below, and for admin endpoints newer than them.

    def admin_request(
        self,
        method: str,
        path: str,
        *,
        json_body: Json | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Json:
        """Calls ``method path`` on the mock and returns the decoded JSON answer (None if empty).

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: an absolute path on the mock, e.g. ``/__admin/requests``.
            json_body: sent as a JSON body when not None.
            params: the query string; None values are left out, lists repeat the key, booleans
                are ``true``/``false``, datetimes RFC 3339 (naive ones are taken as UTC).

        Raises:
            AdminError: the mock answered a non-2xx status.
            urllib.error.URLError: the mock could not be reached (not running, wrong URL).
        """
        query = _encode_query(params or {})
        target = f"{path}?{query}" if query else path
        headers = {"Accept": "application/json"}
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.admin_token is not None:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        request = urllib.request.Request(self.url + target, data=data, headers=headers, method=method)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return _decode(response.read())
        except urllib.error.HTTPError as err:
            with err:
                raise AdminError(method, target, err.code, _decode(err.read())) from None

    def _object(self, method: str, path: str, **call: Any) -> dict[str, Any]:
        """An admin call whose answer is a JSON object."""
        return cast("dict[str, Any]", self.admin_request(method, path, **call))

    def _list(self, method: str, path: str, **call: Any) -> list[dict[str, Any]]:
        """An admin call whose answer is a JSON array of objects."""
        return cast("list[dict[str, Any]]", self.admin_request(method, path, **call))

    # Health.

    def health(self) -> dict[str, Any]:
        """``GET /__admin/health``: ``{"status": "ok", "profile": ..., "version": ...}``."""
        return self._object("GET", "/__admin/health")

    # The clock: one clock drives token and code expiry, rate windows, timestamps and `Date`.

    def clock(self) -> dict[str, Any]:
        """``GET /__admin/clock``: ``{"now": RFC 3339, "epoch": seconds, "frozen": bool}``."""
        return self._object("GET", "/__admin/clock")

    def set_clock(self, now: datetime | str | None = None, frozen: bool | None = None) -> dict[str, Any]:
        """``PUT /__admin/clock``: sets the time and/or freezes or releases the clock.

        Args:
            now: the new time (a datetime, naive taken as UTC, or an RFC 3339 string); None
                keeps the current time.
            frozen: True stops the clock, False lets it run; None keeps it as it is.

        Returns:
            The clock after the change, as :meth:`clock` gives it.
        """
        body: dict[str, Any] = {}
        if now is not None:
            body["now"] = _rfc3339(now) if isinstance(now, datetime) else now
        if frozen is not None:
            body["frozen"] = frozen
        return self._object("PUT", "/__admin/clock", json_body=body)

    def freeze_clock(self, now: datetime | str | None = None) -> dict[str, Any]:
        """Stops the clock (at ``now`` when given): time then moves only by :meth:`advance_clock`."""
        return self.set_clock(now=now, frozen=True)

    def unfreeze_clock(self) -> dict[str, Any]:
        """Lets the clock run again from where it stands."""
        return self.set_clock(frozen=False)

    def advance_clock(self, seconds: float | timedelta) -> dict[str, Any]:
        """``POST /__admin/clock/advance``: moves time forward (or back, if negative).

        Works frozen or running, fractions allowed. This is how tests wait: for token expiry
        (5400 s), a ``Retry-After``, a rate window, without sleeping.
        """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        return self._object("POST", "/__admin/clock/advance", json_body={"seconds": seconds})

    # Reset and rate limits.

    def reset(self) -> None:
        """``POST /__admin/reset``: back to the loaded data (users, tokens, limits and counts,
        journal, faults); the clock stays where it is."""
        self.admin_request("POST", "/__admin/reset")

    def rate_limits(self) -> dict[str, Any]:
        """``GET /__admin/rate-limits``: ``{"hourly": N, "spike": N}`` (0 is off)."""
        return self._object("GET", "/__admin/rate-limits")

    def set_rate_limits(self, hourly: int | None = None, spike: int | None = None) -> dict[str, Any]:
        """``PUT /__admin/rate-limits``: requests per rolling hour and per rolling 10 s, per
        OAuth app; 0 turns a window off, None leaves it as it is. Returns the limits now."""
        body = {key: value for key, value in (("hourly", hourly), ("spike", spike)) if value is not None}
        return self._object("PUT", "/__admin/rate-limits", json_body=body)

    # Faults.

    def add_fault(self, spec: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """``POST /__admin/faults``: adds a fault rule; returns it with its ``id``.

        The rule is ``spec`` and/or keyword fields, as the README's Faults section describes:
        ``path`` (exact or a route template), ``method``, ``status``, ``retry_after``, ``body``,
        ``latency_ms``, ``probability``, ``seed``, ``times``, ``after``. Example::

            mock.add_fault(method="GET", path="/rest/v1.0/companies/{company_id}/users",
                           status=503, retry_after=30, times=1)
        """
        body = {**(spec or {}), **fields}
        return self._object("POST", "/__admin/faults", json_body=body)

    def faults(self) -> list[dict[str, Any]]:
        """``GET /__admin/faults``: the rules, each with its ``hits`` and ``hits_left``."""
        return self._list("GET", "/__admin/faults")

    def remove_fault(self, fault_id: int) -> None:
        """``DELETE /__admin/faults/{id}``; an unknown id raises :class:`AdminError` (404)."""
        self.admin_request("DELETE", f"/__admin/faults/{int(fault_id)}")

    def clear_faults(self) -> None:
        """``DELETE /__admin/faults``: removes every rule."""
        self.admin_request("DELETE", "/__admin/faults")

    # The request journal.

    def journal(
        self,
        method: str | None = None,
        path: str | None = None,
        limit: int | None = None,
        **filters: Any,
    ) -> list[dict[str, Any]]:
        """``GET /__admin/requests``: the requests the mock answered, oldest first.

        Each entry has ``id``, ``time`` (mock clock), ``method``, ``path``, ``query``,
        ``client_id``, ``status``, ``duration_ms``, ``request_headers`` (``Authorization``
        redacted) and ``request_headers_truncated``, ``body`` and ``body_truncated``, the
        answer's ``response_headers``, ``response_body`` and ``response_body_truncated``,
        ``warning`` (what the mock ignored, if anything) and ``fault_rule_id``. Admin calls
        are not journaled. The README's "Verifying what an integration did" lists the filters.

        Args:
            method: only requests with this method.
            path: only requests to this path.
            limit: at most this many entries.
            **filters: any further query parameters, passed through as they are (for filters
                a newer mock understands); see :meth:`admin_request` for how values encode.
        """
        params = {"method": method, "path": path, "limit": limit, **filters}
        return self._list("GET", "/__admin/requests", params=params)

    def clear_journal(self) -> None:
        """``DELETE /__admin/requests``: empties the journal."""
        self.admin_request("DELETE", "/__admin/requests")

    # State.

    def state(self) -> dict[str, Any]:
        """``GET /__admin/state``: the whole state as a fixture document (with live tokens)."""
        return self._object("GET", "/__admin/state")

    def replace_state(self, document: Mapping[str, Any]) -> None:
        """``PUT /__admin/state``: replaces the whole state with a fixture document.

        The document is validated in full first; a bad one raises :class:`AdminError` (400,
        naming the problem) and leaves the state untouched.
        """
        self.admin_request("PUT", "/__admin/state", json_body=dict(document))

    def save_state(self) -> dict[str, Any]:
        """``POST /__admin/state/save``: writes the ``state_file`` now; returns ``{"saved": path}``."""
        return self._object("POST", "/__admin/state/save")


def _decode(raw: bytes) -> Json:
    """JSON when the body parses as JSON, the text otherwise, None when empty."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _encode_query(params: Mapping[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((key, _query_text(item)) for item in values)
    return urlencode(pairs)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _rfc3339(value)
    return str(value)


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()
