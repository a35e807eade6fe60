//! OAuth applications and the credentials issued to them.
//!
//! Apps are fixed for the store's life and read without a lock. Each kind of credential lives in
//! its own `DashMap` keyed by its secret string: lookups on the
//! request path touch one shard, and single-use credentials (authorization codes, refresh tokens)
//! are consumed with an atomic `remove`, so two concurrent redemptions can never both succeed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use foldhash::fast::RandomState;
use serde::{Deserialize, Serialize};

/// What a token may do. GET needs `read`; writes need `write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read access.
    Read,
    /// Write access.
    Write,
}

impl Scope {
    /// The scope's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }
}

/// A registered OAuth application (Procore developer app).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthApp {
    /// Public client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Display name.
    pub name: String,
    /// Scopes tokens of this app carry.
    pub scopes: Vec<Scope>,
    /// Redirect URIs the authorization-code flow accepts (the out-of-band URN is always accepted).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The company user the app acts as under client credentials (its service account).
    pub service_account_user_id: u64,
    /// Companies the app is installed in; it is refused everywhere else.
    pub installed_company_ids: Vec<u64>,
}

impl OAuthApp {
    /// Whether the app may act in `company_id`.
    pub fn is_installed_in(&self, company_id: u64) -> bool {
        self.installed_company_ids.contains(&company_id)
    }
}

/// Who a credential speaks for and what it may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The application the credential was issued to.
    pub client_id: String,
    /// The user the credential acts as.
    pub resource_owner_id: u64,
    /// Scopes granted.
    pub scopes: Vec<Scope>,
}

/// An issued bearer token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessToken {
    /// Whom the token speaks for.
    pub grant: Grant,
    /// Issue time, epoch seconds on the mock clock.
    pub created_at: i64,
    /// Expiry time, epoch seconds on the mock clock.
    pub expires_at: i64,
}

impl AccessToken {
    /// Whether the token still works at `now` (epoch seconds): it dies at `expires_at`.
    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// A refresh token: single-use, rotated on every refresh.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshToken {
    /// Whom the token speaks for.
    pub grant: Grant,
}

/// An authorization code awaiting exchange.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthCode {
    /// Whom the code speaks for.
    pub grant: Grant,
    /// The redirect URI it was issued for; the exchange must repeat it.
    pub redirect_uri: String,
    /// Expiry time, epoch seconds on the mock clock.
    pub expires_at: i64,
}

impl AuthCode {
    /// Whether the code can still be exchanged at `now` (epoch seconds).
    pub fn is_live(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// An access token with its secret, as a state snapshot stores it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedAccessToken {
    /// The bearer string.
    pub token: String,
    /// The record.
    #[serde(flatten)]
    pub record: AccessToken,
}

/// A refresh token with its secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRefreshToken {
    /// The refresh string.
    pub token: String,
    /// Whom it speaks for.
    pub grant: Grant,
}

/// An authorization code with its secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedCode {
    /// The code.
    pub code: String,
    /// The record.
    #[serde(flatten)]
    pub record: AuthCode,
}

/// Every live credential, so a saved state keeps clients logged in across restarts.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Bearer tokens.
    #[serde(default)]
    pub access_tokens: Vec<SavedAccessToken>,
    /// Refresh tokens.
    #[serde(default)]
    pub refresh_tokens: Vec<SavedRefreshToken>,
    /// Authorization codes awaiting exchange.
    #[serde(default)]
    pub codes: Vec<SavedCode>,
}

impl Credentials {
    /// Whether there is nothing to save.
    pub fn is_empty(&self) -> bool {
        self.access_tokens.is_empty() && self.refresh_tokens.is_empty() && self.codes.is_empty()
    }

    /// The client ids the credentials were issued to, with where each appears.
    pub fn client_ids(&self) -> impl Iterator<Item = (String, &str)> {
        let access = self.access_tokens.iter().enumerate().map(|(i, t)| {
            (
                format!("access_tokens[{i}].client_id"),
                t.record.grant.client_id.as_str(),
            )
        });
        let refresh = self.refresh_tokens.iter().enumerate().map(|(i, t)| {
            (
                format!("refresh_tokens[{i}].grant.client_id"),
                t.grant.client_id.as_str(),
            )
        });
        let codes = self.codes.iter().enumerate().map(|(i, c)| {
            (
                format!("codes[{i}].grant.client_id"),
                c.record.grant.client_id.as_str(),
            )
        });
        access.chain(refresh).chain(codes)
    }
}

