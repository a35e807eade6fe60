//! `GET /openapi.json`: the mock's own OpenAPI 3.0 document, for the profile it serves.
//!
//! Every operation is listed once, in `OPERATIONS`. Where Procore documents the operation, its
//! response and request schemas are Procore's own (from the same document the conformance
//! check uses, which the mock's answers are tested against); parameters are the ones the mock
//! reads, then the ones Procore documents and the mock accepts without applying them (marked
//! `x-procore-mock-not-applied`); statuses are the ones it answers, with its own error shape,
//! and every API operation's answers declare the `X-Procore-Mock-Warning` header and the 400
//! `--strict` can give (see `http::warnings`). Operations Procore does
//! not document (profile extras, OAuth, `/__admin`, Crux Connect's API) are described here.
//! Tests check the list against the router in both directions, so the document cannot drift
//! from what is served.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::config::Profile;
use crate::http;
use crate::http::crux::PREFIXES as CRUX_PREFIXES;
use crate::http::documented;
use crate::state::AppState;

/// Query parameters shared by the paginated lists.
const PAGES: &[&str] = &["page", "per_page"];
/// Query parameters of the company-user lists.
const USER_LIST: &[&str] = &[
    "page",
    "per_page",
    "filters[search]",
    "search",
    "filters[created_at]",
    "filters[updated_at]",
    "updated_after",
    "filters[vendor_id][]",
    "filters[origin_id]",
    "sort",
    "view",
];
/// Query parameters of the project-user list.
const MEMBER_LIST: &[&str] = &[
    "page",
    "per_page",
    "filters[search]",
    "filters[permission_template]",
    "filters[vendor_id][]",
    "filters[id][]",
];
/// Lists that name their company in the query.
const COMPANY_QUERY: &[&str] = &["company_id", "page", "per_page"];

/// Who an operation is served to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Served {
    /// Both profiles.
    Always,
    /// Only `--profile documented` (seed-only behaviour Procore's reference lacks).
    DocumentedOnly,
    /// Both profiles unless `--no-crux`: a Crux Connect operation. Its path is relative to
    /// Crux's prefixes (`http::crux::PREFIXES`) and it is listed once under each, as it is
    /// routed.
    Crux,
}

impl Served {
    /// Whether a mock serving `profile`, with Crux Connect on or off, serves the operation.
    fn by(self, profile: Profile, crux: bool) -> bool {
        match self {
            Served::Always => true,
            Served::DocumentedOnly => profile.serves_seed_extras(),
            Served::Crux => crux,
        }
    }

    /// The paths the operation is served under.
    fn paths(self, path: &'static str) -> Vec<String> {
        match self {
            Served::Crux => CRUX_PREFIXES
                .iter()
                .map(|prefix| format!("{prefix}{path}"))
                .collect(),
            Served::Always | Served::DocumentedOnly => vec![path.to_owned()],
        }
    }
}

/// Where an operation's description comes from.
#[derive(Clone, Copy)]
enum Source {
    /// Procore's operation with this `operationId` (possibly served under another path).
    Procore(&'static str),
    /// Described here: a summary, the JSON schema of its request body (`None`: it takes none;
    /// a body whose schema requires fields is itself required), its success status and the
    /// JSON schema of that answer (`None`: no body).
    Mock {
        summary: &'static str,
        body: Option<fn() -> Value>,
        ok: u16,
        schema: Option<fn() -> Value>,
    },
}

/// One operation the mock serves.
struct Operation {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    source: Source,
    /// Query parameters the handler reads.
    query: &'static [&'static str],
    served: Served,
}

const fn procore(
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    query: &'static [&'static str],
) -> Operation {
    Operation {
        method,
        path,
        tag: "procore",
        source: Source::Procore(operation_id),
        query,
        served: Served::Always,
    }
}

const fn own(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    ok: u16,
    schema: Option<fn() -> Value>,
) -> Operation {
    Operation {
        method,
        path,
        tag,
        source: Source::Mock {
            summary,
            body: if matches!(method.as_bytes(), b"POST" | b"PUT" | b"PATCH") {
                Some(object)
            } else {
                None
            },
            ok,
            schema,
        },
        query: &[],
        served: Served::Always,
    }
}

/// A Crux Connect operation: `path` relative to Crux's prefixes, its request body's schema and
/// its answer's (always 200 with a body).
const fn crux(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<fn() -> Value>,
    schema: fn() -> Value,
) -> Operation {
    Operation {
        method,
        path,
        tag: "crux",
        source: Source::Mock {
            summary,
            body,
            ok: 200,
            schema: Some(schema),
        },
        query: &[],
        served: Served::Crux,
    }
}

