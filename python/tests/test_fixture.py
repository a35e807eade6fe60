"""The `procore_mock` fixture as a test suite uses it: the installed wheel, defaults, markers."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
import requests
from support import create_user, procore_session

import procore_mock as package
from procore_mock import DEFAULT_CLIENT, DEFAULT_COMPANY_ID, READONLY_CLIENT, STANDARD_CLIENT, ProcoreMock


def test_the_fixture_runs_the_binary_the_wheel_installed(procore_mock: ProcoreMock) -> None:
    # The package and binary come from the environment, not from the source tree.
    scripts = Path(sysconfig.get_path("scripts"))
    assert Path(package.find_binary()) == scripts / "procore-mock"
    assert Path(package.__file__ or "").parent.parent == Path(sysconfig.get_path("purelib"))
    health = procore_mock.health()
    assert health == {"status": "ok", "profile": "documented", "version": package.__version__}
    assert procore_mock.url.startswith("http://127.0.0.1:")


def test_the_default_credentials_are_the_default_data(procore_mock: ProcoreMock) -> None:
    apps = {app["client_id"]: app for app in procore_mock.state()["oauth_apps"]}
    for credentials, scopes in [
        (DEFAULT_CLIENT, ["read", "write"]),
        (STANDARD_CLIENT, ["read", "write"]),
        (READONLY_CLIENT, ["read"]),
    ]:
        app = apps[credentials.client_id]
        assert app["client_secret"] == credentials.client_secret
        assert app["scopes"] == scopes
        assert app["installed_company_ids"] == [DEFAULT_COMPANY_ID]
    assert (procore_mock.client_id, procore_mock.client_secret) == (
        DEFAULT_CLIENT.client_id,
        DEFAULT_CLIENT.client_secret,
    )
    assert procore_mock.company_id == DEFAULT_COMPANY_ID == 8001


def test_a_token_from_the_default_credentials_works(procore_mock: ProcoreMock) -> None:
    session = procore_session(procore_mock)
    me = session.get(f"{procore_mock.url}/rest/v1.0/me", timeout=30)
    assert me.status_code == 200
    assert me.json()["id"] == 5001


def test_each_test_gets_a_fresh_mock(pytester: pytest.Pytester) -> None:
    # Both tests create the same email: on a shared mock the second would get 409.
    pytester.makepyfile(
        """
        import requests

        def create(mock):
            token = requests.post(f"{mock.url}/oauth/token", data={
                "grant_type": "client_credentials",
                "client_id": mock.client_id, "client_secret": mock.client_secret,
            }).json()["access_token"]
            return requests.post(
                f"{mock.url}/rest/v1.0/companies/8001/users",
                headers={"Authorization": f"Bearer {token}", "Procore-Company-Id": "8001"},
                json={"user": {"last_name": "Twice", "email_address": "twice@example.com"}},
            )

        def test_first(procore_mock):
            assert create(procore_mock).status_code == 201

        def test_second(procore_mock):
            assert create(procore_mock).status_code == 201
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


@pytest.mark.procore_mock(profile="official")
def test_the_marker_sets_the_profile(procore_mock: ProcoreMock) -> None:
    assert procore_mock.health()["profile"] == "official"
    session = procore_session(procore_mock)
    user_id = create_user(procore_mock, session, "official@example.com")
    # Company-user DELETE exists only in the documented profile.
    answer = session.delete(f"{procore_mock.url}/rest/v1.0/companies/8001/users/{user_id}", timeout=30)
    assert answer.status_code == 405


@pytest.mark.procore_mock(rate_limit_spike=7, journal_size=5)
class TestMarkersNest:
    @pytest.mark.procore_mock(rate_limit_spike=2)
    def test_the_nearest_marker_wins_and_the_others_still_apply(self, procore_mock: ProcoreMock) -> None:
        assert procore_mock.rate_limits() == {"hourly": 3600, "spike": 2}
        for _ in range(6):
            assert requests.get(f"{procore_mock.url}/rest/v1.0/me", timeout=30).status_code == 401
        # journal_size=5 from the class marker: six requests were answered, five are kept.
        assert [entry["id"] for entry in procore_mock.journal()] == [2, 3, 4, 5, 6]

    def test_the_class_marker_applies(self, procore_mock: ProcoreMock) -> None:
        assert procore_mock.rate_limits()["spike"] == 7


def test_a_marker_with_an_unknown_option_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.procore_mock(profiel="official")
        def test_typo(procore_mock):
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unexpected keyword argument 'profiel'*"])