/// Apps and live credentials.
///
/// Every request looks its token up here, so the maps hash with foldhash rather than SipHash:
/// the token alone would cost a few hundred instructions to hash with the standard one.
#[derive(Debug, Default)]
pub struct OAuthStore {
    /// Fixed for the store's life: read without a lock.
    apps: HashMap<String, OAuthApp, RandomState>,
    access_tokens: DashMap<String, Arc<AccessToken>, RandomState>,
    refresh_tokens: DashMap<String, RefreshToken, RandomState>,
    codes: DashMap<String, AuthCode, RandomState>,
    /// Counts issues so expired entries are swept now and then, keeping memory bounded.
    issued: AtomicU64,
}

/// Sweep expired credentials once per this many issues.
const SWEEP_EVERY: u64 = 1024;

impl OAuthStore {
    /// Registers an application, while the store is being built.
    pub fn insert_app(&mut self, app: OAuthApp) {
        self.apps.insert(app.client_id.clone(), app);
    }

    /// The application with `client_id`.
    pub fn app(&self, client_id: &str) -> Option<&OAuthApp> {
        self.apps.get(client_id)
    }

    /// All applications, sorted by client id.
    pub fn apps(&self) -> Vec<&OAuthApp> {
        let mut apps: Vec<_> = self.apps.values().collect();
        apps.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        apps
    }

    /// Issues a bearer token and returns its string.
    pub fn issue_access_token(&self, grant: Grant, now: i64, lifetime_secs: i64) -> String {
        self.sweep_now_and_then(now);
        let token = new_secret();
        self.access_tokens.insert(
            token.clone(),
            Arc::new(AccessToken {
                grant,
                created_at: now,
                expires_at: now + lifetime_secs,
            }),
        );
        token
    }

    /// The token `token`, if it was issued and not revoked (expiry is the caller's check).
    pub fn access_token(&self, token: &str) -> Option<Arc<AccessToken>> {
        self.access_tokens
            .get(token)
            .map(|entry| Arc::clone(entry.value()))
    }

    /// Issues a refresh token.
    pub fn issue_refresh_token(&self, grant: Grant) -> String {
        let token = new_secret();
        self.refresh_tokens
            .insert(token.clone(), RefreshToken { grant });
        token
    }

    /// Consumes a refresh token: it can be redeemed exactly once.
    pub fn take_refresh_token(&self, token: &str) -> Option<RefreshToken> {
        self.refresh_tokens.remove(token).map(|(_, t)| t)
    }

    /// Issues an authorization code.
    pub fn issue_code(&self, grant: Grant, redirect_uri: String, expires_at: i64) -> String {
        let code = new_secret();
        self.codes.insert(
            code.clone(),
            AuthCode {
                grant,
                redirect_uri,
                expires_at,
            },
        );
        code
    }

    /// Consumes an authorization code: it can be redeemed exactly once.
    pub fn take_code(&self, code: &str) -> Option<AuthCode> {
        self.codes.remove(code).map(|(_, c)| c)
    }

    /// Every live credential, sorted so snapshots are stable.
    pub fn credentials(&self) -> Credentials {
        let mut credentials = Credentials {
            access_tokens: self
                .access_tokens
                .iter()
                .map(|e| SavedAccessToken {
                    token: e.key().clone(),
                    record: (**e.value()).clone(),
                })
                .collect(),
            refresh_tokens: self
                .refresh_tokens
                .iter()
                .map(|e| SavedRefreshToken {
                    token: e.key().clone(),
                    grant: e.value().grant.clone(),
                })
                .collect(),
            codes: self
                .codes
                .iter()
                .map(|e| SavedCode {
                    code: e.key().clone(),
                    record: e.value().clone(),
                })
                .collect(),
        };
        credentials
            .access_tokens
            .sort_by(|a, b| a.token.cmp(&b.token));
        credentials
            .refresh_tokens
            .sort_by(|a, b| a.token.cmp(&b.token));
        credentials.codes.sort_by(|a, b| a.code.cmp(&b.code));
        credentials
    }

    /// Puts saved credentials back.
    pub fn restore(&self, credentials: Credentials) {
        for saved in credentials.access_tokens {
            self.access_tokens
                .insert(saved.token, Arc::new(saved.record));
        }
        for saved in credentials.refresh_tokens {
            self.refresh_tokens
                .insert(saved.token, RefreshToken { grant: saved.grant });
        }
        for saved in credentials.codes {
            self.codes.insert(saved.code, saved.record);
        }
    }

    /// Revokes an access or refresh token; unknown tokens are ignored (RFC 7009).
    pub fn revoke(&self, token: &str) {
        self.access_tokens.remove(token);
        self.refresh_tokens.remove(token);
    }

    fn sweep_now_and_then(&self, now: i64) {
        if self.issued.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.access_tokens.retain(|_, t| t.is_live(now));
            self.codes.retain(|_, c| c.is_live(now));
        }
    }
}

/// A fresh unguessable credential string.
fn new_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
