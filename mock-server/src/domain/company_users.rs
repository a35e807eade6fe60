//! Company directory rules: create, update, delete.

use chrono::{DateTime, Utc};

use super::changes::UserChanges;
use super::validation::validate_user;
use crate::error::{field_error, ApiError};
use crate::store::directory::UniquenessConflict;
use crate::store::{Directory, User};

/// Creates a company user. `last_name` and `email_address` must be present (400 otherwise),
/// valid (422), and the email and origin id unused in the company (409). The new user is on no
/// project: directory membership grants no project access.
///
/// `new_id` is called only once the record is known to be accepted, so a refused create (409,
/// 422) takes no id and the ids of later creates stay consecutive.
pub fn create<'d>(
    directory: &'d mut Directory,
    new_id: impl FnOnce() -> u64,
    changes: &UserChanges,
    now: DateTime<Utc>,
) -> Result<&'d User, ApiError> {
    let last_name = changes
        .last_name
        .clone()
        .ok_or_else(|| ApiError::bad_field("last_name", "is missing"))?;
    let email_address = changes
        .email_address
        .clone()
        .ok_or_else(|| ApiError::bad_field("email_address", "is missing"))?;
    // Checked under a placeholder id no stored user has (ids start at 1).
    let mut user = User::new(0, last_name, email_address, now);
    changes.apply_to(&mut user);
    check(directory, &user)?;
    user.id = new_id();
    store_checked(directory, user)
}

/// Applies a partial update: only the supplied fields change. `is_active: false` deactivates
/// the user but keeps every project membership.
pub fn update<'d>(
    directory: &'d mut Directory,
    id: u64,
    changes: &UserChanges,
    now: DateTime<Utc>,
) -> Result<&'d User, ApiError> {
    let mut user = directory
        .user(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("User", id))?;
    changes.apply_to(&mut user);
    user.updated_at = now;
    store_checked(directory, user)
}

/// Deletes a company user, refused (422) while they have associated records such as RFIs.
pub fn delete(directory: &mut Directory, id: u64) -> Result<User, ApiError> {
    let user = directory
        .user(id)
        .ok_or_else(|| ApiError::not_found("User", id))?;
    if !user.associated_records.is_empty() {
        let records: Vec<String> = user
            .associated_records
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        return Err(ApiError::Unprocessable {
            message: format!(
                "User {id} has associated records ({}) and cannot be deleted; deactivate the user instead",
                records.join(", ")
            ),
            errors: field_error("base", "has associated records"),
        });
    }
    directory
        .remove_user(id)
        .ok_or_else(|| ApiError::not_found("User", id))
}

/// Validates a finished record (422), then stores it unless it clashes (409).
fn store_checked(directory: &mut Directory, user: User) -> Result<&User, ApiError> {
    check(directory, &user)?;
    let email = user.email_address.clone();
    let origin = user.origin_id.clone();
    directory
        .put_user(user)
        .map_err(|conflict| conflict_error(conflict, &email, origin.as_deref()))
}

/// Whether `user` may be stored: valid (else 422) and clashing with no other user (else 409).
fn check(directory: &Directory, user: &User) -> Result<(), ApiError> {
    let errors = validate_user(user, directory);
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    directory.check_unique(user).map_err(|conflict| {
        conflict_error(conflict, &user.email_address, user.origin_id.as_deref())
    })
}

fn conflict_error(conflict: UniquenessConflict, email: &str, origin: Option<&str>) -> ApiError {
    match conflict {
        UniquenessConflict::Email => ApiError::Conflict {
            message: format!("A user with email address {email} already exists in this company"),
            errors: field_error("email_address", "has already been taken"),
        },
        UniquenessConflict::OriginId => ApiError::Conflict {
            message: format!(
                "A user with origin_id {} already exists in this company",
                origin.unwrap_or_default()
            ),
            errors: field_error("origin_id", "has already been taken"),
        },
    }
}
