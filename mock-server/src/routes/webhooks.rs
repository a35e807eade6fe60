//! Webhooks: hooks, their triggers and their deliveries (`/rest/v1.0/webhooks/...`), and the
//! admin side (`/__admin/webhooks...`): pending and past deliveries, flush, delivery faults.
//!
//! Every call names its scope, `company_id` or `project_id` (in the body or the query), and
//! works in one namespace (`namespace`, default `procore`): a hook of another scope or another
//! namespace is not found. The company header, app-installation checks and rate limits are the
//! same as for the rest of the API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::delivery::faults::DeliveryFaultSpec;
use crate::domain::field_error;
use crate::domain::webhooks::{self as rules, Scope, StatusFilter};
use crate::http::auth::Caller;
use crate::http::body::{Fields, RequestBody};
use crate::http::error::ApiError;
use crate::http::params::{self, parse_id};
use crate::http::query::RequestUrl;
use crate::http::warnings::Ignored;
use crate::http::{json, ApiPath};
use crate::state::AppState;
use crate::store::webhooks::{CompanyWebhooks, Delivery, Hook, Trigger};
use crate::store::{Company, Store};

/// Largest `page_size` of the deliveries list.
const MAX_PAGE_SIZE: usize = 1_000;
/// `page_size` when the request names none ("default: 100").
const DEFAULT_PAGE_SIZE: usize = 100;

/// The webhook routes of the REST API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/rest/v1.0/webhooks/hooks",
            get(list_hooks).post(create_hook),
        )
        .route(
            "/rest/v1.0/webhooks/hooks/{id}",
            get(show_hook).patch(update_hook).delete(delete_hook),
        )
        .route(
            "/rest/v1.0/webhooks/hooks/{hook_id}/triggers",
            get(list_triggers).post(create_trigger),
        )
        .route(
            "/rest/v1.0/webhooks/hooks/{hook_id}/triggers/{id}",
            delete(delete_trigger),
        )
        .route(
            "/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
            get(list_deliveries),
        )
}

/// The admin routes (mounted behind the admin guard by [`super::admin`]).
pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/__admin/webhooks", get(admin_overview))
        .route("/__admin/webhooks/deliveries", get(admin_deliveries))
        .route("/__admin/webhooks/flush", post(admin_flush))
        .route(
            "/__admin/webhooks/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/__admin/webhooks/faults/{id}", delete(remove_fault))
}

/// The scope and namespace a call works in, read from its body and query.
struct Call<'s> {
    company: &'s Company,
    scope: Scope,
    namespace: String,
    /// The store the company was resolved in, for new ids.
    store: &'s Store,
}

/// The preamble of every webhooks handler: resolves the call's scope and namespace ([`call`])
/// in the current store and runs `step` with it. `step` is synchronous, so the webhooks lock
/// it takes is never held across an `.await`.
fn in_scope<T>(
    state: &AppState,
    caller: &Caller,
    url: &RequestUrl,
    body: &RequestBody,
    step: impl FnOnce(&Call<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let store = state.store();
    step(&call(&store, caller, url, body)?)
}

/// Reads `name` from the body's top level, else from the query (where it is then left unread,
/// and warned about, when both name it).
fn param(body: &RequestBody, url: &RequestUrl, name: &str) -> Option<Value> {
    body.field(name)
        .cloned()
        .or_else(|| url.get(name).map(|v| Value::String(v.to_owned())))
}

fn id_param(body: &RequestBody, url: &RequestUrl, name: &str) -> Result<Option<u64>, ApiError> {
    match param(body, url, name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse_id(&value)
            .map(Some)
            .ok_or_else(|| ApiError::bad_field(name, "must be a positive integer")),
    }
}

/// The call's scope (`project_id` wins over `company_id`, as the narrower one) after the
/// company header and installation checks, and its namespace (`hook.namespace`, else
/// `namespace`, else `procore`).
fn call<'s>(
    store: &'s Store,
    caller: &Caller,
    url: &RequestUrl,
    body: &RequestBody,
) -> Result<Call<'s>, ApiError> {
    let (company, scope) = if let Some(project_id) = id_param(body, url, "project_id")? {
        let company = caller.project_company(store, project_id)?;
        let scope = Scope::Project {
            project_id,
            company_id: company.id,
        };
        (company, scope)
    } else if let Some(company_id) = id_param(body, url, "company_id")? {
        (
            caller.company(store, company_id)?,
            Scope::Company(company_id),
        )
    } else {
        return Err(ApiError::BadRequest {
            message: "company_id or project_id is required".to_owned(),
            errors: field_error("company_id", "or project_id is required"),
        });
    };
    let nested = body
        .field("hook")
        .and_then(Value::as_object)
        .and_then(|hook| hook.get("namespace"));
    let namespace = match nested.cloned().or_else(|| param(body, url, "namespace")) {
        None | Some(Value::Null) => rules::DEFAULT_NAMESPACE.to_owned(),
        Some(Value::String(namespace)) => namespace,
        Some(_) => return Err(ApiError::bad_field("namespace", "must be a string")),
    };
    rules::validate_namespace(&namespace)?;
    Ok(Call {
        company,
        scope,
        namespace,
        store,
    })
}

