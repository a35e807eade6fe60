//! Crux Connect's organization-user and permission API, served beside Procore's: every
//! endpoint under both prefixes, each status and permission rule, and Crux's error shape.

use procore_mock::{Config, Fixture, MockServer};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::*;

const ADMIN: (&str, &str) = ("crux-admin@summit-builders.example", "crux-admin-password");
const VIEWER: (&str, &str) = (
    "crux-viewer@summit-builders.example",
    "crux-viewer-password",
);
const ADMIN_UUID: &str = "52d13dc7-5463-4f90-9e5b-5b8ec97228ff";
const VIEWER_UUID: &str = "c3fb688d-4aca-42d4-9db1-cc268c465892";
/// Jane Doe, the founding page's user.
const JANE_UUID: &str = "5de38a8e-800e-4cba-84c5-ee6c27f304d8";
const MARIA_DEACTIVATED_UUID: &str = "6472222b-c7e6-519a-8a90-98f275bcd1e2";
const ORG_UUID: &str = "f5d2aea7-dcd0-4bb4-bedd-c642ce6fc7a0";
const VIEW_ORG_USERS: &str = "68b1647d-b6a7-48b1-9ec2-bf2f1003b6cc";
const EDIT_ORG_USERS: &str = "293d9373-c318-4724-881c-a4e5b0b3e952";
/// The founding page's two permission uuids: View Order and Export Order.
const VIEW_ORDER: &str = "2a0295b6-dd74-4239-9988-24fcdb1adcea";
const EXPORT_ORDER: &str = "05a46c58-9d13-4912-9167-7effc2cc7482";
/// A supplier-only permission, not offered to the default (retailer) organization.
const EDIT_ITEMS_SUPPLIER_ONLY: &str = "Edit Items";

const PREFIXES: [&str; 2] = ["/organizations", "/timp/organizations"];

/// A running mock and a client speaking Crux to it.
struct Crux {
    server: MockServer,
    client: reqwest::Client,
}

impl Crux {
    fn spawn() -> Self {
        Self::around(MockServer::start())
    }

    fn around(server: MockServer) -> Self {
        Self {
            server,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    async fn login_response(&self, prefix: &str, body: &Value) -> Response {
        self.client
            .post(self.url(&format!("{prefix}/user-login/")))
            .json(body)
            .send()
            .await
            .expect("login")
    }

    /// A token for `(username, password)`.
    async fn token(&self, (username, password): (&str, &str)) -> String {
        let response = self
            .login_response(
                "/organizations",
                &json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "login as {username}");
        json(response).await["auth_token"]
            .as_str()
            .expect("auth_token")
            .to_owned()
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Authorization", format!("Token {token}"));
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request")
    }

    async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, token, None).await
    }

    async fn grant(&self, user: &str, token: &str, uuids: &[&str]) -> Response {
        let path = format!("/organizations/users/permissions/{user}/");
        let body = json!({ "permission_uuids": uuids });
        self.call(Method::PATCH, &path, token, Some(&body)).await
    }

    async fn revoke(&self, user: &str, token: &str, uuids: &[&str]) -> Response {
        let path = format!("/organizations/users/permissions/{user}/");
        let body = json!({ "permission_uuids": uuids });
        self.call(Method::DELETE, &path, token, Some(&body)).await
    }

    /// The uuids of the permissions `user` holds, as the API reports them.
    async fn assigned(&self, user: &str, token: &str) -> Vec<String> {
        let response = self
            .get(&format!("/organizations/users/permissions/{user}/"), token)
            .await;
        assert_eq!(response.status(), 200);
        assigned_uuids(&json(response).await)
    }

    async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("admin request")
    }
}

/// The uuids whose `assigned` is true in a permission-assignments object.
fn assigned_uuids(assignments: &Value) -> Vec<String> {
    let mut uuids: Vec<String> = assignments["permissions"]
        .as_array()
        .expect("a permissions list")
        .iter()
        .filter(|item| item["assigned"] == true)
        .map(|item| item["permission"]["uuid"].as_str().unwrap().to_owned())
        .collect();
    uuids.sort();
    uuids
}

fn sorted(uuids: &[&str]) -> Vec<String> {
    let mut uuids: Vec<String> = uuids.iter().map(|u| (*u).to_owned()).collect();
    uuids.sort();
    uuids
}