fn object() -> Value {
    json!({"type": "object"})
}

fn array() -> Value {
    json!({"type": "array", "items": {"type": "object"}})
}

/// A uuid as Crux writes it.
fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}

/// One permission of Crux's catalogue.
fn crux_permission() -> Value {
    json!({
        "type": "object",
        "properties": {
            "uuid": uuid(),
            "name": {"type": "string"},
            "display_name": {"type": "string"},
            "description": {"type": "string"},
            "visibility": {"type": "string", "enum": ["RETAILER", "SUPPLIER", "BOTH"]},
            "grouping": {"type": "string"},
        },
        "required": ["uuid", "name", "display_name", "description", "visibility", "grouping"],
    })
}

fn crux_permissions() -> Value {
    json!({"type": "array", "items": crux_permission()})
}

/// A user's assignments: every permission offered to the organization, each with whether the
/// user holds it.
fn crux_assignments() -> Value {
    json!({
        "type": "object",
        "properties": {
            "permissions": {"type": "array", "items": {
                "type": "object",
                "properties": {"assigned": {"type": "boolean"}, "permission": crux_permission()},
                "required": ["assigned", "permission"],
            }},
            "org_user": {"type": "object", "properties": {"uuid": uuid()}, "required": ["uuid"]},
        },
        "required": ["permissions", "org_user"],
    })
}

fn crux_user() -> Value {
    let text = json!({"type": "string"});
    let optional_text = json!({"type": "string", "nullable": true});
    json!({
        "type": "object",
        "properties": {
            "uuid": uuid(),
            "person": {
                "type": "object",
                "properties": {
                    "uuid": uuid(),
                    "first_name": text,
                    "last_name": text,
                    "email": text,
                    "phone": optional_text,
                    "job_title": optional_text,
                },
                "required": ["uuid", "first_name", "last_name", "email"],
            },
            "permission_assignments": crux_assignments(),
            "status": {"type": "string", "enum": ["CONFIRMATION WAITING", "ACTIVE", "DEACTIVATED"]},
            "token": optional_text,
        },
        "required": ["uuid", "person", "permission_assignments", "status", "token"],
    })
}

fn crux_users() -> Value {
    json!({"type": "array", "items": crux_user()})
}

fn crux_login() -> Value {
    json!({
        "type": "object",
        "properties": {
            "auth_token": {"type": "string"},
            "org_uuid": uuid(),
            "user_uuid": uuid(),
            "retailer_uuid": {"type": "string", "description": "The retailer's uuid, or \"\" for a supplier"},
            "supplier_uuid": {"type": "string", "description": "The supplier's uuid, or \"\" for a retailer"},
            "org_type": {"type": "string", "enum": ["RETAILER", "SUPPLIER"]},
            "permission_assignments": crux_assignments(),
        },
        "required": [
            "auth_token", "org_uuid", "user_uuid", "retailer_uuid", "supplier_uuid", "org_type",
            "permission_assignments",
        ],
    })
}

fn crux_credentials() -> Value {
    json!({
        "type": "object",
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
        "required": ["username", "password"],
    })
}

fn crux_permission_uuids() -> Value {
    json!({
        "type": "object",
        "properties": {"permission_uuids": {"type": "array", "items": uuid()}},
        "required": ["permission_uuids"],
    })
}

