//! `{{variable}}` templating and JSON-subset matching with matchers.
//!
//! Matchers are strings starting with `$` (`$any_integer`, `$any_string`, `$any_boolean`,
//! `$iso8601`, `$null`, `$any`, `$absent`, `$contains:TEXT`) or one-key objects (`{"$some": X}`,
//! `{"$none": X}`, `{"$each": X}`, `{"$length": N}`). Objects match when every expected key
//! matches (extra keys in the answer are fine); arrays match element by element.

use std::collections::BTreeMap;

use serde_json::Value;

/// Variables available to templates.
pub type Vars = BTreeMap<String, Value>;

/// A `{{variable}}` template that cannot be filled in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{` without its `}}`.
    #[error("unclosed `{{{{` in `{text}`")]
    Unclosed {
        /// The whole template.
        text: String,
    },
    /// A variable neither discovered nor captured (yet).
    #[error("unknown variable `{name}` in `{text}`")]
    UnknownVariable {
        /// The variable.
        name: String,
        /// The whole template.
        text: String,
    },
}

/// Replaces `{{name}}` in `text` with the variables' values.
pub fn render(text: &str, vars: &Vars) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
            text: text.to_owned(),
        })?;
        let name = after[..end].trim();
        let value = vars
            .get(name)
            .ok_or_else(|| TemplateError::UnknownVariable {
                name: name.to_owned(),
                text: text.to_owned(),
            })?;
        match value {
            Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The string matchers; `$contains:TEXT` is matched by its prefix.
const STRING_MATCHERS: [&str; 7] = [
    "$any",
    "$absent",
    "$null",
    "$any_integer",
    "$any_string",
    "$any_boolean",
    "$iso8601",
];
/// The one-key object matchers over arrays.
const ARRAY_MATCHERS: [&str; 4] = ["$some", "$none", "$each", "$length"];

/// The names of the variables `text` uses, or why a `{{` is malformed (checked at load time).
pub fn variables(text: &str) -> Result<Vec<&str>, TemplateError> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
            text: text.to_owned(),
        })?;
        names.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// Checks at load time that an expectation uses only known matchers, so a typo such as
/// `$any_integr` is refused instead of failing every run as a literal string.
pub fn check_matchers(expected: &Value) -> Result<(), String> {
    match expected {
        Value::String(s)
            if s.starts_with('$')
                && !STRING_MATCHERS.contains(&s.as_str())
                && !s.starts_with("$contains:") =>
        {
            Err(format!(
                "unknown matcher `{s}` (known: {}, $contains:TEXT)",
                STRING_MATCHERS.join(", ")
            ))
        }
        Value::Array(items) => items.iter().try_for_each(check_matchers),
        Value::Object(map) if map.len() == 1 && map.keys().all(|k| k.starts_with('$')) => {
            let (name, inner) = map.iter().next().expect("one entry");
            if !ARRAY_MATCHERS.contains(&name.as_str()) {
                return Err(format!(
                    "unknown matcher `{name}` (known: {})",
                    ARRAY_MATCHERS.join(", ")
                ));
            }
            if name == "$length" && !inner.is_u64() {
                return Err("`$length` takes a whole number".to_owned());
            }
            check_matchers(inner)
        }
        Value::Object(map) => map.values().try_for_each(check_matchers),
        _ => Ok(()),
    }
}