impl Call<'_> {
    /// Hook `id`, if it is in this call's scope and namespace.
    fn hook<'w>(
        &self,
        webhooks: &'w mut CompanyWebhooks,
        id: u64,
    ) -> Result<&'w mut Hook, ApiError> {
        webhooks
            .hooks
            .get_mut(&id)
            .filter(|hook| {
                hook.scope(self.company.id) == self.scope && hook.namespace == self.namespace
            })
            .ok_or_else(|| ApiError::not_found("Webhooks hook", id))
    }

    /// Runs `step` on hook `id` of this call's scope and namespace (404 otherwise), holding
    /// the company's webhooks lock for the step.
    fn with_hook<T>(
        &self,
        id: u64,
        step: impl FnOnce(&mut Hook) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut webhooks = self.company.webhooks();
        step(self.hook(&mut webhooks, id)?)
    }
}

/// The `hook` object of a create or update, its `namespace` noted as read: [`call`] reads it
/// (it names the hook's scope, with the call's `company_id` or `project_id`).
fn hook_fields(body: &RequestBody) -> Result<Fields<'_>, ApiError> {
    let hook = body.root("hook")?;
    hook.get("namespace");
    Ok(hook)
}

/// Settles what the call sent and did not read (the scope's parameters are read by [`call`]):
/// the query, the body's top level and, for a write, its one object (`hook`, `trigger`).
fn settle(
    state: &AppState,
    url: &RequestUrl,
    body: &RequestBody,
    object: Option<(&str, &Fields<'_>)>,
) -> Result<(), ApiError> {
    let ignored = Ignored::new(url).body(body);
    match object {
        Some((root, fields)) => ignored.object(root, fields),
        None => ignored,
    }
    .settle(state.strict())
}

/// A hook as Procore shows it: the `Authorization` destination header masked.
fn hook_view(hook: &Hook, company_id: u64) -> Value {
    let headers: Map<String, Value> = hook
        .destination_headers
        .iter()
        .map(|(name, value)| {
            (
                name.clone(),
                Value::String(rules::shown_header(name, value)),
            )
        })
        .collect();
    json!({
        "id": hook.id,
        "api_version": hook.api_version,
        "namespace": hook.namespace,
        "destination_url": hook.destination_url,
        "destination_headers": headers,
        "owned_by_company_id": hook.owned_by_project_id.is_none().then_some(company_id),
        "owned_by_project_id": hook.owned_by_project_id,
        "owned_by_user_id": hook.owned_by_user_id,
    })
}

fn trigger_view(trigger: &Trigger, hook: &Hook, company_id: u64) -> Value {
    json!({
        "id": trigger.id,
        "webhook_hook_id": hook.id,
        "resource_name": trigger.resource_name.name(),
        "resource_id": null,
        "event_type": trigger.event_type.as_str(),
        "company_id": hook.owned_by_project_id.is_none().then_some(company_id),
        "project_id": hook.owned_by_project_id,
        "user_id": trigger.user_id,
    })
}

fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A delivery as the deliveries list shows it; the event is the payload the hook was sent.
pub fn delivery_view(delivery: &Delivery, hook: &Hook) -> Value {
    json!({
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event": delivery.event.payload(&hook.api_version),
        "started_at": time(&delivery.started_at),
        "completed_at": time(&delivery.completed_at),
        "response_status": delivery.response_status,
        "response_headers": delivery.response_headers,
        "response_body": delivery.response_body,
        "response_error": delivery.response_error,
        "outcome": delivery.outcome,
    })
}

/// `POST /rest/v1.0/webhooks/hooks` -> 201.
async fn create_hook(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    in_scope(&state, &caller, &url, &body, |call| {
        let hook = hook_fields(&body)?;
        let settings = params::hook_settings(&hook)?;
        settle(&state, &url, &body, Some(("hook", &hook)))?;
        let owner = caller.token.grant.resource_owner_id;
        let hook = rules::new_hook(
            call.store.next_id(),
            call.scope,
            &call.namespace,
            owner,
            settings,
        )?;
        let view = hook_view(&hook, call.company.id);
        call.company.webhooks().hooks.insert(hook.id, hook);
        Ok(json(StatusCode::CREATED, &view))
    })
}

/// `GET /rest/v1.0/webhooks/hooks?company_id=|project_id=&namespace=`: the scope's hooks of
/// the namespace, in id order.
async fn list_hooks(
    State(state): State<AppState>,
    caller: Caller,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    in_scope(&state, &caller, &url, &body, |call| {
        settle(&state, &url, &body, None)?;
        let webhooks = call.company.webhooks();
        let hooks: Vec<Value> = webhooks
            .hooks
            .values()
            .filter(|hook| {
                hook.scope(call.company.id) == call.scope && hook.namespace == call.namespace
            })
            .map(|hook| hook_view(hook, call.company.id))
            .collect();
        Ok(json(StatusCode::OK, &hooks))
    })
}

/// `GET /rest/v1.0/webhooks/hooks/{id}`.
async fn show_hook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    in_scope(&state, &caller, &url, &body, |call| {
        settle(&state, &url, &body, None)?;
        call.with_hook(id, |hook| {
            Ok(json(StatusCode::OK, &hook_view(hook, call.company.id)))
        })
    })
}

