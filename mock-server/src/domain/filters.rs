//! Directory searches: the filters, sorts and views of the company-user and project-user lists.
//!
//! Parsing turns query parameters into a typed query (a bad value is a 400 naming the
//! parameter); matching is a plain predicate over one record. Filters combine with AND. The
//! unsorted listing stays a walk over id-ordered storage; a `sort` sorts the filtered records,
//! with ties broken by id so pages stay stable.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::changes::parse_id;
use crate::error::ApiError;
use crate::http::query::RequestUrl;
use crate::store::{Directory, Membership, PermissionTemplate, TemplateKind, User};

/// A closed time range from `A...B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// Earliest instant included.
    pub from: DateTime<Utc>,
    /// Latest instant included (a bare date includes its whole day).
    pub to: DateTime<Utc>,
}

/// A field company users can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Last name, then first name.
    Name,
    /// Email address.
    Email,
    /// Job title (users without one last).
    JobTitle,
    /// Vendor name (users without one last).
    VendorName,
    /// Default permission template name (users without one last).
    PermissionTemplate,
}

/// How list items are written (v1.3 `view`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The list shape.
    Normal,
    /// The list shape plus the detail fields.
    Extended,
    /// A bare array of ids.
    IdsOnly,
}

/// A company-user list request.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    /// Lower-cased search text.
    pub search: Option<String>,
    /// `filters[updated_at]`.
    pub updated_at: Option<TimeRange>,
    /// `filters[created_at]`.
    pub created_at: Option<TimeRange>,
    /// `updated_after`.
    pub updated_after: Option<DateTime<Utc>>,
    /// `filters[vendor_id][]`: any of these.
    pub vendor_ids: Vec<u64>,
    /// `filters[origin_id]`.
    pub origin_id: Option<String>,
    /// `sort`: keys with descending flags, applied in order.
    pub sort: Vec<(SortKey, bool)>,
    /// `view`.
    pub view: Option<View>,
}

