//! Crux Connect's rules for organization users and their permissions, as plain functions over
//! the [`CruxStore`]. None of Procore's rules apply here, and nothing here knows about HTTP:
//! failures are [`CruxError`]s, which `routes::crux` answers in Crux's error shape.
//!
//! The rules, from Crux's organization pages:
//! - a login with a known username and password yields a token that works for two hours;
//! - reading users or permissions needs `view_org_users`, changing them `edit_org_users`
//!   (checked against the caller's permissions *now*, so a revoke takes effect at once);
//! - a user outside the caller's organization does not exist for them (404);
//! - a permission uuid that is malformed, or names no permission offered to the caller's kind
//!   of organization, is refused (400) naming it, and nothing is changed.
//!
//! Where the pages are silent the rules are idempotent: adding a permission the user already
//! has, or removing one they do not have, succeeds and changes nothing (`docs/divergences.md`).

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::store::crux::{new_token, AuthToken, CruxStore, OrgUser, Organization, UserStatus};

/// How long a token works after login: "authentication tokens expire after two hours of being
/// issued" (Crux's Retrieve Auth Token page).
pub const TOKEN_LIFETIME_SECS: i64 = 2 * 60 * 60;

/// The permission that reads organization users and permissions.
pub const VIEW_ORG_USERS: &str = "view_org_users";
/// The permission that changes organization users' permissions.
pub const EDIT_ORG_USERS: &str = "edit_org_users";

/// Why a Crux request is refused. The messages are what Crux (a Django REST framework service)
/// answers with.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CruxError {
    /// 401: unknown username or wrong password.
    #[error("Invalid username/password.")]
    BadCredentials,
    /// 401: the token was never issued (or the state was replaced since).
    #[error("Invalid token.")]
    InvalidToken,
    /// 401: the token is past its two hours.
    #[error("Token has expired.")]
    TokenExpired,
    /// 401: the user behind the credentials is deactivated.
    #[error("User inactive or deleted.")]
    InactiveUser,
    /// 403: the caller lacks the permission the call needs.
    #[error("You do not have permission to perform this action.")]
    PermissionDenied,
    /// 404: no such user in the caller's organization.
    #[error("Not found.")]
    UserNotFound,
    /// 400: permission uuids that are malformed or unknown, one message per uuid, naming it.
    #[error("{}", .0.join(" "))]
    InvalidPermissionUuids(Vec<String>),
}

/// Who is calling, resolved from a live token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The API user who logged in.
    pub username: String,
    /// The organization user they act as.
    pub user_uuid: Uuid,
    /// Their organization.
    pub org_uuid: Uuid,
}

/// A successful login: the token and who it acts as.
#[derive(Clone, Debug)]
pub struct Login {
    /// The new token.
    pub token: String,
    /// Who it acts as.
    pub actor: Actor,
}

/// Checks `username` and `password` and issues a token valid for [`TOKEN_LIFETIME_SECS`] from
/// `now` (epoch seconds). A deactivated user cannot log in.
pub fn login(
    store: &CruxStore,
    username: &str,
    password: &str,
    now: i64,
) -> Result<Login, CruxError> {
    let api_user = store
        .api_user(username)
        .filter(|user| user.password == password)
        .ok_or(CruxError::BadCredentials)?;
    let actor = actor_for(store, &api_user.username, api_user.user_uuid)?;
    let token = new_token();
    store.insert_token(
        AuthToken {
            token: token.clone(),
            username: actor.username.clone(),
            user_uuid: actor.user_uuid,
            expires_at: now + TOKEN_LIFETIME_SECS,
        },
        now,
    );
    Ok(Login { token, actor })
}

/// The caller behind `token` at `now` (epoch seconds): it must have been issued, be under two
/// hours old, and act as a user who is not deactivated.
pub fn authenticate(store: &CruxStore, token: &str, now: i64) -> Result<Actor, CruxError> {
    let record = store.token(token).ok_or(CruxError::InvalidToken)?;
    if now >= record.expires_at {
        return Err(CruxError::TokenExpired);
    }
    actor_for(store, &record.username, record.user_uuid)
}