/// Every operation the mock serves, in the order the document lists them.
const OPERATIONS: &[Operation] = &[
    procore("GET", "/rest/v1.0/companies", "RestV10CompaniesGet", PAGES),
    procore("GET", "/rest/v1.0/me", "RestV10MeGet", &[]),
    procore(
        "GET",
        "/rest/v1.0/projects",
        "RestV10ProjectsGet",
        COMPANY_QUERY,
    ),
    procore(
        "GET",
        "/rest/v1.1/projects",
        "RestV10ProjectsGet",
        COMPANY_QUERY,
    ),
    procore(
        "GET",
        "/rest/v1.0/companies/{company_id}/permission_templates",
        "RestV10CompaniesCompanyIdPermissionTemplatesGet",
        &["filters[type]", "page", "per_page"],
    ),
    procore(
        "GET",
        "/rest/v1.0/projects/{project_id}/permission_templates",
        "RestV10ProjectsProjectIdPermissionTemplatesGet",
        PAGES,
    ),
    procore(
        "GET",
        "/rest/v1.0/companies/{company_id}/users",
        "RestV10CompaniesCompanyIdUsersGet",
        USER_LIST,
    ),
    procore(
        "GET",
        "/rest/v1.1/companies/{company_id}/users",
        "RestV11CompaniesCompanyIdUsersGet",
        USER_LIST,
    ),
    procore(
        "GET",
        "/rest/v1.3/companies/{company_id}/users",
        "RestV13CompaniesCompanyIdUsersGet",
        USER_LIST,
    ),
    procore(
        "POST",
        "/rest/v1.0/companies/{company_id}/users",
        "RestV10CompaniesCompanyIdUsersPost",
        &[],
    ),
    procore(
        "GET",
        "/rest/v1.0/companies/{company_id}/users/{id}",
        "RestV10CompaniesCompanyIdUsersIdGet",
        &[],
    ),
    procore(
        "GET",
        "/rest/v1.1/companies/{company_id}/users/{id}",
        "RestV10CompaniesCompanyIdUsersIdGet",
        &[],
    ),
    procore(
        "GET",
        "/rest/v1.3/companies/{company_id}/users/{id}",
        "RestV10CompaniesCompanyIdUsersIdGet",
        &[],
    ),
    procore(
        "PATCH",
        "/rest/v1.0/companies/{company_id}/users/{id}",
        "RestV10CompaniesCompanyIdUsersIdPatch",
        &[],
    ),
    Operation {
        served: Served::DocumentedOnly,
        ..own(
            "DELETE",
            "/rest/v1.0/companies/{company_id}/users/{id}",
            "procore",
            "Delete a company user (seed-only: not in Procore's reference)",
            204,
            None,
        )
    },
    procore(
        "PATCH",
        "/rest/v1.3/companies/{company_id}/users/{id}",
        "RestV13CompaniesCompanyIdUsersIdPatch",
        &["run_configurable_validations"],
    ),
    procore(
        "PATCH",
        "/rest/v1.0/companies/{company_id}/users/sync",
        "RestV10CompaniesCompanyIdUsersSyncPatch",
        &[],
    ),
    procore(
        "GET",
        "/rest/v1.0/companies/{company_id}/users/inactive",
        "RestV10CompaniesCompanyIdUsersInactiveGet",
        USER_LIST,
    ),
    procore(
        "GET",
        "/rest/v1.1/companies/{company_id}/users/inactive",
        "RestV10CompaniesCompanyIdUsersInactiveGet",
        USER_LIST,
    ),
    procore(
        "GET",
        "/rest/v1.3/companies/{company_id}/users/inactive",
        "RestV10CompaniesCompanyIdUsersInactiveGet",
        USER_LIST,
    ),
    procore(
        "PATCH",
        "/rest/v1.0/companies/{company_id}/users/inactive/{id}",
        "RestV10CompaniesCompanyIdUsersInactiveIdPatch",
        &[],
    ),
    procore(
        "GET",
        "/rest/v1.0/vendors",
        "RestV10VendorsGet",
        COMPANY_QUERY,
    ),
    procore(
        "GET",
        "/rest/v1.0/vendors/{id}",
        "RestV10VendorsIdGet",
        &["company_id"],
    ),
    procore(
        "GET",
        "/rest/v1.0/companies/{company_id}/vendors",
        "RestV10VendorsGet",
        PAGES,
    ),
    procore(
        "GET",
        "/rest/v1.0/companies/{company_id}/vendors/{id}",
        "RestV10VendorsIdGet",
        &[],
    ),
    procore(
        "GET",
        "/rest/v1.0/projects/{project_id}/users",
        "RestV10ProjectsProjectIdUsersGet",
        MEMBER_LIST,
    ),
    procore(
        "POST",
        "/rest/v1.0/projects/{project_id}/users",
        "RestV10ProjectsProjectIdUsersPost",
        &[],
    ),
    procore(
        "GET",
        "/rest/v1.0/projects/{project_id}/users/{id}",
        "RestV10ProjectsProjectIdUsersIdGet",
        &[],
    ),
    procore(
        "PATCH",
        "/rest/v1.0/projects/{project_id}/users/{id}",
        "RestV10ProjectsProjectIdUsersIdPatch",
        &[],
    ),
    Operation {
        served: Served::DocumentedOnly,
        ..own(
            "DELETE",
            "/rest/v1.0/projects/{project_id}/users/{id}",
            "procore",
            "Remove a project member (seed-only: same as actions/remove)",
            204,
            None,
        )
    },
    procore(
        "POST",
        "/rest/v1.0/projects/{project_id}/users/{id}/actions/add",
        "RestV10ProjectsProjectIdUsersIdActionsAddPost",
        &[],
    ),
    procore(
        "DELETE",
        "/rest/v1.0/projects/{project_id}/users/{id}/actions/remove",
        "RestV10ProjectsProjectIdUsersIdActionsRemoveDelete",
        &[],
    ),
    own(
        "GET",
        "/avatars/{company_id}/{user_id}/{version}",
        "procore",
        "An uploaded avatar image, byte for byte (public)",
        200,
        None,
    ),
    own(
        "POST",
        "/oauth/token",
        "oauth",
        "Issue a token (client_credentials, authorization_code, refresh_token)",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/oauth/authorize",
        "oauth",
        "Approve at once and redirect with a code",
        302,
        None,
    ),
    own(
        "GET",
        "/oauth/token/info",
        "oauth",
        "Describe a token",
        200,
        Some(object),
    ),
    own(
        "POST",
        "/oauth/revoke",
        "oauth",
        "Revoke a token",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/openapi.json",
        "meta",
        "This document",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/health",
        "admin",
        "Liveness",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/clock",
        "admin",
        "The mock clock",
        200,
        Some(object),
    ),
    own(
        "PUT",
        "/__admin/clock",
        "admin",
        "Set or freeze the mock clock",
        200,
        Some(object),
    ),
    own(
        "POST",
        "/__admin/clock/advance",
        "admin",
        "Advance the mock clock",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/rate-limits",
        "admin",
        "The rate limits in force",
        200,
        Some(object),
    ),
    own(
        "PUT",
        "/__admin/rate-limits",
        "admin",
        "Change the rate limits",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/faults",
        "admin",
        "The fault rules",
        200,
        Some(array),
    ),
    own(
        "POST",
        "/__admin/faults",
        "admin",
        "Add a fault rule",
        201,
        Some(object),
    ),
    own(
        "DELETE",
        "/__admin/faults",
        "admin",
        "Remove every fault rule",
        204,
        None,
    ),
    own(
        "DELETE",
        "/__admin/faults/{id}",
        "admin",
        "Remove one fault rule",
        204,
        None,
    ),
    own(
        "POST",
        "/__admin/reset",
        "admin",
        "Back to the data and limits given at start",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/state",
        "admin",
        "The whole state as a fixture",
        200,
        Some(object),
    ),
    own(
        "PUT",
        "/__admin/state",
        "admin",
        "Replace the whole state",
        200,
        Some(object),
    ),
    own(
        "POST",
        "/__admin/state/save",
        "admin",
        "Save the state file now",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/requests",
        "admin",
        "The request journal",
        200,
        Some(array),
    ),
    own(
        "DELETE",
        "/__admin/requests",
        "admin",
        "Clear the request journal",
        204,
        None,
    ),
    own(
        "POST",
        "/__admin/requests/count",
        "admin",
        "Count and list the journal entries a matcher selects",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/directory",
        "admin",
        "Read-only view of each company's users, projects and members",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/apps",
        "admin",
        "Each OAuth app's rate windows and access tokens (no secrets)",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/ui",
        "admin",
        "The dashboard page (HTML)",
        200,
        None,
    ),
    own(
        "GET",
        "/__admin/ui/app.js",
        "admin",
        "The dashboard's script",
        200,
        None,
    ),
    own(
        "GET",
        "/__admin/ui/app.css",
        "admin",
        "The dashboard's style sheet",
        200,
        None,
    ),
    own(
        "GET",
        "/__admin/webhooks",
        "admin",
        "Webhook overview: hooks, queues, dropped events",
        200,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/webhooks/deliveries",
        "admin",
        "Pending and past deliveries across hooks",
        200,
        Some(object),
    ),
    own(
        "POST",
        "/__admin/webhooks/flush",
        "admin",
        "Deliver everything due now",
        200,
        Some(object),
    ),
    own(
        "POST",
        "/__admin/webhooks/faults",
        "admin",
        "Add a delivery fault rule (drop, delay, duplicate, reorder)",
        201,
        Some(object),
    ),
    own(
        "GET",
        "/__admin/webhooks/faults",
        "admin",
        "List delivery fault rules",
        200,
        Some(array),
    ),
    own(
        "DELETE",
        "/__admin/webhooks/faults",
        "admin",
        "Remove every delivery fault rule",
        204,
        None,
    ),
    own(
        "DELETE",
        "/__admin/webhooks/faults/{id}",
        "admin",
        "Remove one delivery fault rule",
        204,
        None,
    ),
    Operation {
        query: &["company_id", "project_id", "namespace"],
        ..own(
            "GET",
            "/rest/v1.0/webhooks/hooks",
            "webhooks",
            "List hooks of a company or project",
            200,
            Some(array),
        )
    },
    own(
        "POST",
        "/rest/v1.0/webhooks/hooks",
        "webhooks",
        "Create a hook",
        201,
        Some(object),
    ),
    Operation {
        query: &["company_id", "project_id", "namespace"],
        ..own(
            "GET",
            "/rest/v1.0/webhooks/hooks/{id}",
            "webhooks",
            "Show a hook",
            200,
            Some(object),
        )
    },
    own(
        "PATCH",
        "/rest/v1.0/webhooks/hooks/{id}",
        "webhooks",
        "Update a hook",
        200,
        Some(object),
    ),
    Operation {
        query: &["company_id", "project_id", "namespace"],
        ..own(
            "DELETE",
            "/rest/v1.0/webhooks/hooks/{id}",
            "webhooks",
            "Delete a hook",
            200,
            None,
        )
    },
    Operation {
        query: &["company_id", "project_id", "namespace"],
        ..own(
            "GET",
            "/rest/v1.0/webhooks/hooks/{hook_id}/triggers",
            "webhooks",
            "List a hook's triggers",
            200,
            Some(array),
        )
    },
    own(
        "POST",
        "/rest/v1.0/webhooks/hooks/{hook_id}/triggers",
        "webhooks",
        "Create a trigger on a hook",
        201,
        Some(object),
    ),
    Operation {
        query: &["company_id", "project_id", "namespace"],
        ..own(
            "DELETE",
            "/rest/v1.0/webhooks/hooks/{hook_id}/triggers/{id}",
            "webhooks",
            "Delete a trigger",
            200,
            None,
        )
    },
    Operation {
        query: &[
            "company_id",
            "project_id",
            "namespace",
            "filters[status]",
            "page_size",
            "page_start",
        ],
        ..own(
            "GET",
            "/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
            "webhooks",
            "List a hook's deliveries",
            200,
            Some(array),
        )
    },
    crux(
        "POST",
        "/user-login/",
        "Log in as an API user: a token and the caller's permissions",
        Some(crux_credentials),
        crux_login,
    ),
    crux(
        "GET",
        "/users/all/",
        "Every user of the caller's organization (needs view_org_users)",
        None,
        crux_users,
    ),
    crux(
        "GET",
        "/users/detail/{user_uuid}/",
        "One user of the caller's organization (needs view_org_users)",
        None,
        crux_user,
    ),
    crux(
        "GET",
        "/all_permissions/",
        "The permissions offered to the organization's kind (needs view_org_users)",
        None,
        crux_permissions,
    ),
    crux(
        "GET",
        "/users/permissions/{user_uuid}/",
        "A user's permission assignments (needs view_org_users)",
        None,
        crux_assignments,
    ),
    crux(
        "PATCH",
        "/users/permissions/{user_uuid}/",
        "Assign permissions to a user (needs edit_org_users); every uuid or none",
        Some(crux_permission_uuids),
        crux_assignments,
    ),
    crux(
        "DELETE",
        "/users/permissions/{user_uuid}/",
        "Remove permissions from a user (needs edit_org_users); every uuid or none",
        Some(crux_permission_uuids),
        crux_assignments,
    ),
];

