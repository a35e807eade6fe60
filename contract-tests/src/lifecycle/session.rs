//! One lifecycle case against one target: discovery, the operations as HTTP calls, and the
//! checks of every response against the reference model.
//!
//! A session finds what it needs instead of assuming fixture ids (the company, its first two
//! projects, their usable templates, a template that is not a project template) and remembers
//! what existed before the case, so the directory checks compare only what the case changed.

mod crux;

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;

use serde_json::{json, Value};

use crate::client::{ProcoreClient, RequestBody};
use crate::error::HarnessError;
use crate::target::{Target, STEP_ATTEMPTS};

use crate::model::{ModelEvent, ModelState, RequiredField, Transition, PROJECTS};
use crate::receiver::Receiver;

/// Token lifetime the contract gives; `ExpireToken` advances the clock just past it.
pub const TOKEN_LIFETIME_SECS: u64 = 5400;

/// One HTTP exchange, kept for the failure report.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// `METHOD path`.
    pub request: String,
    /// The request body, when one was sent.
    pub body: Option<Value>,
    /// Status answered.
    pub status: u16,
    /// Body answered (JSON, or a string of whatever came back).
    pub response: Value,
}

/// What went wrong in a step, readable on its own.
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// What was expected against what happened.
    pub summary: String,
    /// The exchanges of the step, for the report.
    pub exchanges: Vec<Exchange>,
}

/// Things discovered on the target before a case runs.
#[derive(Clone, Debug)]
struct Discovery {
    company_id: u64,
    projects: [u64; PROJECTS as usize],
    /// Usable templates per project, in id order.
    templates: [Vec<u64>; PROJECTS as usize],
    /// A template of the company that is not a project template.
    foreign_template: u64,
    /// A user whose deletion must be refused, if the target has one we know of.
    user_with_records: Option<u64>,
    /// Active directory before the case.
    baseline_active: BTreeSet<u64>,
    /// Members of each project before the case: user -> template id.
    baseline_members: [BTreeMap<u64, Option<u64>>; PROJECTS as usize],
}

/// The one map from model users (by creation index) to the target's user ids. A create the
/// target refused leaves its index unmapped, so a later step on that model user is never sent
/// to some other user.
#[derive(Clone, Debug, Default)]
pub struct UserIds(BTreeMap<usize, u64>);

impl UserIds {
    /// Model user `index` is `id` on the target.
    pub fn record(&mut self, index: usize, id: u64) {
        self.0.insert(index, id);
    }

    /// The target's id of model user `index`, if the target created it.
    pub fn get(&self, index: usize) -> Option<u64> {
        self.0.get(&index).copied()
    }

    /// Every id the case created.
    pub fn created(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.values().copied()
    }
}

/// The model user a transition acts on by id, if any.
pub fn acted_on(transition: &Transition) -> Option<usize> {
    use Transition::*;
    match transition {
        UpdateJobTitle { user, .. }
        | Deactivate { user }
        | Reactivate { user }
        | Delete { user }
        | AddToProject { user, .. }
        | AddWithForeignTemplate { user, .. }
        | RemoveFromProject { user, .. }
        | ChangeTemplate { user, .. } => Some(*user),
        _ => None,
    }
}

/// A live case: an HTTP client, a token, what was discovered, and the ids the case created.
pub struct Session<'a> {
    target: &'a Target,
    runtime: &'a tokio::runtime::Runtime,
    /// The harness client, used raw: each call carries exactly the credentials given.
    client: ProcoreClient,
    token: String,
    /// Refresh token of the user token, when the target supports the authorization code.
    refresh_token: Option<String>,
    discovery: Discovery,
    /// Model index -> target id of the users the case created.
    ids: UserIds,
    /// A tag unique to this case, in every email it creates.
    tag: String,
    /// On mock targets, the receiver of a hook that watches every user change.
    webhooks: Option<Watch>,
    /// Crux Connect's side, discovered at the first Crux operation.
    crux: Option<crux::CruxDiscovery>,
}

/// A hook registered for a case, and the receiver it delivers to.
struct Watch {
    receiver: Receiver,
    hook_id: u64,
}

/// The namespace of the hooks lifecycle cases register.
const WEBHOOK_NAMESPACE: &str = "procore-contract-lifecycle";

