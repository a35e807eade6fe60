//! Crux Connect's organizations, their users and the permission catalogue; the API users who
//! log in and the tokens they hold.
//!
//! Nothing here knows about HTTP or about Crux's rules (those are in [`crate::domain::crux`]).
//! The catalogue, the organizations and their membership are fixed for a store's life (Crux's
//! documented API changes only permission assignments), so they sit in plain maps read without
//! a lock. Each organization's users sit behind the organization's own `RwLock`, so a grant is
//! checked and applied as one step and organizations never contend. Tokens live in a `DashMap`
//! keyed by the token string, like Procore's bearer tokens.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dashmap::DashMap;
use foldhash::fast::RandomState;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which kind of Crux account an organization or a permission is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrgType {
    /// A retailer (buyer) account.
    Retailer,
    /// A supplier account.
    Supplier,
}

/// Which account types a permission is offered to (`visibility` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Visibility {
    /// Retailer accounts only.
    Retailer,
    /// Supplier accounts only.
    Supplier,
    /// Both kinds of account.
    Both,
}

impl Visibility {
    /// Whether an organization of `org_type` is offered a permission with this visibility.
    pub fn offered_to(self, org_type: OrgType) -> bool {
        matches!(
            (self, org_type),
            (Visibility::Both, _)
                | (Visibility::Retailer, OrgType::Retailer)
                | (Visibility::Supplier, OrgType::Supplier)
        )
    }
}

/// One permission of the catalogue, exactly the object Crux's pages show.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    /// What requests name the permission by.
    pub uuid: Uuid,
    /// Snake-case name (`view_org_users`); the rules check permissions by this name.
    pub name: String,
    /// Human-friendly name.
    pub display_name: String,
    /// What the permission allows.
    pub description: String,
    /// Which account types are offered it.
    pub visibility: Visibility,
    /// The group it is listed under (`ORGUSERS`).
    pub grouping: String,
}

/// A user's account status as Crux spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserStatus {
    /// Invited, not yet confirmed.
    #[serde(rename = "CONFIRMATION WAITING")]
    ConfirmationWaiting,
    /// A working account.
    #[serde(rename = "ACTIVE")]
    Active,
    /// Switched off: can no longer log in.
    #[serde(rename = "DEACTIVATED")]
    Deactivated,
}

/// The person behind an organization user.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// The person's own uuid (distinct from the organization user's).
    pub uuid: Uuid,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Email address.
    pub email: String,
    /// Phone number, if known.
    #[serde(default)]
    pub phone: Option<String>,
    /// Job title, if known.
    #[serde(default)]
    pub job_title: Option<String>,
}

/// A user of an organization and the permissions assigned to them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUser {
    /// The organization user's uuid: what the API's paths name.
    pub uuid: Uuid,
    /// Who they are.
    pub person: Person,
    /// Account status.
    pub status: UserStatus,
    /// The permissions assigned to them (a set: assigning twice is assigning once).
    #[serde(default)]
    pub permission_uuids: BTreeSet<Uuid>,
}

/// A Crux organization (one Crux account), fixed for the store's life apart from its users'
/// permission assignments.
#[derive(Debug)]
pub struct Organization {
    /// The organization's uuid (`org_uuid` in the login answer).
    pub uuid: Uuid,
    /// Display name.
    pub name: String,
    /// Retailer or supplier account.
    pub org_type: OrgType,
    /// The retailer's or supplier's own uuid (`retailer_uuid` or `supplier_uuid` at login).
    pub account_uuid: Uuid,
    users: RwLock<BTreeMap<Uuid, OrgUser>>,
}

impl Organization {
    /// An organization with `users`.
    pub fn new(
        uuid: Uuid,
        name: String,
        org_type: OrgType,
        account_uuid: Uuid,
        users: impl IntoIterator<Item = OrgUser>,
    ) -> Self {
        Self {
            uuid,
            name,
            org_type,
            account_uuid,
            users: RwLock::new(users.into_iter().map(|u| (u.uuid, u)).collect()),
        }
    }

    /// Shared access to the users (in uuid order), for reads.
    pub fn users(&self) -> RwLockReadGuard<'_, BTreeMap<Uuid, OrgUser>> {
        self.users.read()
    }

    /// Exclusive access to the users, for a check-and-change step.
    pub fn users_mut(&self) -> RwLockWriteGuard<'_, BTreeMap<Uuid, OrgUser>> {
        self.users.write()
    }
}

