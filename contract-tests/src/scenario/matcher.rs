//! Matching an answer's JSON against an expected subset.
//!
//! Objects match when every expected key matches (extra keys in the answer are fine); arrays
//! match element by element with the same length; scalars must be equal (numbers by value).
//! Matchers:
//!
//! - strings: `"$any"`, `"$absent"`, `"$null"`, `"$integer"`, `"$number"`, `"$string"`,
//!   `"$boolean"`, `"$array"`, `"$object"`, `"$iso8601"` (`2016-10-23T21:39:40Z`), `"$email"`;
//! - objects with one or more `$` keys: `{"$matches": "regex"}` (a string matching),
//!   `{"$contains": X}` (some element of an array matches X), `{"$excludes": X}` (none does),
//!   `{"$len": N}` (an array of N elements), `{"$where": X, "$len": N}` (N elements match X).
//!
//! Every mismatch is reported with its JSON pointer, the expectation and the actual value.

use regex::Regex;
use serde_json::{Map, Value};

/// The string matchers.
const STRING_MATCHERS: [&str; 11] = [
    "$any", "$absent", "$null", "$integer", "$number", "$string", "$boolean", "$array", "$object",
    "$iso8601", "$email",
];

/// The keys an object matcher may hold.
const OBJECT_MATCHERS: [&str; 5] = ["$matches", "$contains", "$excludes", "$len", "$where"];

/// One place where the answer differs from the expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// JSON pointer into the answer (`""` is the whole body).
    pub path: String,
    /// What was expected, as written.
    pub expected: String,
    /// What the answer had (`(absent)` when missing).
    pub actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "(body)"
        } else {
            &self.path
        };
        write!(
            f,
            "at {path}: expected {}, got {}",
            self.expected, self.actual
        )
    }
}