impl<'a> Session<'a> {
    /// Authenticates and discovers ids on `target`, driving it on `runtime`. `tag` makes the
    /// case's emails unique.
    pub fn begin(
        target: &'a Target,
        runtime: &'a tokio::runtime::Runtime,
        tag: String,
    ) -> Result<Self, HarnessError> {
        let client = target.client(None);
        let mut session = Self {
            target,
            runtime,
            client,
            token: String::new(),
            refresh_token: None,
            discovery: Discovery {
                company_id: 0,
                projects: [0; PROJECTS as usize],
                templates: Default::default(),
                foreign_template: 0,
                user_with_records: None,
                baseline_active: BTreeSet::new(),
                baseline_members: Default::default(),
            },
            ids: UserIds::default(),
            tag,
            webhooks: None,
            crux: None,
        };
        session.token = session.client_credentials()?;
        session.discover()?;
        Ok(session)
    }

    /// Whether the target can run `user_with_records` deletions.
    pub fn has_user_with_records(&self) -> bool {
        self.discovery.user_with_records.is_some()
    }

    /// Whether every model user `transition` acts on exists on this target.
    pub fn knows_users_of(&self, transition: &Transition) -> bool {
        acted_on(transition).is_none_or(|index| self.ids.get(index).is_some())
    }

    fn client_credentials(&self) -> Result<String, HarnessError> {
        Ok(self.runtime.block_on(self.client.authenticate())?)
    }

    /// Sends one request with the session's token and company header.
    fn call(&self, method: Method, path: &str, body: Option<Value>) -> Exchange {
        self.call_with_token(method, path, body, &self.token)
    }

    fn call_with_token(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: &str,
    ) -> Exchange {
        let headers = [
            ("Authorization".to_owned(), format!("Bearer {token}")),
            (
                "Procore-Company-Id".to_owned(),
                self.discovery.company_id.to_string(),
            ),
        ];
        let request_body = body.clone().map_or(RequestBody::Empty, RequestBody::Json);
        let (status, response) = self.send_raw(method.clone(), path, &headers, &request_body);
        Exchange {
            request: format!("{method} {path}"),
            body,
            status,
            response,
        }
    }