/// The uuid of the catalogue permission with `display_name` in the default data.
fn permission_uuid(display_name: &str) -> String {
    Fixture::default_data()
        .crux
        .permissions
        .iter()
        .find(|p| p.display_name == display_name)
        .map(|p| p.uuid.to_string())
        .expect("a catalogue permission")
}

/// Asserts a Crux-shaped `{"detail": ...}` error.
async fn assert_detail(response: Response, status: u16, detail: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(json(response).await, json!({ "detail": detail }));
}

#[tokio::test]
async fn login_returns_a_token_and_the_callers_permission_assignments_under_both_prefixes() {
    let crux = Crux::spawn();
    for prefix in PREFIXES {
        let response = crux
            .login_response(prefix, &json!({"username": ADMIN.0, "password": ADMIN.1}))
            .await;
        assert_eq!(response.status(), 200, "{prefix}");
        let body = json(response).await;
        let token = body["auth_token"].as_str().unwrap();
        assert_eq!(token.len(), 40);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(body["org_uuid"], ORG_UUID);
        assert_eq!(body["user_uuid"], ADMIN_UUID);
        assert_eq!(body["org_type"], "RETAILER");
        assert_eq!(
            body["retailer_uuid"],
            "cda6b5c7-addf-43d7-bdb3-2fe6a0420c42"
        );
        assert_eq!(body["supplier_uuid"], "");
        assert_eq!(
            body["permission_assignments"]["org_user"]["uuid"],
            ADMIN_UUID
        );
        assert_eq!(
            assigned_uuids(&body["permission_assignments"]),
            sorted(&[VIEW_ORG_USERS, EDIT_ORG_USERS])
        );
        let first = &body["permission_assignments"]["permissions"][0];
        assert_eq!(
            first,
            &json!({"assigned": true, "permission": {
                "uuid": VIEW_ORG_USERS, "name": "view_org_users", "display_name": "View Users",
                "description": "Ability to see the users in an organization",
                "visibility": "BOTH", "grouping": "ORGUSERS"}})
        );
    }
}

#[tokio::test]
async fn login_with_wrong_credentials_returns_401_and_without_fields_400() {
    let crux = Crux::spawn();
    let wrong = crux
        .login_response(
            "/organizations",
            &json!({"username": ADMIN.0, "password": "nope"}),
        )
        .await;
    assert_eq!(header(&wrong, "www-authenticate"), Some("Token"));
    assert_detail(wrong, 401, "Invalid username/password.").await;
    let unknown = crux
        .login_response(
            "/timp/organizations",
            &json!({"username": "nobody@example.com", "password": ADMIN.1}),
        )
        .await;
    assert_detail(unknown, 401, "Invalid username/password.").await;
    let missing = crux
        .login_response("/organizations", &json!({"username": ""}))
        .await;
    assert_eq!(missing.status(), 400);
    assert_eq!(
        json(missing).await,
        json!({"username": ["This field may not be blank."], "password": ["This field is required."]})
    );
}

#[tokio::test]
async fn a_deactivated_user_cannot_log_in() {
    let mut fixture = Fixture::default_data();
    fixture.crux.api_users.push(
        serde_json::from_value(json!({
            "username": "maria.garcia@summit-builders.example",
            "password": "maria-password",
            "user_uuid": MARIA_DEACTIVATED_UUID,
        }))
        .unwrap(),
    );
    let crux = Crux::around(MockServer::builder().fixture(fixture).start());
    let response = crux
        .login_response(
            "/organizations",
            &json!({"username": "maria.garcia@summit-builders.example", "password": "maria-password"}),
        )
        .await;
    assert_detail(response, 401, "User inactive or deleted.").await;
}

#[tokio::test]
async fn every_endpoint_without_a_token_returns_401_in_crux_shape() {
    let crux = Crux::spawn();
    let paths = [
        (Method::GET, "/users/all/".to_owned()),
        (Method::GET, format!("/users/detail/{JANE_UUID}/")),
        (Method::GET, "/all_permissions/".to_owned()),
        (Method::GET, format!("/users/permissions/{JANE_UUID}/")),
        (Method::PATCH, format!("/users/permissions/{JANE_UUID}/")),
        (Method::DELETE, format!("/users/permissions/{JANE_UUID}/")),
    ];
    for prefix in PREFIXES {
        for (method, path) in &paths {
            let response = crux
                .client
                .request(method.clone(), crux.url(&format!("{prefix}{path}")))
                .send()
                .await
                .unwrap();
            assert_eq!(header(&response, "www-authenticate"), Some("Token"));
            assert_detail(
                response,
                401,
                "Authentication credentials were not provided.",
            )
            .await;
        }
    }
}

