//! Filters and sorts of the company-user list, checked against a simple model over random
//! directories: whatever the directory and the query, the mock's page equals the model's.

use chrono::{Duration, TimeZone, Utc};
use procore_mock::{Fixture, MockServer};
use proptest::prelude::*;
use serde_json::{json, Value};

const FIRST: [&str; 5] = ["Ana", "Bo", "Cy", "dana", "Eve"];
const LAST: [&str; 5] = ["Doe", "doering", "Smith", "Anders", "Zed"];
const TITLES: [&str; 3] = ["Engineer", "foreman", "Estimator"];
const VENDORS: [u64; 2] = [2001, 2002];
const VENDOR_NAMES: [&str; 2] = ["Acme Steel Fabricators", "Brightline Electrical"];
const SEARCHES: [&str; 6] = ["do", "AN", "acme", "eng", "zed", "e"];
const SORTS: [&str; 5] = [
    "name",
    "email",
    "job_title",
    "vendor_name",
    "permission_template",
];

#[derive(Clone, Debug)]
struct Person {
    first: usize,
    last: usize,
    title: Option<usize>,
    vendor: Option<usize>,
    active: bool,
    day: i64,
}

#[derive(Clone, Debug)]
struct Query {
    search: Option<usize>,
    vendors: Vec<usize>,
    sort: Vec<(usize, bool)>,
    created_until_day: Option<i64>,
    per_page: usize,
    page: usize,
}

fn person() -> impl Strategy<Value = Person> {
    (
        0..5usize,
        0..5usize,
        prop::option::of(0..3usize),
        prop::option::of(0..2usize),
        prop::bool::weighted(0.8),
        0..20i64,
    )
        .prop_map(|(first, last, title, vendor, active, day)| Person {
            first,
            last,
            title,
            vendor,
            active,
            day,
        })
}

fn query() -> impl Strategy<Value = Query> {
    (
        prop::option::of(0..SEARCHES.len()),
        prop::collection::vec(0..2usize, 0..=2),
        prop::collection::vec((0..SORTS.len(), any::<bool>()), 0..=2),
        prop::option::of(0..20i64),
        1..8usize,
        1..5usize,
    )
        .prop_map(
            |(search, vendors, sort, created_until_day, per_page, page)| Query {
                search,
                vendors,
                sort,
                created_until_day,
                per_page,
                page,
            },
        )
}

/// The record of person `i` as the model sees it: (id, fields...).
struct Row {
    id: u64,
    first: String,
    last: String,
    email: String,
    title: Option<String>,
    vendor: Option<usize>,
    template: Option<&'static str>,
    active: bool,
    day: i64,
}

fn rows(people: &[Person]) -> Vec<Row> {
    let mut rows: Vec<Row> = [
        "Admin Service Account",
        "Service Account",
        "Service Account",
    ]
    .iter()
    .zip([("Directory", 5001), ("Standard", 5002), ("Read-Only", 5003)])
    .map(|(last, (first, id))| Row {
        id,
        first: first.to_owned(),
        last: (*last).to_owned(),
        email: format!("svc{id}@summit-builders.example"),
        title: Some("Service Account".to_owned()),
        vendor: None,
        template: None,
        active: true,
        day: 0,
    })
    .collect();
    for (i, p) in people.iter().enumerate() {
        rows.push(Row {
            id: 6000 + i as u64,
            first: FIRST[p.first].to_owned(),
            last: LAST[p.last].to_owned(),
            email: format!("user{i}@example.com"),
            title: p.title.map(|t| TITLES[t].to_owned()),
            vendor: p.vendor,
            template: (i % 3 == 0).then_some(if i % 2 == 0 {
                "Project Manager"
            } else {
                "Superintendent"
            }),
            active: p.active,
            day: p.day,
        });
    }
    rows
}

fn fixture(rows: &[Row]) -> Fixture {
    let mut document: Value = serde_json::from_str(procore_mock::Fixture::DEFAULT_JSON).unwrap();
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    let users: Vec<Value> = rows
        .iter()
        .map(|row| {
            let at = (start + Duration::days(row.day)).to_rfc3339();
            json!({
                "id": row.id, "first_name": row.first, "last_name": row.last, "email_address": row.email,
                "job_title": row.title, "vendor_id": row.vendor.map(|v| VENDORS[v]), "is_active": row.active,
                "default_permission_template_id": row.template.map(|t| if t == "Project Manager" { 3001 } else { 3002 }),
                "directory_admin": row.id == 5001, "created_at": at, "updated_at": at
            })
        })
        .collect();
    document["companies"][0]["users"] = Value::Array(users);
    for project in document["companies"][0]["projects"].as_array_mut().unwrap() {
        project["members"] = json!([]);
    }
    Fixture::from_json(&document.to_string()).unwrap()
}

