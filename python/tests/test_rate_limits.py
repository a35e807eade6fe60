"""Rehearsing throttling: a client that honours Retry-After, with time on the mock's clock."""

from __future__ import annotations

import itertools

import pytest
import requests
from support import procore_session

from procore_mock import ProcoreMock


class PoliteClient:
    """What a well-behaved integration does on 429 and 503: wait `Retry-After`, then retry.

    It waits on the mock's clock (`advance_clock`) where production code would sleep, so the
    test takes no real time and does not depend on it.
    """

    def __init__(self, mock: ProcoreMock, session: requests.Session) -> None:
        self.mock = mock
        self.session = session
        self.waits: list[int] = []

    def get(self, path: str) -> requests.Response:
        while True:
            answer = self.session.get(f"{self.mock.url}{path}", timeout=30)
            if answer.status_code not in (429, 503):
                return answer
            retry_after = int(answer.headers["Retry-After"])
            self.waits.append(retry_after)
            self.mock.advance_clock(retry_after)


@pytest.mark.procore_mock(rate_limit_spike=3)
def test_a_client_that_honours_retry_after_is_admitted_on_its_next_try(procore_mock: ProcoreMock) -> None:
    procore_mock.freeze_clock()
    client = PoliteClient(procore_mock, procore_session(procore_mock))

    for _ in range(7):
        assert client.get("/rest/v1.0/companies/8001/users").status_code == 200

    # Three fit in a 10 s window: the 4th and the 7th were each refused once, then admitted.
    assert len(client.waits) == 2
    journal = procore_mock.journal(path="/rest/v1.0/companies/8001/users")
    statuses = [entry["status"] for entry in journal]
    assert statuses == [200, 200, 200, 429, 200, 200, 200, 429, 200]
    for refused, retried in itertools.pairwise(journal):
        if refused["status"] == 429:
            assert refused["response_headers"]["retry-after"] == str(client.waits.pop(0))
            assert refused["response_headers"]["x-rate-limit-remaining"] == "0"
            assert retried["status"] == 200


@pytest.mark.procore_mock(rate_limit_spike=3)
def test_retrying_at_once_stays_throttled(procore_mock: ProcoreMock) -> None:
    procore_mock.freeze_clock()
    session = procore_session(procore_mock)
    url = f"{procore_mock.url}/rest/v1.0/me"
    statuses = [session.get(url, timeout=30).status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_limits_change_at_run_time_and_reset_restores_them(procore_mock: ProcoreMock) -> None:
    procore_mock.freeze_clock()
    assert procore_mock.set_rate_limits(hourly=2) == {"hourly": 2, "spike": 0}
    session = procore_session(procore_mock)
    url = f"{procore_mock.url}/rest/v1.0/me"
    assert [session.get(url, timeout=30).status_code for _ in range(3)] == [200, 200, 429]

    procore_mock.reset()
    assert procore_mock.rate_limits() == {"hourly": 3600, "spike": 0}


def test_a_503_fault_with_retry_after_is_retried(procore_mock: ProcoreMock) -> None:
    procore_mock.freeze_clock()
    rule = procore_mock.add_fault(
        method="GET", path="/rest/v1.0/companies/{company_id}/users", status=503, retry_after=30, times=1
    )
    client = PoliteClient(procore_mock, procore_session(procore_mock))

    assert client.get("/rest/v1.0/companies/8001/users").status_code == 200
    assert client.waits == [30]
    [listed] = procore_mock.faults()
    assert (listed["id"], listed["hits"], listed["hits_left"]) == (rule["id"], 1, 0)
    before, after = procore_mock.journal(path="/rest/v1.0/companies/8001/users")
    assert (before["status"], after["status"]) == (503, 200)

    procore_mock.remove_fault(rule["id"])
    assert procore_mock.faults() == []
