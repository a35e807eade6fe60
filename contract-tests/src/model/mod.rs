//! A reference model of Procore's user lifecycle, written from the contract alone.
//!
//! The model knows nothing of the mock's code: it holds the users a run created (by creation
//! order, so transitions can name them before the target has assigned ids), their project
//! memberships, and the rules of `procore-contract.md` as plain functions that say what status
//! each call must answer and how the directory looks afterwards. Users that existed before the
//! run are never touched, so the same model works on a mock and on a sandbox.
//!
//! [`transitions`] generates random operations from a state, [`ModelState::apply`] moves the
//! model, and [`ModelState::expected`] names the statuses the target must answer.

mod crux;
mod generate;

use std::collections::BTreeMap;
use std::fmt;

pub use crux::{CruxAssignments, CRUX_PERMISSIONS, CRUX_USERS};
pub use generate::{sequential, transitions, Sequence};

/// What the target can do, fixed for a whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The target serves seed-only behaviour (company-user DELETE): the `documented` profile.
    pub documented: bool,
    /// The target has a user with associated records that deletion must refuse.
    pub user_with_records: bool,
    /// The target's clock can be advanced (mock targets), so token expiry can be exercised.
    pub controllable_clock: bool,
    /// The target can issue user tokens through the authorization-code flow, so refresh-token
    /// rotation can be exercised.
    pub authorization_code: bool,
    /// The target serves Crux Connect's permission API with an admin API user, so grants and
    /// revokes can be exercised.
    pub crux: bool,
}

/// A user created during the run, named by creation order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelUser {
    /// Which of the run's email addresses the user has (the driver makes them unique per run).
    pub email: u32,
    /// Family name.
    pub last_name: String,
    /// Job title, the field partial updates change.
    pub job_title: Option<String>,
    /// Active in the directory.
    pub is_active: bool,
    /// Deleted from the directory (the record is gone; its email is free again).
    pub deleted: bool,
}

/// Where a run stands: its users, their memberships, and the next fresh email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelState {
    /// What the target can do.
    pub capabilities: Capabilities,
    /// Users created in the run, by creation order.
    pub users: Vec<ModelUser>,
    /// (project slot, user index) -> template slot the member was added with.
    pub members: BTreeMap<(u8, usize), u8>,
    /// The next unused email number.
    pub next_email: u32,
    /// Crux Connect permission changes made in the run.
    pub crux: CruxAssignments,
}

/// How many projects a run uses (the target's first two).
pub const PROJECTS: u8 = 2;

/// A field a create must not leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequiredField {
    /// `last_name`.
    LastName,
    /// `email_address`.
    EmailAddress,
}