#[tokio::test]
async fn a_bearer_header_an_unknown_token_or_a_malformed_token_header_returns_401() {
    let crux = Crux::spawn();
    let url = crux.url("/organizations/users/all/");
    let with = |value: &str| {
        crux.client
            .get(&url)
            .header("Authorization", value.to_owned())
            .send()
    };
    let bearer = with("Bearer abc").await.unwrap();
    assert_detail(bearer, 401, "Authentication credentials were not provided.").await;
    let unknown = with("Token 0000000000000000000000000000000000000000")
        .await
        .unwrap();
    assert_detail(unknown, 401, "Invalid token.").await;
    let bare = with("Token").await.unwrap();
    assert_detail(bare, 401, "Invalid token header. No credentials provided.").await;
    let spaced = with("Token abc def").await.unwrap();
    assert_detail(
        spaced,
        401,
        "Invalid token header. Token string should not contain spaces.",
    )
    .await;
}

#[tokio::test]
async fn a_token_expires_two_hours_after_login_on_the_mock_clock() {
    let crux = Crux::spawn();
    crux.server.clock().set_frozen(true);
    let token = crux.token(ADMIN).await;
    crux.server.clock().advance_secs(2 * 60 * 60 - 1);
    assert_eq!(
        crux.get("/organizations/users/all/", &token).await.status(),
        200
    );
    crux.server.clock().advance_secs(1);
    let expired = crux.get("/organizations/users/all/", &token).await;
    assert_detail(expired, 401, "Token has expired.").await;
}

#[tokio::test]
async fn all_users_lists_the_organization_with_person_assignments_and_status() {
    let crux = Crux::spawn();
    let token = crux.token(VIEWER).await;
    for prefix in PREFIXES {
        let response = crux.get(&format!("{prefix}/users/all/"), &token).await;
        assert_eq!(response.status(), 200);
        let users = json(response).await;
        let users = users.as_array().unwrap();
        assert_eq!(users.len(), 6);
        let jane = users.iter().find(|u| u["uuid"] == JANE_UUID).unwrap();
        assert_eq!(jane["person"]["first_name"], "Jane");
        assert_eq!(jane["person"]["email"], "jane.doe@summit-builders.example");
        assert!(jane["person"]["uuid"].is_string());
        assert!(jane["person"].get("phone").is_some());
        assert!(jane["person"].get("job_title").is_some());
        assert_eq!(jane["status"], "ACTIVE");
        assert_eq!(jane["token"], Value::Null);
        assert_eq!(
            jane["permission_assignments"]["org_user"]["uuid"],
            JANE_UUID
        );
        assert_eq!(
            assigned_uuids(&jane["permission_assignments"]),
            vec![VIEW_ORG_USERS]
        );
        let statuses: Vec<&str> = users
            .iter()
            .map(|u| u["status"].as_str().unwrap())
            .collect();
        assert!(statuses.contains(&"DEACTIVATED"));
        assert!(statuses.contains(&"CONFIRMATION WAITING"));
    }
}

#[tokio::test]
async fn one_user_is_shown_and_an_unknown_or_malformed_uuid_is_404() {
    let crux = Crux::spawn();
    let token = crux.token(VIEWER).await;
    for prefix in PREFIXES {
        let response = crux
            .get(&format!("{prefix}/users/detail/{JANE_UUID}/"), &token)
            .await;
        assert_eq!(response.status(), 200);
        let user = json(response).await;
        assert_eq!(user["uuid"], JANE_UUID);
        assert_eq!(user["person"]["last_name"], "Doe");
        let unknown = crux
            .get(
                &format!("{prefix}/users/detail/00000000-0000-4000-8000-000000000000/"),
                &token,
            )
            .await;
        assert_detail(unknown, 404, "Not found.").await;
        let malformed = crux
            .get(&format!("{prefix}/users/detail/not-a-uuid/"), &token)
            .await;
        assert_detail(malformed, 404, "Not found.").await;
    }
}

