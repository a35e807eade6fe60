"""procore-mock for Python: a local, in-memory Procore user-management API for tests.

The wheel carries the mock's binary (``procore-mock`` on PATH) and this small package:

* :func:`serve`, a context manager that runs the mock on a free port and stops it after;
* a pytest plugin with the ``procore_mock`` fixture (a fresh mock per test) and
  ``procore_mock_session`` (one per session, or per xdist worker);
* :class:`ProcoreMock`, what both give you: ``url``, the default credentials, and helpers
  over the mock's ``/__admin`` API (clock, reset, rate limits, faults, journal, state).

Example::

    import requests
    import procore_mock

    with procore_mock.serve() as mock:
        token = requests.post(f"{mock.url}/oauth/token", data={
            "grant_type": "client_credentials",
            "client_id": mock.client_id,
            "client_secret": mock.client_secret,
        }).json()["access_token"]
        mock.advance_clock(5400)  # that token has now expired
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._admin import AdminApi, AdminError
from ._defaults import DEFAULT_CLIENT, DEFAULT_COMPANY_ID, READONLY_CLIENT, STANDARD_CLIENT, Credentials
from ._server import BINARY_ENV, ProcoreMock, ProcoreMockError, find_binary, serve

try:
    __version__ = version("procore-mock")
except PackageNotFoundError:  # imported from a source checkout, not installed
    __version__ = "0+unknown"

__all__ = [
    "BINARY_ENV",
    "DEFAULT_CLIENT",
    "DEFAULT_COMPANY_ID",
    "READONLY_CLIENT",
    "STANDARD_CLIENT",
    "AdminApi",
    "AdminError",
    "Credentials",
    "ProcoreMock",
    "ProcoreMockError",
    "__version__",
    "find_binary",
    "serve",
]
