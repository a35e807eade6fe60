"""Starting from your own data: a fixture file, or a fixture document built in Python."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from support import procore_session

import procore_mock
from procore_mock import Credentials, ProcoreMock, ProcoreMockError

SMALL_COMPANY = Path(__file__).parent / "fixtures" / "small-company.json"
SMALL_WORKS_APP = Credentials("small-works-sync", "small-works-secret")


@pytest.mark.procore_mock(fixtures=SMALL_COMPANY)
def test_the_mock_serves_the_fixture_file(procore_mock: ProcoreMock) -> None:
    session = procore_session(procore_mock, SMALL_WORKS_APP, company_id=1)
    companies = session.get(f"{procore_mock.url}/rest/v1.0/companies", timeout=30).json()
    assert [(company["id"], company["name"]) for company in companies] == [(1, "Small Works Ltd")]
    members = session.get(f"{procore_mock.url}/rest/v1.0/projects/41/users", timeout=30).json()
    assert [member["id"] for member in members] == [52]
    # The default data is not there: neither its apps nor its company.
    refused = requests.post(
        f"{procore_mock.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": procore_mock.client_id,
            "client_secret": procore_mock.client_secret,
        },
        timeout=30,
    )
    assert refused.status_code == 401


def test_a_fixture_document_from_python() -> None:
    document = json.loads(SMALL_COMPANY.read_text())
    document["companies"][0]["users"][1]["job_title"] = "Site Lead"
    with procore_mock.serve(fixtures=document) as mock:
        session = procore_session(mock, SMALL_WORKS_APP, company_id=1)
        robin = session.get(f"{mock.url}/rest/v1.0/companies/1/users/52", timeout=30).json()
        assert robin["job_title"] == "Site Lead"
        # reset() goes back to this document, not to the built-in data.
        changed = session.patch(
            f"{mock.url}/rest/v1.0/companies/1/users/52", json={"user": {"job_title": "Changed"}}, timeout=30
        )
        assert changed.json()["job_title"] == "Changed"
        mock.reset()
        assert mock.state()["companies"][0]["users"][1]["job_title"] == "Site Lead"


def test_an_invalid_fixture_is_refused_with_its_path() -> None:
    document = json.loads(SMALL_COMPANY.read_text())
    document["companies"][0]["users"][1]["vendor_id"] = 999
    invalid = r"invalid fixture at .companies\[0\]\.users\[1\]\.vendor_id."
    with pytest.raises(ProcoreMockError, match=invalid), procore_mock.serve(fixtures=document):
        pass
