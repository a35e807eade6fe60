//! Request bodies: JSON, form-urlencoded and multipart, all read into one JSON value.
//!
//! Procore (a Rails app) accepts `user[last_name]=Doe` as readily as `{"user":{"last_name":"Doe"}}`,
//! and clients use all of these encodings. Reading every encoding into the same
//! `serde_json::Value` lets one field parser serve them all. Failures are Procore-shaped: a body
//! over the limit is 413, one too slow to arrive 408, an unreadable encoding 415, malformed
//! content 400; never a 500. [`read_limited`] is where every request body is read.

use std::cell::Cell;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::config::Config;
use crate::state::AppState;

/// A file part of a multipart body.
#[derive(Clone, Debug)]
pub struct UploadedFile {
    /// The part's field name, e.g. `user[avatar]`.
    pub field: String,
    /// The part's content type (`application/octet-stream` when the client gave none).
    pub content_type: String,
    /// The file's bytes.
    pub bytes: Bytes,
}

/// A request body read into a JSON object, plus any uploaded files.
#[derive(Clone, Debug, Default)]
pub struct RequestBody {
    /// The fields; an empty body reads as an empty object.
    pub fields: Map<String, Value>,
    /// Files from a multipart body.
    pub files: Vec<UploadedFile>,
    /// Which top-level fields have been looked up ([`RequestBody::field`]), as in [`Fields`].
    read: Cell<u64>,
}

/// A JSON object whose lookups are noted, so that the fields nobody read can be named (see
/// `super::warnings`). Bit `i` of `read` stands for the object's `i`-th field: noting a read
/// never allocates; fields past the 64th count as read.
#[derive(Debug)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    read: Cell<u64>,
}

impl<'a> Fields<'a> {
    /// Tracks the reads of `map`, none so far.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self {
            map,
            read: Cell::new(0),
        }
    }

    /// The value of field `name`, noting it read.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        get_noted(self.map, &self.read, name)
    }

    /// Whether field `name` was sent, noting it read.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The fields sent that nothing has looked up, in the object's order.
    pub fn unread(&self) -> impl Iterator<Item = &'a str> {
        unread(self.map, self.read.get())
    }
}

fn get_noted<'a>(map: &'a Map<String, Value>, read: &Cell<u64>, name: &str) -> Option<&'a Value> {
    let (index, (_, value)) = map.iter().enumerate().find(|(_, (key, _))| *key == name)?;
    if index < 64 {
        read.set(read.get() | 1 << index);
    }
    Some(value)
}

fn unread(map: &Map<String, Value>, read: u64) -> impl Iterator<Item = &str> {
    map.keys()
        .enumerate()
        .take(64)
        .filter(move |(index, _)| read & (1 << index) == 0)
        .map(|(_, key)| key.as_str())
}

impl RequestBody {
    /// Top-level field `name`, noting it read.
    pub fn field(&self, name: &str) -> Option<&Value> {
        get_noted(&self.fields, &self.read, name)
    }

    /// The top-level fields sent that nothing has looked up.
    pub fn unread(&self) -> impl Iterator<Item = &str> {
        unread(&self.fields, self.read.get())
    }

    /// The object under `key` (Procore nests payloads under a root key such as `user`), its
    /// reads noted. Missing, empty or not an object: 400, as Rails says it.
    pub fn root(&self, key: &str) -> Result<Fields<'_>, ApiError> {
        match self.field(key) {
            Some(Value::Object(map)) if !map.is_empty() => Ok(Fields::new(map)),
            _ => Err(ApiError::BadRequest {
                message: format!("param is missing or the value is empty: {key}"),
                errors: crate::domain::field_error(key, "is missing"),
            }),
        }
    }
}

impl FromRequest<AppState> for RequestBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The control layer has read the body already, within the limits (`read_limited`).
        let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|err| ApiError::BadRequest {
                message: format!("The request body could not be read: {err}"),
                errors: Default::default(),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(RequestBody::default());
        }
        let content_type = content_type.unwrap_or_default();
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "application/json" => parse_json(&bytes),
            m if m.starts_with("application/") && m.ends_with("+json") => parse_json(&bytes),
            "application/x-www-form-urlencoded" => Ok(RequestBody {
                fields: parse_form(&bytes)?,
                ..RequestBody::default()
            }),
            "multipart/form-data" => parse_multipart(&content_type, bytes).await,
            "" => Err(ApiError::UnsupportedMediaType(
                "Content-Type is missing: send the body as application/json".to_owned(),
            )),
            other => Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type `{other}` is not supported: send application/json, \
                 application/x-www-form-urlencoded or multipart/form-data"
            ))),
        }
    }
}

