"""The helpers over `/__admin`: each is one call, and the mock decides everything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from support import create_user, procore_session

from procore_mock import AdminApi, AdminError, ProcoreMock


def test_the_clock_freezes_sets_advances_and_runs_again(procore_mock: ProcoreMock) -> None:
    frozen = procore_mock.freeze_clock(datetime(2030, 1, 2, 3, 4, 5))
    assert frozen == {"now": "2030-01-02T03:04:05.000Z", "epoch": 1893553445, "frozen": True}
    assert procore_mock.advance_clock(timedelta(minutes=90))["now"] == "2030-01-02T04:34:05.000Z"
    assert procore_mock.advance_clock(0.25)["now"] == "2030-01-02T04:34:05.250Z"
    assert procore_mock.set_clock(now="2031-06-01T00:00:00+02:00")["now"] == "2031-05-31T22:00:00.000Z"
    assert procore_mock.clock()["frozen"] is True
    assert procore_mock.unfreeze_clock()["frozen"] is False


def test_a_bad_value_is_the_mocks_400(procore_mock: ProcoreMock) -> None:
    with pytest.raises(AdminError) as refused:
        procore_mock.advance_clock(float("inf"))
    assert refused.value.status == 400
    assert "seconds" in refused.value.body["message"]


def test_the_journal_filters_and_clears(procore_mock: ProcoreMock) -> None:
    session = procore_session(procore_mock)
    create_user(procore_mock, session, "journal@example.com")
    session.get(f"{procore_mock.url}/rest/v1.0/me", timeout=30)

    everything = procore_mock.journal()
    assert [(entry["method"], entry["path"]) for entry in everything] == [
        ("POST", "/oauth/token"),
        ("POST", "/rest/v1.0/companies/8001/users"),
        ("GET", "/rest/v1.0/me"),
    ]
    assert [entry["path"] for entry in procore_mock.journal(method="GET")] == ["/rest/v1.0/me"]
    [created] = procore_mock.journal(path="/rest/v1.0/companies/8001/users")
    assert created["status"] == 201
    assert created["client_id"] == "procore-mock-client"
    assert "journal@example.com" in created["body"]
    assert created["request_headers"]["authorization"] != session.headers["Authorization"]  # redacted
    assert len(procore_mock.journal(limit=1)) == 1

    procore_mock.clear_journal()
    assert procore_mock.journal() == []


class _RecordingHandler(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers `[]` and records the paths asked for."""
    server = HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    _RecordingHandler.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _RecordingHandler.seen
    server.shutdown()
    server.server_close()
    thread.join()


def test_journal_filters_pass_through_as_query_parameters(recorder: tuple[str, list[str]]) -> None:
    # Filters this package does not name still reach the mock, encoded the obvious way.
    url, seen = recorder
    since = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert AdminApi(url).journal(method="GET", status=429, client_id="app", since=since, redacted=True) == []
    assert AdminApi(url).journal(path="/a b", tag=["x", "y"], limit=None) == []
    assert seen == [
        "/__admin/requests?method=GET&status=429&client_id=app&since=2030-01-02T03%3A04%3A05%2B00%3A00&redacted=true",
        "/__admin/requests?path=%2Fa+b&tag=x&tag=y",
    ]


def test_state_round_trips_and_a_bad_document_changes_nothing(procore_mock: ProcoreMock) -> None:
    document = procore_mock.state()
    [jane] = [user for user in document["companies"][0]["users"] if user["id"] == 5101]
    jane["job_title"] = "Chief Estimator"
    procore_mock.replace_state(document)
    session = procore_session(procore_mock)
    shown = session.get(f"{procore_mock.url}/rest/v1.0/companies/8001/users/5101", timeout=30)
    assert shown.json()["job_title"] == "Chief Estimator"

    with pytest.raises(AdminError) as refused:
        procore_mock.replace_state({"companies": "not a list"})
    assert refused.value.status == 400
    [jane] = [user for user in procore_mock.state()["companies"][0]["users"] if user["id"] == 5101]
    assert jane["job_title"] == "Chief Estimator"


def test_reset_returns_to_the_loaded_data(procore_mock: ProcoreMock) -> None:
    session = procore_session(procore_mock)
    user_id = create_user(procore_mock, session, "reset@example.com")
    procore_mock.add_fault(path="/rest/v1.0/me", status=500)
    procore_mock.reset()
    assert procore_mock.faults() == []
    assert procore_mock.journal() == []
    # Tokens are gone too: sign in again.
    session = procore_session(procore_mock)
    gone = session.get(f"{procore_mock.url}/rest/v1.0/companies/8001/users/{user_id}", timeout=30)
    assert gone.status_code == 404
