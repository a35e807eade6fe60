//! Procore's webhook rules as plain functions: namespaces, which resources and event types a
//! trigger may name, the event a change produces and its v2 payload, the retry schedule and its
//! horizon, and which deliveries a status filter keeps.
//!
//! Sources: Procore's guides "Introduction to Webhooks", "Using the Webhooks API" and "Webhooks
//! Payload Formats" (`webhooks/` in the `procore/documentation` repository), and the reference
//! pages of the hooks, triggers and deliveries endpoints. What Procore leaves open is listed under
//! "Webhooks" in `docs/divergences.md`.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::DomainError;
use crate::store::webhooks::{Hook, Trigger};
use crate::store::Directory;

/// The namespace of calls that name none ("If no namespace is provided with a call, the default
/// "procore" namespace is assumed").
pub const DEFAULT_NAMESPACE: &str = "procore";

/// The payload version of hooks created without one: the guide's examples all use `v2`.
pub const DEFAULT_API_VERSION: &str = "v2";

/// Payload versions the mock writes: v2 and v3 (v3 adds an empty `related_resources`). v4 has a
/// different schema (string ids, `reason`) that the mock does not emulate.
const API_VERSIONS: [&str; 4] = ["v2", "v2.0", "v3", "v3.0"];

/// The first retry waits one second ("an exponential backoff scheme, starting with a 1 second
/// interval").
pub const FIRST_RETRY_MS: i64 = 1_000;
/// "... with a maximum interval of 1 hour".
pub const MAX_RETRY_INTERVAL_MS: i64 = 3_600_000;
/// "After 24 hours of retrying event delivery to that destination URL, the delivery queue will be
/// flushed and all queued events will be marked as `failed`."
pub const RETRY_HORIZON_MS: i64 = 24 * 3_600_000;
/// "The timeout window on the Procore side is 5 seconds".
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// A Procore resource whose changes the mock reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Resource {
    /// The company directory: a company-level resource.
    #[serde(rename = "Company Users")]
    CompanyUsers,
    /// Project membership: a project-level resource (company hooks see every project's).
    #[serde(rename = "Project Users")]
    ProjectUsers,
}

impl Resource {
    /// Every resource, in the order error messages list them.
    pub const ALL: [Resource; 2] = [Resource::CompanyUsers, Resource::ProjectUsers];

    /// Procore's resource name, as triggers and payloads spell it.
    pub fn name(self) -> &'static str {
        match self {
            Resource::CompanyUsers => "Company Users",
            Resource::ProjectUsers => "Project Users",
        }
    }

    /// The resource called `name` (exactly, as Procore's resource list spells it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether a project hook may watch it: project hooks see project-level resources only.
    pub fn is_project_level(self) -> bool {
        self == Resource::ProjectUsers
    }
}

/// What happened to a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// Created (a project user: added to the project).
    Create,
    /// Changed, deactivated or reactivated.
    Update,
    /// Deleted (a project user: removed from the project).
    Delete,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Create => "create",
            EventType::Update => "update",
            EventType::Delete => "delete",
        }
    }

    /// Parses `create`, `update` or `delete`, in any case (Procore's reference lists them in
    /// capitals, its guide in lower case).
    pub fn parse(name: &str) -> Option<Self> {
        [EventType::Create, EventType::Update, EventType::Delete]
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// Who owns a hook: a company (it sees the whole company) or one project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A company hook.
    Company(u64),
    /// A project hook, with the company the project belongs to.
    Project {
        /// The project.
        project_id: u64,
        /// Its company.
        company_id: u64,
    },
}

impl Scope {
    /// The company the scope lies in.
    pub fn company_id(self) -> u64 {
        match self {
            Scope::Company(id) | Scope::Project { company_id: id, .. } => id,
        }
    }

    /// The project of a project scope.
    pub fn project_id(self) -> Option<u64> {
        match self {
            Scope::Company(_) => None,
            Scope::Project { project_id, .. } => Some(project_id),
        }
    }
}