/// One lifecycle operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Create a user with a fresh email: 201.
    CreateUser {
        /// Family name.
        last_name: String,
        /// Optional job title.
        job_title: Option<String>,
    },
    /// Create a user with the email of user `of`: 409 while a live user holds that email.
    CreateDuplicateEmail {
        /// Whose email to reuse.
        of: usize,
    },
    /// Create a user leaving out a required field: 400.
    CreateMissingField {
        /// The field left out.
        field: RequiredField,
    },
    /// Create a user with a body not nested under `user`: 400.
    CreateFlatBody,
    /// Change a user's job title (partial update): 200, or 404 once deleted.
    UpdateJobTitle {
        /// Whom.
        user: usize,
        /// The new title.
        job_title: String,
    },
    /// Deactivate a user: 200 (memberships stay), or 404 once deleted.
    Deactivate {
        /// Whom.
        user: usize,
    },
    /// Reactivate a user: 200, or 404 once deleted.
    Reactivate {
        /// Whom.
        user: usize,
    },
    /// Delete a user (`documented` only): 204, or 404 once deleted.
    Delete {
        /// Whom.
        user: usize,
    },
    /// Delete the target's user with associated records: 422, nothing changes.
    DeleteUserWithRecords,
    /// Add a user to a project with a valid template: 201; 422 when already a member; 404
    /// once deleted.
    AddToProject {
        /// Whom.
        user: usize,
        /// Which project slot.
        project: u8,
        /// Which of the project's usable templates.
        template: u8,
    },
    /// Add a user with a template that is not a project template: 422 (404 once deleted).
    AddWithForeignTemplate {
        /// Whom.
        user: usize,
        /// Which project slot.
        project: u8,
    },
    /// Add an id no company user has: 404.
    AddUnknownUser {
        /// Which project slot.
        project: u8,
    },
    /// Remove a user from a project: 204 for a member, else 404.
    RemoveFromProject {
        /// Whom.
        user: usize,
        /// Which project slot.
        project: u8,
    },
    /// Change a member's template the documented way: remove (204) then re-add (201).
    ChangeTemplate {
        /// Whom.
        user: usize,
        /// Which project slot.
        project: u8,
        /// The new template.
        template: u8,
    },
    /// Walk every page of the company directory with this page size.
    ListAll {
        /// Page size.
        per_page: u16,
    },
    /// Move the clock past the token lifetime: the token must stop working (401), and a new
    /// one must work again.
    ExpireToken,
    /// Refresh a user token: the new pair works, the old refresh token is refused.
    RotateRefreshToken,
    /// Crux: grant permission slots to an organization user slot (`PATCH`): 200, already held
    /// ones stay held.
    CruxGrant {
        /// Which organization user.
        user: u8,
        /// Which permissions.
        permissions: Vec<u8>,
    },
    /// Crux: revoke permission slots from an organization user slot (`DELETE`): 200, ones not
    /// held stay not held.
    CruxRevoke {
        /// Which organization user.
        user: u8,
        /// Which permissions.
        permissions: Vec<u8>,
    },
    /// Crux: grant a permission together with an unknown permission uuid: 400, and the known
    /// one is not granted either.
    CruxGrantWithUnknown {
        /// Which organization user.
        user: u8,
        /// The known permission sent along.
        permission: u8,
    },
}

/// A webhook event the model says a step emits (mock targets watch every change a trigger can
/// cover: `Company Users` and `Project Users`, create, update and delete).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelEvent {
    /// `Company Users` or `Project Users`.
    pub resource: &'static str,
    /// `create`, `update` or `delete`.
    pub event_type: &'static str,
    /// The model user the event is about.
    pub user: usize,
    /// The project slot, for `Project Users`.
    pub project: Option<u8>,
}

impl ModelEvent {
    fn company_user(event_type: &'static str, user: usize) -> Self {
        Self {
            resource: "Company Users",
            event_type,
            user,
            project: None,
        }
    }

    fn project_user(event_type: &'static str, user: usize, project: u8) -> Self {
        Self {
            resource: "Project Users",
            event_type,
            user,
            project: Some(project),
        }
    }
}

impl ModelState {
    /// A run's starting point: nothing created yet.
    pub fn new(capabilities: Capabilities) -> Self {
        Self {
            capabilities,
            users: Vec::new(),
            members: BTreeMap::new(),
            next_email: 0,
            crux: CruxAssignments::default(),
        }
    }

    fn user(&self, index: usize) -> Option<&ModelUser> {
        self.users.get(index)
    }

    fn exists(&self, index: usize) -> bool {
        self.user(index).is_some_and(|u| !u.deleted)
    }

    /// Whether `user` is on project slot `project`.
    pub fn is_member(&self, project: u8, user: usize) -> bool {
        self.members.contains_key(&(project, user))
    }

