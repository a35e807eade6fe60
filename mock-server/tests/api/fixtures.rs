//! Fixtures: the built-in default data equals the shipped file, and invalid files are refused
//! with the JSON path of the problem.

use procore_mock::Fixture;
use serde_json::{json, Value};

use crate::helpers::*;

fn default_json() -> Value {
    serde_json::from_str(Fixture::DEFAULT_JSON).unwrap()
}

#[test]
fn the_built_in_data_is_the_shipped_default_fixture() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/fixtures/default.json"
    );
    let shipped = std::fs::read_to_string(path).unwrap();
    assert_eq!(shipped, Fixture::DEFAULT_JSON);
    Fixture::from_json(&shipped).expect("the shipped default fixture is valid");
}

#[test]
fn problems_are_reported_with_their_json_path() {
    type Breakage = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Breakage, &str)> = vec![
        (
            Box::new(|f| f["companies"][0]["users"][3]["email_address"] = json!("jane@@x")),
            "companies[0].users[3].email_address",
        ),
        (
            Box::new(|f| {
                f["companies"][0]["users"][4]["email_address"] =
                    json!("JANE.DOE@summit-builders.example")
            }),
            "companies[0].users[4].email_address",
        ),
        (
            Box::new(|f| f["companies"][0]["users"][4]["vendor_id"] = json!(2101)),
            "companies[0].users[4].vendor_id",
        ),
        (
            Box::new(|f| f["companies"][0]["users"][1]["is_active"] = json!("yes")),
            "companies[0].users[1].is_active",
        ),
        (
            Box::new(|f| f["companies"][0]["users"][1]["favourite_colour"] = json!("red")),
            "companies[0].users[1].favourite_colour",
        ),
        (
            Box::new(|f| f["companies"][1]["vendors"][0]["id"] = json!(2001)),
            "companies[1].vendors[0].id",
        ),
        (
            Box::new(|f| f["oauth_apps"][0]["installed_company_ids"] = json!([9])),
            "oauth_apps[0].installed_company_ids[0]",
        ),
        (
            Box::new(|f| f["oauth_apps"][0]["service_account_user_id"] = json!(5201)),
            "oauth_apps[0].service_account_user_id",
        ),
        (
            Box::new(|f| {
                f["companies"][0]["projects"][0]["members"][0]["permission_template_id"] =
                    json!(3004)
            }),
            "companies[0].projects[0].members[0].permission_template_id",
        ),
    ];
    for (break_it, path) in cases {
        let mut fixture = default_json();
        break_it(&mut fixture);
        let err = Fixture::from_json(&fixture.to_string()).expect_err(path);
        assert_eq!(err.path, path, "{err}");
        assert!(err.to_string().contains(path));
    }
}

#[tokio::test]
async fn a_custom_fixture_is_served() {
    let mut fixture = default_json();
    fixture["companies"][0]["name"] = json!("Custom Co");
    fixture["companies"][0]["users"]
        .as_array_mut()
        .unwrap()
        .truncate(3);
    fixture["companies"][0]["projects"] = json!([]);
    fixture["companies"][0]["permission_templates"]
        .as_array_mut()
        .unwrap()
        .truncate(4);
    let app = TestApp::with_fixture(Fixture::from_json(&fixture.to_string()).unwrap()).await;
    assert_eq!(
        json(app.get("/rest/v1.0/companies").await).await[0]["name"],
        "Custom Co"
    );
    assert_eq!(app.active_user_ids().await, [5001, 5002, 5003]);
}

#[tokio::test]
async fn new_ids_start_above_every_fixture_id() {
    let app = TestApp::spawn().await;
    let id = app.create_user("Fresh", "fresh@x.example").await;
    assert!(id > Fixture::default_data().highest_id());
}
