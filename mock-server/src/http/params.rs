//! Reading requests into the plain inputs of the domain's rules: user fields, list filters,
//! template ids, sync updates, and webhook hooks and triggers.
//!
//! Parsing coerces the way a Rails app does (form and multipart bodies send everything as
//! strings) and reports every malformed parameter or field at once, as a 400 naming each. The
//! rules in `domain` then see typed values only.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

use super::body::{Fields, RequestBody};
use super::error::ApiError;
use super::query::RequestUrl;
use super::warnings::{self, Ignored};
use crate::config::Profile;
use crate::domain::changes::UserChanges;
use crate::domain::filters::{
    MemberQuery, SortKey, TemplateTypeFilter, TimeRange, UserQuery, View,
};
use crate::domain::sync::SyncItem;
use crate::domain::webhooks::HookSettings;
use crate::domain::{field_error, FieldErrors};
use crate::store::user::TEXT_FIELDS;

/// Reads the fields of a `user` object; the error lists every field of the wrong type. Unknown
/// keys are ignored, as Procore ignores unpermitted parameters. In the `documented` profile
/// `login` stands in for `email_address` when that is absent, as the founding guide's examples
/// send it.
fn read_user_changes(user: &Fields<'_>, profile: Profile) -> Result<UserChanges, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut changes = UserChanges::default();
    let mut reader = FieldReader {
        user,
        errors: &mut errors,
    };
    changes.last_name = reader.required_text("last_name");
    changes.email_address = reader.required_text("email_address");
    if changes.email_address.is_none() && profile.serves_seed_extras() {
        changes.email_address = reader.required_text("login");
        if changes.email_address.is_some() {
            warnings::seed_extra("`login` in place of `email_address`");
        }
    }
    for &name in TEXT_FIELDS {
        if let Some(value) = reader.text(name) {
            changes.text.push((name, value));
        }
    }
    // Kept as text, but Procore's type is an integer: refuse what could not be written as one.
    let extension = changes
        .text
        .iter()
        .find(|(name, _)| *name == "business_phone_extension");
    if let Some((_, Some(value))) = extension {
        if value.trim().parse::<u64>().is_err() {
            reader.fail("business_phone_extension", "must be an integer");
        }
    }
    changes.origin_id = reader.text("origin_id");
    changes.is_active = reader.boolean("is_active");
    changes.is_employee = reader.boolean("is_employee");
    changes.add_to_new_projects = reader.boolean("add_to_new_projects");
    changes.is_insurance_manager = reader.boolean("is_insurance_manager");
    changes.vendor_id = reader.id("vendor_id");
    changes.default_permission_template_id = reader.id("default_permission_template_id");
    changes.company_permission_template_id = reader.id("company_permission_template_id");
    changes.work_classification_id = reader.id("work_classification_id");
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

/// The changes a request that writes one user makes; fields of the wrong type are a 400 (every
/// one named).
pub fn user_changes(user: &Fields<'_>, profile: Profile) -> Result<UserChanges, ApiError> {
    read_user_changes(user, profile).map_err(ApiError::malformed)
}

/// Reads typed values out of a JSON object, collecting type errors by field.
struct FieldReader<'a> {
    user: &'a Fields<'a>,
    errors: &'a mut FieldErrors,
}

impl FieldReader<'_> {
    fn fail(&mut self, field: &str, message: &str) {
        self.errors
            .entry(field.to_owned())
            .or_default()
            .push(message.to_owned());
    }

    /// A nullable text field: strings as they are, numbers and booleans as their text.
    fn text(&mut self, field: &str) -> Option<Option<String>> {
        match self.user.get(field)? {
            Value::Null => Some(None),
            Value::String(s) => Some(Some(s.clone())),
            Value::Number(n) => Some(Some(n.to_string())),
            Value::Bool(b) => Some(Some(b.to_string())),
            Value::Array(_) | Value::Object(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// A text field that must end up non-blank: null reads as blank so validation names it.
    fn required_text(&mut self, field: &str) -> Option<String> {
        self.text(field).map(Option::unwrap_or_default)
    }

    fn boolean(&mut self, field: &str) -> Option<bool> {
        let parsed = parse_bool(self.user.get(field)?);
        if parsed.is_none() {
            self.fail(field, "must be true or false");
        }
        parsed
    }

    fn id(&mut self, field: &str) -> Option<Option<u64>> {
        match self.user.get(field)? {
            Value::Null => Some(None),
            Value::String(s) if s.trim().is_empty() => Some(None),
            value => match parse_id(value) {
                Some(id) => Some(Some(id)),
                None => {
                    self.fail(field, "must be a positive integer");
                    None
                }
            },
        }
    }
}

/// A boolean sent as JSON, as 1/0, or as Rails' textual forms (form bodies send strings).
pub fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) if n.as_u64() == Some(1) => Some(true),
        Value::Number(n) if n.as_u64() == Some(0) => Some(false),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Some(true),
            "false" | "f" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An id sent as a JSON integer or as a numeric string (form bodies send strings).
pub fn parse_id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().filter(|&id| id > 0),
        Value::String(s) => s.trim().parse::<u64>().ok().filter(|&id| id > 0),
        _ => None,
    }
}