/// The `GET /openapi.json` route, its document built once for the state's profile and whether
/// Crux Connect is served.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let document = Arc::new(document(
        state.profile(),
        !state.config().no_crux,
        state.strict(),
    ));
    Router::new().route(
        "/openapi.json",
        get(move || {
            let document = Arc::clone(&document);
            async move { http::json(StatusCode::OK, &*document) }
        }),
    )
}

/// The document for `profile`, with Crux Connect's API when `crux` (not `--no-crux`), and the
/// 400s only `--strict` answers when `strict`.
pub(crate) fn document(profile: Profile, crux: bool, strict: bool) -> Value {
    let procore_operations = procore_operations(documented::procore_document());
    let mut paths = Map::new();
    for operation in OPERATIONS {
        if !operation.served.by(profile, crux) {
            continue;
        }
        for path in operation.served.paths(operation.path) {
            let described = describe(operation, &path, &procore_operations, strict);
            let item = paths.entry(path).or_insert_with(|| json!({}));
            item[operation.method.to_ascii_lowercase()] = described;
        }
    }
    let mut tags = vec![
        json!({"name": "procore", "description": "Procore's REST API as the mock emulates it"}),
        json!({"name": "oauth", "description": "OAuth 2.0 on the same host"}),
        json!({"name": "admin", "description": "The mock's control plane (not Procore's)"}),
        json!({"name": "meta", "description": "About the mock itself"}),
    ];
    let mut security_schemes = json!({
        "bearer": {"type": "http", "scheme": "bearer"},
        "adminToken": {"type": "http", "scheme": "bearer", "description": "Only when --admin-token is set"},
    });
    if crux {
        tags.push(json!({
            "name": "crux",
            "description": "Crux Connect's organization-user and permission API, under \
                            /organizations and /timp/organizations (off with --no-crux)",
        }));
        security_schemes["cruxToken"] = json!({
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "`Token <auth_token>`, the auth_token of a Crux login",
        });
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "procore-mock",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "What this procore-mock serves for --profile {}. Response and request schemas of \
                 Procore's operations are Procore's own (its published document); differences are \
                 listed in docs/divergences.md.",
                profile_name(profile)
            ),
        },
        "servers": [{"url": "http://127.0.0.1:4010"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": security_schemes,
            "headers": {WARNING_HEADER: warning_header()},
        },
    })
}

