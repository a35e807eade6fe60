//! Project membership rules: add, remove, create-in-project, project-level active flag.
//!
//! Membership is the only thing that gives a company user access to a project. Removing a member
//! keeps their directory record, and changing a member's template is a remove plus a re-add.

use chrono::{DateTime, Utc};

use super::changes::UserChanges;
use super::company_users;
use super::error::DomainError;
use crate::store::{Directory, Membership, User};

/// Adds an existing company user to a project. The user must be in the company directory (404);
/// the template, when given, must be a project template of the company usable on this project
/// (422); a user already on the project is refused (422). Without a template the user's
/// default project template applies when it fits the project, else none (no tool access).
pub fn add(
    directory: &mut Directory,
    project_id: u64,
    user_id: u64,
    permission_template_id: Option<u64>,
) -> Result<(), DomainError> {
    let user = directory.user(user_id).ok_or_else(|| {
        DomainError::NotFound(format!("User {user_id} is not in this company's directory"))
    })?;
    let default_template = user.default_permission_template_id;
    let project = directory
        .projects
        .get(&project_id)
        .ok_or_else(|| DomainError::not_found("Project", project_id))?;
    if project.members.contains_key(&user_id) {
        return Err(DomainError::invalid_field(
            "user_id",
            format!("{user_id} is already a member of project {project_id}"),
        ));
    }
    let fits = |id: u64| {
        directory
            .templates
            .get(&id)
            .is_some_and(|t| t.applies_to_project(project_id))
    };
    let template = match permission_template_id {
        Some(id) if !fits(id) => {
            return Err(DomainError::invalid_field(
                "permission_template_id",
                format!("{id} is not a project permission template of this company usable on project {project_id}"),
            ))
        }
        Some(id) => Some(id),
        None => default_template.filter(|&id| fits(id)),
    };
    if let Some(project) = directory.projects.get_mut(&project_id) {
        project.members.insert(
            user_id,
            Membership {
                user_id,
                permission_template_id: template,
                is_active: true,
            },
        );
    }
    Ok(())
}

/// Removes a user from a project; their directory record and project data stay.
pub fn remove(directory: &mut Directory, project_id: u64, user_id: u64) -> Result<(), DomainError> {
    let project = directory
        .projects
        .get_mut(&project_id)
        .ok_or_else(|| DomainError::not_found("Project", project_id))?;
    project
        .members
        .remove(&user_id)
        .map(|_| ())
        .ok_or_else(|| not_a_member(project_id, user_id))
}

/// Creates a new person in the company directory and puts them on the project in one step;
/// nothing is written (and no id taken from `new_id`) unless both parts succeed. Returns the
/// new user's id.
pub fn create_in_project(
    directory: &mut Directory,
    project_id: u64,
    new_id: impl FnOnce() -> u64,
    changes: &UserChanges,
    permission_template_id: Option<u64>,
    now: DateTime<Utc>,
) -> Result<u64, DomainError> {
    if !directory.projects.contains_key(&project_id) {
        return Err(DomainError::not_found("Project", project_id));
    }
    if let Some(id) = permission_template_id {
        if !directory
            .templates
            .get(&id)
            .is_some_and(|t| t.applies_to_project(project_id))
        {
            return Err(DomainError::invalid_field(
                "permission_template_id",
                format!("{id} is not a project permission template of this company usable on project {project_id}"),
            ));
        }
    }
    let new_user_id = company_users::create(directory, new_id, changes, now)?.id;
    // The user is new and the template was checked above, so adding cannot fail now.
    add(directory, project_id, new_user_id, permission_template_id)?;
    Ok(new_user_id)
}

/// Who a create-in-project request puts on the project.
#[derive(Clone, Debug)]
pub enum Joining {
    /// An existing company user (the `documented` profile's reading of a body with an `id`).
    Existing(u64),
    /// A new person, created in the company directory with these fields.
    New(UserChanges),
}

/// Puts `joining` on the project: [`add`] for an existing user, [`create_in_project`] with an
/// id from `new_id` for a new one. Returns the member's user id.
pub fn join(
    directory: &mut Directory,
    project_id: u64,
    joining: Joining,
    permission_template_id: Option<u64>,
    new_id: impl FnOnce() -> u64,
    now: DateTime<Utc>,
) -> Result<u64, DomainError> {
    match joining {
        Joining::Existing(user_id) => {
            add(directory, project_id, user_id, permission_template_id)?;
            Ok(user_id)
        }
        Joining::New(changes) => create_in_project(
            directory,
            project_id,
            new_id,
            &changes,
            permission_template_id,
            now,
        ),
    }
}

/// Sets a member's project-level active flag.
pub fn set_active(
    directory: &mut Directory,
    project_id: u64,
    user_id: u64,
    is_active: Option<bool>,
) -> Result<(), DomainError> {
    let project = directory
        .projects
        .get_mut(&project_id)
        .ok_or_else(|| DomainError::not_found("Project", project_id))?;
    let member = project
        .members
        .get_mut(&user_id)
        .ok_or_else(|| not_a_member(project_id, user_id))?;
    if let Some(active) = is_active {
        member.is_active = active;
    }
    Ok(())
}

/// Whether a member shows as active on a project: only while both their company record and
/// their membership are. This is what deactivating a company user does to their projects: the
/// memberships stay, and show as inactive until the user is reactivated.
pub fn member_is_active(user: &User, membership: &Membership) -> bool {
    user.is_active && membership.is_active
}

/// The member `user_id` of project `project_id`: the membership and the company record.
pub fn member(
    directory: &Directory,
    project_id: u64,
    user_id: u64,
) -> Result<(&User, &Membership), DomainError> {
    let project = directory
        .projects
        .get(&project_id)
        .ok_or_else(|| DomainError::not_found("Project", project_id))?;
    let membership = project
        .members
        .get(&user_id)
        .ok_or_else(|| not_a_member(project_id, user_id))?;
    let user = directory
        .user(user_id)
        .ok_or_else(|| DomainError::not_found("User", user_id))?;
    Ok((user, membership))
}

fn not_a_member(project_id: u64, user_id: u64) -> DomainError {
    DomainError::NotFound(format!(
        "User {user_id} is not a member of project {project_id}"
    ))
}