/// Checks a namespace: "restricted to lowercase a-z and dashes (-)".
pub fn validate_namespace(namespace: &str) -> Result<(), DomainError> {
    if !namespace.is_empty()
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        Ok(())
    } else {
        Err(DomainError::invalid_field(
            "namespace",
            format!("`{namespace}` is not a namespace: use lowercase letters a-z and dashes only"),
        ))
    }
}

/// Checks a hook's payload version.
pub fn validate_api_version(version: &str) -> Result<(), DomainError> {
    if API_VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(DomainError::invalid_field(
            "api_version",
            format!(
                "`{version}` is not a payload version this server writes (one of {})",
                API_VERSIONS.join(", ")
            ),
        ))
    }
}

/// Checks a destination URL: an absolute `http` or `https` URL with a host, and nothing a
/// request line cannot carry (spaces, control characters).
pub fn validate_destination_url(url: &str) -> Result<(), DomainError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    let printable = url.bytes().all(|b| b.is_ascii_graphic());
    match host {
        Some(host) if printable && !host.is_empty() && !host.starts_with(':') => Ok(()),
        _ => Err(DomainError::invalid_field(
            "destination_url",
            format!("`{url}` is not an absolute http or https URL"),
        )),
    }
}

/// Checks destination headers: names are HTTP tokens, values one line of visible text.
pub fn validate_destination_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), DomainError> {
    const TOKEN_SYMBOLS: &[u8] = b"!#$%&'*+-.^_`|~";
    for (name, value) in headers {
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || TOKEN_SYMBOLS.contains(&b));
        if !name_ok {
            return Err(DomainError::invalid_field(
                "destination_headers",
                format!("`{name}` is not a header name"),
            ));
        }
        if !value
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
        {
            return Err(DomainError::invalid_field(
                "destination_headers",
                format!("the value of `{name}` must be one line of visible ASCII"),
            ));
        }
    }
    Ok(())
}

/// What a request sets on a hook; `None` leaves a field as it is (or at its default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookSettings {
    /// Where events are POSTed.
    pub destination_url: Option<String>,
    /// Headers sent with every delivery; replaces the hook's whole set.
    pub destination_headers: Option<BTreeMap<String, String>>,
    /// Payload version.
    pub api_version: Option<String>,
}

impl HookSettings {
    /// Checks every value given (invalid: 422 naming the field).
    fn validate(&self) -> Result<(), DomainError> {
        if let Some(url) = &self.destination_url {
            validate_destination_url(url)?;
        }
        if let Some(version) = &self.api_version {
            validate_api_version(version)?;
        }
        if let Some(headers) = &self.destination_headers {
            validate_destination_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        }
        Ok(())
    }
}

/// A new hook of `scope` in `namespace`, made by user `owner`: it needs a destination URL; the
/// payload version defaults to [`DEFAULT_API_VERSION`].
pub fn new_hook(
    id: u64,
    scope: Scope,
    namespace: &str,
    owner: u64,
    settings: HookSettings,
) -> Result<Hook, DomainError> {
    settings.validate()?;
    let destination_url = settings
        .destination_url
        .filter(|url| !url.is_empty())
        .ok_or(DomainError::Missing {
            field: "destination_url",
        })?;
    Ok(Hook {
        id,
        namespace: namespace.to_owned(),
        api_version: settings
            .api_version
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned()),
        destination_url,
        destination_headers: settings.destination_headers.unwrap_or_default(),
        owned_by_project_id: scope.project_id(),
        owned_by_user_id: owner,
        triggers: Vec::new(),
        pending: Default::default(),
        deliveries: Default::default(),
        failing_since: None,
        failures: 0,
        busy: false,
    })
}

