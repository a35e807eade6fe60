//! Crux Connect's operations as HTTP calls: log in as the mock's admin API user, map the
//! model's slots onto the organization's users (other than the caller) and offered permissions,
//! remember what each user held at the start, and check after every step that each user holds
//! exactly that plus what was granted minus what was revoked.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use super::{Exchange, Mismatch, Session};
use crate::client::RequestBody;
use crate::model::{ModelState, Transition, CRUX_PERMISSIONS, CRUX_USERS};
use crate::target::CRUX_ADMIN;

/// A permission uuid no catalogue has, for the refused grant.
const UNKNOWN_PERMISSION: &str = "00000000-0000-4000-8000-000000000000";

/// What a session found on the target's Crux side, before the case changed anything.
#[derive(Clone, Debug)]
pub(super) struct CruxDiscovery {
    /// The admin API user's token.
    token: String,
    /// Organization user uuid per user slot.
    users: Vec<String>,
    /// Permission uuid per permission slot.
    permissions: Vec<String>,
    /// The permission uuids each user slot held at the start.
    initial: Vec<BTreeSet<String>>,
}

impl Session<'_> {
    /// Logs in and discovers, once per session: before the first Crux operation changes anything.
    fn crux_discovery(&mut self) -> Result<&CruxDiscovery, Mismatch> {
        if self.crux.is_none() {
            self.crux = Some(self.discover_crux()?);
        }
        Ok(self.crux.as_ref().expect("just discovered"))
    }

    /// After the clock moved: Crux tokens live two hours, so the session logs in again
    /// (`ExpireToken` moves the clock by Procore's token lifetime, which may outlive Crux's).
    pub(super) fn renew_crux_token(&mut self) -> Result<(), Mismatch> {
        if self.crux.is_some() {
            let token = self.crux_login()?.0;
            if let Some(discovery) = &mut self.crux {
                discovery.token = token;
            }
        }
        Ok(())
    }

    /// Logs in as [`CRUX_ADMIN`]: the token and the caller's organization-user uuid.
    fn crux_login(&self) -> Result<(String, String), Mismatch> {
        let (username, password) = CRUX_ADMIN;
        let login = self.crux_exchange(
            Method::POST,
            "/organizations/user-login/",
            None,
            Some(json!({"username": username, "password": password})),
        );
        let fail = |summary: String, exchange: &Exchange| Mismatch {
            summary,
            exchanges: vec![exchange.clone()],
        };
        match (
            login.response["auth_token"].as_str(),
            login.response["user_uuid"].as_str(),
        ) {
            (Some(token), Some(caller)) => Ok((token.to_owned(), caller.to_owned())),
            _ => Err(fail(
                format!("the Crux login answered {}", login.status),
                &login,
            )),
        }
    }

    fn discover_crux(&self) -> Result<CruxDiscovery, Mismatch> {
        let (token, caller) = self.crux_login()?;
        let listed =
            self.crux_exchange(Method::GET, "/organizations/users/all/", Some(&token), None);
        let mut users: Vec<String> = listed
            .response
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|u| u["uuid"].as_str())
                    .filter(|uuid| *uuid != caller.as_str())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        users.sort();
        users.truncate(CRUX_USERS as usize);
        let catalogue = self.crux_exchange(
            Method::GET,
            "/organizations/all_permissions/",
            Some(&token),
            None,
        );
        let permissions: Vec<String> = catalogue
            .response
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|p| p["uuid"].as_str().map(str::to_owned))
                    .take(CRUX_PERMISSIONS as usize)
                    .collect()
            })
            .unwrap_or_default();
        if users.len() < CRUX_USERS as usize || permissions.len() < CRUX_PERMISSIONS as usize {
            return Err(Mismatch {
                summary: format!(
                    "Crux needs {CRUX_USERS} users besides the caller and {CRUX_PERMISSIONS} offered permissions"
                ),
                exchanges: vec![listed, catalogue],
            });
        }
        let mut discovery = CruxDiscovery {
            token,
            users,
            permissions,
            initial: Vec::new(),
        };
        for user in 0..CRUX_USERS {
            let held = self.crux_assigned(&discovery, user)?;
            discovery.initial.push(held);
        }
        Ok(discovery)
    }

    /// A Crux call: `Authorization: Token <token>` when given, a JSON body when given.
    fn crux_exchange(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Exchange {
        let headers: Vec<(String, String)> = token
            .map(|token| ("Authorization".to_owned(), format!("Token {token}")))
            .into_iter()
            .collect();
        let request_body = body.clone().map_or(RequestBody::Empty, RequestBody::Json);
        let (status, response) = self.send_raw(method.clone(), path, &headers, &request_body);
        Exchange {
            request: format!("{method} {path}"),
            body,
            status,
            response,
        }
    }

    /// The permission uuids user slot `user` holds, as the target reports them.
    fn crux_assigned(
        &self,
        discovery: &CruxDiscovery,
        user: u8,
    ) -> Result<BTreeSet<String>, Mismatch> {
        let path = format!(
            "/organizations/users/permissions/{}/",
            discovery.users[user as usize]
        );
        let exchange = self.crux_exchange(Method::GET, &path, Some(&discovery.token), None);
        if exchange.status != 200 {
            return Err(Mismatch {
                summary: format!("expected 200 from GET {path}, got {}", exchange.status),
                exchanges: vec![exchange],
            });
        }
        Ok(assigned(&exchange.response))
    }

    /// The HTTP calls of a Crux transition.
    pub(super) fn crux_exchanges(
        &mut self,
        transition: &Transition,
    ) -> Result<Vec<Exchange>, Mismatch> {
        let discovery = self.crux_discovery()?.clone();
        let (method, user, uuids) = match transition {
            Transition::CruxGrant { user, permissions } => {
                (Method::PATCH, *user, discovery.uuids(permissions))
            }
            Transition::CruxRevoke { user, permissions } => {
                (Method::DELETE, *user, discovery.uuids(permissions))
            }
            Transition::CruxGrantWithUnknown { user, permission } => {
                let mut uuids = discovery.uuids(&[*permission]);
                uuids.push(UNKNOWN_PERMISSION.to_owned());
                (Method::PATCH, *user, uuids)
            }
            _ => return Ok(Vec::new()),
        };
        let path = format!(
            "/organizations/users/permissions/{}/",
            discovery.users[user as usize]
        );
        Ok(vec![self.crux_exchange(
            method,
            &path,
            Some(&discovery.token),
            Some(json!({ "permission_uuids": uuids })),
        )])
    }

    /// A grant or revoke answers the user's assignments afterwards: they must be the model's.
    pub(super) fn check_crux_answer(
        &self,
        state: &ModelState,
        transition: &Transition,
        exchanges: &[Exchange],
    ) -> Result<(), Mismatch> {
        let (Transition::CruxGrant { user, .. } | Transition::CruxRevoke { user, .. }) = transition
        else {
            return Ok(());
        };
        let Some(discovery) = &self.crux else {
            return Ok(());
        };
        let after = state.clone().apply(transition);
        let expected = discovery.expected(&after, *user);
        let answered = assigned(&exchanges[0].response);
        if answered != expected {
            return Err(Mismatch {
                summary: format!(
                    "the answer's assignments differ from the model: expected {expected:?}, answered {answered:?}"
                ),
                exchanges: exchanges.to_vec(),
            });
        }
        Ok(())
    }

    /// Each user slot holds exactly what they held at the start, plus what the case granted,
    /// minus what it revoked since.
    pub(super) fn check_crux_invariants(&self, state: &ModelState) -> Result<(), Mismatch> {
        let Some(discovery) = &self.crux else {
            return Ok(());
        };
        for user in 0..CRUX_USERS {
            let expected = discovery.expected(state, user);
            let held = self.crux_assigned(discovery, user)?;
            if held != expected {
                return Err(Mismatch {
                    summary: format!(
                        "Crux user {} holds {held:?}, the model says {expected:?}",
                        discovery.users[user as usize]
                    ),
                    exchanges: vec![],
                });
            }
        }
        Ok(())
    }
}

