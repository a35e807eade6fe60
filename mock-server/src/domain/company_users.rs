//! Company directory rules: create, update (v1.0 and v1.3), reactivate, delete.

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::changes::UserChanges;
use super::error::{field_error, DomainError};
use super::validation::{validate_location, validate_user};
use crate::store::directory::{Avatar, UniquenessConflict};
use crate::store::{Directory, User};

/// Creates a company user. `last_name` and `email_address` must be present (missing otherwise),
/// valid (invalid), and the email and origin id unused in the company (conflict). The new user
/// is on no project: directory membership grants no project access.
///
/// `new_id` is called only once the record is known to be accepted, so a refused create
/// (conflict, invalid) takes no id and the ids of later creates stay consecutive.
pub fn create<'d>(
    directory: &'d mut Directory,
    new_id: impl FnOnce() -> u64,
    changes: &UserChanges,
    now: DateTime<Utc>,
) -> Result<&'d User, DomainError> {
    let last_name = changes
        .last_name
        .clone()
        .ok_or(DomainError::Missing { field: "last_name" })?;
    let email_address = changes.email_address.clone().ok_or(DomainError::Missing {
        field: "email_address",
    })?;
    // Checked under a placeholder id no stored user has (ids start at 1).
    let mut user = User::new(0, last_name, email_address, now);
    changes.apply_to(&mut user);
    check(directory, &user)?;
    user.id = new_id();
    store_checked(directory, user)
}

/// Applies a partial update: only the supplied fields change. Deactivating (`is_active: false`)
/// changes only the flag: the user keeps every project membership, and shows as inactive on
/// those projects through [`member_is_active`](super::project_users::member_is_active).
pub fn update<'d>(
    directory: &'d mut Directory,
    id: u64,
    changes: &UserChanges,
    now: DateTime<Utc>,
) -> Result<&'d User, DomainError> {
    let mut user = directory
        .user(id)
        .cloned()
        .ok_or_else(|| DomainError::not_found("User", id))?;
    changes.apply_to(&mut user);
    user.updated_at = now;
    store_checked(directory, user)
}

/// Reactivates a deactivated user (their memberships were kept, so their project access comes
/// back as it was). An active or unknown user is not found among the inactive ones.
pub fn reactivate(
    directory: &mut Directory,
    id: u64,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if directory.user(id).is_none_or(|user| user.is_active) {
        return Err(DomainError::NotFound(format!(
            "User {id} is not an inactive user of this company"
        )));
    }
    let changes = UserChanges {
        is_active: Some(true),
        ..UserChanges::default()
    };
    update(directory, id, &changes, now).map(|_| ())
}

/// Deletes a company user, refused while they have associated records such as RFIs. Deletion,
/// unlike deactivation, also removes the user's project memberships and avatar.
pub fn delete(directory: &mut Directory, id: u64) -> Result<User, DomainError> {
    let user = directory
        .user(id)
        .ok_or_else(|| DomainError::not_found("User", id))?;
    if !user.associated_records.is_empty() {
        let records: Vec<String> = user
            .associated_records
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        return Err(DomainError::Refused {
            message: format!(
                "User {id} has associated records ({}) and cannot be deleted; deactivate the user instead",
                records.join(", ")
            ),
            errors: field_error("base", "has associated records"),
        });
    }
    directory
        .remove_user(id)
        .ok_or_else(|| DomainError::not_found("User", id))
}

/// The fields a v1.3 update must carry whatever it changes.
pub const V13_REQUIRED_FIELDS: [&str; 2] = ["last_name", "email_address"];

/// A v1.3 update must name every field of [`V13_REQUIRED_FIELDS`]; `sent` says whether the
/// request names a field. Checked before the fields are read, as Procore does.
pub fn check_v13_required(sent: impl Fn(&str) -> bool) -> Result<(), DomainError> {
    match V13_REQUIRED_FIELDS.into_iter().find(|field| !sent(field)) {
        Some(field) => Err(DomainError::Missing { field }),
        None => Ok(()),
    }
}

/// An image uploaded with a v1.3 update.
#[derive(Clone, Copy, Debug)]
pub struct AvatarUpload<'a> {
    /// The content type the client sent; must be an `image/*` type.
    pub content_type: &'a str,
    /// The image.
    pub bytes: &'a Bytes,
}

/// A v1.3 update beyond its field changes.
#[derive(Clone, Copy, Debug)]
pub struct V13Update<'a> {
    /// The field changes.
    pub changes: &'a UserChanges,
    /// The user the caller's token speaks for: privileged fields need them to be a Directory
    /// Admin of this company.
    pub caller_id: u64,
    /// An avatar image, when the body carried one.
    pub avatar: Option<AvatarUpload<'a>>,
    /// The largest avatar accepted, in bytes.
    pub max_avatar_bytes: usize,
    /// Where the user's avatars are served; each upload's version is appended to it.
    pub avatar_url: &'a str,
}

