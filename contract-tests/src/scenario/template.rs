//! `{{var}}` templating of strings and JSON values.
//!
//! A string that is exactly one `{{var}}` becomes the variable's JSON value with its type (so
//! `"id": "{{user_id}}"` sends an integer); inside longer text a variable is written as text.

use std::collections::BTreeMap;

use serde_json::Value;

/// Variables by name.
pub type Vars = BTreeMap<String, Value>;

/// Whether `text` holds any `{{`.
pub fn has_templates(text: &str) -> bool {
    text.contains("{{")
}

/// The variable names used in `text`, or why the text is malformed.
pub fn names(text: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("`{{{{` without a closing `}}}}` in `{text}`"))?;
        let name = after[..end].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`{{{{{name}}}}}` is not a variable name (letters, digits, _)"
            ));
        }
        found.push(name);
        rest = &after[end + 2..];
    }
    Ok(found)
}

/// The text of a value as it appears inside a string.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders `text` as a string.
pub fn render(text: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("`{{{{` without a closing `}}}}` in `{text}`"))?;
        let name = after[..end].trim();
        let value = vars
            .get(name)
            .ok_or_else(|| format!("variable `{name}` is not set"))?;
        out.push_str(&text_of(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders every string in `value`; a string that is exactly one variable keeps its type.
pub fn render_value(value: &Value, vars: &Vars) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => {
            let trimmed = text.trim();
            let whole = trimmed
                .strip_prefix("{{")
                .and_then(|t| t.strip_suffix("}}"))
                .filter(|inner| !inner.contains("{{") && !inner.contains("}}"));
            match whole {
                Some(name) => vars
                    .get(name.trim())
                    .cloned()
                    .ok_or_else(|| format!("variable `{}` is not set", name.trim()))?,
                None => Value::String(render(text, vars)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_value(item, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| Ok((render(key, vars)?, render_value(item, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_whole_variable_keeps_its_type_and_text_interpolates() {
        let vars = Vars::from([
            ("id".to_owned(), json!(10001)),
            ("run".to_owned(), json!("r1")),
        ]);
        assert_eq!(
            render_value(
                &json!({"id": "{{id}}", "email": "a-{{run}}-{{id}}@x"}),
                &vars
            )
            .unwrap(),
            json!({"id": 10001, "email": "a-r1-10001@x"})
        );
        assert!(render("{{missing}}", &vars)
            .unwrap_err()
            .contains("missing"));
        assert!(names("{{ bad name }}").is_err());
    }
}