/// Reads a whole request body: the one place the body limit and the body-read timeout are
/// enforced (the control layer calls it for API requests, the admin guard for admin ones, and
/// handlers then see the body already in memory).
///
/// A declared `Content-Length` over `max_body_bytes` is refused (413) before anything is read,
/// so a client announcing a huge body is not waited for; a body that passes the limit as it
/// streams in is 413 too; one that is not all there within `body_read_timeout` is 408; a
/// malformed one (bad chunked framing, a connection closed mid-body) is 400.
pub async fn read_limited(
    mut body: Body,
    headers: &HeaderMap,
    config: &Config,
) -> Result<Bytes, ApiError> {
    let limit = config.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        discard_the_rest(body, config);
        return Err(ApiError::PayloadTooLarge { limit });
    }
    match tokio::time::timeout(config.body_read_timeout, collect(&mut body, limit)).await {
        Err(_) => Err(ApiError::RequestTimeout {
            seconds: config.body_read_timeout.as_secs_f64(),
        }),
        Ok(Err(too_large @ ApiError::PayloadTooLarge { .. })) => {
            discard_the_rest(body, config);
            Err(too_large)
        }
        Ok(read) => read,
    }
}

/// Collects `body`, refusing (413) as soon as it passes `limit` bytes.
async fn collect(body: &mut Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| ApiError::BadRequest {
            message: format!("The request body could not be read: {err}"),
            errors: Default::default(),
        })?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

/// Most a refused body is read on to be thrown away.
const DISCARD_LIMIT: usize = 64 * 1024 * 1024;

/// Reads and drops what is left of a refused body, in the background, while the refusal is
/// sent. A client still sending when the connection closed would have it reset (unread data
/// on a closed socket), often before reading the answer; this is the lingering close web
/// servers do. Bounded by the body-read timeout and [`DISCARD_LIMIT`].
fn discard_the_rest(mut body: Body, config: &Config) {
    let reading = async move {
        let mut discarded = 0;
        while let Some(Ok(frame)) = body.frame().await {
            discarded += frame.data_ref().map_or(0, Bytes::len);
            if discarded > DISCARD_LIMIT {
                break;
            }
        }
    };
    tokio::spawn(tokio::time::timeout(config.body_read_timeout, reading));
}

fn parse_json(bytes: &[u8]) -> Result<RequestBody, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|err| ApiError::BadRequest {
        message: format!("The request body is not valid JSON: {err}"),
        errors: Default::default(),
    })?;
    match value {
        Value::Object(fields) => Ok(RequestBody {
            fields,
            ..RequestBody::default()
        }),
        _ => Err(ApiError::BadRequest {
            message: "The request body must be a JSON object".to_owned(),
            errors: Default::default(),
        }),
    }
}

fn parse_form(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut fields = Map::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        insert_bracketed(&mut fields, &key, Value::String(value.into_owned()))?;
    }
    Ok(fields)
}

async fn parse_multipart(content_type: &str, bytes: Bytes) -> Result<RequestBody, ApiError> {
    let malformed = |detail: String| ApiError::BadRequest {
        message: format!("The multipart body could not be read: {detail}"),
        errors: Default::default(),
    };
    let boundary = multer::parse_boundary(content_type).map_err(|e| malformed(e.to_string()))?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut body = RequestBody::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| malformed(e.to_string()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        // A part with a file name is a file, whatever its content.
        let is_file = field.file_name().is_some();
        let content_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.map_err(|e| malformed(e.to_string()))?;
        if is_file {
            body.files.push(UploadedFile {
                field: name,
                content_type: content_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                bytes: data,
            });
        } else {
            let text = String::from_utf8(data.to_vec())
                .map_err(|_| malformed(format!("part `{name}` is not UTF-8 text")))?;
            let value = match json_part(&name, &text) {
                Some(parsed) => parsed.map_err(|e| malformed(format!("part `{name}`: {e}")))?,
                None => Value::String(text),
            };
            insert_bracketed(&mut body.fields, &name, value)?;
        }
    }
    Ok(body)
}