#[tokio::test]
async fn a_user_of_another_organization_is_404() {
    let mut fixture = Fixture::default_data();
    fixture.crux.organizations.push(
        serde_json::from_value(json!({
            "uuid": "757ce28d-fbd6-4b9f-8051-f847482e169f", "name": "Harbor Supply",
            "org_type": "SUPPLIER", "account_uuid": "b5f05054-dce4-4286-96fc-b9424d6b2137",
            "users": [{"uuid": "11111111-1111-4111-8111-111111111111", "status": "ACTIVE",
                "person": {"uuid": "22222222-2222-4222-8222-222222222222", "first_name": "Sam",
                    "last_name": "Supplier", "email": "sam@harbor-supply.example"},
                "permission_uuids": []}]
        }))
        .unwrap(),
    );
    let crux = Crux::around(MockServer::builder().fixture(fixture).start());
    let token = crux.token(ADMIN).await;
    let other = "11111111-1111-4111-8111-111111111111";
    let shown = crux
        .get(&format!("/organizations/users/detail/{other}/"), &token)
        .await;
    assert_detail(shown, 404, "Not found.").await;
    let granted = crux.grant(other, &token, &[VIEW_ORDER]).await;
    assert_detail(granted, 404, "Not found.").await;
}

#[tokio::test]
async fn all_permissions_lists_what_the_organizations_kind_is_offered() {
    let crux = Crux::spawn();
    let token = crux.token(VIEWER).await;
    for prefix in PREFIXES {
        let response = crux
            .get(&format!("{prefix}/all_permissions/"), &token)
            .await;
        assert_eq!(response.status(), 200);
        let permissions = json(response).await;
        let permissions = permissions.as_array().unwrap();
        assert_eq!(
            permissions[0],
            json!({"uuid": VIEW_ORG_USERS, "name": "view_org_users", "display_name": "View Users",
                "description": "Ability to see the users in an organization",
                "visibility": "BOTH", "grouping": "ORGUSERS"})
        );
        assert!(permissions.iter().any(|p| p["name"] == "create_order"));
        assert!(
            permissions.iter().all(|p| p["visibility"] != "SUPPLIER"),
            "a retailer is not offered supplier-only permissions"
        );
        assert_eq!(permissions.len(), 16);
    }
}

#[tokio::test]
async fn a_users_permissions_list_every_offered_permission_with_assigned_flags() {
    let crux = Crux::spawn();
    let token = crux.token(VIEWER).await;
    for prefix in PREFIXES {
        let response = crux
            .get(&format!("{prefix}/users/permissions/{ADMIN_UUID}/"), &token)
            .await;
        assert_eq!(response.status(), 200);
        let body = json(response).await;
        assert_eq!(body["org_user"], json!({"uuid": ADMIN_UUID}));
        assert_eq!(body["permissions"].as_array().unwrap().len(), 16);
        assert_eq!(
            assigned_uuids(&body),
            sorted(&[VIEW_ORG_USERS, EDIT_ORG_USERS])
        );
        let unknown = crux
            .get(
                &format!("{prefix}/users/permissions/00000000-0000-4000-8000-000000000000/"),
                &token,
            )
            .await;
        assert_detail(unknown, 404, "Not found.").await;
    }
}

#[tokio::test]
async fn adding_the_founding_pages_permissions_returns_200_with_the_assignments() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    for prefix in PREFIXES {
        let response = crux
            .call(
                Method::PATCH,
                &format!("{prefix}/users/permissions/{JANE_UUID}/"),
                &token,
                Some(&json!({"permission_uuids": [VIEW_ORDER, EXPORT_ORDER]})),
            )
            .await;
        assert_eq!(response.status(), 200);
        let body = json(response).await;
        assert_eq!(body["org_user"]["uuid"], JANE_UUID);
        assert_eq!(
            assigned_uuids(&body),
            sorted(&[VIEW_ORG_USERS, VIEW_ORDER, EXPORT_ORDER])
        );
    }
    assert_eq!(
        crux.assigned(JANE_UUID, &token).await,
        sorted(&[VIEW_ORG_USERS, VIEW_ORDER, EXPORT_ORDER])
    );
}