impl UserQuery {
    /// Reads the query parameters of a company-user list.
    pub fn parse(url: &RequestUrl) -> Result<Self, ApiError> {
        let search = url
            .get("filters[search]")
            .or_else(|| url.get("search"))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let sort = match url.get("sort") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|part| {
                    let (descending, name) = match part.strip_prefix('-') {
                        Some(name) => (true, name),
                        None => (false, part),
                    };
                    let key = match name {
                        "name" => SortKey::Name,
                        "email" => SortKey::Email,
                        "job_title" => SortKey::JobTitle,
                        "vendor_name" => SortKey::VendorName,
                        "permission_template" => SortKey::PermissionTemplate,
                        other => {
                            return Err(ApiError::bad_field(
                                "sort",
                                format!("`{other}` is not one of name, email, job_title, vendor_name, permission_template"),
                            ))
                        }
                    };
                    Ok((key, descending))
                })
                .collect::<Result<_, _>>()?,
        };
        let view = match url.get("view") {
            None => None,
            Some("normal") => Some(View::Normal),
            Some("extended") => Some(View::Extended),
            Some("ids_only") => Some(View::IdsOnly),
            Some(other) => {
                return Err(ApiError::bad_field(
                    "view",
                    format!("`{other}` is not one of normal, extended, ids_only"),
                ))
            }
        };
        Ok(Self {
            search,
            updated_at: range(url, "filters[updated_at]")?,
            created_at: range(url, "filters[created_at]")?,
            updated_after: url
                .get("updated_after")
                .map(|raw| instant(raw, false).ok_or_else(|| bad_time("updated_after", raw)))
                .transpose()?,
            vendor_ids: ids(url, "filters[vendor_id]")?,
            origin_id: url.get("filters[origin_id]").map(str::to_owned),
            sort,
            view,
        })
    }

    /// Whether any filter is set (else the listing is every active user).
    pub fn filters(&self) -> bool {
        self.search.is_some()
            || self.updated_at.is_some()
            || self.created_at.is_some()
            || self.updated_after.is_some()
            || !self.vendor_ids.is_empty()
            || self.origin_id.is_some()
    }

    /// Whether `user` passes every filter.
    pub fn matches(&self, user: &User, directory: &Directory) -> bool {
        if let Some(needle) = &self.search {
            if !searchable_fields(user, directory)
                .any(|field| contains_ignoring_case(field, needle))
            {
                return false;
            }
        }
        if self
            .updated_at
            .is_some_and(|r| !r.contains(&user.updated_at))
            || self
                .created_at
                .is_some_and(|r| !r.contains(&user.created_at))
            || self
                .updated_after
                .is_some_and(|after| user.updated_at <= after)
        {
            return false;
        }
        if !self.vendor_ids.is_empty()
            && !user.vendor_id.is_some_and(|v| self.vendor_ids.contains(&v))
        {
            return false;
        }
        if let Some(origin) = &self.origin_id {
            if user.origin_id.as_deref() != Some(origin.as_str()) {
                return false;
            }
        }
        true
    }

    /// The first `keep` of `users` in the order `sort` asks for, ties by id. Each user's sort
    /// keys are computed once, and only the kept prefix is fully sorted (a selection finds it
    /// first), so a page near the start of a large directory costs little more than a scan.
    pub fn sorted<'a>(
        &self,
        users: Vec<&'a User>,
        directory: &Directory,
        keep: usize,
    ) -> Vec<&'a User> {
        if self.sort.is_empty() {
            return users.into_iter().take(keep).collect();
        }
        let mut keyed: Vec<(Vec<Option<String>>, &'a User)> = users
            .into_iter()
            .map(|user| {
                let keys = self
                    .sort
                    .iter()
                    .map(|(key, _)| sort_value(*key, user, directory))
                    .collect();
                (keys, user)
            })
            .collect();
        let order = |(a_keys, a): &(Vec<Option<String>>, &User),
                     (b_keys, b): &(Vec<Option<String>>, &User)| {
            for ((a_key, b_key), (_, descending)) in a_keys.iter().zip(b_keys).zip(&self.sort) {
                let order = match (a_key, b_key) {
                    (Some(x), Some(y)) if *descending => y.cmp(x),
                    (Some(x), Some(y)) => x.cmp(y),
                    // Users without the value come last whichever the direction.
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
            a.id.cmp(&b.id)
        };
        if keep == 0 {
            return Vec::new();
        }
        if keep < keyed.len() {
            keyed.select_nth_unstable_by(keep - 1, order);
            keyed.truncate(keep);
        }
        keyed.sort_by(order);
        keyed.into_iter().map(|(_, user)| user).collect()
    }
}

/// Whether `haystack` contains `needle` (already lower-case), ignoring case, without allocating
/// for ASCII text.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let (hay, pin) = (haystack.as_bytes(), needle.as_bytes());
        pin.is_empty()
            || hay
                .windows(pin.len())
                .any(|window| window.eq_ignore_ascii_case(pin))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

/// The text a search looks in: first and last name, email, job title, vendor name.
fn searchable_fields<'a>(
    user: &'a User,
    directory: &'a Directory,
) -> impl Iterator<Item = &'a str> {
    [
        user.first_name.as_deref(),
        Some(user.last_name.as_str()),
        Some(user.email_address.as_str()),
        user.job_title.as_deref(),
        user.vendor_id
            .and_then(|id| directory.vendors.get(&id))
            .map(|v| v.name.as_str()),
    ]
    .into_iter()
    .flatten()
}

/// The lower-cased value a user sorts by; `None` sorts last.
fn sort_value(key: SortKey, user: &User, directory: &Directory) -> Option<String> {
    let lower = |s: &str| s.to_lowercase();
    match key {
        SortKey::Name => Some(format!(
            "{}\u{0}{}",
            lower(&user.last_name),
            lower(user.first_name.as_deref().unwrap_or(""))
        )),
        SortKey::Email => Some(lower(&user.email_address)),
        SortKey::JobTitle => user.job_title.as_deref().map(lower),
        SortKey::VendorName => user
            .vendor_id
            .and_then(|id| directory.vendors.get(&id))
            .map(|v| lower(&v.name)),
        SortKey::PermissionTemplate => user
            .default_permission_template_id
            .and_then(|id| directory.templates.get(&id))
            .map(|t| lower(&t.name)),
    }
}

impl TimeRange {
    fn contains(&self, at: &DateTime<Utc>) -> bool {
        self.from <= *at && *at <= self.to
    }
}