/// Applies `settings` to `hook`; the namespace names the hook and does not change.
pub fn update_hook(hook: &mut Hook, settings: HookSettings) -> Result<(), DomainError> {
    settings.validate()?;
    if let Some(url) = settings.destination_url {
        if url.is_empty() {
            return Err(DomainError::invalid_field(
                "destination_url",
                "can't be blank",
            ));
        }
        hook.destination_url = url;
    }
    if let Some(headers) = settings.destination_headers {
        hook.destination_headers = headers;
    }
    if let Some(version) = settings.api_version {
        hook.api_version = version;
    }
    Ok(())
}

/// The resource and event type a trigger names, if a hook of `scope` may watch them: an
/// unknown resource, an event type the resource does not report, or a company-level resource
/// on a project hook is a 422 naming the field.
pub fn check_trigger(
    resource_name: &str,
    event_type: &str,
    scope: Scope,
) -> Result<(Resource, EventType), DomainError> {
    let resource = Resource::parse(resource_name).ok_or_else(|| {
        let known: Vec<&str> = Resource::ALL.iter().map(|r| r.name()).collect();
        DomainError::invalid_field(
            "resource_name",
            format!(
                "`{resource_name}` is not a resource this server reports (one of {})",
                known.join(", ")
            ),
        )
    })?;
    let event = EventType::parse(event_type).ok_or_else(|| {
        DomainError::invalid_field(
            "event_type",
            format!("`{event_type}` is not one of create, update, delete"),
        )
    })?;
    if matches!(scope, Scope::Project { .. }) && !resource.is_project_level() {
        return Err(DomainError::invalid_field(
            "resource_name",
            format!(
                "`{}` is a company-level resource: watch it from a company hook",
                resource.name()
            ),
        ));
    }
    Ok((resource, event))
}

/// Adds `trigger` to `hook`, unless the hook already watches the same resource and event type
/// (invalid: a hook hears of each change once).
pub fn add_trigger(hook: &mut Hook, trigger: Trigger) -> Result<Trigger, DomainError> {
    if hook.watches(trigger.resource_name, trigger.event_type) {
        return Err(DomainError::invalid_field(
            "trigger",
            format!(
                "hook {} already has a {} trigger on {}",
                hook.id,
                trigger.event_type.as_str(),
                trigger.resource_name.name()
            ),
        ));
    }
    hook.triggers.push(trigger.clone());
    Ok(trigger)
}

/// One change to a resource, as the API commits it: the input of event construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// What kind of record changed.
    pub resource: Resource,
    /// How.
    pub event_type: EventType,
    /// The record's id (for project users, the user's id).
    pub resource_id: u64,
    /// The project the change happened in (project users only).
    pub project_id: Option<u64>,
}

impl Change {
    /// A change to a company user.
    pub fn company_user(event_type: EventType, user_id: u64) -> Self {
        Self {
            resource: Resource::CompanyUsers,
            event_type,
            resource_id: user_id,
            project_id: None,
        }
    }

    /// A change to a user's membership of a project.
    pub fn project_user(event_type: EventType, project_id: u64, user_id: u64) -> Self {
        Self {
            resource: Resource::ProjectUsers,
            event_type,
            resource_id: user_id,
            project_id: Some(project_id),
        }
    }

    /// Whether a hook of `scope` sees this change at all (before its triggers are asked).
    pub fn is_seen_by(&self, scope: Scope) -> bool {
        match scope {
            Scope::Company(_) => true,
            Scope::Project { project_id, .. } => self.project_id == Some(project_id),
        }
    }
}

/// The changes deleting company user `user_id` makes, read before the delete: each project
/// membership goes (a `Project Users` delete), then the user.
pub fn deletion_changes(directory: &Directory, user_id: u64) -> Vec<Change> {
    directory
        .projects
        .values()
        .filter(|project| project.members.contains_key(&user_id))
        .map(|project| Change::project_user(EventType::Delete, project.id, user_id))
        .chain([Change::company_user(EventType::Delete, user_id)])
        .collect()
}

/// Who made a change: the token's user and application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The user the token acts as (`user_id`, `metadata.source_user_id`).
    pub user_id: u64,
    /// The OAuth application (`metadata.source_application_id`).
    pub application_id: String,
}