/// A part that carries a whole object as JSON, the encoding Procore's document declares for
/// its multipart bodies (one `user` part, one `updates` part) and generated SDKs send: a part
/// with a plain (unbracketed) name whose text opens like a JSON object or array. `None` for
/// every other part, which is read as text (`user[last_name]=Doe`, Rails' way).
fn json_part(name: &str, text: &str) -> Option<Result<Value, serde_json::Error>> {
    let opens_like_json = text.trim_start().starts_with(['{', '[']);
    (!name.contains('[') && opens_like_json).then(|| serde_json::from_str(text))
}

/// The deepest parameter nesting accepted, as Rack's `param_depth_limit` caps it for Rails
/// (`a[b][c]` is 3 deep). Without a cap, a 16 KB field name of thousands of `[a]` would build
/// a value so deep that reading, writing or dropping it overflows the stack.
pub const MAX_PARAMETER_DEPTH: usize = 32;

/// Inserts `user[name]=x` as `{"user": {"name": "x"}}` and `ids[]=1` as `{"ids": ["1"]}`,
/// the way Rails reads bracketed parameter names. A name nested deeper than
/// [`MAX_PARAMETER_DEPTH`] is refused (400), as Rails refuses it.
pub fn insert_bracketed(
    root: &mut Map<String, Value>,
    key: &str,
    value: Value,
) -> Result<(), ApiError> {
    let (head, rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    let mut segments: Vec<&str> = Vec::new();
    let mut remaining = rest;
    while let Some(stripped) = remaining.strip_prefix('[') {
        match stripped.find(']') {
            Some(end) => {
                if segments.len() + 1 >= MAX_PARAMETER_DEPTH {
                    return Err(too_deep(head));
                }
                segments.push(&stripped[..end]);
                remaining = &stripped[end + 1..];
            }
            None => break,
        }
    }
    insert_path(root, head, &segments, value);
    Ok(())
}

fn too_deep(head: &str) -> ApiError {
    ApiError::BadRequest {
        message: format!(
            "Parameter `{head}` is nested more than {MAX_PARAMETER_DEPTH} levels deep"
        ),
        errors: crate::domain::field_error(head, "is nested too deeply"),
    }
}

/// Walks down `key` and `segments` (at most [`MAX_PARAMETER_DEPTH`] of them), creating objects
/// and arrays on the way, and puts `value` at the end.
fn insert_path(map: &mut Map<String, Value>, key: &str, segments: &[&str], value: Value) {
    let mut map = map;
    let mut key = key;
    let mut segments = segments;
    loop {
        match segments.split_first() {
            None => {
                map.insert(key.to_owned(), value);
                return;
            }
            Some((&"", _)) => {
                let slot = map
                    .entry(key.to_owned())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Value::Array(items) = slot {
                    items.push(value);
                }
                return;
            }
            Some((next, rest)) => {
                let slot = map
                    .entry(key.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                let Value::Object(inner) = slot else {
                    return;
                };
                map = inner;
                key = next;
                segments = rest;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plain_part_holding_json_is_read_as_that_json() {
        let parsed = json_part("user", r#"{"last_name": "Doe"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(parsed, json!({"last_name": "Doe"}));
        assert!(json_part("user", "{not json").unwrap().is_err());
        assert!(json_part("user[notes]", r#"{"a": 1}"#).is_none());
        assert!(json_part("user", "Doe").is_none());
    }

    #[test]
    fn bracketed_names_nest_like_rails() {
        let fields =
            parse_form(b"user%5Blast_name%5D=Doe&user[first_name]=Jane&ids[]=1&ids[]=2&plain=x")
                .unwrap();
        assert_eq!(
            Value::Object(fields),
            json!({"user": {"last_name": "Doe", "first_name": "Jane"}, "ids": ["1", "2"], "plain": "x"})
        );
    }
}