#[tokio::test]
async fn adding_an_assigned_permission_and_removing_an_unassigned_one_change_nothing() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    let again = crux.grant(JANE_UUID, &token, &[VIEW_ORG_USERS]).await;
    assert_eq!(again.status(), 200);
    assert_eq!(assigned_uuids(&json(again).await), vec![VIEW_ORG_USERS]);
    let absent = crux.revoke(JANE_UUID, &token, &[EXPORT_ORDER]).await;
    assert_eq!(absent.status(), 200);
    assert_eq!(assigned_uuids(&json(absent).await), vec![VIEW_ORG_USERS]);
    let empty = crux.grant(JANE_UUID, &token, &[]).await;
    assert_eq!(empty.status(), 200);
    assert_eq!(crux.assigned(JANE_UUID, &token).await, vec![VIEW_ORG_USERS]);
}

#[tokio::test]
async fn removing_permissions_returns_200_with_what_is_left() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    crux.grant(JANE_UUID, &token, &[VIEW_ORDER, EXPORT_ORDER])
        .await;
    for prefix in PREFIXES {
        let response = crux
            .call(
                Method::DELETE,
                &format!("{prefix}/users/permissions/{JANE_UUID}/"),
                &token,
                Some(&json!({"permission_uuids": [EXPORT_ORDER]})),
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            assigned_uuids(&json(response).await),
            sorted(&[VIEW_ORG_USERS, VIEW_ORDER])
        );
    }
}

#[tokio::test]
async fn a_malformed_or_unknown_permission_uuid_is_400_naming_it_and_changes_nothing() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    let supplier_only = permission_uuid(EDIT_ITEMS_SUPPLIER_ONLY);
    for change in [Method::PATCH, Method::DELETE] {
        let response = crux
            .call(
                change.clone(),
                &format!("/timp/organizations/users/permissions/{JANE_UUID}/"),
                &token,
                Some(&json!({"permission_uuids": [VIEW_ORDER, "not-a-uuid", unknown, supplier_only, 7]})),
            )
            .await;
        assert_eq!(response.status(), 400, "{change}");
        assert_eq!(
            json(response).await,
            json!({"permission_uuids": [
                "7 is not a valid UUID.",
            ]}),
            "a non-string item is refused before uuids are looked up"
        );
        let response = crux
            .call(
                change.clone(),
                &format!("/timp/organizations/users/permissions/{JANE_UUID}/"),
                &token,
                Some(&json!({"permission_uuids": [VIEW_ORDER, "not-a-uuid", unknown, supplier_only]})),
            )
            .await;
        assert_eq!(response.status(), 400, "{change}");
        assert_eq!(
            json(response).await,
            json!({"permission_uuids": [
                "\"not-a-uuid\" is not a valid UUID.",
                format!("Invalid pk \"{unknown}\" - object does not exist."),
                format!("Invalid pk \"{supplier_only}\" - object does not exist."),
            ]})
        );
    }
    assert_eq!(
        crux.assigned(JANE_UUID, &token).await,
        vec![VIEW_ORG_USERS],
        "the valid uuid in a refused request was not applied"
    );
}

#[tokio::test]
async fn a_change_without_a_permission_list_is_400_and_a_non_json_body_415() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    let path = format!("/organizations/users/permissions/{JANE_UUID}/");
    let missing = crux
        .call(Method::PATCH, &path, &token, Some(&json!({})))
        .await;
    assert_eq!(missing.status(), 400);
    assert_eq!(
        json(missing).await,
        json!({"permission_uuids": ["This field is required."]})
    );
    let no_body = crux.call(Method::DELETE, &path, &token, None).await;
    assert_eq!(no_body.status(), 400);
    let not_a_list = crux
        .call(
            Method::PATCH,
            &path,
            &token,
            Some(&json!({"permission_uuids": VIEW_ORDER})),
        )
        .await;
    assert_eq!(
        json(not_a_list).await,
        json!({"permission_uuids": ["Expected a list of items but got type \"str\"."]})
    );
    let malformed = crux
        .client
        .patch(crux.url(&path))
        .header("Authorization", format!("Token {token}"))
        .header("Content-Type", "application/json")
        .body("{\"permission_uuids\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let detail = json(malformed).await["detail"].as_str().unwrap().to_owned();
    assert!(detail.starts_with("JSON parse error - "), "{detail}");
    let text = crux
        .client
        .patch(crux.url(&path))
        .header("Authorization", format!("Token {token}"))
        .header("Content-Type", "text/plain")
        .body("permission_uuids")
        .send()
        .await
        .unwrap();
    assert_detail(
        text,
        415,
        "Unsupported media type \"text/plain\" in request.",
    )
    .await;
}