fn profile_name(profile: Profile) -> &'static str {
    if profile.serves_seed_extras() {
        "documented"
    } else {
        "official"
    }
}

/// Procore's operations by `operationId`.
fn procore_operations(procore: &Value) -> Map<String, Value> {
    let mut by_id = Map::new();
    for item in procore["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, v)| v)
    {
        for operation in item.as_object().into_iter().flatten().map(|(_, v)| v) {
            if let Some(id) = operation["operationId"].as_str() {
                by_id.insert(id.to_owned(), operation.clone());
            }
        }
    }
    by_id
}

/// The OpenAPI operation object for one of the mock's operations, served at `path`.
fn describe(
    operation: &Operation,
    path: &str,
    procore: &Map<String, Value>,
    strict: bool,
) -> Value {
    let rest = path.starts_with("/rest/");
    let company_header =
        rest && !matches!(operation.path, "/rest/v1.0/companies" | "/rest/v1.0/me");
    let mut parameters: Vec<Value> = Vec::new();
    if company_header {
        parameters.push(json!({
            "name": "Procore-Company-Id", "in": "header", "required": true,
            "schema": {"type": "integer"},
        }));
    }
    for name in path_parameters(path) {
        // Procore's records are named by integer ids, Crux's by uuids.
        let schema = if name.ends_with("_uuid") {
            uuid()
        } else {
            json!({"type": "integer"})
        };
        parameters.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
    }
    let source_id = match operation.source {
        Source::Procore(id) => Some(id),
        Source::Mock { .. } => None,
    };
    let procore_op = source_id.and_then(|id| procore.get(id));
    for name in operation.query {
        let documented = procore_op
            .and_then(|op| op["parameters"].as_array())
            .and_then(|params| {
                params
                    .iter()
                    .find(|p| p["in"] == "query" && p["name"] == *name)
            });
        let mut parameter = documented
            .cloned()
            .unwrap_or_else(|| json!({"name": name, "in": "query", "schema": {"type": "string"}}));
        parameter["required"] = json!(*name == "company_id" && !path.contains("{company_id}"));
        parameters.push(parameter);
    }
    // What Procore documents and the handler does not read: accepted, warned about, not
    // applied (see `http::documented`).
    let procore_query = procore_op
        .and_then(|op| op["parameters"].as_array())
        .into_iter()
        .flatten()
        .filter(|parameter| parameter["in"] == "query");
    for documented in procore_query {
        let name = documented["name"].as_str().unwrap_or_default();
        let read = operation
            .query
            .iter()
            .any(|read| same_parameter(read, name));
        if read || path_parameters(path).any(|in_path| in_path == name) {
            continue;
        }
        let mut parameter = documented.clone();
        parameter["required"] = json!(false);
        parameter["description"] = json!(NOT_APPLIED);
        parameter["x-procore-mock-not-applied"] = json!(true);
        parameters.push(parameter);
    }
    let operation_id = format!(
        "{}{}",
        operation.method.to_ascii_lowercase(),
        path.split(['/', '.', '{', '}', '_', '-'])
            .filter(|s| !s.is_empty())
            .map(|s| {
                let mut chars = s.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect::<String>()
    );
    let mut out = json!({
        "tags": [operation.tag],
        "operationId": operation_id,
        "parameters": parameters,
    });
    let (ok_status, ok_schema, takes_body) = match (operation.source, procore_op) {
        (Source::Procore(id), Some(op)) => {
            out["summary"] = op["summary"].clone();
            out["x-procore-operation-id"] = json!(id);
            let (status, response) = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .find(|(status, _)| status.starts_with('2'))
                .map(|(s, r)| (s.parse::<u16>().unwrap_or(200), r.clone()))
                .unwrap_or((200, json!({})));
            let schema = any_of(response["content"]["application/json"]["schema"].clone());
            if let Some(body) = op.get("requestBody") {
                out["requestBody"] = with_every_encoding(body);
            }
            (
                status,
                (!schema.is_null()).then_some(schema),
                op.get("requestBody").is_some(),
            )
        }
        (
            Source::Mock {
                summary,
                body,
                ok,
                schema,
            },
            _,
        ) => {
            out["summary"] = json!(summary);
            if let Some(body) = body {
                let schema = body();
                out["requestBody"] = json!({
                    "required": schema.get("required").is_some(),
                    "content": {"application/json": {"schema": schema}},
                });
            }
            (ok, schema.map(|f| f()), body.is_some())
        }
        (Source::Procore(id), None) => unreachable!("{id} is not in Procore's document"),
    };
    let mut responses = Map::new();
    let ok = match ok_schema {
        Some(schema) => {
            json!({"description": "Success", "content": {"application/json": {"schema": schema}}})
        }
        None => json!({"description": "Success"}),
    };
    responses.insert(ok_status.to_string(), ok);
    if operation.tag == "oauth" {
        for (status, description) in [
            (400, "RFC 6749 error"),
            (401, "invalid_client or invalid_token"),
        ] {
            responses.insert(
                status.to_string(),
                json!({
                    "description": description,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
                    }}},
                }),
            );
        }
    }
    if operation.served == Served::Crux {
        for (status, description) in crux_error_statuses(operation, strict) {
            let mut response = json!({
                "description": description,
                "content": {"application/json": {"schema": crux_error_schema(status)}},
            });
            if status == 401 {
                response["headers"] = json!({"WWW-Authenticate": {
                    "description": "`Token`",
                    "schema": {"type": "string"},
                }});
            }
            responses.insert(status.to_string(), response);
        }
    }
    for (status, description) in error_statuses(path, operation, takes_body) {
        responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "content": {"application/json": {"schema": error_schema()}},
            }),
        );
    }
    if rest || operation.served == Served::Crux {
        for response in responses.values_mut() {
            response["headers"][WARNING_HEADER] =
                json!({"$ref": format!("#/components/headers/{WARNING_HEADER}")});
        }
    }
    out["responses"] = Value::Object(responses);
    if rest {
        out["security"] = json!([{"bearer": []}]);
    } else if operation.tag == "admin" {
        out["security"] = json!([{}, {"adminToken": []}]);
    } else if operation.served == Served::Crux && operation.path != CRUX_LOGIN {
        out["security"] = json!([{"cruxToken": []}]);
    }
    out
}