/// Renders every string in a JSON value. A string that is exactly `{{name}}` takes the
/// variable's JSON value, so `"id": "{{user_id}}"` sends a number.
pub fn render_value(value: &Value, vars: &Vars) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => {
            let trimmed = s.trim();
            let whole = trimmed
                .strip_prefix("{{")
                .and_then(|r| r.strip_suffix("}}"))
                .filter(|inner| !inner.contains("{{") && !inner.contains("}}"));
            match whole.and_then(|name| vars.get(name.trim())) {
                Some(value) => value.clone(),
                None => Value::String(render(s, vars)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, vars)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

/// Every way `actual` fails to match `expected`, as `pointer: problem` lines.
pub fn mismatches(expected: &Value, actual: Option<&Value>) -> Vec<String> {
    let mut problems = Vec::new();
    check(expected, actual, "", &mut problems);
    problems
}

fn check(expected: &Value, actual: Option<&Value>, at: &str, problems: &mut Vec<String>) {
    let here = if at.is_empty() { "/" } else { at };
    let mut fail = |message: String| problems.push(format!("{here}: {message}"));
    match expected {
        Value::String(matcher) if matcher.starts_with('$') => {
            if let Some(problem) = string_matcher(matcher, actual) {
                fail(problem);
            }
        }
        Value::Object(map)
            if map.len() == 1 && map.keys().next().is_some_and(|k| k.starts_with('$')) =>
        {
            let (name, inner) = map.iter().next().expect("one entry");
            let Some(items) = actual.and_then(Value::as_array) else {
                fail(format!(
                    "expected an array for {name}, got {}",
                    shown(actual)
                ));
                return;
            };
            let matching = items
                .iter()
                .filter(|item| mismatches(inner, Some(item)).is_empty())
                .count();
            match name.as_str() {
                "$some" if matching == 0 => fail(format!("no element matches {inner}")),
                "$none" if matching > 0 => fail(format!(
                    "{matching} element(s) match {inner}, expected none"
                )),
                "$each" if matching < items.len() => fail(format!(
                    "{} element(s) do not match {inner}",
                    items.len() - matching
                )),
                "$length" if Some(items.len() as u64) != inner.as_u64() => {
                    fail(format!("expected length {inner}, got {}", items.len()))
                }
                "$some" | "$none" | "$each" | "$length" => {}
                other => fail(format!("unknown matcher {other}")),
            }
        }
        Value::Object(map) => match actual {
            Some(Value::Object(actual_map)) => {
                for (key, value) in map {
                    check(value, actual_map.get(key), &format!("{at}/{key}"), problems);
                }
            }
            other => fail(format!("expected an object, got {}", shown(other))),
        },
        Value::Array(items) => match actual {
            Some(Value::Array(actual_items)) if actual_items.len() == items.len() => {
                for (i, item) in items.iter().enumerate() {
                    check(item, actual_items.get(i), &format!("{at}/{i}"), problems);
                }
            }
            other => fail(format!(
                "expected an array of {} element(s), got {}",
                items.len(),
                shown(other)
            )),
        },
        scalar => {
            let equal = match (scalar, actual) {
                (Value::Number(a), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
                (a, Some(b)) => a == b,
                (_, None) => false,
            };
            if !equal {
                fail(format!("expected {scalar}, got {}", shown(actual)));
            }
        }
    }
}

fn string_matcher(matcher: &str, actual: Option<&Value>) -> Option<String> {
    let ok = match (matcher, actual) {
        ("$absent", None) => true,
        ("$absent", Some(value)) => return Some(format!("expected no value, got {value}")),
        (_, None) => return Some(format!("expected {matcher}, but the key is missing")),
        ("$any", Some(_)) => true,
        ("$null", Some(v)) => v.is_null(),
        ("$any_integer", Some(v)) => v.is_i64() || v.is_u64(),
        ("$any_string", Some(v)) => v.is_string(),
        ("$any_boolean", Some(v)) => v.is_boolean(),
        ("$iso8601", Some(Value::String(s))) => is_iso8601(s),
        ("$iso8601", Some(_)) => false,
        (m, Some(v)) if m.starts_with("$contains:") => v
            .as_str()
            .is_some_and(|s| s.contains(&m["$contains:".len()..])),
        (m, Some(_)) => return Some(format!("unknown matcher {m}")),
    };
    (!ok).then(|| format!("expected {matcher}, got {}", shown(actual)))
}

fn is_iso8601(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
        || chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None => "nothing".to_owned(),
        Some(v) => {
            let text = v.to_string();
            if text.len() > 120 {
                format!(
                    "{}…",
                    &text[..text.char_indices().nth(117).map_or(text.len(), |(i, _)| i)]
                )
            } else {
                text
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_matcher_is_understood_and_typos_are_refused() {
        for matcher in STRING_MATCHERS {
            assert!(check_matchers(&json!(matcher)).is_ok());
            let problems = mismatches(&json!(matcher), Some(&json!(1)));
            assert!(
                problems.iter().all(|p| !p.contains("unknown matcher")),
                "{matcher}"
            );
        }
        for matcher in ARRAY_MATCHERS {
            let expected = json!({ matcher: 0 });
            assert!(check_matchers(&expected).is_ok());
            let problems = mismatches(&expected, Some(&json!([])));
            assert!(
                problems.iter().all(|p| !p.contains("unknown matcher")),
                "{matcher}"
            );
        }
        let err = check_matchers(&json!({"user": {"id": "$any_integr"}})).unwrap_err();
        assert!(err.contains("unknown matcher `$any_integr`"), "{err}");
        assert!(check_matchers(&json!({"$soem": {}})).is_err());
        assert_eq!(variables("/a/{{x}}/b/{{ y }}"), Ok(vec!["x", "y"]));
        assert!(variables("{{x").is_err());
    }
    use serde_json::json;

    #[test]
    fn templates_fill_in_variables_and_keep_types() {
        let vars: Vars = [
            ("id".to_owned(), json!(42)),
            ("name".to_owned(), json!("Ada")),
        ]
        .into();
        assert_eq!(
            render("/users/{{id}}?q={{ name }}", &vars).unwrap(),
            "/users/42?q=Ada"
        );
        assert_eq!(
            render_value(&json!({"id": "{{id}}", "n": "x-{{name}}"}), &vars).unwrap(),
            json!({"id": 42, "n": "x-Ada"})
        );
        let unknown = render("x-{{missing}}", &vars).unwrap_err();
        assert_eq!(
            unknown,
            TemplateError::UnknownVariable {
                name: "missing".to_owned(),
                text: "x-{{missing}}".to_owned()
            }
        );
        assert_eq!(
            unknown.to_string(),
            "unknown variable `missing` in `x-{{missing}}`"
        );
        assert_eq!(
            variables("/users/{{id").unwrap_err().to_string(),
            "unclosed `{{` in `/users/{{id`"
        );
    }

    #[test]
    fn subsets_and_matchers() {
        let actual = json!({"id": 7, "email": "a@b.example", "at": "2024-01-02T03:04:05Z", "list": [{"x": 1}, {"x": 2}]});
        let expected = json!({"id": "$any_integer", "email": "$contains:@b.", "at": "$iso8601", "gone": "$absent",
                              "list": {"$some": {"x": 2}}});
        assert!(mismatches(&expected, Some(&actual)).is_empty());
        let wrong = json!({"id": "$any_string", "list": {"$length": 3}, "email": "x@y.example"});
        let problems = mismatches(&wrong, Some(&actual));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems
            .iter()
            .any(|p| p.starts_with("/email: expected \"x@y.example\"")));
    }
}
