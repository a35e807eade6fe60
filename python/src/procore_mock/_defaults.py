"""The credentials and ids of the mock's built-in data (``scenarios/fixtures/default.json`` in
the project, compiled into the binary). With your own fixture file, use your own."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_CLIENT", "DEFAULT_COMPANY_ID", "READONLY_CLIENT", "STANDARD_CLIENT", "Credentials"]


@dataclass(frozen=True)
class Credentials:
    """An OAuth application's client credentials."""

    client_id: str
    client_secret: str


#: Scopes read and write; acts as service account 5001, a Directory Admin.
DEFAULT_CLIENT = Credentials("procore-mock-client", "procore-mock-secret")
#: Scopes read and write; acts as service account 5002, not a Directory Admin.
STANDARD_CLIENT = Credentials("procore-mock-standard", "procore-mock-standard-secret")
#: Scope read only; acts as service account 5003.
READONLY_CLIENT = Credentials("procore-mock-readonly", "procore-mock-readonly-secret")
#: Summit Builders: every default app is installed in it (company 8002 has none).
DEFAULT_COMPANY_ID = 8001
