"""The pytest plugin (registered through the ``pytest11`` entry point, so installing the wheel
is enough).

Fixtures:

* ``procore_mock``: a fresh mock for each test, stopped after it. Options per test (or class,
  or module) with the marker, whose keywords are those of :func:`procore_mock.serve`::

      @pytest.mark.procore_mock(profile="official", rate_limit_spike=5)
      def test_something(procore_mock): ...

* ``procore_mock_session``: one mock for the whole session (one per worker under
  pytest-xdist); tests share its state, so call ``reset()`` where that matters.
* ``procore_mock_options``: the options both start from, ``{}`` by default. Override it
  (session scope) in a ``conftest.py`` to set them for a whole suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._server import ProcoreMock, serve

MARKER = "procore_mock"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for the procore_mock fixture's mock, "
        "the keyword arguments of procore_mock.serve()",
    )


@pytest.fixture(scope="session")
def procore_mock_options() -> dict[str, Any]:
    """Keyword arguments of :func:`procore_mock.serve` for both fixtures; override in a
    ``conftest.py`` (session scope) to change them for a suite."""
    return {}


@pytest.fixture
def procore_mock(
    request: pytest.FixtureRequest, procore_mock_options: dict[str, Any]
) -> Iterator[ProcoreMock]:
    """A fresh mock for this test, stopped when it ends; ``procore_mock`` markers (the nearest
    wins) add options to ``procore_mock_options``."""
    options = dict(procore_mock_options)
    # iter_markers yields the nearest first (function, class, module): apply it last.
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(
                f"@pytest.mark.{MARKER} takes keyword arguments only, got {marker.args!r}"
            )
        options.update(marker.kwargs)
    with serve(**options) as mock:
        yield mock


@pytest.fixture(scope="session")
def procore_mock_session(procore_mock_options: dict[str, Any]) -> Iterator[ProcoreMock]:
    """One mock for the whole session (per xdist worker), stopped at its end."""
    with serve(**procore_mock_options) as mock:
        yield mock