/// The description of a query parameter Procore documents and the mock does not emulate.
const NOT_APPLIED: &str = "Documented by Procore; accepted but not applied by the mock, which \
                           names it in X-Procore-Mock-Warning (`not applied ...`) and refuses it \
                           with a 400 under --strict.";

/// The warning header as the answers of the API operations spell it (see `http::warnings`).
const WARNING_HEADER: &str = "X-Procore-Mock-Warning";

/// The response header the mock adds, never Procore, when a request could pass against the
/// mock and fail or differ on Procore: declared once under `components/headers`, referred to
/// by every answer of every API operation.
fn warning_header() -> Value {
    json!({
        "description": "Only when there is something to say, several warnings joined with `; `: \
                        `ignored: <names>` for query parameters and body fields (`user[job_titel]`) \
                        the operation does not read; `not applied (documented by Procore, not \
                        emulated by the mock): <names>` for those Procore documents and the mock \
                        does not emulate; `seed-only, ...` for behaviour only the documented \
                        profile serves. Procore never sends it. Under --strict the first two are \
                        a 400 instead.",
        "required": false,
        "schema": {"type": "string"},
    })
}

/// Whether two query parameter names are one (`filters[id]` is `filters[id][]`).
fn same_parameter(a: &str, b: &str) -> bool {
    a.strip_suffix("[]").unwrap_or(a) == b.strip_suffix("[]").unwrap_or(b)
}

