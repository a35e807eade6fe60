"""What the tests' own integration code would have: a Procore client built on `requests`."""

from __future__ import annotations

import os
from pathlib import Path

import requests

import procore_mock


def procore_session(
    mock: procore_mock.ProcoreMock,
    credentials: procore_mock.Credentials = procore_mock.DEFAULT_CLIENT,
    company_id: int = procore_mock.DEFAULT_COMPANY_ID,
) -> requests.Session:
    """A session with a client-credentials token and the company header, as an integration
    would hold one."""
    answer = requests.post(
        f"{mock.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
        timeout=30,
    )
    answer.raise_for_status()
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {answer.json()['access_token']}",
            "Procore-Company-Id": str(company_id),
        }
    )
    return session


def create_user(mock: procore_mock.ProcoreMock, session: requests.Session, email: str) -> int:
    """Creates a company user in the default company; returns the id."""
    answer = session.post(
        f"{mock.url}/rest/v1.0/companies/{procore_mock.DEFAULT_COMPANY_ID}/users",
        json={"user": {"first_name": "Test", "last_name": "User", "email_address": email}},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists (a reaped child does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def process_running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited. Unlike :func:`process_exists`, an
    exited process nobody has reaped yet (a zombie: an orphan waits for init to reap it) counts
    as gone. Linux only (it reads ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    # The state follows the command name, which is in parentheses and may hold spaces.
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")
