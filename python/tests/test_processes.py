"""Process control: side by side on free ports, nothing left behind, errors that explain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from support import create_user, process_exists, process_running, procore_session

import procore_mock
from procore_mock import AdminApi, AdminError, ProcoreMock, ProcoreMockError

# The smallest valid fixture document: no companies, no apps.
DEFAULT_FIXTURE_STAND_IN = '{"companies": [], "oauth_apps": []}'


def test_two_mocks_run_side_by_side_with_their_own_state() -> None:
    with procore_mock.serve() as first, procore_mock.serve() as second:
        assert first.url != second.url
        user_id = create_user(first, procore_session(first), "only-in-first@example.com")
        other = procore_session(second).get(
            f"{second.url}/rest/v1.0/companies/8001/users/{user_id}", timeout=30
        )
        assert other.status_code == 404


def test_leaving_the_block_stops_the_process() -> None:
    with procore_mock.serve() as mock:
        pid = mock.pid
        assert mock.running and process_exists(pid)
    assert not mock.running
    assert not process_exists(pid)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{mock.url}/__admin/health", timeout=30)
    mock.stop()  # a second stop is harmless


def test_stopping_leaves_no_temporary_file_and_keeps_the_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with procore_mock.serve(fixtures=json.loads(DEFAULT_FIXTURE_STAND_IN), env={"RUST_LOG": "info"}) as mock:
        assert sorted(path.suffix for path in tmp_path.iterdir()) == [".json", ".log"]
    assert list(tmp_path.iterdir()) == []
    assert "shutting down" in mock.logs()


def test_an_error_in_the_block_stops_the_process_and_propagates() -> None:
    with pytest.raises(KeyError, match="from the test"), procore_mock.serve() as mock:
        pid = mock.pid
        raise KeyError("from the test")
    assert not process_exists(pid)


def test_a_mock_that_died_during_the_test_is_reported() -> None:
    with pytest.raises(ProcoreMockError, match="status -9"), procore_mock.serve() as mock:
        os.kill(mock.pid, signal.SIGKILL)
    assert not process_exists(mock.pid)


def test_fixture_teardown_leaves_no_process(pytester: pytest.Pytester) -> None:
    pids = pytester.path / "pids.txt"
    pytester.makepyfile(
        f"""
        import pytest

        def record(mock):
            with open({str(pids)!r}, "a") as file:
                file.write(f"{{mock.pid}}\\n")

        def test_passes(procore_mock):
            record(procore_mock)

        def test_fails(procore_mock):
            record(procore_mock)
            assert False, "a failing test still tears down"

        def test_session_once(procore_mock_session):
            record(procore_mock_session)

        def test_session_twice(procore_mock_session):
            record(procore_mock_session)
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=3, failed=1)
    recorded = [int(line) for line in pids.read_text().split()]
    assert len(recorded) == 4
    assert recorded[2] == recorded[3], "the session mock is one process"
    assert len(set(recorded)) == 3
    assert not [pid for pid in recorded if process_exists(pid)]


def test_stop_is_graceful_so_the_state_file_is_written(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with procore_mock.serve(state_file=state_file) as mock:
        user_id = create_user(mock, procore_session(mock), "kept@example.com")
    saved = json.loads(state_file.read_text())
    assert user_id in [user["id"] for company in saved["companies"] for user in company["users"]]
    with procore_mock.serve(state_file=state_file) as mock:
        kept = procore_session(mock).get(f"{mock.url}/rest/v1.0/companies/8001/users/{user_id}", timeout=30)
        assert kept.json()["email_address"] == "kept@example.com"
        assert mock.save_state() == {"saved": str(state_file)}


def test_the_admin_token_guards_admin_calls_and_the_helpers_send_it() -> None:
    with procore_mock.serve(admin_token="s3cret") as mock:
        assert mock.health()["status"] == "ok"
        with pytest.raises(AdminError) as refused:
            AdminApi(mock.url).health()
        assert refused.value.status == 401
        assert AdminApi(mock.url, admin_token="s3cret").clock()["frozen"] is False


def test_the_callers_procore_mock_environment_does_not_reach_the_mock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROCORE_MOCK_ADMIN_TOKEN", "from-the-environment")
    monkeypatch.setenv("PROCORE_MOCK_PROFILE", "official")
    with procore_mock.serve() as mock:
        assert mock.health()["profile"] == "documented"


def test_env_reaches_the_mock_and_logs_show_its_stderr() -> None:
    with procore_mock.serve(env={"RUST_LOG": "debug"}) as mock:
        requests.get(f"{mock.url}/rest/v1.0/me", timeout=30)
        assert "/rest/v1.0/me" in mock.logs()


def test_a_port_in_use_is_an_error_with_the_mocks_words() -> None:
    with procore_mock.serve() as mock:
        port = mock.port
        in_use = f"(?s)before it was ready.*cannot listen on 127.0.0.1:{port}"
        with pytest.raises(ProcoreMockError, match=in_use), procore_mock.serve(port=port):
            pass


def test_a_missing_binary_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProcoreMockError, match="cannot run"), procore_mock.serve(binary=tmp_path / "missing"):
        pass