/// `permission_template_id` of an add or create-in-project request, when given.
pub fn template_id(params: &Fields<'_>) -> Result<Option<u64>, ApiError> {
    match params.get("permission_template_id") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse_id(value).map(Some).ok_or_else(|| {
            ApiError::bad_field("permission_template_id", "must be a positive integer")
        }),
    }
}

/// The query of a company-user list.
pub fn user_query(url: &RequestUrl) -> Result<UserQuery, ApiError> {
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
    Ok(UserQuery {
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

/// The query of a project-user list.
/// Reads `filters[type]` of the company template list; absent is `project_tools`, as Procore
/// documents; an unknown value is a 400 naming it.
pub fn template_type(url: &RequestUrl) -> Result<TemplateTypeFilter, ApiError> {
    match url.get("filters[type]") {
        None => Ok(TemplateTypeFilter::default()),
        Some("company_tools") => Ok(TemplateTypeFilter::CompanyTools),
        Some("project_tools") => Ok(TemplateTypeFilter::ProjectTools),
        Some("global") => Ok(TemplateTypeFilter::Global),
        Some(other) => Err(ApiError::bad_field(
            "filters[type]",
            format!("must be company_tools, project_tools or global, got `{other}`"),
        )),
    }
}

pub fn member_query(url: &RequestUrl) -> Result<MemberQuery, ApiError> {
    Ok(MemberQuery {
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

/// Most updates one sync request may carry.
pub const MAX_SYNC_UPDATES: usize = 1000;

/// One update of a sync body: as sent (its answer echoes it) and as read.
pub type SyncUpdate<'a> = (&'a Value, Result<SyncItem, FieldErrors>);

/// The `updates` of a sync body, each read into a [`SyncItem`] or the field errors that keep it
/// out (answered per item, not for the request). The array itself must be there and hold at
/// most [`MAX_SYNC_UPDATES`] items (400 otherwise). The fields no item's reading looked at
/// are added to `ignored`, as `updates[][name]`.
pub fn sync_updates<'b, 'r>(
    body: &'b RequestBody,
    profile: Profile,
    mut ignored: Ignored<'r>,
) -> Result<(Vec<SyncUpdate<'b>>, Ignored<'r>), ApiError> {
    let updates = match body.field("updates") {
        Some(Value::Array(updates)) => updates,
        _ => {
            return Err(ApiError::bad_field(
                "updates",
                "must be an array of user objects",
            ))
        }
    };
    if updates.len() > MAX_SYNC_UPDATES {
        return Err(ApiError::bad_field(
            "updates",
            format!(
                "has {} items; at most {MAX_SYNC_UPDATES} are accepted per request",
                updates.len()
            ),
        ));
    }
    let mut read = Vec::with_capacity(updates.len());
    for item in updates {
        let Some(fields) = item.as_object() else {
            read.push((
                item,
                Err(field_error("base", "each update must be a user object")),
            ));
            continue;
        };
        let fields = Fields::new(fields);
        read.push((item, sync_item(&fields, profile)));
        ignored = ignored.object("updates[]", &fields);
    }
    Ok((read, ignored))
}

fn sync_item(fields: &Fields<'_>, profile: Profile) -> Result<SyncItem, FieldErrors> {
    let changes = read_user_changes(fields, profile)?;
    let id = match fields.get("id") {
        Some(value) => {
            Some(parse_id(value).ok_or_else(|| field_error("id", "must be a positive integer"))?)
        }
        None => None,
    };
    Ok(SyncItem { id, changes })
}

/// A nullable string field of a webhooks body; another type is a 400 naming it.
fn webhook_text(fields: &Fields<'_>, name: &str) -> Result<Option<String>, ApiError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(ApiError::bad_field(name, "must be a string")),
    }
}

/// The settings of a `hook` object: destination URL and headers (an object of strings) and
/// payload version. Wrong types are a 400; the values are checked by the domain.
pub fn hook_settings(hook: &Fields<'_>) -> Result<HookSettings, ApiError> {
    let destination_headers = match hook.get("destination_headers") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(
            map.iter()
                .map(|(name, value)| match value {
                    Value::String(s) => Ok((name.clone(), s.clone())),
                    _ => Err(ApiError::bad_field(
                        "destination_headers",
                        format!("`{name}` must be a string"),
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(ApiError::bad_field(
                "destination_headers",
                "must be an object of header names and values",
            ))
        }
    };
    Ok(HookSettings {
        destination_url: webhook_text(hook, "destination_url")?,
        destination_headers,
        api_version: webhook_text(hook, "api_version")?,
    })
}

/// The `resource_name` and `event_type` of a `trigger` object, both required strings.
pub fn trigger_names(trigger: &Fields<'_>) -> Result<(String, String), ApiError> {
    let required = |name: &str| {
        webhook_text(trigger, name)?.ok_or_else(|| ApiError::bad_field(name, "is missing"))
    };
    Ok((required("resource_name")?, required("event_type")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<UserChanges, FieldErrors> {
        read_user_changes(
            &Fields::new(value.as_object().unwrap()),
            Profile::Documented,
        )
    }

    #[test]
    fn form_style_strings_are_coerced() {
        let changes =
            parse(json!({"is_employee": "true", "vendor_id": "2001", "zip": 80202})).unwrap();
        assert_eq!(changes.is_employee, Some(true));
        assert_eq!(changes.vendor_id, Some(Some(2001)));
        assert_eq!(changes.text, vec![("zip", Some("80202".to_owned()))]);
    }

    #[test]
    fn every_wrongly_typed_field_is_named() {
        let errors =
            parse(json!({"is_active": "maybe", "vendor_id": -3, "job_title": ["x"]})).unwrap_err();
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["is_active", "job_title", "vendor_id"]);
    }

    #[test]
    fn login_stands_in_for_email_only_in_the_documented_profile() {
        let body = json!({"login": "a@b.example"});
        let user = body.as_object().unwrap();
        let documented = read_user_changes(&Fields::new(user), Profile::Documented).unwrap();
        assert_eq!(documented.email_address.as_deref(), Some("a@b.example"));
        let official = read_user_changes(&Fields::new(user), Profile::Official).unwrap();
        assert_eq!(official.email_address, None);
    }

    /// The user fields no write request sets: ids and times the server assigns, the avatar
    /// (uploaded, not written), and the fixture-only `directory_admin` and
    /// `associated_records`.
    const NOT_WRITABLE: [&str; 7] = [
        "id",
        "created_at",
        "updated_at",
        "last_login_at",
        "avatar",
        "directory_admin",
        "associated_records",
    ];

    #[test]
    fn every_user_field_is_read_and_applied_or_listed_as_not_writable() {
        // Fails when a field is added to `User` (or to `TEXT_FIELDS`) without the parser and
        // `UserChanges` learning it, or when one of them names a field `User` lacks.
        let now = chrono::Utc::now();
        let before = crate::store::User::new(1, "Doe".into(), "a@b.example".into(), now);
        let serialized = serde_json::to_value(&before).unwrap();
        let fields = serialized.as_object().unwrap();
        for name in TEXT_FIELDS {
            assert!(
                fields.contains_key(*name),
                "TEXT_FIELDS names `{name}`, which User lacks"
            );
        }
        for (name, value) in fields {
            if NOT_WRITABLE.contains(&name.as_str()) {
                continue;
            }
            // A boolean flips; anything else is sent as "7", which reads as text or as an id.
            let sent = match value {
                Value::Bool(flag) => json!(!flag),
                _ => json!("7"),
            };
            let body = json!({ name.as_str(): sent });
            let changes = parse(body).unwrap_or_else(|e| panic!("`{name}` refused: {e:?}"));
            let mut after = before.clone();
            changes.apply_to(&mut after);
            let after = serde_json::to_value(&after).unwrap();
            assert_ne!(
                after[name], *value,
                "`{name}` is a User field that no write request sets: teach the parser and \
                 UserChanges, or list it in NOT_WRITABLE"
            );
        }
    }
}