    /// The users that should be in the active directory listing, by index.
    pub fn active_users(&self) -> impl Iterator<Item = (usize, &ModelUser)> {
        self.users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.is_active && !u.deleted)
    }

    /// Members of project slot `project`: user index -> template slot.
    pub fn members_of(&self, project: u8) -> BTreeMap<usize, u8> {
        self.members
            .iter()
            .filter(|((p, _), _)| *p == project)
            .map(|((_, user), template)| (*user, *template))
            .collect()
    }

    /// Whether `transition` makes sense from here (indices exist; shrinking keeps this true).
    pub fn allows(&self, transition: &Transition) -> bool {
        use Transition::*;
        let known = |user: &usize| *user < self.users.len();
        match transition {
            CreateDuplicateEmail { of: user }
            | UpdateJobTitle { user, .. }
            | Deactivate { user }
            | Reactivate { user }
            | AddToProject { user, .. }
            | AddWithForeignTemplate { user, .. }
            | RemoveFromProject { user, .. } => known(user),
            Delete { user } => known(user) && self.capabilities.documented,
            DeleteUserWithRecords => {
                self.capabilities.documented && self.capabilities.user_with_records
            }
            ChangeTemplate { user, project, .. } => {
                self.exists(*user) && self.is_member(*project, *user)
            }
            ExpireToken => self.capabilities.controllable_clock,
            RotateRefreshToken => self.capabilities.authorization_code,
            CruxGrant { .. } | CruxRevoke { .. } | CruxGrantWithUnknown { .. } => {
                self.capabilities.crux
            }
            CreateUser { .. }
            | CreateMissingField { .. }
            | CreateFlatBody
            | AddUnknownUser { .. }
            | ListAll { .. } => true,
        }
    }

    /// The statuses the target must answer, one per HTTP call the transition makes, in order.
    pub fn expected(&self, transition: &Transition) -> Vec<u16> {
        use Transition::*;
        let gone = |user: &usize| !self.exists(*user);
        match transition {
            CreateUser { .. } => vec![201],
            CreateDuplicateEmail { of } => vec![if self.email_in_use(*of) { 409 } else { 201 }],
            CreateMissingField { .. } | CreateFlatBody => vec![400],
            UpdateJobTitle { user, .. } | Deactivate { user } | Reactivate { user } => {
                vec![if gone(user) { 404 } else { 200 }]
            }
            Delete { user } => vec![if gone(user) { 404 } else { 204 }],
            DeleteUserWithRecords => vec![422],
            AddToProject { user, project, .. } => vec![if gone(user) {
                404
            } else if self.is_member(*project, *user) {
                422
            } else {
                201
            }],
            AddWithForeignTemplate { user, .. } => vec![if gone(user) { 404 } else { 422 }],
            AddUnknownUser { .. } => vec![404],
            RemoveFromProject { user, project } => {
                vec![if self.is_member(*project, *user) && !gone(user) {
                    204
                } else {
                    404
                }]
            }
            ChangeTemplate { .. } => vec![204, 201],
            // Every page answers 200; the walk's length depends on the directory.
            ListAll { .. } => vec![200],
            // The stale token: 401; a new token: 200.
            ExpireToken => vec![401, 200],
            // The refresh: 200; replaying the old refresh token: 400; the new token works: 200.
            RotateRefreshToken => vec![200, 400, 200],
            CruxGrant { .. } | CruxRevoke { .. } => vec![200],
            CruxGrantWithUnknown { .. } => vec![400],
        }
    }

    /// The webhook events `transition` emits from here, in order: one per change it makes, none
    /// for a refused call. Deleting a user also deletes their memberships (listed first).
    pub fn events(&self, transition: &Transition) -> Vec<ModelEvent> {
        use Transition::*;
        let succeeded = self
            .expected(transition)
            .iter()
            .all(|s| (200..300).contains(s));
        if !succeeded {
            return Vec::new();
        }
        match transition {
            CreateUser { .. } | CreateDuplicateEmail { .. } => {
                vec![ModelEvent::company_user("create", self.users.len())]
            }
            UpdateJobTitle { user, .. } | Deactivate { user } | Reactivate { user } => {
                vec![ModelEvent::company_user("update", *user)]
            }
            Delete { user } => self
                .members
                .keys()
                .filter(|(_, member)| member == user)
                .map(|(project, _)| ModelEvent::project_user("delete", *user, *project))
                .chain([ModelEvent::company_user("delete", *user)])
                .collect(),
            AddToProject { user, project, .. } => {
                vec![ModelEvent::project_user("create", *user, *project)]
            }
            RemoveFromProject { user, project } => {
                vec![ModelEvent::project_user("delete", *user, *project)]
            }
            ChangeTemplate { user, project, .. } => vec![
                ModelEvent::project_user("delete", *user, *project),
                ModelEvent::project_user("create", *user, *project),
            ],
            CreateMissingField { .. }
            | CreateFlatBody
            | DeleteUserWithRecords
            | AddWithForeignTemplate { .. }
            | AddUnknownUser { .. }
            | ListAll { .. }
            | ExpireToken
            | RotateRefreshToken
            // Crux Connect permissions are another service's: Procore's webhooks hear nothing.
            | CruxGrant { .. }
            | CruxRevoke { .. }
            | CruxGrantWithUnknown { .. } => Vec::new(),
        }
    }

    /// The model after `transition` (a refused call changes nothing).
    pub fn apply(mut self, transition: &Transition) -> Self {
        use Transition::*;
        match transition {
            CreateUser {
                last_name,
                job_title,
            } => {
                let email = self.fresh_email();
                self.users.push(ModelUser {
                    email,
                    last_name: last_name.clone(),
                    job_title: job_title.clone(),
                    is_active: true,
                    deleted: false,
                });
            }
            CreateDuplicateEmail { of } => {
                if let Some(email) = self
                    .user(*of)
                    .filter(|_| !self.email_in_use(*of))
                    .map(|u| u.email)
                {
                    self.users.push(ModelUser {
                        email,
                        last_name: duplicate_last_name(),
                        job_title: None,
                        is_active: true,
                        deleted: false,
                    });
                }
            }
            UpdateJobTitle { user, job_title } => {
                if let Some(u) = self.live_user_mut(*user) {
                    u.job_title = Some(job_title.clone());
                }
            }
            Deactivate { user } => {
                if let Some(u) = self.live_user_mut(*user) {
                    u.is_active = false;
                }
            }
            Reactivate { user } => {
                if let Some(u) = self.live_user_mut(*user) {
                    u.is_active = true;
                }
            }
            Delete { user } => {
                if let Some(u) = self.live_user_mut(*user) {
                    u.deleted = true;
                    self.members.retain(|(_, member), _| member != user);
                }
            }
            AddToProject {
                user,
                project,
                template,
            } => {
                if self.exists(*user) && !self.is_member(*project, *user) {
                    self.members.insert((*project, *user), *template);
                }
            }
            RemoveFromProject { user, project } => {
                self.members.remove(&(*project, *user));
            }
            ChangeTemplate {
                user,
                project,
                template,
            } => {
                self.members.insert((*project, *user), *template);
            }
            CruxGrant { user, permissions } => self.crux.grant(*user, permissions),
            CruxRevoke { user, permissions } => self.crux.revoke(*user, permissions),
            CreateMissingField { .. }
            | CreateFlatBody
            | DeleteUserWithRecords
            | AddWithForeignTemplate { .. }
            | AddUnknownUser { .. }
            | ListAll { .. }
            | ExpireToken
            | RotateRefreshToken
            | CruxGrantWithUnknown { .. } => {}
        }
        self
    }

    /// Whether a live user holds the email of user `index` (deleted users free theirs).
    fn email_in_use(&self, index: usize) -> bool {
        self.user(index).is_some_and(|wanted| {
            self.users
                .iter()
                .any(|u| !u.deleted && u.email == wanted.email)
        })
    }

    fn fresh_email(&mut self) -> u32 {
        let email = self.next_email;
        self.next_email += 1;
        email
    }

    fn live_user_mut(&mut self, index: usize) -> Option<&mut ModelUser> {
        self.users.get_mut(index).filter(|u| !u.deleted)
    }
}