/// An event: one committed change, as it is delivered to every hook that watches it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Event id.
    pub id: u64,
    /// A ULID: receivers deduplicate on it.
    pub ulid: String,
    /// When the change committed (mock clock).
    pub timestamp: DateTime<Utc>,
    /// The user who made the change.
    pub user_id: u64,
    /// The company it happened in.
    pub company_id: u64,
    /// The project it happened in, if any.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// The application that made it.
    #[serde(default)]
    pub application_id: Option<String>,
    /// The resource.
    pub resource_name: Resource,
    /// Create, update or delete.
    pub event_type: EventType,
    /// The record's id.
    pub resource_id: u64,
}

impl Event {
    /// The event of `change`, made by `actor` in `company_id` at `at`.
    pub fn new(
        id: u64,
        ulid: String,
        at: DateTime<Utc>,
        company_id: u64,
        actor: &Actor,
        change: &Change,
    ) -> Self {
        Self {
            id,
            ulid,
            timestamp: at,
            user_id: actor.user_id,
            company_id,
            project_id: change.project_id,
            application_id: Some(actor.application_id.clone()),
            resource_name: change.resource,
            event_type: change.event_type,
            resource_id: change.resource_id,
        }
    }

    /// The body POSTed to a hook with payload version `api_version` (Procore's v2 event
    /// object; v3 adds `related_resources`, empty for the resources the mock reports).
    pub fn payload(&self, api_version: &str) -> Value {
        let mut payload = json!({
            "id": self.id,
            "ulid": self.ulid,
            "timestamp": self.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true),
            "metadata": {
                "source_user_id": self.user_id,
                "source_project_id": self.project_id,
                "source_operation_id": null,
                "source_company_id": self.company_id,
                "source_application_id": self.application_id,
            },
            "user_id": self.user_id,
            "company_id": self.company_id,
            "project_id": self.project_id,
            "api_version": api_version,
            "event_type": self.event_type.as_str(),
            "resource_name": self.resource_name.name(),
            "resource_id": self.resource_id,
        });
        if api_version.starts_with("v3") {
            payload["related_resources"] = json!([]);
        }
        payload
    }
}

/// A ULID (<https://github.com/ulid/spec>): 48 bits of milliseconds and 80 random bits, in
/// Crockford's base 32, so ULIDs sort by time.
pub fn ulid(epoch_ms: i64, random: u128) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let time = u128::from(u64::try_from(epoch_ms.max(0)).unwrap_or(0) & 0xFFFF_FFFF_FFFF);
    let value = (time << 80) | (random & ((1u128 << 80) - 1));
    (0..26)
        .rev()
        .map(|i| char::from(ALPHABET[((value >> (i * 5)) & 31) as usize]))
        .collect()
}

/// How long to wait before the retry that follows the `failures`-th failed attempt in a row:
/// 1 s, 2 s, 4 s ... doubling up to one hour.
pub fn retry_delay_ms(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(32);
    FIRST_RETRY_MS
        .saturating_mul(1i64 << doublings)
        .min(MAX_RETRY_INTERVAL_MS)
}

/// Whether a hook failing since `failing_since_ms` has passed the retry horizon at `now_ms`.
pub fn past_horizon(failing_since_ms: i64, now_ms: i64) -> bool {
    now_ms.saturating_sub(failing_since_ms) >= RETRY_HORIZON_MS
}

/// How a delivery attempt ended, in Procore's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A 2xx within the timeout.
    Ok,
    /// Failed; the event will be tried again.
    Retried,
    /// Failed for good: the retry horizon passed.
    Failed,
    /// Never sent (a delivery fault rule dropped it).
    Discarded,
}

/// The `filters[status]` of the deliveries list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every delivery (the default).
    Any,
    /// Those that got a 2xx.
    Successful,
    /// Those that failed, retried or not.
    Failing,
    /// Those that were discarded.
    Discarded,
}

