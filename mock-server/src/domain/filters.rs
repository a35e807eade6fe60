//! Directory searches: the filters, sorts and views of the company-user and project-user lists.
//!
//! `http::params` reads query parameters into these typed queries; matching is a plain
//! predicate over one record. Filters combine with AND. The
//! unsorted listing stays a walk over id-ordered storage; a `sort` sorts the filtered records,
//! with ties broken by id so pages stay stable.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

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
    /// Whether `template` is of the kind asked for.
    pub fn matches(self, template: &PermissionTemplate) -> bool {
        match self {
            Self::CompanyTools => template.kind == TemplateKind::CompanyTools,
            Self::ProjectTools => template.kind != TemplateKind::CompanyTools,
            Self::Global => template.wire_type() == "global",
        }
    }
}