/// Login credentials of one organization user (Crux's "API user").
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiUser {
    /// What the login call's `username` must be.
    pub username: String,
    /// What the login call's `password` must be.
    pub password: String,
    /// The organization user they act as.
    pub user_uuid: Uuid,
}

/// An issued auth token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthToken {
    /// The token itself (`Authorization: Token <token>`).
    pub token: String,
    /// The API user who logged in (the journal names callers by it).
    pub username: String,
    /// The organization user it acts as.
    pub user_uuid: Uuid,
    /// Epoch seconds (mock clock) at which it stops working.
    pub expires_at: i64,
}

/// Everything Crux: catalogue, organizations, API users, tokens.
#[derive(Debug, Default)]
pub struct CruxStore {
    /// The catalogue in the order the API lists it.
    permissions: Vec<Permission>,
    /// uuid -> position in `permissions`.
    permission_index: HashMap<Uuid, usize, RandomState>,
    organizations: BTreeMap<Uuid, Organization>,
    /// user uuid -> organization uuid, so a token finds its organization without a scan.
    user_organizations: HashMap<Uuid, Uuid, RandomState>,
    /// username -> credentials.
    api_users: BTreeMap<String, ApiUser>,
    tokens: DashMap<String, AuthToken, RandomState>,
}

impl CruxStore {
    /// A store with this catalogue, these organizations and API users, and no tokens.
    pub fn new(
        permissions: Vec<Permission>,
        organizations: impl IntoIterator<Item = Organization>,
        api_users: impl IntoIterator<Item = ApiUser>,
    ) -> Self {
        let permission_index = permissions
            .iter()
            .enumerate()
            .map(|(i, p)| (p.uuid, i))
            .collect();
        let mut store = Self {
            permissions,
            permission_index,
            api_users: api_users
                .into_iter()
                .map(|u| (u.username.clone(), u))
                .collect(),
            ..Self::default()
        };
        for organization in organizations {
            for user in organization.users().keys() {
                store.user_organizations.insert(*user, organization.uuid);
            }
            store.organizations.insert(organization.uuid, organization);
        }
        store
    }

    /// The whole catalogue, in listing order.
    pub fn permissions(&self) -> &[Permission] {
        &self.permissions
    }

    /// The catalogue entries offered to organizations of `org_type`, in listing order.
    pub fn offered_permissions(&self, org_type: OrgType) -> impl Iterator<Item = &Permission> {
        self.permissions
            .iter()
            .filter(move |p| p.visibility.offered_to(org_type))
    }

    /// The catalogue entry with `uuid`.
    pub fn permission(&self, uuid: &Uuid) -> Option<&Permission> {
        self.permission_index
            .get(uuid)
            .map(|&index| &self.permissions[index])
    }

    /// All organizations in uuid order.
    pub fn organizations(&self) -> impl Iterator<Item = &Organization> {
        self.organizations.values()
    }

    /// The organization `user_uuid` belongs to.
    pub fn organization_of(&self, user_uuid: &Uuid) -> Option<&Organization> {
        self.organizations
            .get(self.user_organizations.get(user_uuid)?)
    }

    /// The API user with `username`.
    pub fn api_user(&self, username: &str) -> Option<&ApiUser> {
        self.api_users.get(username)
    }

    /// All API users in username order.
    pub fn api_users(&self) -> impl Iterator<Item = &ApiUser> {
        self.api_users.values()
    }

    /// The token record for `token`.
    pub fn token(&self, token: &str) -> Option<AuthToken> {
        self.tokens.get(token).map(|entry| entry.value().clone())
    }

    /// Keeps `token`, and forgets tokens dead at `now` so the map stays as small as the
    /// number of live logins.
    pub fn insert_token(&self, token: AuthToken, now: i64) {
        self.tokens.retain(|_, kept| now < kept.expires_at);
        self.tokens.insert(token.token.clone(), token);
    }

    /// Every token held, in token order (for saved states).
    pub fn tokens(&self) -> Vec<AuthToken> {
        let mut tokens: Vec<AuthToken> = self.tokens.iter().map(|e| e.value().clone()).collect();
        tokens.sort_by(|a, b| a.token.cmp(&b.token));
        tokens
    }
}

/// A fresh token: 40 lowercase hex digits, the shape of Crux's documented tokens.
pub fn new_token() -> String {
    let mut token = Uuid::new_v4().simple().to_string();
    token.push_str(&Uuid::new_v4().simple().to_string()[..8]);
    token
}