impl StatusFilter {
    /// Reads the filter (absent or empty: `any`); `None` for an unknown value.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.map(str::trim) {
            None | Some("" | "any") => Some(StatusFilter::Any),
            Some("successful") => Some(StatusFilter::Successful),
            Some("failing") => Some(StatusFilter::Failing),
            Some("discarded") => Some(StatusFilter::Discarded),
            Some(_) => None,
        }
    }

    /// Whether a delivery with `outcome` passes.
    pub fn keeps(self, outcome: Outcome) -> bool {
        match self {
            StatusFilter::Any => true,
            StatusFilter::Successful => outcome == Outcome::Ok,
            StatusFilter::Failing => matches!(outcome, Outcome::Retried | Outcome::Failed),
            StatusFilter::Discarded => outcome == Outcome::Discarded,
        }
    }
}

/// A destination header as hooks show it: `Authorization` "is masked to only show the last 5
/// characters"; other headers show as set.
pub fn shown_header(name: &str, value: &str) -> String {
    if !name.eq_ignore_ascii_case("authorization") {
        return value.to_owned();
    }
    let count = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 5 < count { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_lowercase_letters_and_dashes() {
        assert!(validate_namespace("smithsoft-costcoder").is_ok());
        for bad in ["", "Procore", "acme_2", "acme integrators"] {
            assert!(validate_namespace(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retries_double_from_one_second_to_one_hour() {
        let delays: Vec<i64> = (1..=14).map(retry_delay_ms).collect();
        assert_eq!(&delays[..4], [1_000, 2_000, 4_000, 8_000]);
        assert_eq!(delays[11], 2_048_000);
        assert_eq!(delays[12], MAX_RETRY_INTERVAL_MS);
        assert_eq!(retry_delay_ms(u32::MAX), MAX_RETRY_INTERVAL_MS);
    }

    #[test]
    fn the_horizon_is_24_hours_of_failing() {
        assert!(!past_horizon(0, RETRY_HORIZON_MS - 1));
        assert!(past_horizon(0, RETRY_HORIZON_MS));
    }

    #[test]
    fn triggers_name_a_known_resource_and_event_for_the_hook_scope() {
        let company = Scope::Company(1);
        let project = Scope::Project {
            project_id: 2,
            company_id: 1,
        };
        assert_eq!(
            check_trigger("Company Users", "UPDATE", company).unwrap(),
            (Resource::CompanyUsers, EventType::Update)
        );
        assert!(check_trigger("Project Users", "delete", project).is_ok());
        assert!(check_trigger("Company Users", "create", project).is_err());
        assert!(check_trigger("RFIs", "create", company).is_err());
        assert!(check_trigger("Company Users", "archive", company).is_err());
    }

    #[test]
    fn ulids_are_26_characters_that_sort_by_time() {
        let early = ulid(1_600_000_000_000, u128::MAX);
        let late = ulid(1_600_000_000_001, 0);
        assert_eq!(early.len(), 26);
        assert!(early < late);
        assert_eq!(ulid(0, 0), "00000000000000000000000000");
    }

    #[test]
    fn destinations_are_absolute_http_urls_with_sendable_headers() {
        assert!(validate_destination_url("http://127.0.0.1:9000/hooks").is_ok());
        assert!(validate_destination_url("https://example.com").is_ok());
        for bad in ["ftp://x", "http://", "/hooks", "http://a b", "http://:80/"] {
            assert!(validate_destination_url(bad).is_err(), "{bad:?}");
        }
        assert!(validate_destination_headers([("Authorization", "Bearer x")]).is_ok());
        assert!(validate_destination_headers([("Bad Name", "x")]).is_err());
        assert!(validate_destination_headers([("X-Ok", "line\nbreak")]).is_err());
    }

    #[test]
    fn only_the_authorization_header_is_masked() {
        assert_eq!(
            shown_header("Authorization", "Bearer abcdefg"),
            "*********cdefg"
        );
        assert_eq!(shown_header("X-Tenant", "acme"), "acme");
        assert_eq!(shown_header("authorization", "abc"), "abc");
    }
}
