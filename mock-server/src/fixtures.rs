//! Seed data: the fixture file format, its validation, and the built-in default data.
//!
//! A fixture is the whole starting state of a server as JSON. It is validated in full before a
//! server starts with it; a problem is reported with the JSON path it was found at, so a user
//! editing their own file knows exactly what to fix. The built-in default data is
//! `scenarios/fixtures/default.json`, compiled in, so the file and the default cannot drift.

pub mod crux;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::directory::Directory;
use crate::store::oauth::Credentials;
use crate::store::user::email_key;
use crate::store::{
    Company, CompanyWebhooks, OAuthApp, PermissionTemplate, Project, Store, User, Vendor,
};

/// The built-in default data, as shipped in `scenarios/fixtures/default.json`.
pub const DEFAULT_FIXTURE_JSON: &str = include_str!("../../scenarios/fixtures/default.json");

/// The lowest id handed out to records created at run time.
pub const FIRST_RUNTIME_ID: u64 = 10_001;

/// The largest id a fixture or saved state may hold (or name as `next_id`): 2^53 - 1, the
/// largest integer JavaScript clients read exactly. Capping ids here leaves the 64-bit counter
/// room for more creates than any test makes, so it can never wrap and hand out an id again.
pub const MAX_ID: u64 = (1 << 53) - 1;

/// A server's starting state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Free text for humans reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Companies and everything inside them.
    pub companies: Vec<CompanyFixture>,
    /// OAuth applications and where they are installed.
    pub oauth_apps: Vec<OAuthApp>,
    /// Live tokens and codes (present in saved states, rarely in hand-written fixtures).
    #[serde(default, skip_serializing_if = "Credentials::is_empty")]
    pub credentials: Credentials,
    /// The next id the server hands out (saved states keep it so ids are never reused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_id: Option<u64>,
    /// Crux Connect's organizations, users, permissions and API users.
    #[serde(default, skip_serializing_if = "crux::CruxFixture::is_empty")]
    pub crux: crux::CruxFixture,
}

/// One company and its contents.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyFixture {
    /// Company id.
    pub id: u64,
    /// Company name.
    pub name: String,
    /// Whether the company account is active.
    #[serde(default = "default_true")]
    pub is_active: bool,
    /// Vendors in the company's directory.
    #[serde(default)]
    pub vendors: Vec<Vendor>,
    /// Company, project and global permission templates.
    #[serde(default)]
    pub permission_templates: Vec<PermissionTemplate>,
    /// Company users, active and inactive.
    #[serde(default)]
    pub users: Vec<User>,
    /// Projects with their members.
    #[serde(default)]
    pub projects: Vec<Project>,
    /// Webhook hooks with their triggers, waiting events and delivery logs.
    #[serde(default, skip_serializing_if = "CompanyWebhooks::is_unused")]
    pub webhooks: CompanyWebhooks,
}

fn default_true() -> bool {
    true
}

/// A fixture that cannot be loaded, with the JSON path of the problem.
#[derive(Debug, thiserror::Error)]
#[error("invalid fixture at `{path}`: {problem}")]
pub struct FixtureError {
    /// Where in the document the problem is (`companies[0].users[2].email_address`).
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

impl FixtureError {
    fn at(path: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

impl Fixture {
    /// The built-in default data as a JSON document (the shipped
    /// `scenarios/fixtures/default.json`), to derive other fixtures from.
    pub const DEFAULT_JSON: &'static str = DEFAULT_FIXTURE_JSON;

    /// The built-in default data.
    pub fn default_data() -> Self {
        Self::from_json(DEFAULT_FIXTURE_JSON).expect("the built-in default fixture is valid")
    }

    /// Parses and validates a fixture document.
    pub fn from_json(text: &str) -> Result<Self, FixtureError> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let fixture: Fixture = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            FixtureError::at(path, err.into_inner().to_string())
        })?;
        fixture.validate()?;
        Ok(fixture)
    }

