//! Field-level validation shared by every write path (and by fixture loading).

use crate::error::FieldErrors;
use crate::store::{Directory, TemplateKind, User};

/// A pragmatic email check: one `@`, something before it, a dotted domain after it, no spaces.
pub fn looks_like_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// Checks a user record against the company's data; returns every problem by field (422).
pub fn validate_user(user: &User, directory: &Directory) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut fail =
        |field: &str, message: String| errors.entry(field.to_owned()).or_default().push(message);
    if user.last_name.trim().is_empty() {
        fail("last_name", "can't be blank".to_owned());
    }
    if user.email_address.trim().is_empty() {
        fail("email_address", "can't be blank".to_owned());
    } else if !looks_like_email(&user.email_address) {
        fail("email_address", "is not a valid email address".to_owned());
    }
    if let Some(vendor_id) = user.vendor_id {
        if !directory.vendors.contains_key(&vendor_id) {
            fail(
                "vendor_id",
                format!("{vendor_id} is not a vendor of this company"),
            );
        }
    }
    if let Some(id) = user.default_permission_template_id {
        if !directory
            .templates
            .get(&id)
            .is_some_and(|t| t.is_default_project_template())
        {
            fail(
                "default_permission_template_id",
                format!("{id} is not a project permission template of this company"),
            );
        }
    }
    if let Some(id) = user.company_permission_template_id {
        if !directory
            .templates
            .get(&id)
            .is_some_and(|t| t.kind == TemplateKind::CompanyTools)
        {
            fail(
                "company_permission_template_id",
                format!("{id} is not a company permission template of this company"),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::looks_like_email;

    #[test]
    fn email_shapes() {
        assert!(looks_like_email("jane.doe@summit.example"));
        assert!(!looks_like_email("jane.doe"));
        assert!(!looks_like_email("jane@doe"));
        assert!(!looks_like_email("ja ne@doe.example"));
        assert!(!looks_like_email("@doe.example"));
        assert!(!looks_like_email("a@b@c.example"));
    }
}
