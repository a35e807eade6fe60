//! Field-level validation shared by every write path (and by fixture loading).

use super::error::FieldErrors;
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

/// ISO-3166 checks of v1.3 updates: `country_code` an alpha-2 code, `state_code` a subdivision
/// of that country (given as `CO` or `US-CO`). Returns every problem by field (422).
pub fn validate_location(country_code: Option<&str>, state_code: Option<&str>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let country = country_code.map(str::trim).filter(|c| !c.is_empty());
    if let Some(country) = country {
        if country.len() != 2 || rust_iso3166::from_alpha2(&country.to_ascii_uppercase()).is_none()
        {
            errors.insert(
                "country_code".to_owned(),
                vec![format!(
                    "`{country}` is not an ISO-3166 alpha-2 country code"
                )],
            );
        }
    }
    if let Some(state) = state_code.map(str::trim).filter(|s| !s.is_empty()) {
        match country {
            None => {
                errors.insert(
                    "state_code".to_owned(),
                    vec!["needs a country_code to be checked against".to_owned()],
                );
            }
            Some(country) if !errors.contains_key("country_code") => {
                let country = country.to_ascii_uppercase();
                let state = state.to_ascii_uppercase();
                let code = if state.contains('-') {
                    state.clone()
                } else {
                    format!("{country}-{state}")
                };
                let known = rust_iso3166::iso3166_2::from_code(&code).is_some_and(|subdivision| {
                    code.starts_with(&format!("{country}-")) && subdivision.code == code
                });
                if !known {
                    errors.insert(
                        "state_code".to_owned(),
                        vec![format!(
                            "`{state}` is not an ISO-3166-2 subdivision of {country}"
                        )],
                    );
                }
            }
            Some(_) => {}
        }
    }
    errors
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
    fn locations_are_checked_against_iso_3166() {
        use super::validate_location;
        assert!(validate_location(Some("US"), Some("CO")).is_empty());
        assert!(validate_location(Some("us"), Some("US-co")).is_empty());
        assert!(validate_location(Some("CA"), Some("ON")).is_empty());
        assert!(validate_location(Some("XX"), None).contains_key("country_code"));
        assert!(validate_location(Some("USA"), None).contains_key("country_code"));
        assert!(validate_location(Some("US"), Some("ON")).contains_key("state_code"));
        assert!(validate_location(Some("CA"), Some("US-CO")).contains_key("state_code"));
        assert!(validate_location(None, Some("CO")).contains_key("state_code"));
    }

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