/// Checks that an expectation only uses known matchers and valid regexes (at load time).
pub fn validate(expected: &Value) -> Result<(), String> {
    match expected {
        Value::String(s) if s.starts_with('$') && !STRING_MATCHERS.contains(&s.as_str()) => {
            Err(format!(
                "unknown matcher `{s}` (known: {})",
                STRING_MATCHERS.join(", ")
            ))
        }
        Value::Array(items) => items.iter().try_for_each(validate),
        Value::Object(map) if is_matcher(map) => {
            for (key, value) in map {
                match key.as_str() {
                    "$matches" => {
                        let pattern = value
                            .as_str()
                            .ok_or_else(|| "`$matches` takes a regex string".to_owned())?;
                        if !pattern.contains("{{") {
                            Regex::new(pattern).map_err(|e| format!("`$matches`: {e}"))?;
                        }
                    }
                    "$len" if !(value.is_u64() || value.is_string()) => {
                        return Err("`$len` takes a count".to_owned())
                    }
                    "$where" if !map.contains_key("$len") => {
                        return Err("`$where` needs `$len` beside it".to_owned())
                    }
                    "$contains" | "$excludes" | "$where" => validate(value)?,
                    key if !OBJECT_MATCHERS.contains(&key) => {
                        return Err(format!(
                            "unknown matcher `{key}` (known: {})",
                            OBJECT_MATCHERS.join(", ")
                        ))
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        Value::Object(map) => map.values().try_for_each(validate),
        _ => Ok(()),
    }
}

fn is_matcher(map: &Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| k.starts_with('$'))
}

/// Every mismatch between `expected` and `actual` (`None`: the body is absent or not JSON).
pub fn compare(expected: &Value, actual: Option<&Value>) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    compare_at(expected, actual, String::new(), &mut mismatches);
    mismatches
}

/// Whether `actual` matches `expected` at all.
pub fn matches(expected: &Value, actual: Option<&Value>) -> bool {
    compare(expected, actual).is_empty()
}

fn compare_at(expected: &Value, actual: Option<&Value>, path: String, out: &mut Vec<Mismatch>) {
    let mut fail = |expected: String| {
        out.push(Mismatch {
            path: path.clone(),
            expected,
            actual: actual.map_or_else(|| "(absent)".to_owned(), short),
        })
    };
    match expected {
        Value::String(name) if STRING_MATCHERS.contains(&name.as_str()) => {
            if !string_matcher(name, actual) {
                fail(name.clone());
            }
        }
        Value::Object(map) if is_matcher(map) => {
            if let Some(message) = object_matcher(map, actual) {
                fail(message);
            }
        }
        Value::Object(map) => match actual {
            Some(Value::Object(found)) => {
                for (key, value) in map {
                    let child = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                    compare_at(value, found.get(key), child, out);
                }
            }
            _ => fail("an object".to_owned()),
        },
        Value::Array(items) => match actual {
            Some(Value::Array(found)) if found.len() == items.len() => {
                for (index, (want, got)) in items.iter().zip(found).enumerate() {
                    compare_at(want, Some(got), format!("{path}/{index}"), out);
                }
            }
            Some(Value::Array(found)) => fail(format!(
                "an array of {} (got {} elements)",
                items.len(),
                found.len()
            )),
            _ => fail("an array".to_owned()),
        },
        scalar => {
            if !actual.is_some_and(|found| scalar_eq(scalar, found)) {
                fail(scalar.to_string());
            }
        }
    }
}

fn scalar_eq(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => expected == actual,
    }
}

fn string_matcher(name: &str, actual: Option<&Value>) -> bool {
    match (name, actual) {
        ("$absent", found) => found.is_none(),
        (_, None) => false,
        ("$any", Some(_)) => true,
        ("$null", Some(v)) => v.is_null(),
        ("$integer", Some(v)) => v.is_i64() || v.is_u64(),
        ("$number", Some(v)) => v.is_number(),
        ("$string", Some(v)) => v.is_string(),
        ("$boolean", Some(v)) => v.is_boolean(),
        ("$array", Some(v)) => v.is_array(),
        ("$object", Some(v)) => v.is_object(),
        ("$iso8601", Some(Value::String(s))) => is_iso8601(s),
        ("$email", Some(Value::String(s))) => {
            let (local, domain) = s.split_once('@').unwrap_or_default();
            !local.is_empty() && domain.contains('.')
        }
        _ => false,
    }
}

/// `2016-10-23T21:39:40Z`, with optional fraction and any offset (RFC 3339).
fn is_iso8601(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// `None` when the object matcher holds; else what it expected.
fn object_matcher(map: &Map<String, Value>, actual: Option<&Value>) -> Option<String> {
    if let Some(pattern) = map.get("$matches") {
        let pattern = pattern.as_str().unwrap_or_default();
        let ok = match (Regex::new(pattern), actual) {
            (Ok(regex), Some(Value::String(s))) => regex.is_match(s),
            _ => false,
        };
        return (!ok).then(|| format!("a string matching /{pattern}/"));
    }
    let Some(Value::Array(items)) = actual else {
        return Some(format!("an array ({})", short(&Value::Object(map.clone()))));
    };
    if let Some(wanted) = map.get("$contains") {
        if !items.iter().any(|item| matches(wanted, Some(item))) {
            return Some(format!("an element matching {}", short(wanted)));
        }
    }
    if let Some(unwanted) = map.get("$excludes") {
        if let Some(index) = items.iter().position(|item| matches(unwanted, Some(item))) {
            return Some(format!(
                "no element matching {} (element {index} does)",
                short(unwanted)
            ));
        }
    }
    if let Some(len) = map.get("$len") {
        let want = len
            .as_u64()
            .or_else(|| len.as_str().and_then(|s| s.trim().parse().ok()));
        let (count, what) = match map.get("$where") {
            Some(filter) => (
                items
                    .iter()
                    .filter(|item| matches(filter, Some(item)))
                    .count(),
                format!(" matching {}", short(filter)),
            ),
            None => (items.len(), String::new()),
        };
        if want != Some(count as u64) {
            return Some(format!("{} elements{what} (found {count})", text(len)));
        }
    }
    None
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// A value for a one-line message, cut if long.
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 160 {
        let cut: String = text.chars().take(157).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_subset_with_matchers_passes_and_extra_keys_are_fine() {
        let actual = json!({"user": {"id": 10001, "email_address": "a@b.example",
            "created_at": "2024-01-02T09:00:00Z", "vendor": null, "extra": 1}});
        let expected = json!({"user": {"id": "$integer", "email_address": "$email",
            "created_at": "$iso8601", "vendor": "$null", "login_token": "$absent"}});
        assert_eq!(compare(&expected, Some(&actual)), vec![]);
    }

    #[test]
    fn mismatches_name_the_pointer_expected_and_actual() {
        let actual = json!({"user": {"id": "x", "is_active": true}});
        let mismatches = compare(
            &json!({"user": {"id": "$integer", "is_active": false, "name": "$string"}}),
            Some(&actual),
        );
        let lines: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "at /user/id: expected $integer, got \"x\"",
                "at /user/is_active: expected false, got true",
                "at /user/name: expected $string, got (absent)",
            ]
        );
    }

    #[test]
    fn array_matchers_contain_exclude_and_count() {
        let list = json!([{"id": 1, "email": "a@x.io"}, {"id": 2, "email": "b@x.io"}]);
        assert!(matches(&json!({"$contains": {"id": 2}}), Some(&list)));
        assert!(!matches(&json!({"$excludes": {"id": 2}}), Some(&list)));
        assert!(matches(&json!({"$len": 2}), Some(&list)));
        assert!(matches(
            &json!({"$where": {"email": {"$matches": "^a@"}}, "$len": "1"}),
            Some(&list)
        ));
        assert!(validate(&json!({"$contain": 1})).is_err());
        assert!(validate(&json!({"$where": 1})).is_err());
    }
}