/// `PATCH /rest/v1.0/webhooks/hooks/{id}`: destination URL, headers (replaced whole) and
/// payload version; the namespace names the hook and does not change.
async fn update_hook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    in_scope(&state, &caller, &url, &body, |call| {
        let hook = hook_fields(&body)?;
        let settings = params::hook_settings(&hook)?;
        settle(&state, &url, &body, Some(("hook", &hook)))?;
        call.with_hook(id, |hook| {
            rules::update_hook(hook, settings)?;
            Ok(json(StatusCode::OK, &hook_view(hook, call.company.id)))
        })
    })
}

/// `DELETE /rest/v1.0/webhooks/hooks/{id}` -> 200: the hook, its triggers, its waiting events
/// and its log are gone.
async fn delete_hook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<StatusCode, ApiError> {
    in_scope(&state, &caller, &url, &body, |call| {
        settle(&state, &url, &body, None)?;
        let mut webhooks = call.company.webhooks();
        call.hook(&mut webhooks, id)?;
        webhooks.hooks.remove(&id);
        Ok(StatusCode::OK)
    })
}

/// `POST /rest/v1.0/webhooks/hooks/{hook_id}/triggers` -> 201.
async fn create_trigger(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(hook_id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    in_scope(&state, &caller, &url, &body, |call| {
        // Procore's guide has the payload version beside `trigger` in this body; the trigger
        // takes its hook's version, so it is only checked.
        if let Some(version) = param(&body, &url, "api_version") {
            let version = version
                .as_str()
                .ok_or_else(|| ApiError::bad_field("api_version", "must be a string"))?;
            rules::validate_api_version(version)?;
        }
        let trigger = body.root("trigger")?;
        let (resource_name, event_type) = params::trigger_names(&trigger)?;
        settle(&state, &url, &body, Some(("trigger", &trigger)))?;
        let (resource, event) = rules::check_trigger(&resource_name, &event_type, call.scope)?;
        call.with_hook(hook_id, |hook| {
            let trigger = Trigger {
                id: call.store.next_id(),
                resource_name: resource,
                event_type: event,
                user_id: caller.token.grant.resource_owner_id,
            };
            let trigger = rules::add_trigger(hook, trigger)?;
            Ok(json(
                StatusCode::CREATED,
                &trigger_view(&trigger, hook, call.company.id),
            ))
        })
    })
}

/// `GET /rest/v1.0/webhooks/hooks/{hook_id}/triggers`.
async fn list_triggers(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(hook_id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    in_scope(&state, &caller, &url, &body, |call| {
        settle(&state, &url, &body, None)?;
        call.with_hook(hook_id, |hook| {
            let triggers: Vec<Value> = hook
                .triggers
                .iter()
                .map(|trigger| trigger_view(trigger, hook, call.company.id))
                .collect();
            Ok(json(StatusCode::OK, &triggers))
        })
    })
}

/// `DELETE /rest/v1.0/webhooks/hooks/{hook_id}/triggers/{id}` -> 200. Events already queued
/// are still delivered.
async fn delete_trigger(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((hook_id, id)): ApiPath<(u64, u64)>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<StatusCode, ApiError> {
    in_scope(&state, &caller, &url, &body, |call| {
        settle(&state, &url, &body, None)?;
        call.with_hook(hook_id, |hook| {
            let before = hook.triggers.len();
            hook.triggers.retain(|trigger| trigger.id != id);
            if hook.triggers.len() == before {
                return Err(ApiError::not_found("Webhooks trigger", id));
            }
            Ok(StatusCode::OK)
        })
    })
}

/// `GET /rest/v1.0/webhooks/hooks/{hook_id}/deliveries?filters[status]=&page_size=&page_start=`:
/// the hook's delivery attempts in id order; `page_start` is the last id of the previous page.
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(hook_id): ApiPath<u64>,
    url: RequestUrl,
    body: RequestBody,
) -> Result<Response, ApiError> {
    // Procore's reference says `filters[status]`, its guide's example `filter[status]`.
    let status = url
        .get("filters[status]")
        .or_else(|| url.get("filter[status]"));
    let filter = StatusFilter::parse(status).ok_or_else(|| {
        ApiError::bad_field(
            "filters[status]",
            format!(
                "must be any, successful, failing or discarded, got `{}`",
                status.unwrap_or_default()
            ),
        )
    })?;
    let page_size = match url.get("page_size") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| {
                ApiError::bad_field(
                    "page_size",
                    format!("must be a positive integer, got `{raw}`"),
                )
            })?
            .min(MAX_PAGE_SIZE),
    };
    let page_start = match url.get("page_start") {
        None => 0,
        Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
            ApiError::bad_field("page_start", format!("must be a delivery id, got `{raw}`"))
        })?,
    };
    in_scope(&state, &caller, &url, &body, |call| {
        settle(&state, &url, &body, None)?;
        call.with_hook(hook_id, |hook| {
            let deliveries: Vec<Value> = hook
                .deliveries
                .iter()
                .filter(|d| d.id > page_start && filter.keeps(d.outcome))
                .take(page_size)
                .map(|d| delivery_view(d, hook))
                .collect();
            Ok(json(StatusCode::OK, &deliveries))
        })
    })
}

