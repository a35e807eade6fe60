//! How records look on the wire.
//!
//! Views borrow from the store and write themselves with [`writer`] straight into the response
//! buffer, so a page of 10,000 users is written without copying a single record. Field names
//! and shapes follow Procore's reference; the profile decides the seed-only extras (`login`,
//! project users' `permission_template_id`).

pub mod crux;
pub mod writer;

use crate::clock::Timestamp;
use crate::config::Profile;
use crate::domain::webhooks::Change;
use crate::domain::{project_users, FieldErrors};
use crate::store::{Company, Directory, Membership, PermissionTemplate, Project, User, Vendor};
use writer::{write_str_parts, ObjectWriter, WriteJson};

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
    /// Inactive-list items: the list shape, under the inactive list's own schema.
    Inactive,
}

impl UserShape {
    /// Whether Procore's schema for this shape lets `vendor`, `origin_id` and `origin_data` be
    /// `null`. Its list schemas do; its detail and inactive-list schemas do not (and require
    /// none of them), so there a user without them is written without the keys.
    fn nullable_links(self) -> bool {
        matches!(self, UserShape::List | UserShape::Extended)
    }
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

impl WriteJson for CompanyUserView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let user = self.user;
        let mut object = ObjectWriter::new(out);
        object
            .field("id", &user.id)
            .field("name", &Name(user))
            .field("first_name", &user.first_name)
            .field("last_name", &user.last_name)
            .field("initials", &*user.initials())
            .field("email_address", &user.email_address);
        if self.profile.serves_seed_extras() {
            object.field("login", &user.email_address);
        }
        object
            .field("email_signature", &user.email_signature)
            .field("job_title", &user.job_title)
            .field("address", &user.address)
            .field("city", &user.city)
            .field("zip", &user.zip)
            .field("state_code", &user.state_code)
            .field("country_code", &user.country_code)
            .field("business_phone", &user.business_phone)
            .field(
                "business_phone_extension",
                &user.business_phone_extension.as_deref().map(PhoneExtension),
            )
            .field("mobile_phone", &user.mobile_phone)
            .field("fax_number", &user.fax_number)
            .field("is_active", &user.is_active)
            .field("is_employee", &user.is_employee)
            .field("employee_id", &user.employee_id)
            .field("notes", &user.notes)
            .field("avatar", &user.avatar);
        if self.shape.nullable_links() {
            object
                .field("origin_id", &user.origin_id)
                .field("origin_data", &user.origin_data);
        } else {
            object
                .optional("origin_id", user.origin_id.as_ref())
                .optional("origin_data", user.origin_data.as_ref());
        }
        object
            .field("work_classification_id", &user.work_classification_id)
            .field("created_at", &Timestamp(&user.created_at))
            .field("updated_at", &Timestamp(&user.updated_at))
            .field("last_login_at", &user.last_login_at.as_ref().map(Timestamp));
        let vendor = vendor_ref(self.directory, user.vendor_id);
        let template = |id: Option<u64>| id.and_then(|id| self.directory.templates.get(&id));
        if matches!(
            self.shape,
            UserShape::List | UserShape::Extended | UserShape::Inactive
        ) {
            object
                .field(
                    "permission_template",
                    &template(user.default_permission_template_id).map(TemplateRef),
                )
                .field(
                    "company_permission_template",
                    &template(user.company_permission_template_id).map(TemplateRef),
                );
        }
        if matches!(self.shape, UserShape::Detail | UserShape::Extended) {
            object
                .field(
                    "default_permission_template_id",
                    &user.default_permission_template_id,
                )
                .field(
                    "company_permission_template_id",
                    &user.company_permission_template_id,
                )
                .field("add_to_new_projects", &user.add_to_new_projects)
                .field("is_insurance_manager", &user.is_insurance_manager);
        }
        if self.shape.nullable_links() {
            object.field("vendor", &vendor);
        } else {
            object.optional("vendor", vendor.as_ref());
        }
        object.finish();
    }
}

