//! The request's own URL: query parameters (with Rails' bracket arrays), the absolute base
//! that pagination links are built from, and the method it was called with (which, with the
//! path, names the operation a warning speaks of).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, Method, Uri};

/// The query string as ordered pairs, plus what is needed to rebuild absolute URLs.
///
/// It also notes which pairs the handler looked up ([`RequestUrl::get`], [`RequestUrl::all`]),
/// so that what it did not read ([`RequestUrl::unread`]) can be reported: Procore ignores
/// unknown parameters, and a misspelt filter would otherwise pass unnoticed.
#[derive(Debug)]
pub struct RequestUrl {
    /// The request's method: with the path, the operation called.
    pub method: Method,
    /// The request's URI (cheap to keep: it shares the request's bytes). The origin links are
    /// built from is only worked out when a link is: most answers have none.
    uri: Uri,
    /// The `Host` header, for a URI in origin form (the usual one).
    host: Option<HeaderValue>,
    /// Whether a proxy in front said the client spoke HTTPS (`X-Forwarded-Proto`).
    forwarded_https: Option<bool>,
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
            uri: self.uri.clone(),
            host: self.host.clone(),
            forwarded_https: self.forwarded_https,
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

/// Named once: a header looked up by a `&str` name is parsed on every lookup.
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

impl RequestUrl {
    /// Reads the URL from a request's method, URI and headers (see [`RequestUrl::origin`]).
    pub fn from_parts(method: &Method, uri: &Uri, headers: &axum::http::HeaderMap) -> Self {
        let forwarded_https = headers
            .get(X_FORWARDED_PROTO)
            .and_then(|h| h.to_str().ok())
            .and_then(|proto| match proto {
                "https" => Some(true),
                "http" => Some(false),
                _ => None,
            });
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
            uri: uri.clone(),
            host: headers.get(header::HOST).cloned(),
            forwarded_https,
            query,
            read: AtomicU64::new(0),
        }
    }

    /// `scheme://host[:port]` as the client addressed the server: the host from the URI when
    /// the client sent an absolute form, else from `Host`; the scheme honours
    /// `X-Forwarded-Proto` so links stay right behind a TLS proxy.
    pub fn origin(&self) -> String {
        let host = self
            .uri
            .authority()
            .map(|authority| authority.as_str())
            .or_else(|| self.host.as_ref().and_then(|host| host.to_str().ok()))
            .unwrap_or("localhost");
        let scheme = match self.forwarded_https {
            Some(true) => "https",
            Some(false) => "http",
            None => self.uri.scheme_str().unwrap_or("http"),
        };
        format!("{scheme}://{host}")
    }

    /// The path, without query.
    pub fn path(&self) -> &str {
        self.uri.path()
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
        format!("{}{}?{}", self.origin(), self.path(), serializer.finish())
    }
}
