//! The request's own URL: query parameters (with Rails' bracket arrays), the absolute base
//! that pagination links are built from, and the method it was called with (which, with the
//! path, names the operation a warning speaks of).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method, Uri};

/// The query string as ordered pairs, plus what is needed to rebuild absolute URLs.
///
/// It also notes which pairs the handler looked up ([`RequestUrl::get`], [`RequestUrl::all`]),
/// so that what it did not read ([`RequestUrl::unread`]) can be reported: Procore ignores
/// unknown parameters, and a misspelt filter would otherwise pass unnoticed.
#[derive(Debug)]
pub struct RequestUrl {
    /// The request's method: with the path, the operation called.
    pub method: Method,
    /// `scheme://host[:port]` as the client addressed the server.
    pub origin: String,
    /// The path, without query.
    pub path: String,
    /// Decoded query pairs in order (`filters[vendor_id][]` appears once per value).
    pub query: Vec<(String, String)>,
    /// Bit `i` is set once pair `i` has been looked up. A bit set, not a list, so that noting
    /// reads never allocates; pairs past the 64th count as read (never reported).
    read: AtomicU64,
}

impl Clone for RequestUrl {
    fn clone(&self) -> Self {
        Self {
            method: self.method.clone(),
            origin: self.origin.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            read: AtomicU64::new(self.read.load(Ordering::Relaxed)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestUrl {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Self::from_parts(&parts.method, &parts.uri, &parts.headers))
    }
}

impl RequestUrl {
    /// Reads the URL from a request's method, URI and headers. The host comes from the URI
    /// when the client sent an absolute form, else from `Host`; the scheme honours
    /// `X-Forwarded-Proto` so links stay right behind a TLS proxy.
    pub fn from_parts(method: &Method, uri: &Uri, headers: &axum::http::HeaderMap) -> Self {
        let host = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| {
                headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "localhost".to_owned());
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .filter(|s| *s == "https" || *s == "http")
            .or_else(|| uri.scheme_str())
            .unwrap_or("http");
        let query = uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            method: method.clone(),
            origin: format!("{scheme}://{host}"),
            path: uri.path().to_owned(),
            query,
            read: AtomicU64::new(0),
        }
    }

    /// Notes that every pair named `name` has been read.
    fn mark_read(&self, name: &str) {
        let mut bits = 0u64;
        for (index, (key, _)) in self.query.iter().enumerate().take(64) {
            if key == name {
                bits |= 1 << index;
            }
        }
        if bits != 0 {
            self.read.fetch_or(bits, Ordering::Relaxed);
        }
    }

    /// The first value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.mark_read(name);
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The names of the parameters sent that nothing has looked up so far, each once, in the
    /// order sent. Empty (and allocation-free) when everything sent was read.
    pub fn unread(&self) -> impl Iterator<Item = &str> + '_ {
        let read = self.read.load(Ordering::Relaxed);
        self.query
            .iter()
            .enumerate()
            .take(64)
            .filter(move |(index, (key, _))| {
                // Pairs of one name are read together, so listing the first one is enough.
                read & (1 << index) == 0
                    && !self.query[..*index]
                        .iter()
                        .any(|(earlier, _)| earlier == key)
            })
            .map(|(_, (key, _))| key.as_str())
    }

    /// The company a top-level route (`/projects`, `/vendors`) names in its required
    /// `company_id` query parameter: missing or not an id is a 400 naming it.
    pub fn company_id(&self) -> Result<u64, crate::http::error::ApiError> {
        use crate::http::error::ApiError;
        match self.get("company_id") {
            None => Err(ApiError::bad_field("company_id", "is missing")),
            Some(raw) => raw.parse::<u64>().map_err(|_| {
                ApiError::bad_field("company_id", format!("must be a company id, got `{raw}`"))
            }),
        }
    }

    /// Every value of parameter `name` (for `name[]` arrays, pass the name with the brackets).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.mark_read(name);
        self.query
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// This URL with `page` set to `page` and every other parameter kept, as an absolute URL.
    pub fn with_page(&self, page: u64) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        let mut wrote_page = false;
        for (key, value) in &self.query {
            if key == "page" {
                if !wrote_page {
                    serializer.append_pair("page", &page.to_string());
                    wrote_page = true;
                }
            } else {
                serializer.append_pair(key, value);
            }
        }
        if !wrote_page {
            serializer.append_pair("page", &page.to_string());
        }
        format!("{}{}?{}", self.origin, self.path, serializer.finish())
    }
}