/// `GET /__admin/webhooks`: every hook with its queue, what was dropped, and the engine's
/// settings and rules.
async fn admin_overview(State(state): State<AppState>) -> Response {
    let mut companies = Vec::new();
    for company in state.store().companies() {
        let webhooks = company.webhooks();
        if webhooks.is_unused() {
            continue;
        }
        let hooks: Vec<Value> = webhooks
            .hooks
            .values()
            .map(|hook| {
                let mut view = hook_view(hook, company.id);
                view["triggers"] = hook
                    .triggers
                    .iter()
                    .map(|t| trigger_view(t, hook, company.id))
                    .collect();
                view["pending"] = hook.pending.len().into();
                view["next_due_at"] = hook.pending.front().map(|p| time(&p.due_at)).into();
                view["failing_since"] = hook.failing_since.as_ref().map(time).into();
                view["failures"] = hook.failures.into();
                view["deliveries"] = hook.deliveries.len().into();
                view
            })
            .collect();
        let dropped: Vec<Value> = webhooks
            .dropped
            .iter()
            .map(|d| json!({"hook_id": d.hook_id, "event": d.event.payload(rules::DEFAULT_API_VERSION)}))
            .collect();
        companies.push(json!({
            "company_id": company.id,
            "hooks": hooks,
            "pending": webhooks.pending_count(),
            "dropped_total": webhooks.dropped_total,
            "dropped": dropped,
        }));
    }
    let config = state.config();
    json(
        StatusCode::OK,
        &json!({
            "companies": companies,
            "in_flight": state.webhooks().in_flight(),
            "timeout_ms": config.webhook_timeout_ms,
            "queue_size": config.webhook_queue_size,
            "faults": state.webhooks().faults.list(),
        }),
    )
}