/// The family name a duplicate-email create sends (and the new user has, when it succeeds).
pub fn duplicate_last_name() -> String {
    "Duplicate".to_owned()
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Transition::*;
        match self {
            CreateUser {
                last_name,
                job_title,
            } => {
                write!(
                    f,
                    "create user {last_name:?} (job title {job_title:?}) with a fresh email"
                )
            }
            CreateDuplicateEmail { of } => write!(f, "create a user with the email of user #{of}"),
            CreateMissingField { field } => write!(f, "create a user without {field:?}"),
            CreateFlatBody => write!(f, "create a user with a flat (un-nested) body"),
            UpdateJobTitle { user, job_title } => {
                write!(f, "set user #{user}'s job title to {job_title:?}")
            }
            Deactivate { user } => write!(f, "deactivate user #{user}"),
            Reactivate { user } => write!(f, "reactivate user #{user}"),
            Delete { user } => write!(f, "delete user #{user}"),
            DeleteUserWithRecords => write!(f, "delete the user with associated records"),
            AddToProject {
                user,
                project,
                template,
            } => {
                write!(
                    f,
                    "add user #{user} to project #{project} with template #{template}"
                )
            }
            AddWithForeignTemplate { user, project } => {
                write!(
                    f,
                    "add user #{user} to project #{project} with a company (non-project) template"
                )
            }
            AddUnknownUser { project } => write!(f, "add an unknown user id to project #{project}"),
            RemoveFromProject { user, project } => {
                write!(f, "remove user #{user} from project #{project}")
            }
            ChangeTemplate {
                user,
                project,
                template,
            } => {
                write!(f, "change user #{user}'s template on project #{project} to #{template} (remove + re-add)")
            }
            ListAll { per_page } => write!(f, "walk the whole directory with per_page={per_page}"),
            ExpireToken => write!(f, "advance the clock past the token lifetime"),
            RotateRefreshToken => {
                write!(f, "refresh the user token and replay the old refresh token")
            }
            CruxGrant { user, permissions } => {
                write!(f, "Crux: grant permissions {permissions:?} to organization user #{user}")
            }
            CruxRevoke { user, permissions } => {
                write!(f, "Crux: revoke permissions {permissions:?} from organization user #{user}")
            }
            CruxGrantWithUnknown { user, permission } => write!(
                f,
                "Crux: grant permission #{permission} and an unknown uuid to organization user #{user}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Capabilities {
        Capabilities {
            documented: true,
            user_with_records: true,
            controllable_clock: true,
            authorization_code: true,
            crux: true,
        }
    }

    #[test]
    fn deactivation_keeps_memberships_and_deletion_drops_them() {
        let create = Transition::CreateUser {
            last_name: "A".into(),
            job_title: None,
        };
        let state = ModelState::new(caps())
            .apply(&create)
            .apply(&Transition::AddToProject {
                user: 0,
                project: 1,
                template: 0,
            })
            .apply(&Transition::Deactivate { user: 0 });
        assert!(state.is_member(1, 0));
        assert_eq!(state.active_users().count(), 0);
        let state = state.apply(&Transition::Delete { user: 0 });
        assert!(!state.is_member(1, 0));
        assert_eq!(
            state.expected(&Transition::UpdateJobTitle {
                user: 0,
                job_title: "x".into()
            }),
            [404]
        );
        assert_eq!(
            state.expected(&Transition::CreateDuplicateEmail { of: 0 }),
            [201]
        );
    }

    #[test]
    fn adding_twice_is_refused_and_a_template_change_is_remove_then_add() {
        let state = ModelState::new(caps())
            .apply(&Transition::CreateUser {
                last_name: "A".into(),
                job_title: None,
            })
            .apply(&Transition::AddToProject {
                user: 0,
                project: 0,
                template: 1,
            });
        assert_eq!(
            state.expected(&Transition::AddToProject {
                user: 0,
                project: 0,
                template: 0
            }),
            [422]
        );
        let change = Transition::ChangeTemplate {
            user: 0,
            project: 0,
            template: 2,
        };
        assert!(state.allows(&change));
        assert_eq!(state.expected(&change), [204, 201]);
        assert_eq!(state.apply(&change).members_of(0)[&0], 2);
    }
}
