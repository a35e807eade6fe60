//! How Crux Connect records look on the wire: serde views that borrow from the store, in the
//! field order of Crux's response examples.
//!
//! A permission-assignments object lists every permission offered to the user's kind of
//! organization with `assigned` saying whether the user holds it: Crux's pages describe the
//! list as "available individual permissions ... as well as if the permission has been
//! assigned" (their examples are cut short and show only assigned ones).

use serde::Serialize;
use uuid::Uuid;

use crate::store::crux::{
    CruxStore, OrgType, OrgUser, Organization, Permission, Person, UserStatus,
};

/// `{"assigned": bool, "permission": {...}}`.
#[derive(Serialize)]
pub struct AssignmentView<'a> {
    assigned: bool,
    permission: &'a Permission,
}

/// `{"uuid": ...}`, the `org_user` of an assignments object.
#[derive(Serialize)]
pub struct OrgUserRef {
    uuid: Uuid,
}

/// A user's permission assignments: what `GET .../users/permissions/{uuid}/` answers.
#[derive(Serialize)]
pub struct AssignmentsView<'a> {
    permissions: Vec<AssignmentView<'a>>,
    org_user: OrgUserRef,
}

impl<'a> AssignmentsView<'a> {
    /// The assignments of `user`, a user of `organization`.
    pub fn new(store: &'a CruxStore, organization: &Organization, user: &OrgUser) -> Self {
        let permissions = store
            .offered_permissions(organization.org_type)
            .map(|permission| AssignmentView {
                assigned: user.permission_uuids.contains(&permission.uuid),
                permission,
            })
            .collect();
        Self {
            permissions,
            org_user: OrgUserRef { uuid: user.uuid },
        }
    }
}

/// An organization user as the users endpoints answer it.
#[derive(Serialize)]
pub struct UserView<'a> {
    uuid: Uuid,
    person: &'a Person,
    permission_assignments: AssignmentsView<'a>,
    status: UserStatus,
    /// Always `null` in Crux's examples (a pending invitation's token, never shown here).
    token: Option<String>,
}

impl<'a> UserView<'a> {
    /// `user` of `organization`.
    pub fn new(store: &'a CruxStore, organization: &Organization, user: &'a OrgUser) -> Self {
        Self {
            uuid: user.uuid,
            person: &user.person,
            permission_assignments: AssignmentsView::new(store, organization, user),
            status: user.status,
            token: None,
        }
    }
}

/// The login answer.
#[derive(Serialize)]
pub struct LoginView<'a> {
    auth_token: &'a str,
    org_uuid: Uuid,
    user_uuid: Uuid,
    /// The retailer's uuid for a retailer account, else `""` (as Crux's examples show).
    retailer_uuid: String,
    /// The supplier's uuid for a supplier account, else `""`.
    supplier_uuid: String,
    org_type: OrgType,
    permission_assignments: AssignmentsView<'a>,
}

impl<'a> LoginView<'a> {
    /// The answer for `token`, issued to `user` of `organization`.
    pub fn new(
        store: &'a CruxStore,
        token: &'a str,
        organization: &Organization,
        user: &OrgUser,
    ) -> Self {
        let (retailer_uuid, supplier_uuid) = match organization.org_type {
            OrgType::Retailer => (organization.account_uuid.to_string(), String::new()),
            OrgType::Supplier => (String::new(), organization.account_uuid.to_string()),
        };
        Self {
            auth_token: token,
            org_uuid: organization.uuid,
            user_uuid: user.uuid,
            retailer_uuid,
            supplier_uuid,
            org_type: organization.org_type,
            permission_assignments: AssignmentsView::new(store, organization, user),
        }
    }
}