/// `GET /__admin/webhooks/deliveries?company_id=&hook_id=`: waiting events (`pending`, in
/// delivery order per hook) and logged attempts (`past`, in id order) across hooks.
async fn admin_deliveries(
    State(state): State<AppState>,
    url: RequestUrl,
) -> Result<Response, ApiError> {
    let number = |name: &str| -> Result<Option<u64>, ApiError> {
        url.get(name)
            .map(|raw| {
                raw.trim()
                    .parse::<u64>()
                    .map_err(|_| ApiError::bad_field(name, format!("must be an id, got `{raw}`")))
            })
            .transpose()
    };
    let (company_filter, hook_filter) = (number("company_id")?, number("hook_id")?);
    let mut pending = Vec::new();
    let mut past = Vec::new();
    for company in state.store().companies() {
        if company_filter.is_some_and(|id| id != company.id) {
            continue;
        }
        let webhooks = company.webhooks();
        for hook in webhooks.hooks.values() {
            if hook_filter.is_some_and(|id| id != hook.id) {
                continue;
            }
            for waiting in &hook.pending {
                pending.push(json!({
                    "company_id": company.id,
                    "hook_id": hook.id,
                    "destination_url": hook.destination_url,
                    "due_at": time(&waiting.due_at),
                    "held": waiting.held,
                    "event": waiting.event.payload(&hook.api_version),
                }));
            }
            for delivery in &hook.deliveries {
                let mut view = delivery_view(delivery, hook);
                view["company_id"] = company.id.into();
                view["hook_id"] = hook.id.into();
                past.push(view);
            }
        }
    }
    Ok(json(
        StatusCode::OK,
        &json!({"pending": pending, "past": past}),
    ))
}

/// `POST /__admin/webhooks/flush`: delivers everything due now and answers when done, with
/// what is still waiting.
async fn admin_flush(State(state): State<AppState>) -> Response {
    let report = crate::delivery::flush(&state).await;
    json(StatusCode::OK, &report)
}

/// `POST /__admin/webhooks/faults` -> 201 with the rule and its id.
async fn add_fault(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let spec: DeliveryFaultSpec = super::admin::parse(&body)?;
    let view = state
        .webhooks()
        .faults
        .add(spec)
        .map_err(|refusal| ApiError::bad_field(refusal.field, refusal.message))?;
    Ok(json(StatusCode::CREATED, &view))
}

/// `GET /__admin/webhooks/faults`.
async fn list_faults(State(state): State<AppState>) -> Response {
    json(StatusCode::OK, &state.webhooks().faults.list())
}

/// `DELETE /__admin/webhooks/faults` -> 204.
async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.webhooks().faults.clear();
    StatusCode::NO_CONTENT
}

/// `DELETE /__admin/webhooks/faults/{id}` -> 204, or 404.
async fn remove_fault(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Response, ApiError> {
    if state.webhooks().faults.remove(id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("Delivery fault rule", id))
    }
}