/// A phone extension, stored as text and written as the integer Procore's schema declares
/// (text that is not one, which only a hand-written fixture can hold, is written as text).
struct PhoneExtension<'a>(&'a str);

impl WriteJson for PhoneExtension<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self.0.trim().parse::<u64>() {
            Ok(number) => number.write_json(out),
            Err(_) => self.0.write_json(out),
        }
    }
}

/// A user's display name, written without joining its parts first.
struct Name<'a>(&'a User);

impl WriteJson for Name<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_str_parts(out, &self.0.name_parts());
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

impl WriteJson for ProjectUserView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let user = self.user;
        let mut object = ObjectWriter::new(out);
        object
            .field("id", &user.id)
            .field("name", &Name(user))
            .optional("first_name", user.first_name.as_ref())
            .field("last_name", &user.last_name)
            .field("email_address", &user.email_address);
        let optional = [
            ("job_title", &user.job_title),
            ("address", &user.address),
            ("city", &user.city),
            ("zip", &user.zip),
            ("state_code", &user.state_code),
            ("country_code", &user.country_code),
            ("business_phone", &user.business_phone),
            ("mobile_phone", &user.mobile_phone),
            ("fax_number", &user.fax_number),
            ("employee_id", &user.employee_id),
            ("avatar", &user.avatar),
            ("origin_id", &user.origin_id),
        ];
        for (key, value) in optional {
            object.optional(key, value.as_ref());
        }
        object.optional(
            "business_phone_extension",
            user.business_phone_extension
                .as_deref()
                .map(PhoneExtension)
                .as_ref(),
        );
        object.field("initials", &*user.initials());
        if self.profile.serves_seed_extras() {
            object.field("login", &user.email_address);
        }
        object
            .field(
                "is_active",
                &project_users::member_is_active(user, self.membership),
            )
            .field("is_employee", &user.is_employee);
        if let Some(template) = self
            .membership
            .permission_template_id
            .and_then(|id| self.directory.templates.get(&id))
        {
            object.field("permission_template", &TemplateRef(template));
            if self.profile.serves_seed_extras() {
                object.field("permission_template_id", &template.id);
            }
        }
        object
            .optional(
                "vendor",
                vendor_ref(self.directory, user.vendor_id).as_ref(),
            )
            .field("created_at", &Timestamp(&user.created_at))
            .field("updated_at", &Timestamp(&user.updated_at))
            .optional(
                "last_login_at",
                user.last_login_at.as_ref().map(Timestamp).as_ref(),
            );
        object.finish();
    }
}

/// `{id, name, project_specific, type}`: a template as it is embedded in a user.
pub struct TemplateRef<'a>(pub &'a PermissionTemplate);

impl TemplateRef<'_> {
    fn write_fields(&self, object: &mut ObjectWriter<'_>) {
        object
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .field("project_specific", &self.0.project_specific)
            .field("type", self.0.wire_type());
    }
}

impl WriteJson for TemplateRef<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = ObjectWriter::new(out);
        self.write_fields(&mut object);
        object.finish();
    }
}

/// `{id, name, project_specific, type, category}`: a template in the template lists.
pub struct TemplateView<'a>(pub &'a PermissionTemplate);

impl WriteJson for TemplateView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = ObjectWriter::new(out);
        TemplateRef(self.0).write_fields(&mut object);
        object.field("category", &self.0.category);
        object.finish();
    }
}

/// `{id, name}`: a vendor or company as another record embeds it.
struct IdName<'a> {
    id: u64,
    name: &'a str,
}

impl WriteJson for IdName<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = ObjectWriter::new(out);
        object.field("id", &self.id).field("name", self.name);
        object.finish();
    }
}

/// The vendor a user works for.
fn vendor_ref(directory: &Directory, vendor_id: Option<u64>) -> Option<IdName<'_>> {
    let vendor = directory.vendors.get(&vendor_id?)?;
    Some(IdName {
        id: vendor.id,
        name: &vendor.name,
    })
}