fn actor_for(store: &CruxStore, username: &str, user_uuid: Uuid) -> Result<Actor, CruxError> {
    let organization = store
        .organization_of(&user_uuid)
        .ok_or(CruxError::InvalidToken)?;
    let active = organization
        .users()
        .get(&user_uuid)
        .is_some_and(|user| user.status != UserStatus::Deactivated);
    if !active {
        return Err(CruxError::InactiveUser);
    }
    Ok(Actor {
        username: username.to_owned(),
        user_uuid,
        org_uuid: organization.uuid,
    })
}

/// The caller's organization, once they are shown to hold the permission named `needed`.
pub fn authorize<'s>(
    store: &'s CruxStore,
    actor: &Actor,
    needed: &str,
) -> Result<&'s Organization, CruxError> {
    let organization = store
        .organization_of(&actor.user_uuid)
        .ok_or(CruxError::InvalidToken)?;
    let holds = organization
        .users()
        .get(&actor.user_uuid)
        .is_some_and(|user| {
            user.permission_uuids
                .iter()
                .any(|uuid| store.permission(uuid).is_some_and(|p| p.name == needed))
        });
    if holds {
        Ok(organization)
    } else {
        Err(CruxError::PermissionDenied)
    }
}

/// Which way a permission change goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `PATCH`: add the permissions.
    Grant,
    /// `DELETE`: remove the permissions.
    Revoke,
}

/// Grants or revokes `permission_uuids` (as sent) for `user_uuid` of `organization`, and
/// returns the user as they are afterwards. Every uuid is checked first; any malformed or
/// unknown one refuses the whole request (400) and changes nothing.
pub fn change_permissions(
    store: &CruxStore,
    organization: &Organization,
    user_uuid: &Uuid,
    permission_uuids: &[String],
    change: Change,
) -> Result<OrgUser, CruxError> {
    if !organization.users().contains_key(user_uuid) {
        return Err(CruxError::UserNotFound);
    }
    let wanted = offered_uuids(store, organization, permission_uuids)?;
    let mut users = organization.users_mut();
    let user = users.get_mut(user_uuid).ok_or(CruxError::UserNotFound)?;
    match change {
        Change::Grant => user.permission_uuids.extend(wanted),
        Change::Revoke => user.permission_uuids.retain(|p| !wanted.contains(p)),
    }
    Ok(user.clone())
}

/// Parses each raw uuid and checks it names a permission offered to `organization`,
/// collecting one message per bad value.
fn offered_uuids(
    store: &CruxStore,
    organization: &Organization,
    raw: &[String],
) -> Result<BTreeSet<Uuid>, CruxError> {
    let mut problems = Vec::new();
    let mut uuids = BTreeSet::new();
    for value in raw {
        match Uuid::try_parse(value) {
            Err(_) => problems.push(format!("\"{value}\" is not a valid UUID.")),
            Ok(uuid) => match store.permission(&uuid) {
                Some(p) if p.visibility.offered_to(organization.org_type) => {
                    uuids.insert(uuid);
                }
                _ => problems.push(format!("Invalid pk \"{value}\" - object does not exist.")),
            },
        }
    }
    if problems.is_empty() {
        Ok(uuids)
    } else {
        Err(CruxError::InvalidPermissionUuids(problems))
    }
}

/// The user of `organization` whose uuid is `user_uuid` as it appears in a path. A malformed
/// uuid matches no user (404), as Crux's `<uuid:...>` URL patterns match no path.
pub fn user(organization: &Organization, user_uuid: &str) -> Result<OrgUser, CruxError> {
    let uuid = Uuid::try_parse(user_uuid).map_err(|_| CruxError::UserNotFound)?;
    organization
        .users()
        .get(&uuid)
        .cloned()
        .ok_or(CruxError::UserNotFound)
}