/// The one Crux operation that needs no token.
const CRUX_LOGIN: &str = "/user-login/";

/// Crux's error body (Django REST framework's): `{"detail": "<sentence>"}`, or for a 400 with
/// fields at fault, each field's messages (`{"permission_uuids": ["..."]}`).
fn crux_error_schema(status: u16) -> Value {
    let detail = json!({"type": "string"});
    if status == 400 {
        json!({
            "type": "object",
            "properties": {"detail": detail},
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        })
    } else {
        json!({
            "type": "object",
            "properties": {"detail": detail},
            "required": ["detail"],
            "additionalProperties": false,
        })
    }
}

/// The error statuses a Crux operation answers, in the order Crux checks them; a 400 for what
/// the operation does not take only when the server is `strict` (a lenient one never answers
/// it where the operation takes no body).
fn crux_error_statuses(operation: &Operation, strict: bool) -> Vec<(u16, &'static str)> {
    let takes_body = matches!(operation.source, Source::Mock { body: Some(_), .. });
    let mut statuses = Vec::new();
    if operation.path == CRUX_LOGIN {
        statuses.push((401, "Wrong username or password, or a deactivated user"));
    } else {
        statuses.extend([
            (
                401,
                "No or malformed `Token` header, unknown or expired token, deactivated user",
            ),
            (403, "The caller lacks the permission the operation needs"),
        ]);
    }
    if operation.path.contains("{user_uuid}") {
        statuses.push((404, "No such user in the caller's organization"));
    }
    if takes_body {
        statuses.extend([
            (
                400,
                "A field at fault (each named with its messages), or a body that is not a JSON \
                   object; with --strict, also each body field or query parameter the operation \
                   does not take",
            ),
            (413, "Body over the size limit"),
            (415, "A body that is not JSON"),
        ]);
    } else if strict {
        statuses.push((
            400,
            "--strict: each query parameter the operation does not take, named with its messages",
        ));
    }
    statuses
}

