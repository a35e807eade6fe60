//! One company's data: its directory of users, vendors, permission templates and projects.
//!
//! A [`Directory`] sits behind its company's own lock (see [`super::Company`]), so everything in
//! it can be checked and changed together: a uniqueness check and the insert it guards happen
//! under one write lock, which is what keeps concurrent creates from breaking uniqueness.
//! Collections are `BTreeMap`s keyed by id so that listing in id order is a plain walk, never a
//! sort per request.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::user::{email_key, User};

/// A company in Procore's directory that people can work for (a subcontractor, a supplier...).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vendor {
    /// Vendor id; unique across the server.
    pub id: u64,
    /// Display name, also matched by directory search.
    pub name: String,
    /// Whether the vendor is active in the directory.
    #[serde(default = "default_true")]
    pub is_active: bool,
}

/// What a permission template governs, as Procore's `type` field names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// Company-level tools; assignable as a user's `company_permission_template_id`.
    CompanyTools,
    /// Project-level tools; used when adding a user to a project.
    ProjectTools,
    /// Procore's built-in templates, usable on every project.
    Global,
}

/// A named set of permissions.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionTemplate {
    /// Template id; unique across the server.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Whether the template belongs to one project only (then `project_id` names it).
    #[serde(default)]
    pub project_specific: bool,
    /// Company tools, project tools or global.
    #[serde(rename = "type")]
    pub kind: TemplateKind,
    /// Free-text grouping shown in Procore's UI.
    #[serde(default)]
    pub category: Option<String>,
    /// The one project a project-specific template belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<u64>,
}

impl TemplateKind {
    /// The kind's name in fixtures, and the value of the `filters[type]` query that selects it
    /// (`global` there selects the templates whose [`PermissionTemplate::wire_type`] is
    /// `global`).
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::CompanyTools => "company_tools",
            TemplateKind::ProjectTools => "project_tools",
            TemplateKind::Global => "global",
        }
    }
}

impl PermissionTemplate {
    /// The `type` Procore's responses give: `company_tools`, `project_specific` (a project
    /// template of one project) or `global` (a project template of every project). Procore's
    /// response enum has no `project_tools`; that is a value of the `filters[type]` query.
    pub fn wire_type(&self) -> &'static str {
        match self.kind {
            TemplateKind::CompanyTools => "company_tools",
            TemplateKind::ProjectTools if self.project_specific => "project_specific",
            TemplateKind::ProjectTools | TemplateKind::Global => "global",
        }
    }

    /// Whether a user can be added to `project_id` with this template.
    pub fn applies_to_project(&self, project_id: u64) -> bool {
        match self.kind {
            TemplateKind::CompanyTools => false,
            TemplateKind::Global => true,
            TemplateKind::ProjectTools => {
                !self.project_specific || self.project_id == Some(project_id)
            }
        }
    }

    /// Whether the template can be a user's default project template (any project).
    pub fn is_default_project_template(&self) -> bool {
        matches!(self.kind, TemplateKind::ProjectTools | TemplateKind::Global)
            && !self.project_specific
    }
}

/// A person's place on a project's team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// The company user who is a member.
    pub user_id: u64,
    /// The project permission template they were added with; `None` means no tool access.
    #[serde(default)]
    pub permission_template_id: Option<u64>,
    /// Project-level active flag (Update Project User's `is_active`).
    #[serde(default = "default_true")]
    pub is_active: bool,
}

/// A project and its team.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Project id; unique across the server.
    pub id: u64,
    /// Project name.
    pub name: String,
    /// Name as Procore displays it (usually number and name); defaults to `name`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The company's own project number.
    #[serde(default)]
    pub project_number: Option<String>,
    /// Whether the project is active.
    #[serde(default = "default_true")]
    pub active: bool,
    /// The team, keyed by user id; a user is on a project only once.
    #[serde(default, with = "members_as_list")]
    pub members: BTreeMap<u64, Membership>,
}

/// An uploaded avatar image, kept in memory with the company it belongs to.
#[derive(Clone, Debug)]
pub struct Avatar {
    /// The content type the client sent.
    pub content_type: String,
    /// The image, byte for byte.
    pub bytes: bytes::Bytes,
    /// Changes with every upload, so each upload gets a URL of its own.
    pub version: u64,
}