/// Applies a v1.3 update: the avatar must be an image within the size limit; privileged fields
/// (see [`privileged_change`]) need a Directory Admin; country and state must be ISO-3166;
/// then the update applies as [`update`] does and the avatar, if any, is stored under a new
/// version from `new_version`.
pub fn update_v13(
    directory: &mut Directory,
    id: u64,
    update_request: V13Update<'_>,
    now: DateTime<Utc>,
    new_version: impl FnOnce() -> u64,
) -> Result<(), DomainError> {
    let V13Update {
        changes,
        caller_id,
        avatar,
        max_avatar_bytes,
        avatar_url,
    } = update_request;
    if avatar.is_some_and(|file| file.bytes.len() > max_avatar_bytes) {
        return Err(DomainError::TooLarge {
            limit: max_avatar_bytes,
        });
    }
    if let Some(file) = avatar.filter(|file| !file.content_type.starts_with("image/")) {
        return Err(DomainError::invalid_field(
            "avatar",
            format!("must be an image, got {}", file.content_type),
        ));
    }
    let current = directory
        .user(id)
        .ok_or_else(|| DomainError::not_found("User", id))?;
    let caller_is_admin = directory
        .user(caller_id)
        .is_some_and(|user| user.directory_admin);
    if !caller_is_admin {
        if let Some(field) = privileged_change(changes, current) {
            return Err(DomainError::Forbidden(format!(
                "Changing {field} requires Admin permissions on the company Directory tool"
            )));
        }
    }
    let country = changes
        .text("country_code")
        .unwrap_or_else(|| current.country_code.clone());
    let state = changes
        .text("state_code")
        .unwrap_or_else(|| current.state_code.clone());
    let errors = validate_location(country.as_deref(), state.as_deref());
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    update(directory, id, changes, now)?;
    if let Some(file) = avatar {
        let version = new_version();
        directory.avatars.insert(
            id,
            Avatar {
                content_type: file.content_type.to_owned(),
                bytes: file.bytes.clone(),
                version,
            },
        );
        if let Some(mut user) = directory.user(id).cloned() {
            user.avatar = Some(format!("{avatar_url}/{version}"));
            // Only the avatar changed since the checks above: nothing can clash.
            let _ = directory.put_user(user);
        }
    }
    Ok(())
}

/// The first field only a Directory Admin may change that this update changes, if any: the
/// email address (compared case-insensitively), either permission template, and
/// `add_to_new_projects` (whenever it is sent, changed or not).
pub fn privileged_change(changes: &UserChanges, current: &User) -> Option<&'static str> {
    let email_changes = changes
        .email_address
        .as_deref()
        .is_some_and(|email| !email.trim().eq_ignore_ascii_case(&current.email_address));
    if email_changes {
        return Some("email_address");
    }
    if changes
        .default_permission_template_id
        .is_some_and(|t| t != current.default_permission_template_id)
    {
        return Some("default_permission_template_id");
    }
    if changes
        .company_permission_template_id
        .is_some_and(|t| t != current.company_permission_template_id)
    {
        return Some("company_permission_template_id");
    }
    changes
        .add_to_new_projects
        .is_some()
        .then_some("add_to_new_projects")
}

/// Validates a finished record (invalid), then stores it unless it clashes (conflict).
fn store_checked(directory: &mut Directory, user: User) -> Result<&User, DomainError> {
    check(directory, &user)?;
    let email = user.email_address.clone();
    let origin = user.origin_id.clone();
    directory
        .put_user(user)
        .map_err(|conflict| conflict_error(conflict, &email, origin.as_deref()))
}

/// Whether `user` may be stored: valid (else invalid) and clashing with no other user (else
/// conflict).
fn check(directory: &Directory, user: &User) -> Result<(), DomainError> {
    let errors = validate_user(user, directory);
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    directory.check_unique(user).map_err(|conflict| {
        conflict_error(conflict, &user.email_address, user.origin_id.as_deref())
    })
}

fn conflict_error(conflict: UniquenessConflict, email: &str, origin: Option<&str>) -> DomainError {
    match conflict {
        UniquenessConflict::Email => DomainError::Conflict {
            message: format!("A user with email address {email} already exists in this company"),
            errors: field_error("email_address", "has already been taken"),
        },
        UniquenessConflict::OriginId => DomainError::Conflict {
            message: format!(
                "A user with origin_id {} already exists in this company",
                origin.unwrap_or_default()
            ),
            errors: field_error("origin_id", "has already been taken"),
        },
    }
}