/// Procore's schema with every `oneOf` as `anyOf`. Procore's unions are over open objects, so
/// one answer matches several branches and strict `oneOf` refuses it (the quirk
/// `procore-schema` handles for the check); this document describes the mock's answers, which
/// match at least one branch.
fn any_of(schema: Value) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| {
                    let key = if key == "oneOf" {
                        "anyOf".to_owned()
                    } else {
                        key
                    };
                    (key, any_of(value))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(any_of).collect()),
        other => other,
    }
}

/// The mock's error body, inline so each response schema stands alone.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
        "required": ["message"],
    })
}

/// The error statuses an operation answers.
fn error_statuses(path: &str, operation: &Operation, takes_body: bool) -> Vec<(u16, &'static str)> {
    let mut statuses = Vec::new();
    if path.starts_with("/rest/") {
        statuses.extend([
            (
                400,
                "Bad request: a parameter or field named in `errors`; with --strict, also each \
                 the operation does not take, or takes and does not emulate (what \
                 X-Procore-Mock-Warning would name)",
            ),
            (401, "Missing, unknown or expired token"),
            (403, "Scope, company or Directory Admin rule"),
            (404, "No such record, or no Procore-Company-Id header"),
            (429, "Over a rate limit (Retry-After)"),
        ]);
        if takes_body || operation.method == "POST" {
            statuses.extend([
                (409, "Email already used in the company"),
                (413, "Body over the size limit"),
                (415, "Unsupported body encoding"),
                (422, "A business rule refused the change"),
            ]);
        }
    } else if operation.tag == "admin" {
        statuses.extend([(400, "Bad request"), (401, "Admin token required")]);
    } else if path.starts_with("/avatars/") {
        statuses.push((404, "No such avatar"));
    }
    statuses
}

/// `{name}` segments of a path template.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// A request body offered in every encoding the mock reads: Procore's schema under JSON,
/// form-urlencoded and multipart alike.
fn with_every_encoding(body: &Value) -> Value {
    let schema = body["content"]
        .as_object()
        .and_then(|content| content.values().next())
        .map(|media| media["schema"].clone())
        .unwrap_or_else(|| json!({"type": "object"}));
    json!({
        "required": body["required"].as_bool().unwrap_or(false),
        "content": {
            "application/json": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": schema},
            "multipart/form-data": {"schema": schema},
        },
    })
}