/// `A...B` with dates or RFC 3339 datetimes; a bare end date includes its whole day.
fn range(url: &RequestUrl, name: &str) -> Result<Option<TimeRange>, ApiError> {
    let Some(raw) = url.get(name) else {
        return Ok(None);
    };
    let (from, to) = raw.split_once("...").ok_or_else(|| bad_time(name, raw))?;
    let from = instant(from, false).ok_or_else(|| bad_time(name, raw))?;
    let to = instant(to, true).ok_or_else(|| bad_time(name, raw))?;
    Ok(Some(TimeRange { from, to }))
}

/// A date (start of day, or its last second when `end_of_day`) or an RFC 3339 datetime.
fn instant(raw: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    let start = date.and_hms_opt(0, 0, 0)?.and_utc();
    Some(if end_of_day {
        start + Duration::days(1) - Duration::milliseconds(1)
    } else {
        start
    })
}

fn bad_time(name: &str, raw: &str) -> ApiError {
    ApiError::bad_field(
        name,
        format!("`{raw}` is not a date or datetime range (YYYY-MM-DD or ISO-8601, as A...B)"),
    )
}

/// Ids from `name[]` (repeated) or `name` (one, or comma-separated).
fn ids(url: &RequestUrl, name: &str) -> Result<Vec<u64>, ApiError> {
    let bracketed = format!("{name}[]");
    url.all(&bracketed)
        .chain(url.all(name))
        .flat_map(|raw| raw.split(','))
        .map(|raw| {
            parse_id(&serde_json::Value::String(raw.to_owned()))
                .ok_or_else(|| ApiError::bad_field(name, format!("`{raw}` is not an id")))
        })
        .collect()
}

/// A project-user list request.
#[derive(Clone, Debug, Default)]
pub struct MemberQuery {
    /// Lower-cased search text.
    pub search: Option<String>,
    /// `filters[permission_template]`: template ids, any of them.
    pub templates: Vec<u64>,
    /// `filters[vendor_id][]`.
    pub vendor_ids: Vec<u64>,
    /// `filters[id][]`.
    pub user_ids: Vec<u64>,
}

impl MemberQuery {
    /// Reads the query parameters of a project-user list.
    pub fn parse(url: &RequestUrl) -> Result<Self, ApiError> {
        Ok(Self {
            search: url
                .get("filters[search]")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase),
            templates: ids(url, "filters[permission_template]")?,
            vendor_ids: ids(url, "filters[vendor_id]")?,
            user_ids: ids(url, "filters[id]")?,
        })
    }

    /// Whether the member passes every filter.
    pub fn matches(&self, user: &User, membership: &Membership, directory: &Directory) -> bool {
        if let Some(needle) = &self.search {
            if !searchable_fields(user, directory)
                .any(|field| contains_ignoring_case(field, needle))
            {
                return false;
            }
        }
        (self.templates.is_empty()
            || membership
                .permission_template_id
                .is_some_and(|t| self.templates.contains(&t)))
            && (self.vendor_ids.is_empty()
                || user.vendor_id.is_some_and(|v| self.vendor_ids.contains(&v)))
            && (self.user_ids.is_empty() || self.user_ids.contains(&user.id))
    }
}

/// `filters[type]` of the company permission-template list: which templates to list. Procore
/// documents `company_tools | project_tools | global`, default `project_tools`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TemplateTypeFilter {
    /// Company-level templates.
    CompanyTools,
    /// Every project template, global or project-specific (the default).
    #[default]
    ProjectTools,
    /// Project templates usable on every project.
    Global,
}

impl TemplateTypeFilter {
    /// Reads `filters[type]`; absent is `project_tools`, an unknown value a 400 naming it.
    pub fn parse(url: &RequestUrl) -> Result<Self, ApiError> {
        match url.get("filters[type]") {
            None => Ok(Self::default()),
            Some("company_tools") => Ok(Self::CompanyTools),
            Some("project_tools") => Ok(Self::ProjectTools),
            Some("global") => Ok(Self::Global),
            Some(other) => Err(ApiError::bad_field(
                "filters[type]",
                format!("must be company_tools, project_tools or global, got `{other}`"),
            )),
        }
    }

    /// Whether `template` is of the kind asked for.
    pub fn matches(self, template: &PermissionTemplate) -> bool {
        match self {
            Self::CompanyTools => template.kind == TemplateKind::CompanyTools,
            Self::ProjectTools => template.kind != TemplateKind::CompanyTools,
            Self::Global => template.wire_type() == "global",
        }
    }
}