    /// Reads, parses and validates a fixture file.
    pub fn from_path(path: &Path) -> Result<Self, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            FixtureError::at(".", format!("cannot read {}: {err}", path.display()))
        })?;
        Self::from_json(&text)
    }

    /// The largest id used anywhere, so new ids can start above it.
    pub fn highest_id(&self) -> u64 {
        let mut highest = 0;
        for company in &self.companies {
            highest = highest.max(company.id);
            let ids = company.vendors.iter().map(|v| v.id);
            let ids = ids.chain(company.permission_templates.iter().map(|t| t.id));
            let ids = ids.chain(company.users.iter().map(|u| u.id));
            let ids = ids.chain(company.projects.iter().map(|p| p.id));
            highest = ids
                .fold(highest, u64::max)
                .max(company.webhooks.highest_id());
        }
        highest
    }

    /// Checks every cross-reference and uniqueness rule, reporting the first problem by path.
    pub fn validate(&self) -> Result<(), FixtureError> {
        let mut ids = HashSet::new();
        if let Some(next_id) = self.next_id.filter(|&next| next > MAX_ID) {
            return Err(FixtureError::at(
                "next_id",
                format!("{next_id} is larger than the largest id, {MAX_ID}"),
            ));
        }
        let mut unique_id = |id: u64, path: String| {
            if id > MAX_ID {
                Err(FixtureError::at(
                    path,
                    format!("id {id} is larger than the largest id, {MAX_ID}"),
                ))
            } else if ids.insert(id) {
                Ok(())
            } else {
                Err(FixtureError::at(
                    path,
                    format!("id {id} is used more than once"),
                ))
            }
        };
        let mut user_company = HashMap::new();
        for (ci, company) in self.companies.iter().enumerate() {
            let at = format!("companies[{ci}]");
            unique_id(company.id, format!("{at}.id"))?;
            for (i, vendor) in company.vendors.iter().enumerate() {
                unique_id(vendor.id, format!("{at}.vendors[{i}].id"))?;
            }
            for (i, template) in company.permission_templates.iter().enumerate() {
                unique_id(template.id, format!("{at}.permission_templates[{i}].id"))?;
            }
            for (i, project) in company.projects.iter().enumerate() {
                unique_id(project.id, format!("{at}.projects[{i}].id"))?;
            }
            for (i, user) in company.users.iter().enumerate() {
                unique_id(user.id, format!("{at}.users[{i}].id"))?;
                user_company.insert(user.id, company.id);
            }
            for (i, hook) in company.webhooks.hooks.values().enumerate() {
                unique_id(hook.id, format!("{at}.webhooks.hooks[{i}].id"))?;
                for (t, trigger) in hook.triggers.iter().enumerate() {
                    let path = format!("{at}.webhooks.hooks[{i}].triggers[{t}].id");
                    unique_id(trigger.id, path)?;
                }
            }
            company.validate_references(&at)?;
        }
        let mut client_ids = HashSet::new();
        for (ai, app) in self.oauth_apps.iter().enumerate() {
            let at = format!("oauth_apps[{ai}]");
            if !client_ids.insert(app.client_id.as_str()) {
                return Err(FixtureError::at(
                    format!("{at}.client_id"),
                    format!("client id `{}` is used more than once", app.client_id),
                ));
            }
            if app.scopes.is_empty() {
                return Err(FixtureError::at(
                    format!("{at}.scopes"),
                    "an app needs at least one scope",
                ));
            }
            for (i, company_id) in app.installed_company_ids.iter().enumerate() {
                if !self.companies.iter().any(|c| c.id == *company_id) {
                    return Err(FixtureError::at(
                        format!("{at}.installed_company_ids[{i}]"),
                        format!("no company has id {company_id}"),
                    ));
                }
            }
            match user_company.get(&app.service_account_user_id) {
                Some(company_id) if app.is_installed_in(*company_id) => {}
                Some(_) => {
                    return Err(FixtureError::at(
                        format!("{at}.service_account_user_id"),
                        "the service account must belong to a company the app is installed in",
                    ))
                }
                None => {
                    return Err(FixtureError::at(
                        format!("{at}.service_account_user_id"),
                        format!("no user has id {}", app.service_account_user_id),
                    ))
                }
            }
        }
        for (path, client_id) in self.credentials.client_ids() {
            if !client_ids.contains(client_id) {
                return Err(FixtureError::at(
                    format!("credentials.{path}"),
                    format!("no OAuth app has client id `{client_id}`"),
                ));
            }
        }
        self.crux.validate()
    }

    /// Builds a store holding this fixture's data; timestamps a fixture left out read `now`.
    /// Ids handed out at run time start at 10001, or above the fixture's highest id if larger,
    /// so new records are easy to tell from seeded ones.
    pub(crate) fn into_store(self, now: DateTime<Utc>) -> Store {
        let floor = self
            .next_id
            .unwrap_or(FIRST_RUNTIME_ID)
            .max(FIRST_RUNTIME_ID)
            - 1;
        let mut store = Store::new(self.highest_id().max(floor));
        for company in self.companies {
            let mut directory = Directory::default();
            directory.vendors = company.vendors.into_iter().map(|v| (v.id, v)).collect();
            directory.templates = company
                .permission_templates
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
            directory.projects = company.projects.into_iter().map(|p| (p.id, p)).collect();
            for mut user in company.users {
                user.stamp_unset_times(now);
                // Validation already proved uniqueness, so this cannot clash.
                let _ = directory.put_user(user);
            }
            let tenant = Company::new(company.id, company.name, company.is_active, directory);
            *tenant.webhooks() = company.webhooks;
            store.insert_company(tenant);
        }
        for app in self.oauth_apps {
            store.oauth.insert_app(app);
        }
        store.oauth.restore(self.credentials);
        store.crux = self.crux.into_store();
        store
    }

    /// The fixture that reproduces a store's current state, credentials included.
    #[cfg(test)]
    pub(crate) fn from_store(store: &Store) -> Self {
        Self {
            description: None,
            companies: store.companies().map(CompanyFixture::of).collect(),
            oauth_apps: store
                .oauth
                .apps()
                .iter()
                .map(|app| (**app).clone())
                .collect(),
            credentials: store.oauth.credentials(),
            next_id: Some(store.peek_next_id()),
            crux: crux::CruxFixture::from_store(&store.crux),
        }
    }

    /// Writes the fixture document of `store` (compact JSON; a unit test holds it equal to a
    /// serialized `Fixture::from_store`), one
    /// company at a time: only the company being written is copied out of the store (under its
    /// read lock, released before writing), so a large state is never held twice in memory nor
    /// as one text, and writers wait only for the copy. Used by the state export and the state
    /// file.
    pub fn write_store(store: &Store, out: &mut impl std::io::Write) -> std::io::Result<()> {
        out.write_all(b"{\"companies\":[")?;
        for (i, company) in store.companies().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, &CompanyFixture::of(company))?;
        }
        out.write_all(b"],\"oauth_apps\":")?;
        serde_json::to_writer(&mut *out, &store.oauth.apps())?;
        let credentials = store.oauth.credentials();
        if !credentials.is_empty() {
            out.write_all(b",\"credentials\":")?;
            serde_json::to_writer(&mut *out, &credentials)?;
        }
        write!(out, ",\"next_id\":{}", store.peek_next_id())?;
        let crux = crux::CruxFixture::from_store(&store.crux);
        if !crux.is_empty() {
            out.write_all(b",\"crux\":")?;
            serde_json::to_writer(&mut *out, &crux)?;
        }
        out.write_all(b"}")
    }
}