/// The mutable contents of one company.
#[derive(Debug, Default)]
pub struct Directory {
    users: BTreeMap<u64, User>,
    /// Lower-cased email -> user id, over active and inactive users alike.
    emails: HashMap<String, u64>,
    /// origin_id -> user id, for the users that have one.
    origin_ids: HashMap<String, u64>,
    /// Vendors by id.
    pub vendors: BTreeMap<u64, Vendor>,
    /// Permission templates by id.
    pub templates: BTreeMap<u64, PermissionTemplate>,
    /// Projects by id.
    pub projects: BTreeMap<u64, Project>,
    /// Uploaded avatars by user id (not part of fixtures or saved states).
    pub avatars: HashMap<u64, Avatar>,
}

/// Why a user record could not be stored.
#[derive(Debug, PartialEq, Eq)]
pub enum UniquenessConflict {
    /// Another user in the company has this email address.
    Email,
    /// Another user in the company has this origin id.
    OriginId,
}

impl Directory {
    /// All users, active and inactive, in id order.
    pub fn users(&self) -> impl DoubleEndedIterator<Item = &User> {
        self.users.values()
    }

    /// The user with `id`.
    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.get(&id)
    }

    /// The user whose email is `email` (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.emails
            .get(&email_key(email))
            .and_then(|id| self.users.get(id))
    }

    /// The user whose origin id is `origin_id`.
    pub fn user_by_origin_id(&self, origin_id: &str) -> Option<&User> {
        self.origin_ids
            .get(origin_id)
            .and_then(|id| self.users.get(id))
    }

    /// Checks that `user` could be stored without clashing with another user's email or origin id.
    pub fn check_unique(&self, user: &User) -> Result<(), UniquenessConflict> {
        if self
            .emails
            .get(&user.email_key())
            .is_some_and(|&id| id != user.id)
        {
            return Err(UniquenessConflict::Email);
        }
        if let Some(origin) = &user.origin_id {
            if self.origin_ids.get(origin).is_some_and(|&id| id != user.id) {
                return Err(UniquenessConflict::OriginId);
            }
        }
        Ok(())
    }

    /// Inserts or replaces a user, keeping the email and origin-id indexes in step.
    pub fn put_user(&mut self, user: User) -> Result<&User, UniquenessConflict> {
        self.check_unique(&user)?;
        if let Some(old) = self.users.get(&user.id) {
            self.emails.remove(&old.email_key());
            if let Some(origin) = &old.origin_id {
                self.origin_ids.remove(origin);
            }
        }
        self.emails.insert(user.email_key(), user.id);
        if let Some(origin) = &user.origin_id {
            self.origin_ids.insert(origin.clone(), user.id);
        }
        let id = user.id;
        self.users.insert(id, user);
        Ok(&self.users[&id])
    }

    /// Removes a user and their project memberships.
    pub fn remove_user(&mut self, id: u64) -> Option<User> {
        let user = self.users.remove(&id)?;
        self.emails.remove(&user.email_key());
        if let Some(origin) = &user.origin_id {
            self.origin_ids.remove(origin);
        }
        for project in self.projects.values_mut() {
            project.members.remove(&id);
        }
        self.avatars.remove(&id);
        Some(user)
    }

    /// Stamps a user's last login (token issued on their behalf).
    pub fn record_login(&mut self, id: u64, at: DateTime<Utc>) {
        if let Some(user) = self.users.get_mut(&id) {
            user.last_login_at = Some(at);
        }
    }
}

fn default_true() -> bool {
    true
}

/// Members are a list on the wire (fixtures) and a map keyed by user id in memory.
mod members_as_list {
    use std::collections::BTreeMap;

    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

    use super::Membership;

    pub fn serialize<S: Serializer>(
        members: &BTreeMap<u64, Membership>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let list: Vec<&Membership> = members.values().collect();
        list.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<u64, Membership>, D::Error> {
        let list = Vec::<Membership>::deserialize(deserializer)?;
        let mut members = BTreeMap::new();
        for member in list {
            let user_id = member.user_id;
            if members.insert(user_id, member).is_some() {
                return Err(D::Error::custom(format!(
                    "user {user_id} is listed twice as a member"
                )));
            }
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_kind_names_are_the_fixture_names() {
        for kind in [
            TemplateKind::CompanyTools,
            TemplateKind::ProjectTools,
            TemplateKind::Global,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
