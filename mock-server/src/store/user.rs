//! A company directory record (a Procore "company user").

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One person in a company's directory.
///
/// The struct doubles as the fixture and state-snapshot schema, so its serde names are Procore's
/// wire names and unknown keys in a fixture are refused rather than silently dropped.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Procore user id; unique across the whole server.
    pub id: u64,
    /// Given name; Procore allows it to be empty.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name; required by every write endpoint.
    pub last_name: String,
    /// Login and contact address; unique (case-insensitively) within the company.
    pub email_address: String,
    /// Initials shown in Procore's UI; derived from the names when not set.
    #[serde(default)]
    pub initials: Option<String>,
    /// Signature appended to Procore e-mails.
    #[serde(default)]
    pub email_signature: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Street address.
    #[serde(default)]
    pub address: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub zip: Option<String>,
    /// ISO-3166 subdivision code (the part after the country).
    #[serde(default)]
    pub state_code: Option<String>,
    /// ISO-3166 alpha-2 country code.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Business phone.
    #[serde(default)]
    pub business_phone: Option<String>,
    /// Business phone extension.
    #[serde(default)]
    pub business_phone_extension: Option<String>,
    /// Mobile phone.
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// Fax number.
    #[serde(default)]
    pub fax_number: Option<String>,
    /// HR employee id, meaningful when `is_employee`.
    #[serde(default)]
    pub employee_id: Option<String>,
    /// Notes, keywords and tags.
    #[serde(default)]
    pub notes: Option<String>,
    /// Identifier in the integrator's system; unique within the company when set.
    #[serde(default)]
    pub origin_id: Option<String>,
    /// Opaque data the integrator keeps alongside `origin_id`.
    #[serde(default)]
    pub origin_data: Option<String>,
    /// URL of the avatar image, when one was uploaded.
    #[serde(default)]
    pub avatar: Option<String>,
    /// Inactive users cannot log in and drop out of the active directory listing.
    #[serde(default = "default_true")]
    pub is_active: bool,
    /// Whether the person is an employee of the company (as opposed to a vendor's staff).
    #[serde(default)]
    pub is_employee: bool,
    /// Whether Procore adds this person to every new project.
    #[serde(default)]
    pub add_to_new_projects: bool,
    /// Whether the person manages vendor insurance.
    #[serde(default)]
    pub is_insurance_manager: bool,
    /// The vendor (directory company) the person works for.
    #[serde(default)]
    pub vendor_id: Option<u64>,
    /// Project permission template applied when the person joins a project.
    #[serde(default)]
    pub default_permission_template_id: Option<u64>,
    /// Company-level permission template.
    #[serde(default)]
    pub company_permission_template_id: Option<u64>,
    /// Work classification id (free integer; the mock keeps no classification list).
    #[serde(default)]
    pub work_classification_id: Option<u64>,
    /// When the record was created (mock clock); a fixture may leave it out to mean "at load".
    #[serde(default = "unset_timestamp")]
    pub created_at: DateTime<Utc>,
    /// When the record last changed (mock clock); a fixture may leave it out to mean "at load".
    #[serde(default = "unset_timestamp")]
    pub updated_at: DateTime<Utc>,
    /// When the person last logged in, if ever.
    #[serde(default)]
    pub last_login_at: Option<DateTime<Utc>>,
    /// Whether the person holds Admin on the company Directory tool; guards v1.3's privileged fields.
    #[serde(default)]
    pub directory_admin: bool,
    /// Records (RFIs, submittals, daily logs, ...) that block deletion, counted by kind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub associated_records: BTreeMap<String, u32>,
}

fn default_true() -> bool {
    true
}

/// The placeholder for a timestamp a fixture left out; loading replaces it with the clock's now.
fn unset_timestamp() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

/// Declares the free-text profile fields once: [`TEXT_FIELDS`] and [`User::text_field_mut`]
/// both come from this one list, so they cannot drift apart. (A field must also be declared
/// in [`User`]; the compiler checks that.)
macro_rules! text_fields {
    ($($field:ident),+ $(,)?) => {
        /// Field names of the free-text profile fields, in the order Procore lists them.
        pub const TEXT_FIELDS: &[&str] = &[$(stringify!($field)),+];

        impl User {
            /// The free-text field named `name`, for setting by wire name.
            pub fn text_field_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
                match name {
                    $(stringify!($field) => Some(&mut self.$field),)+
                    _ => None,
                }
            }
        }
    };
}

text_fields!(
    first_name,
    initials,
    email_signature,
    job_title,
    address,
    city,
    zip,
    state_code,
    country_code,
    business_phone,
    business_phone_extension,
    mobile_phone,
    fax_number,
    employee_id,
    notes,
    origin_data,
);

impl User {
    /// A new active, non-employee user with only the required fields set.
    pub fn new(id: u64, last_name: String, email_address: String, now: DateTime<Utc>) -> Self {
        Self {
            id,
            first_name: None,
            last_name,
            email_address,
            initials: None,
            email_signature: None,
            job_title: None,
            address: None,
            city: None,
            zip: None,
            state_code: None,
            country_code: None,
            business_phone: None,
            business_phone_extension: None,
            mobile_phone: None,
            fax_number: None,
            employee_id: None,
            notes: None,
            origin_id: None,
            origin_data: None,
            avatar: None,
            is_active: true,
            is_employee: false,
            add_to_new_projects: false,
            is_insurance_manager: false,
            vendor_id: None,
            default_permission_template_id: None,
            company_permission_template_id: None,
            work_classification_id: None,
            created_at: now,
            updated_at: now,
            last_login_at: None,
            directory_admin: false,
            associated_records: BTreeMap::new(),
        }
    }

    /// Procore's display name: first and last name joined by a space.
    pub fn name(&self) -> String {
        self.name_parts().concat()
    }

    /// The pieces of [`User::name`], for writers that need not join them.
    pub fn name_parts(&self) -> [&str; 3] {
        match self.first_name.as_deref().filter(|f| !f.is_empty()) {
            Some(first) => [first, " ", &self.last_name],
            None => ["", "", &self.last_name],
        }
    }

    /// The initials Procore shows: the stored ones, else the first letters of the names.
    pub fn initials(&self) -> Cow<'_, str> {
        if let Some(initials) = self.initials.as_deref().filter(|i| !i.is_empty()) {
            return Cow::Borrowed(initials);
        }
        Cow::Owned(
            [self.first_name.as_deref().unwrap_or(""), &self.last_name]
                .iter()
                .filter_map(|part| part.chars().next())
                .flat_map(char::to_uppercase)
                .collect(),
        )
    }

    /// The email key under which uniqueness is enforced (emails compare case-insensitively).
    pub fn email_key(&self) -> String {
        email_key(&self.email_address)
    }

    /// Replaces timestamps a fixture left out with `now`.
    pub fn stamp_unset_times(&mut self, now: DateTime<Utc>) {
        if self.created_at == unset_timestamp() {
            self.created_at = now;
        }
        if self.updated_at == unset_timestamp() {
            self.updated_at = self.created_at;
        }
    }
}

/// Normalizes an email address for uniqueness checks.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}