impl CruxDiscovery {
    fn uuids(&self, slots: &[u8]) -> Vec<String> {
        slots
            .iter()
            .map(|slot| self.permissions[*slot as usize].clone())
            .collect()
    }

    /// The uuids user slot `user` must hold in `state`.
    fn expected(&self, state: &ModelState, user: u8) -> BTreeSet<String> {
        let slot_of: BTreeMap<&str, u8> = self
            .permissions
            .iter()
            .enumerate()
            .map(|(slot, uuid)| (uuid.as_str(), slot as u8))
            .collect();
        let initial = &self.initial[user as usize];
        let initial_slots: BTreeSet<u8> = initial
            .iter()
            .filter_map(|uuid| slot_of.get(uuid.as_str()).copied())
            .collect();
        // Permissions outside the slots are never touched: they stay as they were.
        let untouched = initial
            .iter()
            .filter(|uuid| !slot_of.contains_key(uuid.as_str()))
            .cloned();
        state
            .crux
            .expected(user, &initial_slots)
            .into_iter()
            .map(|slot| self.permissions[slot as usize].clone())
            .chain(untouched)
            .collect()
    }
}

/// The uuids marked `assigned` in a permission-assignments object.
fn assigned(assignments: &Value) -> BTreeSet<String> {
    assignments["permissions"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|item| item["assigned"] == true)
                .filter_map(|item| item["permission"]["uuid"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