    /// An `/__admin` call (`path` below `/__admin`); status 0 when there is no admin API.
    fn admin_call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let Some(admin) = self.target.admin() else {
            return (0, Value::String("the target has no admin API".to_owned()));
        };
        match self
            .runtime
            .block_on(admin.send(method, path, body.as_ref()))
        {
            Ok(answer) => answer,
            Err(err) => (0, Value::String(err.to_string())),
        }
    }

    /// A request carrying exactly `headers`, with 429s waited out as the target does; a
    /// transport failure reads as status 0.
    fn send_raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(String, String)],
        body: &RequestBody,
    ) -> (u16, Value) {
        let sent = self.target.patiently(STEP_ATTEMPTS, || {
            self.client
                .request_without_token(method.clone(), path, headers, body)
        });
        match self.runtime.block_on(sent) {
            Ok(response) => (response.status, response.body),
            Err(err) => (0, Value::String(format!("transport error: {err}"))),
        }
    }

    /// A GET that must succeed, for discovery and invariant checks.
    fn get_ok(&self, path: &str) -> Result<Value, Mismatch> {
        let exchange = self.call(Method::GET, path, None);
        if exchange.status == 200 {
            Ok(exchange.response)
        } else {
            Err(Mismatch {
                summary: format!("expected 200 from GET {path}, got {}", exchange.status),
                exchanges: vec![exchange],
            })
        }
    }

    /// Every record of a paginated list, one page of 10,000 at a time.
    fn get_all(&self, path: &str) -> Result<Vec<Value>, Mismatch> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        for page in 1.. {
            let items = self.get_ok(&format!("{path}{separator}per_page=10000&page={page}"))?;
            let items = items.as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                break;
            }
            all.extend(items);
        }
        Ok(all)
    }

    fn discover(&mut self) -> Result<(), HarnessError> {
        let describe = |m: Mismatch| HarnessError::Discovery(m.summary);
        let found = self.runtime.block_on(self.target.discover(&self.client))?;
        self.discovery.company_id = found.company_id;
        for (slot, (project, templates)) in found.projects.into_iter().enumerate() {
            if templates.is_empty() {
                return Err(HarnessError::Discovery(format!(
                    "project {project} has no usable permission template"
                )));
            }
            self.discovery.projects[slot] = project;
            self.discovery.templates[slot] = templates;
        }
        self.discovery.foreign_template = found.company_template.ok_or_else(|| {
            HarnessError::Discovery(
                "the company has no company-tools template to use as a foreign template".to_owned(),
            )
        })?;
        self.discovery.user_with_records = self.find_user_with_records();
        self.discovery.baseline_active = self.active_ids().map_err(describe)?;
        for slot in 0..PROJECTS {
            self.discovery.baseline_members[slot as usize] =
                self.members(slot).map_err(describe)?;
        }
        Ok(())
    }

    /// On mocks, the admin state names users with associated records.
    fn find_user_with_records(&self) -> Option<u64> {
        let (status, state) = self.admin_call(Method::GET, "/state", None);
        if status != 200 {
            return None;
        }
        let company = state["companies"]
            .as_array()?
            .iter()
            .find(|c| c["id"].as_u64() == Some(self.discovery.company_id))?;
        company["users"].as_array()?.iter().find_map(|user| {
            let has_records = user["associated_records"]
                .as_object()
                .is_some_and(|r| !r.is_empty());
            has_records.then(|| user["id"].as_u64()).flatten()
        })
    }

    fn active_ids(&self) -> Result<BTreeSet<u64>, Mismatch> {
        let users = self.get_all(&format!(
            "/rest/v1.0/companies/{}/users",
            self.discovery.company_id
        ))?;
        Ok(users.iter().filter_map(|u| u["id"].as_u64()).collect())
    }

    fn members(&self, slot: u8) -> Result<BTreeMap<u64, Option<u64>>, Mismatch> {
        let project = self.discovery.projects[slot as usize];
        let members = self.get_all(&format!("/rest/v1.0/projects/{project}/users"))?;
        Ok(members
            .iter()
            .filter_map(|m| Some((m["id"].as_u64()?, m["permission_template"]["id"].as_u64())))
            .collect())
    }

    fn email(&self, n: u32) -> String {
        format!("lifecycle-{}-{n}@procore-contract.example", self.tag)
    }

    fn template(&self, project: u8, slot: u8) -> u64 {
        let templates = &self.discovery.templates[project as usize];
        templates[slot as usize % templates.len()]
    }

    fn users_path(&self) -> String {
        format!("/rest/v1.0/companies/{}/users", self.discovery.company_id)
    }

    /// The target's id of model user `index`; [`Session::perform`] checks first that it
    /// exists, so 0 (no user) is never sent.
    fn user_id(&self, index: usize) -> u64 {
        self.ids.get(index).unwrap_or(0)
    }

    /// Performs `transition`, checking each status against `state.expected(..)` and the
    /// relevant fields of successful responses; records ids of created users.
    pub fn perform(
        &mut self,
        state: &ModelState,
        transition: &Transition,
    ) -> Result<Vec<Exchange>, Mismatch> {
        if let Some(index) = acted_on(transition).filter(|i| self.ids.get(*i).is_none()) {
            return Err(Mismatch {
                summary: format!(
                    "model user #{index} does not exist on the target: its create was refused"
                ),
                exchanges: vec![],
            });
        }
        let expected = state.expected(transition);
        let exchanges = self.exchange(state, transition)?;
        let statuses: Vec<u16> = exchanges.iter().map(|e| e.status).collect();
        if statuses != expected {
            return Err(Mismatch {
                summary: format!("expected status {expected:?}, got {statuses:?}"),
                exchanges,
            });
        }
        self.check_fields(state.users.len(), transition, &exchanges)?;
        self.check_crux_answer(state, transition, &exchanges)?;
        Ok(exchanges)
    }

    fn exchange(
        &mut self,
        state: &ModelState,
        transition: &Transition,
    ) -> Result<Vec<Exchange>, Mismatch> {
        use Transition::*;
        let users = self.users_path();
        let project_path = |slot: u8| {
            format!(
                "/rest/v1.0/projects/{}/users",
                self.discovery.projects[slot as usize]
            )
        };
        Ok(match transition {
            CreateUser {
                last_name,
                job_title,
            } => {
                let body = json!({"user": {"last_name": last_name, "job_title": job_title, "email_address": self.email(state.next_email)}});
                vec![self.call(Method::POST, &users, Some(body))]
            }
            CreateDuplicateEmail { of } => {
                let email = self.email(state.users[*of].email);
                let body = json!({"user": {"last_name": crate::model::duplicate_last_name(), "email_address": email}});
                vec![self.call(Method::POST, &users, Some(body))]
            }
            CreateMissingField { field } => {
                let body = match field {
                    RequiredField::LastName => {
                        json!({"user": {"email_address": self.email(u32::MAX)}})
                    }
                    RequiredField::EmailAddress => json!({"user": {"last_name": "Nameless"}}),
                };
                vec![self.call(Method::POST, &users, Some(body))]
            }
            CreateFlatBody => {
                let body = json!({"last_name": "Flat", "email_address": self.email(u32::MAX - 1)});
                vec![self.call(Method::POST, &users, Some(body))]
            }
            UpdateJobTitle { user, job_title } => {
                let path = format!("{users}/{}", self.user_id(*user));
                vec![self.call(
                    Method::PATCH,
                    &path,
                    Some(json!({"user": {"job_title": job_title}})),
                )]
            }
            Deactivate { user } | Reactivate { user } => {
                let active = matches!(transition, Reactivate { .. });
                let path = format!("{users}/{}", self.user_id(*user));
                vec![self.call(
                    Method::PATCH,
                    &path,
                    Some(json!({"user": {"is_active": active}})),
                )]
            }
            Delete { user } => vec![self.call(
                Method::DELETE,
                &format!("{users}/{}", self.user_id(*user)),
                None,
            )],
            DeleteUserWithRecords => {
                let id = self.discovery.user_with_records.unwrap_or_default();
                vec![self.call(Method::DELETE, &format!("{users}/{id}"), None)]
            }
            AddToProject {
                user,
                project,
                template,
            } => {
                let body =
                    json!({"user": {"permission_template_id": self.template(*project, *template)}});
                let path = format!(
                    "{}/{}/actions/add",
                    project_path(*project),
                    self.user_id(*user)
                );
                vec![self.call(Method::POST, &path, Some(body))]
            }
            AddWithForeignTemplate { user, project } => {
                let body =
                    json!({"user": {"permission_template_id": self.discovery.foreign_template}});
                let path = format!(
                    "{}/{}/actions/add",
                    project_path(*project),
                    self.user_id(*user)
                );
                vec![self.call(Method::POST, &path, Some(body))]
            }
            AddUnknownUser { project } => {
                let body = json!({"user": {"permission_template_id": self.template(*project, 0)}});
                let path = format!("{}/{}/actions/add", project_path(*project), u64::MAX / 2);
                vec![self.call(Method::POST, &path, Some(body))]
            }
            RemoveFromProject { user, project } => {
                let path = format!(
                    "{}/{}/actions/remove",
                    project_path(*project),
                    self.user_id(*user)
                );
                vec![self.call(Method::DELETE, &path, None)]
            }
            ChangeTemplate {
                user,
                project,
                template,
            } => {
                let member = format!("{}/{}", project_path(*project), self.user_id(*user));
                let removed = self.call(Method::DELETE, &format!("{member}/actions/remove"), None);
                let body =
                    json!({"user": {"permission_template_id": self.template(*project, *template)}});
                let added = self.call(Method::POST, &format!("{member}/actions/add"), Some(body));
                vec![removed, added]
            }
            ListAll { per_page } => self.walk_directory(*per_page)?,
            ExpireToken => {
                let stale = self.call(Method::GET, "/rest/v1.0/me", None);
                // The clock moves only after the stale token has been seen to work until now.
                self.advance_clock(TOKEN_LIFETIME_SECS)?;
                let expired = self.call(Method::GET, "/rest/v1.0/me", None);
                if stale.status != 200 {
                    return Err(Mismatch {
                        summary: format!("the token did not work before expiry: {}", stale.status),
                        exchanges: vec![stale],
                    });
                }
                self.token = self.client_credentials().map_err(|err| Mismatch {
                    summary: err.to_string(),
                    exchanges: vec![],
                })?;
                let renewed = self.call(Method::GET, "/rest/v1.0/me", None);
                self.renew_crux_token()?;
                vec![expired, renewed]
            }
            RotateRefreshToken => self.rotate_refresh_token()?,
            CruxGrant { .. } | CruxRevoke { .. } | CruxGrantWithUnknown { .. } => {
                self.crux_exchanges(transition)?
            }
        })
    }

    /// Follows pages of `per_page` until an empty page; checks `Total` and that no user is
    /// skipped or repeated. Answers one exchange standing for the whole walk.
    fn walk_directory(&self, per_page: u16) -> Result<Vec<Exchange>, Mismatch> {
        let users = self.users_path();
        let mut seen = Vec::new();
        for page in 1.. {
            let exchange = self.call(
                Method::GET,
                &format!("{users}?per_page={per_page}&page={page}"),
                None,
            );
            if exchange.status != 200 {
                return Ok(vec![exchange]);
            }
            let items = exchange.response.as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                break;
            }
            seen.extend(items.iter().filter_map(|u| u["id"].as_u64()));
        }
        let unique: BTreeSet<u64> = seen.iter().copied().collect();
        let active = self.active_ids()?;
        let summary = json!({"walked": seen.len(), "unique": unique.len()});
        let walk = Exchange {
            request: format!("GET {users}?per_page={per_page}&page=1.."),
            body: None,
            status: 200,
            response: summary,
        };
        if unique.len() != seen.len() || unique != active {
            return Err(Mismatch {
                summary: format!(
                    "walking pages of {per_page} saw {} users ({} unique), the full listing has {}",
                    seen.len(),
                    unique.len(),
                    active.len()
                ),
                exchanges: vec![walk],
            });
        }
        Ok(vec![walk])
    }

    fn advance_clock(&self, seconds: u64) -> Result<(), Mismatch> {
        let body = json!({"seconds": seconds});
        let (status, response) =
            self.admin_call(Method::POST, "/clock/advance", Some(body.clone()));
        let exchange = Exchange {
            request: "POST /__admin/clock/advance".to_owned(),
            body: Some(body),
            status,
            response,
        };
        if exchange.status == 200 {
            Ok(())
        } else {
            Err(Mismatch {
                summary: format!("could not advance the target's clock ({})", exchange.status),
                exchanges: vec![exchange],
            })
        }
    }

    /// Obtains a user token through the out-of-band authorization code (mock targets), then
    /// refreshes it: the refresh answers 200, replaying the old refresh token 400, and the new
    /// access token works.
    fn rotate_refresh_token(&mut self) -> Result<Vec<Exchange>, Mismatch> {
        let refresh = match self.refresh_token.clone() {
            Some(refresh) => refresh,
            None => self.authorize()?,
        };
        let refreshed =
            self.token_call(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
        let replayed =
            self.token_call(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
        let new_access = refreshed.response["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.refresh_token = refreshed.response["refresh_token"]
            .as_str()
            .map(str::to_owned);
        let works = self.call_with_token(Method::GET, "/rest/v1.0/me", None, &new_access);
        Ok(vec![refreshed, replayed, works])
    }

    fn token_call(&self, params: &[(&str, &str)]) -> Exchange {
        let mut form: Vec<(String, String)> = vec![
            (
                "client_id".to_owned(),
                self.target.client_config().client_id.clone(),
            ),
            (
                "client_secret".to_owned(),
                self.target.client_config().client_secret.clone(),
            ),
        ];
        form.extend(
            params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let url = format!("{}/oauth/token", self.target.client_config().login_base);
        let (status, response) = self.send_raw(Method::POST, &url, &[], &RequestBody::Form(form));
        Exchange {
            request: format!("POST /oauth/token ({})", params[0].1),
            body: None,
            status,
            response,
        }
    }

    /// The out-of-band authorization-code flow: the code is read off the page the mock shows.
    fn authorize(&self) -> Result<String, Mismatch> {
        let url = format!(
            "{}/oauth/authorize?response_type=code&client_id={}&redirect_uri=urn:ietf:wg:oauth:2.0:oob",
            self.target.client_config().login_base,
            self.target.client_config().client_id
        );
        let (_, page) = self.send_raw(Method::GET, &url, &[], &RequestBody::Empty);
        let page = page.as_str().unwrap_or_default().to_owned();
        let code = page
            .split("<code id=\"authorization_code\">")
            .nth(1)
            .and_then(|rest| rest.split("</code>").next())
            .unwrap_or_default()
            .to_owned();
        let exchange = self.token_call(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
        ]);
        exchange.response["refresh_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Mismatch {
                summary: "the authorization-code flow gave no refresh token".to_owned(),
                exchanges: vec![exchange],
            })
    }

    /// Checks the fields of successful answers; a created user becomes model user
    /// `next_index`.
    fn check_fields(
        &mut self,
        next_index: usize,
        transition: &Transition,
        exchanges: &[Exchange],
    ) -> Result<(), Mismatch> {
        use Transition::*;
        let fail = |summary: String| Mismatch {
            summary,
            exchanges: exchanges.to_vec(),
        };
        let body = &exchanges[0].response;
        match transition {
            CreateUser { .. } | CreateDuplicateEmail { .. } if exchanges[0].status == 201 => {
                let expected_name = match transition {
                    CreateUser { last_name, .. } => last_name.clone(),
                    _ => crate::model::duplicate_last_name(),
                };
                if body["last_name"] != expected_name.as_str() || body["is_active"] != true {
                    return Err(fail(format!(
                        "the created user should be active with last_name {expected_name:?}"
                    )));
                }
                let id = body["id"]
                    .as_u64()
                    .ok_or_else(|| fail("the created user has no integer id".to_owned()))?;
                self.ids.record(next_index, id);
            }
            UpdateJobTitle { job_title, .. }
                if exchanges[0].status == 200 && body["job_title"] != job_title.as_str() =>
            {
                return Err(fail(format!("job_title should now be {job_title:?}")));
            }
            Deactivate { .. } | Reactivate { .. }
                if exchanges[0].status == 200
                    && body["is_active"] != matches!(transition, Reactivate { .. }) =>
            {
                return Err(fail("is_active should now be what was sent".to_owned()));
            }
            AddToProject {
                project, template, ..
            } if exchanges[0].status == 201
                && body["permission_template"]["id"] != self.template(*project, *template) =>
            {
                let wanted = self.template(*project, *template);
                return Err(fail(format!("the member should have template {wanted}")));
            }
            ChangeTemplate {
                project, template, ..
            } if exchanges[1].response["permission_template"]["id"]
                != self.template(*project, *template) =>
            {
                let wanted = self.template(*project, *template);
                return Err(fail(format!(
                    "the re-added member should have template {wanted}"
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// After every step: the active directory and each project's members equal what the case
    /// started with plus what the model says the case changed.
    pub fn check_invariants(&self, state: &ModelState) -> Result<(), Mismatch> {
        let mut expected_active = self.discovery.baseline_active.clone();
        expected_active.extend(state.active_users().map(|(index, _)| self.user_id(index)));
        let active = self.active_ids()?;
        if active != expected_active {
            let extra: Vec<_> = active.difference(&expected_active).collect();
            let missing: Vec<_> = expected_active.difference(&active).collect();
            return Err(Mismatch {
                summary: format!("the active directory differs from the model: unexpected {extra:?}, missing {missing:?}"),
                exchanges: vec![],
            });
        }
        for slot in 0..PROJECTS {
            let mut expected = self.discovery.baseline_members[slot as usize].clone();
            for (user, template) in state.members_of(slot) {
                expected.insert(self.user_id(user), Some(self.template(slot, template)));
            }
            let members = self.members(slot)?;
            if members != expected {
                return Err(Mismatch {
                    summary: format!(
                        "project {} members differ from the model: expected {expected:?}, listed {members:?}",
                        self.discovery.projects[slot as usize]
                    ),
                    exchanges: vec![],
                });
            }
        }
        self.check_crux_invariants(state)
    }

    /// On a mock target, registers a hook watching every user change, delivering to a receiver
    /// of the case's own, so [`Session::check_deliveries`] can compare what is delivered with
    /// the model.
    pub fn watch_webhooks(&mut self) -> Result<(), HarnessError> {
        if self.target.admin().is_none() {
            return Ok(());
        }
        let receiver = self.runtime.block_on(Receiver::start(200))?;
        let failed = |exchange: Exchange| {
            HarnessError::Discovery(format!(
                "cannot register a webhook: {} answered {}: {}",
                exchange.request, exchange.status, exchange.response
            ))
        };
        let hook = self.call(
            Method::POST,
            "/rest/v1.0/webhooks/hooks",
            Some(json!({"company_id": self.discovery.company_id, "hook": {
                "namespace": WEBHOOK_NAMESPACE, "destination_url": receiver.url()}})),
        );
        let Some(hook_id) = hook.response["id"].as_u64().filter(|_| hook.status == 201) else {
            return Err(failed(hook));
        };
        for resource in ["Company Users", "Project Users"] {
            for event_type in ["create", "update", "delete"] {
                let trigger = self.call(
                    Method::POST,
                    &format!("/rest/v1.0/webhooks/hooks/{hook_id}/triggers"),
                    Some(json!({"company_id": self.discovery.company_id, "namespace": WEBHOOK_NAMESPACE,
                        "trigger": {"resource_name": resource, "event_type": event_type}})),
                );
                if trigger.status != 201 {
                    return Err(failed(trigger));
                }
            }
        }
        self.webhooks = Some(Watch { receiver, hook_id });
        Ok(())
    }

    /// Removes the case's hook, if it registered one.
    pub fn unwatch_webhooks(&mut self) {
        if let Some(watch) = self.webhooks.take() {
            let path = format!(
                "/rest/v1.0/webhooks/hooks/{}?company_id={}&namespace={WEBHOOK_NAMESPACE}",
                watch.hook_id, self.discovery.company_id
            );
            let _ = self.call(Method::DELETE, &path, None);
        }
    }

    /// After a step: flushes the target's deliveries and checks that the case's receiver got
    /// exactly `expected` (the model's events for the step), in order. Nothing to check where
    /// no hook is registered.
    pub fn check_deliveries(&self, expected: &[ModelEvent]) -> Result<(), Mismatch> {
        let Some(watch) = &self.webhooks else {
            return Ok(());
        };
        let (status, flushed) = self.admin_call(Method::POST, "/webhooks/flush", None);
        if status != 200 {
            return Err(Mismatch {
                summary: format!("POST /__admin/webhooks/flush answered {status}: {flushed}"),
                exchanges: vec![],
            });
        }
        let describe =
            |resource: &str, event_type: &str, id: u64, project: Option<u64>| match project {
                Some(project) => format!("{resource} {event_type} {id} on project {project}"),
                None => format!("{resource} {event_type} {id}"),
            };
        let mut wanted: Vec<(Option<u64>, String)> = expected
            .iter()
            .map(|event| {
                let project = event
                    .project
                    .map(|slot| self.discovery.projects[slot as usize]);
                let text = describe(
                    event.resource,
                    event.event_type,
                    self.user_id(event.user),
                    project,
                );
                (project, text)
            })
            .collect();
        // A deleted user's memberships go in project id order, whatever the model's slot order.
        wanted.sort_by_key(|(project, text)| (text.contains("Company Users"), *project));
        let wanted: Vec<String> = wanted.into_iter().map(|(_, text)| text).collect();
        let got: Vec<String> = watch
            .receiver
            .take()
            .iter()
            .map(|delivered| {
                let body = &delivered.body;
                describe(
                    body["resource_name"].as_str().unwrap_or("?"),
                    body["event_type"].as_str().unwrap_or("?"),
                    body["resource_id"].as_u64().unwrap_or(0),
                    body["project_id"].as_u64(),
                )
            })
            .collect();
        if got == wanted {
            Ok(())
        } else {
            Err(Mismatch {
                summary: format!(
                    "webhook deliveries differ from the model: expected {wanted:?}, delivered {got:?}"
                ),
                exchanges: vec![],
            })
        }
    }

    /// Deactivates every user the case created (sandbox clean-up).
    pub fn deactivate_created(&self) {
        for id in self.ids.created() {
            let path = format!("{}/{id}", self.users_path());
            let _ = self.call(
                Method::PATCH,
                &path,
                Some(json!({"user": {"is_active": false}})),
            );
        }
    }
}