#[tokio::test]
async fn changing_an_unknown_user_is_404_before_the_body_is_judged() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    let response = crux
        .grant(
            "00000000-0000-4000-8000-000000000000",
            &token,
            &["not-a-uuid"],
        )
        .await;
    assert_detail(response, 404, "Not found.").await;
}

#[tokio::test]
async fn a_viewer_reads_but_changing_permissions_needs_edit_org_users() {
    let crux = Crux::spawn();
    let token = crux.token(VIEWER).await;
    assert_eq!(
        crux.get("/organizations/users/all/", &token).await.status(),
        200
    );
    for prefix in PREFIXES {
        for method in [Method::PATCH, Method::DELETE] {
            let response = crux
                .call(
                    method,
                    &format!("{prefix}/users/permissions/{JANE_UUID}/"),
                    &token,
                    Some(&json!({"permission_uuids": [VIEW_ORDER]})),
                )
                .await;
            assert_detail(
                response,
                403,
                "You do not have permission to perform this action.",
            )
            .await;
        }
    }
    let admin = crux.token(ADMIN).await;
    assert_eq!(crux.assigned(JANE_UUID, &admin).await, vec![VIEW_ORG_USERS]);
}

#[tokio::test]
async fn reading_needs_view_org_users_and_a_revoke_takes_effect_at_once() {
    let crux = Crux::spawn();
    let admin = crux.token(ADMIN).await;
    let viewer = crux.token(VIEWER).await;
    let revoked = crux.revoke(VIEWER_UUID, &admin, &[VIEW_ORG_USERS]).await;
    assert_eq!(revoked.status(), 200);
    let denied = "You do not have permission to perform this action.";
    for prefix in PREFIXES {
        for path in [
            "/users/all/".to_owned(),
            format!("/users/detail/{JANE_UUID}/"),
            "/all_permissions/".to_owned(),
            format!("/users/permissions/{JANE_UUID}/"),
        ] {
            let response = crux.get(&format!("{prefix}{path}"), &viewer).await;
            assert_detail(response, 403, denied).await;
        }
    }
    crux.grant(VIEWER_UUID, &admin, &[VIEW_ORG_USERS]).await;
    assert_eq!(
        crux.get("/organizations/users/all/", &viewer)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_admin_who_revokes_their_own_edit_org_users_is_refused_next_time() {
    let crux = Crux::spawn();
    let admin = crux.token(ADMIN).await;
    assert_eq!(
        crux.revoke(ADMIN_UUID, &admin, &[EDIT_ORG_USERS])
            .await
            .status(),
        200
    );
    let refused = crux.grant(ADMIN_UUID, &admin, &[EDIT_ORG_USERS]).await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn unknown_crux_paths_and_wrong_methods_answer_in_crux_shape() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    for prefix in PREFIXES {
        let unknown = crux.get(&format!("{prefix}/users/nothing/"), &token).await;
        assert_detail(unknown, 404, "Not found.").await;
        let wrong = crux
            .call(Method::POST, &format!("{prefix}/users/all/"), &token, None)
            .await;
        assert_detail(wrong, 405, "Method \"POST\" not allowed.").await;
        let login_get = crux.get(&format!("{prefix}/user-login/"), &token).await;
        assert_eq!(login_get.status(), 405);
    }
}

#[tokio::test]
async fn crux_changes_are_part_of_the_state_document_and_round_trip() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    crux.grant(JANE_UUID, &token, &[VIEW_ORDER]).await;
    let state = json(crux.admin(Method::GET, "/__admin/state", None).await).await;
    let jane = state["crux"]["organizations"][0]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["uuid"] == JANE_UUID)
        .unwrap()
        .clone();
    assert_eq!(
        jane["permission_uuids"],
        json!(sorted(&[VIEW_ORG_USERS, VIEW_ORDER]))
    );
    assert_eq!(state["crux"]["tokens"][0]["username"], ADMIN.0);

    let other = Crux::spawn();
    let put = other
        .admin(Method::PUT, "/__admin/state", Some(&state))
        .await;
    assert_eq!(put.status(), 200);
    assert_eq!(
        other.assigned(JANE_UUID, &token).await,
        sorted(&[VIEW_ORG_USERS, VIEW_ORDER]),
        "the permissions and the token both came across"
    );
    let again = json(other.admin(Method::GET, "/__admin/state", None).await).await;
    assert_eq!(again["crux"], state["crux"]);
}

