//! Reading a `user` object from a request into typed, validated changes.
//!
//! Create, update and (later) sync all accept the same user fields, so they share this one
//! parser. It coerces the way a Rails app does (form and multipart bodies send everything as
//! strings), and reports every field of the wrong type at once, as a 400 naming each.

use serde_json::{Map, Value};

use crate::config::Profile;
use crate::error::{ApiError, FieldErrors};
use crate::store::user::TEXT_FIELDS;
use crate::store::User;

/// The fields of a user that one request sets, each `None` when the request leaves it alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserChanges {
    /// New family name (`Some("")` when sent blank or null, which validation refuses).
    pub last_name: Option<String>,
    /// New email address (blank or null as for `last_name`).
    pub email_address: Option<String>,
    /// Free-text fields by wire name; the inner `None` clears the field.
    pub text: Vec<(&'static str, Option<String>)>,
    /// New origin id; the inner `None` clears it.
    pub origin_id: Option<Option<String>>,
    /// New active flag.
    pub is_active: Option<bool>,
    /// New employee flag.
    pub is_employee: Option<bool>,
    /// New "add to every new project" flag.
    pub add_to_new_projects: Option<bool>,
    /// New insurance-manager flag.
    pub is_insurance_manager: Option<bool>,
    /// New vendor; the inner `None` detaches the user from their vendor.
    pub vendor_id: Option<Option<u64>>,
    /// New default project permission template.
    pub default_permission_template_id: Option<Option<u64>>,
    /// New company permission template.
    pub company_permission_template_id: Option<Option<u64>>,
    /// New work classification.
    pub work_classification_id: Option<Option<u64>>,
}

impl UserChanges {
    /// Reads the fields of a `user` object. Unknown keys are ignored, as Procore ignores
    /// unpermitted parameters. In the `documented` profile `login` stands in for
    /// `email_address` when that is absent, as the founding guide's examples send it.
    pub fn parse(user: &Map<String, Value>, profile: Profile) -> Result<Self, ApiError> {
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
            Err(ApiError::BadRequest {
                message: crate::error::summarize(&errors),
                errors,
            })
        }
    }

    /// Writes the changes into `user` (validation is the caller's next step).
    pub fn apply_to(&self, user: &mut User) {
        if let Some(last_name) = &self.last_name {
            user.last_name = last_name.clone();
        }
        if let Some(email) = &self.email_address {
            user.email_address = email.trim().to_owned();
        }
        for (name, value) in &self.text {
            if let Some(slot) = user.text_field_mut(name) {
                *slot = value.clone();
            }
        }
        set(&mut user.origin_id, &self.origin_id);
        set(&mut user.is_active, &self.is_active);
        set(&mut user.is_employee, &self.is_employee);
        set(&mut user.add_to_new_projects, &self.add_to_new_projects);
        set(&mut user.is_insurance_manager, &self.is_insurance_manager);
        set(&mut user.vendor_id, &self.vendor_id);
        set(
            &mut user.default_permission_template_id,
            &self.default_permission_template_id,
        );
        set(
            &mut user.company_permission_template_id,
            &self.company_permission_template_id,
        );
        set(
            &mut user.work_classification_id,
            &self.work_classification_id,
        );
    }
}

fn set<T: Clone>(slot: &mut T, change: &Option<T>) {
    if let Some(value) = change {
        *slot = value.clone();
    }
}

/// Reads typed values out of a JSON object, collecting type errors by field.
struct FieldReader<'a> {
    user: &'a Map<String, Value>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<UserChanges, ApiError> {
        UserChanges::parse(value.as_object().unwrap(), Profile::Documented)
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
        let Err(ApiError::BadRequest { errors, .. }) =
            parse(json!({"is_active": "maybe", "vendor_id": -3, "job_title": ["x"]}))
        else {
            panic!("expected a 400");
        };
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["is_active", "job_title", "vendor_id"]);
    }

    #[test]
    fn login_stands_in_for_email_only_in_the_documented_profile() {
        let body = json!({"login": "a@b.example"});
        let documented =
            UserChanges::parse(body.as_object().unwrap(), Profile::Documented).unwrap();
        assert_eq!(documented.email_address.as_deref(), Some("a@b.example"));
        let official = UserChanges::parse(body.as_object().unwrap(), Profile::Official).unwrap();
        assert_eq!(official.email_address, None);
    }
}