/// The model: filter, then sort by lower-cased keys (absent values last), ties by id.
fn expected(rows: &[Row], query: &Query) -> (usize, Vec<u64>) {
    let vendors: Vec<usize> = query.vendors.clone();
    let mut matching: Vec<&Row> = rows
        .iter()
        .filter(|r| r.active)
        .filter(|r| {
            query.search.is_none_or(|s| {
                let needle = SEARCHES[s].to_lowercase();
                let vendor = r.vendor.map(|v| VENDOR_NAMES[v].to_owned());
                [
                    Some(r.first.clone()),
                    Some(r.last.clone()),
                    Some(r.email.clone()),
                    r.title.clone(),
                    vendor,
                ]
                .into_iter()
                .flatten()
                .any(|field| field.to_lowercase().contains(&needle))
            })
        })
        .filter(|r| vendors.is_empty() || r.vendor.is_some_and(|v| vendors.contains(&v)))
        .filter(|r| query.created_until_day.is_none_or(|day| r.day <= day))
        .collect();
    let key = |r: &Row, sort: usize| -> Option<String> {
        match SORTS[sort] {
            "name" => Some(format!(
                "{}\u{0}{}",
                r.last.to_lowercase(),
                r.first.to_lowercase()
            )),
            "email" => Some(r.email.to_lowercase()),
            "job_title" => r.title.as_ref().map(|t| t.to_lowercase()),
            "vendor_name" => r.vendor.map(|v| VENDOR_NAMES[v].to_lowercase()),
            _ => r.template.map(str::to_lowercase),
        }
    };
    matching.sort_by(|a, b| {
        for (sort, descending) in &query.sort {
            let order = match (key(a, *sort), key(b, *sort)) {
                (Some(x), Some(y)) => {
                    if *descending {
                        y.cmp(&x)
                    } else {
                        x.cmp(&y)
                    }
                }
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            if order.is_ne() {
                return order;
            }
        }
        a.id.cmp(&b.id)
    });
    let total = matching.len();
    let page = matching
        .iter()
        .skip((query.page - 1) * query.per_page)
        .take(query.per_page)
        .map(|r| r.id)
        .collect();
    (total, page)
}

fn query_string(query: &Query) -> String {
    let mut pairs = vec![
        ("per_page".to_owned(), query.per_page.to_string()),
        ("page".to_owned(), query.page.to_string()),
    ];
    if let Some(s) = query.search {
        pairs.push(("filters[search]".to_owned(), SEARCHES[s].to_owned()));
    }
    for v in &query.vendors {
        pairs.push(("filters[vendor_id][]".to_owned(), VENDORS[*v].to_string()));
    }
    if !query.sort.is_empty() {
        let sort: Vec<String> = query
            .sort
            .iter()
            .map(|(k, d)| format!("{}{}", if *d { "-" } else { "" }, SORTS[*k]))
            .collect();
        pairs.push(("sort".to_owned(), sort.join(",")));
    }
    if let Some(day) = query.created_until_day {
        let until = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::days(day);
        pairs.push((
            "filters[created_at]".to_owned(),
            format!("2024-01-01...{}", until.format("%Y-%m-%d")),
        ));
    }
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn filtered_sorted_pages_match_the_model(people in prop::collection::vec(person(), 0..30), query in query()) {
        let rows = rows(&people);
        let server = MockServer::builder().fixture(fixture(&rows)).start();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (total, page) = runtime.block_on(async {
            let client = reqwest::Client::new();
            let token: Value = client.post(format!("{}/oauth/token", server.url()))
                .form(&[("grant_type", "client_credentials"), ("client_id", "procore-mock-client"), ("client_secret", "procore-mock-secret")])
                .send().await.unwrap().json().await.unwrap();
            let response = client
                .get(format!("{}/rest/v1.0/companies/8001/users?{}", server.url(), query_string(&query)))
                .bearer_auth(token["access_token"].as_str().unwrap())
                .header("Procore-Company-Id", "8001")
                .send().await.unwrap();
            assert_eq!(response.status(), 200);
            let total: usize = response.headers()["total"].to_str().unwrap().parse().unwrap();
            let body: Value = response.json().await.unwrap();
            (total, body.as_array().unwrap().iter().map(|u| u["id"].as_u64().unwrap()).collect::<Vec<_>>())
        });
        let (expected_total, expected_page) = expected(&rows, &query);
        prop_assert_eq!(total, expected_total);
        prop_assert_eq!(page, expected_page);
    }
}
