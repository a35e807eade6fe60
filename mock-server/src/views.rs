//! How records look on the wire.
//!
//! Views borrow from the store and serialize directly, so a page of 10,000 users is written
//! without copying a single record. Field names and shapes follow Procore's reference; the
//! profile decides the seed-only extras (`login`, project users' `permission_template_id`).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::clock::Timestamp;
use crate::config::Profile;
use crate::store::{Company, Directory, Membership, PermissionTemplate, Project, User};

/// Which of the company-user shapes to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserShape {
    /// List items: template and vendor objects.
    List,
    /// Show, create and update responses: template ids, plus `add_to_new_projects` and
    /// `is_insurance_manager`.
    Detail,
    /// v1.3 `view=extended` list items: the list shape plus the detail fields.
    Extended,
}

/// A company user as the directory endpoints return it.
pub struct CompanyUserView<'a> {
    /// The record.
    pub user: &'a User,
    /// The company's data, to resolve vendor and template names.
    pub directory: &'a Directory,
    /// List or detail shape.
    pub shape: UserShape,
    /// The profile being served.
    pub profile: Profile,
}

impl Serialize for CompanyUserView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &user.id)?;
        map.serialize_entry("name", &user.name())?;
        map.serialize_entry("first_name", &user.first_name)?;
        map.serialize_entry("last_name", &user.last_name)?;
        map.serialize_entry("initials", &user.initials())?;
        map.serialize_entry("email_address", &user.email_address)?;
        if self.profile.serves_seed_extras() {
            map.serialize_entry("login", &user.email_address)?;
        }
        map.serialize_entry("email_signature", &user.email_signature)?;
        map.serialize_entry("job_title", &user.job_title)?;
        map.serialize_entry("address", &user.address)?;
        map.serialize_entry("city", &user.city)?;
        map.serialize_entry("zip", &user.zip)?;
        map.serialize_entry("state_code", &user.state_code)?;
        map.serialize_entry("country_code", &user.country_code)?;
        map.serialize_entry("business_phone", &user.business_phone)?;
        map.serialize_entry("business_phone_extension", &user.business_phone_extension)?;
        map.serialize_entry("mobile_phone", &user.mobile_phone)?;
        map.serialize_entry("fax_number", &user.fax_number)?;
        map.serialize_entry("is_active", &user.is_active)?;
        map.serialize_entry("is_employee", &user.is_employee)?;
        map.serialize_entry("employee_id", &user.employee_id)?;
        map.serialize_entry("notes", &user.notes)?;
        map.serialize_entry("avatar", &user.avatar)?;
        map.serialize_entry("origin_id", &user.origin_id)?;
        map.serialize_entry("origin_data", &user.origin_data)?;
        map.serialize_entry("work_classification_id", &user.work_classification_id)?;
        map.serialize_entry("created_at", &Timestamp(&user.created_at))?;
        map.serialize_entry("updated_at", &Timestamp(&user.updated_at))?;
        map.serialize_entry("last_login_at", &user.last_login_at.as_ref().map(Timestamp))?;
        let template = |id: Option<u64>| id.and_then(|id| self.directory.templates.get(&id));
        if matches!(self.shape, UserShape::List | UserShape::Extended) {
            map.serialize_entry(
                "permission_template",
                &template(user.default_permission_template_id).map(TemplateRef),
            )?;
            map.serialize_entry(
                "company_permission_template",
                &template(user.company_permission_template_id).map(TemplateRef),
            )?;
        }
        if matches!(self.shape, UserShape::Detail | UserShape::Extended) {
            map.serialize_entry(
                "default_permission_template_id",
                &user.default_permission_template_id,
            )?;
            map.serialize_entry(
                "company_permission_template_id",
                &user.company_permission_template_id,
            )?;
            map.serialize_entry("add_to_new_projects", &user.add_to_new_projects)?;
            map.serialize_entry("is_insurance_manager", &user.is_insurance_manager)?;
        }
        map.serialize_entry("vendor", &vendor_ref(self.directory, user.vendor_id))?;
        map.end()
    }
}

/// A project member as the project-user endpoints return it; null values are omitted.
pub struct ProjectUserView<'a> {
    /// The company record of the member.
    pub user: &'a User,
    /// The membership on this project.
    pub membership: &'a Membership,
    /// The company's data, to resolve vendor and template names.
    pub directory: &'a Directory,
    /// The profile being served.
    pub profile: Profile,
}