#[tokio::test]
async fn reset_restores_the_default_permissions_and_forgets_tokens() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    crux.grant(JANE_UUID, &token, &[VIEW_ORDER]).await;
    let reset = crux.admin(Method::POST, "/__admin/reset", None).await;
    assert_eq!(reset.status(), 200);
    let old = crux.get("/organizations/users/all/", &token).await;
    assert_detail(old, 401, "Invalid token.").await;
    let token = crux.token(ADMIN).await;
    assert_eq!(crux.assigned(JANE_UUID, &token).await, vec![VIEW_ORG_USERS]);
}

#[tokio::test]
async fn an_invalid_crux_fixture_is_refused_naming_the_path() {
    let cases = [
        (
            json!({"permission_uuids": ["00000000-0000-4000-8000-000000000000"]}),
            "crux.organizations[0].users[2].permission_uuids",
        ),
        (
            json!({"permission_uuids": [permission_uuid(EDIT_ITEMS_SUPPLIER_ONLY)]}),
            "crux.organizations[0].users[2].permission_uuids",
        ),
        (
            json!({"person": {"uuid": "22222222-2222-4222-8222-222222222222", "first_name": "J",
                "last_name": "D", "email": "not an email"}}),
            "crux.organizations[0].users[2].person.email",
        ),
        (
            json!({"uuid": ADMIN_UUID}),
            "crux.organizations[0].users[2].uuid",
        ),
    ];
    for (change, path) in cases {
        let mut state = serde_json::to_value(Fixture::default_data()).unwrap();
        let jane = &mut state["crux"]["organizations"][0]["users"][2];
        assert_eq!(jane["uuid"], JANE_UUID);
        for (key, value) in change.as_object().unwrap() {
            jane[key] = value.clone();
        }
        let err = Fixture::from_json(&state.to_string()).unwrap_err();
        assert_eq!(err.path, path, "{}", err.problem);
    }
    let mut state = serde_json::to_value(Fixture::default_data()).unwrap();
    state["crux"]["api_users"][1]["user_uuid"] = json!("00000000-0000-4000-8000-000000000000");
    let err = Fixture::from_json(&state.to_string()).unwrap_err();
    assert_eq!(err.path, "crux.api_users[1].user_uuid");
    state["crux"]["api_users"][1] = state["crux"]["api_users"][0].clone();
    let err = Fixture::from_json(&state.to_string()).unwrap_err();
    assert_eq!(err.path, "crux.api_users[1].username");
    state["crux"]["permissions"][0]["visibility"] = json!("EVERYONE");
    let err = Fixture::from_json(&state.to_string()).unwrap_err();
    assert!(err.path.starts_with("crux.permissions[0]"), "{}", err.path);

    let crux = Crux::spawn();
    let put = crux
        .admin(Method::PUT, "/__admin/state", Some(&state))
        .await;
    assert_eq!(
        put.status(),
        400,
        "an invalid state is refused over HTTP too"
    );
    let token = crux.token(ADMIN).await;
    assert_eq!(crux.assigned(JANE_UUID, &token).await, vec![VIEW_ORG_USERS]);
}

#[tokio::test]
async fn the_no_crux_flag_turns_the_crux_paths_off() {
    let config = Config {
        no_crux: true,
        ..Config::default()
    };
    let crux = Crux::around(MockServer::builder().config(config).start());
    for prefix in PREFIXES {
        let response = crux
            .login_response(prefix, &json!({"username": ADMIN.0, "password": ADMIN.1}))
            .await;
        assert_eq!(response.status(), 404);
        assert!(json(response).await["message"].is_string(), "Procore's 404");
    }
}

