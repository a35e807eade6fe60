//! The changes one write makes to a user: what create, update and sync share.
//!
//! `http::params` reads them from a request (any body encoding); the rules in this module's
//! siblings validate and store them.

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

impl UserChanges {
    /// The new value of free-text field `name`, when this write sets it.
    pub fn text(&self, name: &str) -> Option<Option<String>> {
        self.text
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value.clone())
    }
}