impl Serialize for ProjectUserView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &user.id)?;
        map.serialize_entry("name", &user.name())?;
        if let Some(first_name) = &user.first_name {
            map.serialize_entry("first_name", first_name)?;
        }
        map.serialize_entry("last_name", &user.last_name)?;
        map.serialize_entry("email_address", &user.email_address)?;
        let optional = [
            ("job_title", &user.job_title),
            ("address", &user.address),
            ("city", &user.city),
            ("zip", &user.zip),
            ("state_code", &user.state_code),
            ("country_code", &user.country_code),
            ("business_phone", &user.business_phone),
            ("business_phone_extension", &user.business_phone_extension),
            ("mobile_phone", &user.mobile_phone),
            ("fax_number", &user.fax_number),
            ("employee_id", &user.employee_id),
            ("avatar", &user.avatar),
            ("origin_id", &user.origin_id),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        map.serialize_entry("initials", &user.initials())?;
        if self.profile.serves_seed_extras() {
            map.serialize_entry("login", &user.email_address)?;
        }
        map.serialize_entry("is_active", &(user.is_active && self.membership.is_active))?;
        map.serialize_entry("is_employee", &user.is_employee)?;
        if let Some(template) = self
            .membership
            .permission_template_id
            .and_then(|id| self.directory.templates.get(&id))
        {
            map.serialize_entry("permission_template", &TemplateRef(template))?;
            if self.profile.serves_seed_extras() {
                map.serialize_entry("permission_template_id", &template.id)?;
            }
        }
        if let Some(vendor) = vendor_ref(self.directory, user.vendor_id) {
            map.serialize_entry("vendor", &vendor)?;
        }
        map.serialize_entry("created_at", &Timestamp(&user.created_at))?;
        map.serialize_entry("updated_at", &Timestamp(&user.updated_at))?;
        if let Some(at) = &user.last_login_at {
            map.serialize_entry("last_login_at", &Timestamp(at))?;
        }
        map.end()
    }
}

/// `{id, name, project_specific, type}`: a template as it is embedded in a user.
pub struct TemplateRef<'a>(pub &'a PermissionTemplate);

impl Serialize for TemplateRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("id", &self.0.id)?;
        map.serialize_entry("name", &self.0.name)?;
        map.serialize_entry("project_specific", &self.0.project_specific)?;
        map.serialize_entry("type", &self.0.kind)?;
        map.end()
    }
}

/// `{id, name, project_specific, type, category}`: a template in the template lists.
pub struct TemplateView<'a>(pub &'a PermissionTemplate);

impl Serialize for TemplateView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("id", &self.0.id)?;
        map.serialize_entry("name", &self.0.name)?;
        map.serialize_entry("project_specific", &self.0.project_specific)?;
        map.serialize_entry("type", &self.0.kind)?;
        map.serialize_entry("category", &self.0.category)?;
        map.end()
    }
}

#[derive(Serialize)]
struct VendorRef<'a> {
    id: u64,
    name: &'a str,
}

fn vendor_ref(directory: &Directory, vendor_id: Option<u64>) -> Option<VendorRef<'_>> {
    let vendor = directory.vendors.get(&vendor_id?)?;
    Some(VendorRef {
        id: vendor.id,
        name: &vendor.name,
    })
}

/// `{id, name, is_active}`: a company in the companies list.
#[derive(Serialize)]
pub struct CompanyView<'a> {
    /// Company id.
    pub id: u64,
    /// Company name.
    pub name: &'a str,
    /// Whether the company is active.
    pub is_active: bool,
}

impl<'a> From<&'a Company> for CompanyView<'a> {
    fn from(company: &'a Company) -> Self {
        Self {
            id: company.id,
            name: &company.name,
            is_active: company.is_active,
        }
    }
}

/// A project in the projects list.
pub struct ProjectView<'a> {
    /// The project.
    pub project: &'a Project,
    /// Its company.
    pub company: &'a Company,
}

impl Serialize for ProjectView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let project = self.project;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &project.id)?;
        map.serialize_entry("name", &project.name)?;
        map.serialize_entry(
            "display_name",
            project.display_name.as_deref().unwrap_or(&project.name),
        )?;
        map.serialize_entry("project_number", &project.project_number)?;
        map.serialize_entry("active", &project.active)?;
        map.serialize_entry("company", &CompanyRef(self.company))?;
        map.end()
    }
}

struct CompanyRef<'a>(&'a Company);

impl Serialize for CompanyRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("id", &self.0.id)?;
        map.serialize_entry("name", &self.0.name)?;
        map.end()
    }
}