impl CompanyFixture {
    /// A copy of `company`'s current contents, read under its lock.
    fn of(company: &Company) -> Self {
        let directory = company.read();
        CompanyFixture {
            id: company.id,
            name: company.name.clone(),
            is_active: company.is_active,
            vendors: directory.vendors.values().cloned().collect(),
            permission_templates: directory.templates.values().cloned().collect(),
            users: directory.users().cloned().collect(),
            projects: directory.projects.values().cloned().collect(),
            webhooks: company.webhooks().clone(),
        }
    }

    fn validate_references(&self, at: &str) -> Result<(), FixtureError> {
        let vendor_ids: HashSet<u64> = self.vendors.iter().map(|v| v.id).collect();
        let project_ids: HashSet<u64> = self.projects.iter().map(|p| p.id).collect();
        let templates: HashMap<u64, &PermissionTemplate> = self
            .permission_templates
            .iter()
            .map(|t| (t.id, t))
            .collect();
        for (i, template) in self.permission_templates.iter().enumerate() {
            let path = format!("{at}.permission_templates[{i}]");
            match (template.project_specific, template.project_id) {
                (true, Some(project_id)) if !project_ids.contains(&project_id) => {
                    return Err(FixtureError::at(
                        format!("{path}.project_id"),
                        format!("no project of this company has id {project_id}"),
                    ))
                }
                (true, None) => {
                    return Err(FixtureError::at(
                        format!("{path}.project_id"),
                        "a project-specific template must name its project",
                    ))
                }
                (false, Some(_)) => {
                    return Err(FixtureError::at(
                        format!("{path}.project_id"),
                        "only a project-specific template names a project",
                    ))
                }
                _ => {}
            }
        }
        let mut emails = HashSet::new();
        let mut origin_ids = HashSet::new();
        for (i, user) in self.users.iter().enumerate() {
            let path = format!("{at}.users[{i}]");
            if user.last_name.trim().is_empty() {
                return Err(FixtureError::at(
                    format!("{path}.last_name"),
                    "must not be blank",
                ));
            }
            if !crate::domain::validation::looks_like_email(&user.email_address) {
                return Err(FixtureError::at(
                    format!("{path}.email_address"),
                    "is not an email address",
                ));
            }
            if !emails.insert(email_key(&user.email_address)) {
                return Err(FixtureError::at(
                    format!("{path}.email_address"),
                    format!(
                        "`{}` is already used by another user of this company",
                        user.email_address
                    ),
                ));
            }
            if let Some(origin) = &user.origin_id {
                if !origin_ids.insert(origin.as_str()) {
                    return Err(FixtureError::at(
                        format!("{path}.origin_id"),
                        format!("`{origin}` is already used by another user of this company"),
                    ));
                }
            }
            if let Some(vendor_id) = user.vendor_id {
                if !vendor_ids.contains(&vendor_id) {
                    return Err(FixtureError::at(
                        format!("{path}.vendor_id"),
                        format!("no vendor of this company has id {vendor_id}"),
                    ));
                }
            }
            if let Some(id) = user.default_permission_template_id {
                if !templates
                    .get(&id)
                    .is_some_and(|t| t.is_default_project_template())
                {
                    return Err(FixtureError::at(
                        format!("{path}.default_permission_template_id"),
                        format!("no project permission template of this company has id {id}"),
                    ));
                }
            }
            if let Some(id) = user.company_permission_template_id {
                if !templates
                    .get(&id)
                    .is_some_and(|t| t.kind == crate::store::TemplateKind::CompanyTools)
                {
                    return Err(FixtureError::at(
                        format!("{path}.company_permission_template_id"),
                        format!("no company permission template of this company has id {id}"),
                    ));
                }
            }
        }
        self.validate_webhooks(at, &project_ids)?;
        let user_ids: HashSet<u64> = self.users.iter().map(|u| u.id).collect();
        for (pi, project) in self.projects.iter().enumerate() {
            for (mi, member) in project.members.values().enumerate() {
                let path = format!("{at}.projects[{pi}].members[{mi}]");
                if !user_ids.contains(&member.user_id) {
                    return Err(FixtureError::at(
                        format!("{path}.user_id"),
                        format!("no user of this company has id {}", member.user_id),
                    ));
                }
                if let Some(id) = member.permission_template_id {
                    if !templates
                        .get(&id)
                        .is_some_and(|t| t.applies_to_project(project.id))
                    {
                        return Err(FixtureError::at(
                            format!("{path}.permission_template_id"),
                            format!(
                                "template {id} is not a project template usable on this project"
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Hooks must name a project of this company and hold what the API would have accepted;
    /// event and delivery ids must lie below `next_id`.
    fn validate_webhooks(&self, at: &str, project_ids: &HashSet<u64>) -> Result<(), FixtureError> {
        use crate::domain::webhooks as rules;
        let webhooks = &self.webhooks;
        for (i, hook) in webhooks.hooks.values().enumerate() {
            let path = format!("{at}.webhooks.hooks[{i}]");
            let invalid = |field: &str, err: crate::domain::DomainError| {
                FixtureError::at(format!("{path}.{field}"), err.to_string())
            };
            if let Some(project_id) = hook.owned_by_project_id {
                if !project_ids.contains(&project_id) {
                    return Err(FixtureError::at(
                        format!("{path}.owned_by_project_id"),
                        format!("no project of this company has id {project_id}"),
                    ));
                }
            }
            rules::validate_namespace(&hook.namespace).map_err(|e| invalid("namespace", e))?;
            rules::validate_api_version(&hook.api_version)
                .map_err(|e| invalid("api_version", e))?;
            rules::validate_destination_url(&hook.destination_url)
                .map_err(|e| invalid("destination_url", e))?;
            rules::validate_destination_headers(
                hook.destination_headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map_err(|e| invalid("destination_headers", e))?;
            for (t, trigger) in hook.triggers.iter().enumerate() {
                rules::check_trigger(
                    trigger.resource_name.name(),
                    trigger.event_type.as_str(),
                    hook.scope(self.id),
                )
                .map_err(|e| invalid(&format!("triggers[{t}]"), e))?;
            }
            let highest = hook
                .pending
                .iter()
                .map(|p| p.event.id)
                .chain(hook.deliveries.iter().flat_map(|d| [d.id, d.event_id]))
                .max()
                .unwrap_or(0);
            if highest >= webhooks.next_id {
                return Err(FixtureError::at(
                    format!("{at}.webhooks.next_id"),
                    format!("must be above every event and delivery id (found {highest})"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_document_is_the_fixture_of_the_store() {
        let store = Fixture::default_data().into_store(Utc::now());
        store.oauth.issue_access_token(
            crate::store::oauth::Grant {
                client_id: "procore-mock-client".to_owned(),
                resource_owner_id: 5101,
                scopes: Vec::new(),
            },
            0,
            3600,
        );
        let mut streamed = Vec::new();
        Fixture::write_store(&store, &mut streamed).unwrap();
        let streamed: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
        let built = serde_json::to_value(Fixture::from_store(&store)).unwrap();
        assert_eq!(streamed, built);
        assert!(streamed.get("credentials").is_some());
        assert!(
            streamed.get("crux").is_some(),
            "Crux Connect's data is part of the state"
        );
    }
}