/// `{id, name, is_active}`: a vendor in the vendor endpoints.
pub struct VendorView<'a>(pub &'a Vendor);

impl WriteJson for VendorView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = ObjectWriter::new(out);
        object
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .field("is_active", &self.0.is_active);
        object.finish();
    }
}

/// `{id, name, is_active}`: a company in the companies list.
pub struct CompanyView<'a>(pub &'a Company);

impl WriteJson for CompanyView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = ObjectWriter::new(out);
        object
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .field("is_active", &self.0.is_active);
        object.finish();
    }
}

/// A project in the projects list.
pub struct ProjectView<'a> {
    /// The project.
    pub project: &'a Project,
    /// Its company.
    pub company: &'a Company,
}

impl WriteJson for ProjectView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let project = self.project;
        let mut object = ObjectWriter::new(out);
        object
            .field("id", &project.id)
            .field("name", &project.name)
            .field(
                "display_name",
                project.display_name.as_deref().unwrap_or(&project.name),
            )
            .field("project_number", &project.project_number)
            .field("active", &project.active)
            .field(
                "company",
                &IdName {
                    id: self.company.id,
                    name: &self.company.name,
                },
            );
        object.finish();
    }
}

/// `{"entities": [...], "errors": [...]}`: what a sync answers: the users written, in the
/// detail shape, and each refused item as it was sent plus its `errors` map.
pub struct SyncAnswer<'a> {
    /// The items as sent, in order.
    pub sent: &'a [&'a serde_json::Value],
    /// Per item, the change made (the user written) or the field errors that refused it.
    pub outcomes: &'a [Result<Change, FieldErrors>],
    /// The company's data after the sync.
    pub directory: &'a Directory,
    /// The profile being served.
    pub profile: Profile,
}

impl WriteJson for SyncAnswer<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut entities = Vec::new();
        let mut errors = Vec::new();
        for (item, outcome) in self.sent.iter().zip(self.outcomes) {
            match outcome {
                Ok(change) => {
                    entities.extend(self.directory.user(change.resource_id).map(|user| {
                        CompanyUserView {
                            user,
                            directory: self.directory,
                            shape: UserShape::Detail,
                            profile: self.profile,
                        }
                    }))
                }
                Err(field_errors) => {
                    let mut echoed = item.as_object().cloned().unwrap_or_default();
                    echoed.insert("errors".to_owned(), serde_json::json!(field_errors));
                    errors.push(serde_json::Value::Object(echoed));
                }
            }
        }
        let mut object = ObjectWriter::new(out);
        object.field("entities", &entities).field("errors", &errors);
        object.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// User fields the directory views write under another name (`vendor_id` as the `vendor`
    /// object) or not at all (fixture-only fields).
    const NOT_WRITTEN_AS_IS: [&str; 3] = ["vendor_id", "directory_admin", "associated_records"];

    #[test]
    fn the_detail_and_extended_shapes_write_every_user_field() {
        // Fails when a field is added to `User` without the company-user view writing it.
        let mut user = User::new(1, "Doe".into(), "a@b.example".into(), chrono::Utc::now());
        // Set, since the detail shape leaves these keys out when they are null.
        user.origin_id = Some("hr-1".into());
        user.origin_data = Some("{}".into());
        let directory = Directory::default();
        let fields = serde_json::to_value(&user).unwrap();
        for shape in [UserShape::Detail, UserShape::Extended] {
            let view = CompanyUserView {
                user: &user,
                directory: &directory,
                shape,
                profile: Profile::Official,
            };
            let written: serde_json::Value =
                serde_json::from_slice(&writer::to_vec(&view, 1024)).unwrap();
            for name in fields.as_object().unwrap().keys() {
                assert!(
                    NOT_WRITTEN_AS_IS.contains(&name.as_str()) || written.get(name).is_some(),
                    "the {shape:?} shape does not write `{name}`"
                );
            }
        }
    }
}
