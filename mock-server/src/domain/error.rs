//! What a Procore rule can refuse with, in the domain's own words.
//!
//! [`DomainError`] names the kind of refusal (a missing field, invalid fields, a clash, a
//! missing record, a permission); `http::error` maps each kind to a status and a
//! Procore-shaped body in one place, so no rule here knows about status codes.

use std::collections::BTreeMap;

/// Field name -> messages, as Procore reports field errors.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// A field-error map with one message for one field.
pub fn field_error(field: &str, message: impl Into<String>) -> FieldErrors {
    BTreeMap::from([(field.to_owned(), vec![message.into()])])
}

/// One sentence from a field-error map: `last_name can't be blank; email_address is invalid`.
pub fn summarize(errors: &FieldErrors) -> String {
    errors
        .iter()
        .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field} {m}")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a rule refused a request.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A field the rule requires is absent from the request (answered 400).
    #[error("{field} is missing")]
    Missing {
        /// The absent field.
        field: &'static str,
    },
    /// Fields are present but break validation (answered 422).
    #[error("{}", summarize(.0))]
    Invalid(FieldErrors),
    /// The record's state forbids the write, whatever its fields (answered 422), e.g. deleting
    /// a user who has associated records.
    #[error("{message}")]
    Refused {
        /// Which rule, in a sentence.
        message: String,
        /// The fields at fault.
        errors: FieldErrors,
    },
    /// The write clashes with another record, e.g. a duplicate email (answered 409).
    #[error("{message}")]
    Conflict {
        /// What clashes.
        message: String,
        /// The fields at fault.
        errors: FieldErrors,
    },
    /// No such record (answered 404).
    #[error("{0}")]
    NotFound(String),
    /// The caller may not make this change, e.g. a v1.3 privileged field without Directory
    /// Admin (answered 403).
    #[error("{0}")]
    Forbidden(String),
    /// An upload is larger than the rule allows (answered 413).
    #[error("Request body is larger than the {limit} bytes this server accepts")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl DomainError {
    /// Invalid, naming one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        DomainError::Invalid(field_error(field, message))
    }

    /// A missing record of `kind`.
    pub fn not_found(kind: &str, id: impl std::fmt::Display) -> Self {
        DomainError::NotFound(format!("{kind} {id} not found"))
    }

    /// The refusal as field errors, for answers that list errors per item (sync): the fields at
    /// fault when there are any, else the sentence under `base`.
    pub fn into_field_errors(self) -> FieldErrors {
        match self {
            DomainError::Missing { field } => field_error(field, "is missing"),
            DomainError::Invalid(errors)
            | DomainError::Refused { errors, .. }
            | DomainError::Conflict { errors, .. }
                if !errors.is_empty() =>
            {
                errors
            }
            other => field_error("base", other.to_string()),
        }
    }
}