def test_the_binary_can_be_chosen_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(procore_mock.BINARY_ENV, str(tmp_path / "elsewhere"))
    assert procore_mock.find_binary() == str(tmp_path / "elsewhere")


def test_the_port_is_the_urls(procore_mock: ProcoreMock) -> None:
    assert procore_mock.url == f"http://127.0.0.1:{procore_mock.port}"


def crux_login(mock: ProcoreMock) -> int:
    """The status of a Crux Connect login with the default data's organization admin."""
    return requests.post(
        f"{mock.url}/organizations/user-login/",
        json={"username": "crux-admin@summit-builders.example", "password": "crux-admin-password"},
        timeout=30,
    ).status_code


def create_with_a_misspelt_field(mock: ProcoreMock) -> int:
    """The status of a user create whose body has a field no endpoint takes."""
    user = {"last_name": "E", "email_address": "e@example.com", "permision_template_id": 3004}
    return (
        procore_session(mock)
        .post(f"{mock.url}/rest/v1.0/companies/8001/users", json={"user": user}, timeout=30)
        .status_code
    )


def test_strict_and_no_crux_reach_the_mock() -> None:
    with procore_mock.serve() as lenient:
        assert create_with_a_misspelt_field(lenient) == 201
        assert crux_login(lenient) == 200
    with procore_mock.serve(strict=True, no_crux=True) as strict:
        assert create_with_a_misspelt_field(strict) == 400
        assert crux_login(strict) == 404


def test_every_option_of_the_binary_is_accepted(tmp_path: Path) -> None:
    with procore_mock.serve(
        state_file=tmp_path / "state.json",
        journal_max_bytes=1 << 20,
        webhook_timeout_ms=500,
        webhook_queue_size=10,
        header_read_timeout=2.5,
        idle_timeout=timedelta(seconds=30),
        body_read_timeout=timedelta(milliseconds=1500),
        shutdown_grace=1,
    ) as mock:
        assert mock.health()["status"] == "ok"
    assert (tmp_path / "state.json").exists(), "stopped gracefully"


def test_a_negative_duration_is_refused_with_the_mocks_words() -> None:
    with pytest.raises(ProcoreMockError, match="--idle-timeout"), procore_mock.serve(idle_timeout=-1):
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_mock_does_not_outlive_the_python_process_that_started_it(tmp_path: Path) -> None:
    # A test run SIGKILLed mid-test: no teardown runs, and the mock must not stay behind.
    script = (
        "import sys, procore_mock\n"
        "with procore_mock.serve() as mock:\n"
        "    print(mock.pid, mock.url, flush=True)\n"
        "    sys.stdin.read()\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        # Its temporary files (the mock's log) are left behind with no teardown: keep them here.
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert parent.stdout is not None
    pid_text, url = parent.stdout.readline().split()
    mock_pid = int(pid_text)
    try:
        assert requests.get(f"{url}/__admin/health", timeout=30).status_code == 200
        parent.kill()
        parent.wait()
        # Bounded: the mock stops gracefully on its signal, well within a minute.
        deadline = time.monotonic() + 60
        while process_running(mock_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_running(mock_pid), "the mock outlived its killed parent"
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/__admin/health", timeout=30)
    finally:
        if process_running(mock_pid):
            os.kill(mock_pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
            parent.wait()