#[tokio::test]
async fn the_journal_names_crux_callers_and_hides_login_passwords() {
    let crux = Crux::spawn();
    let token = crux.token(VIEWER).await;
    crux.get("/timp/organizations/users/all/", &token).await;
    let entries = json(
        crux.admin(
            Method::GET,
            "/__admin/requests?path=/timp/organizations/users/all/",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(entries[0]["client_id"], format!("crux:{}", VIEWER.0));
    assert_eq!(
        entries[0]["request_headers"]["authorization"],
        "Token [redacted]"
    );
    let logins = json(
        crux.admin(
            Method::GET,
            "/__admin/requests?path=/organizations/user-login/",
            None,
        )
        .await,
    )
    .await;
    let body = logins[0]["body"].as_str().unwrap();
    assert!(!body.contains(VIEWER.1), "{body}");
}

#[tokio::test]
async fn fault_rules_apply_to_crux_paths() {
    let crux = Crux::spawn();
    let token = crux.token(ADMIN).await;
    let rule = json!({"method": "PATCH", "path": "/organizations/users/permissions/{user_uuid}/", "status": 503, "times": 1});
    let added = crux
        .admin(Method::POST, "/__admin/faults", Some(&rule))
        .await;
    assert_eq!(added.status(), 201, "{:?}", added.text().await);
    assert_eq!(
        crux.grant(JANE_UUID, &token, &[VIEW_ORDER]).await.status(),
        503
    );
    assert_eq!(
        crux.grant(JANE_UUID, &token, &[VIEW_ORDER]).await.status(),
        200
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_in_crux_shape() {
    let config = Config {
        max_body_bytes: 256,
        ..Config::default()
    };
    let crux = Crux::around(MockServer::builder().config(config).start());
    let token = crux.token(ADMIN).await;
    let many = vec![VIEW_ORDER; 20];
    let response = crux.grant(JANE_UUID, &token, &many).await;
    assert_eq!(response.status(), 413);
    let body = json(response).await;
    assert!(body["detail"].is_string(), "{body}");
    assert!(body.get("message").is_none(), "not Procore's shape: {body}");
}

/// Crux ignores what its serializers do not declare, as Procore ignores unknown parameters:
/// the mock names it in the warning header, and `--strict` refuses it with a 400 in Django
/// REST framework's shape (the field named, its messages a list).
#[tokio::test]
async fn unknown_fields_and_parameters_are_warned_about_and_refused_in_strict_mode() {
    const WARNING: &str = "x-procore-mock-warning";
    let crux = Crux::spawn();
    let login = crux
        .login_response(
            "/organizations",
            &json!({"username": ADMIN.0, "password": ADMIN.1, "remember_me": true}),
        )
        .await;
    assert_eq!(login.status(), 200);
    assert_eq!(header(&login, WARNING), Some("ignored: remember_me"));
    let token = crux.token(ADMIN).await;
    let users = crux
        .get("/timp/organizations/users/all/?page=2", &token)
        .await;
    assert_eq!(users.status(), 200);
    assert_eq!(header(&users, WARNING), Some("ignored: page"));
    let granted = crux
        .call(
            Method::PATCH,
            &format!("/organizations/users/permissions/{JANE_UUID}/"),
            &token,
            Some(&json!({"permission_uuids": [VIEW_ORDER], "notify": false})),
        )
        .await;
    assert_eq!(granted.status(), 200);
    assert_eq!(header(&granted, WARNING), Some("ignored: notify"));

    let config = Config {
        strict: true,
        ..Config::default()
    };
    let strict = Crux::around(MockServer::builder().config(config).start());
    let token = strict.token(ADMIN).await;
    let before = strict.assigned(JANE_UUID, &token).await;
    let refused = strict
        .call(
            Method::PATCH,
            &format!("/organizations/users/permissions/{JANE_UUID}/"),
            &token,
            Some(&json!({"permission_uuids": [EXPORT_ORDER], "notify": false})),
        )
        .await;
    assert_eq!(refused.status(), 400);
    let body = json(refused).await;
    assert!(body["notify"][0].is_string(), "{body}");
    assert_eq!(strict.assigned(JANE_UUID, &token).await, before);
    let listed = strict.get("/organizations/users/all/?page=2", &token).await;
    assert_eq!(listed.status(), 400);
    assert!(json(listed).await["page"].is_array());
}
