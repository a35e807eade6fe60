//! Procore's pagination: `page`/`per_page` in, `Total`, `Per-Page`, `Link` (and `X-Total` in the
//! `documented` profile) out.
//!
//! [`Page`] is the one place a list handler goes through: it reads the page a request asks
//! for, cuts it from the items the handler walks in order, and writes it straight into one
//! pre-sized buffer with the headers: no intermediate `Vec` of records, no clone of the
//! collection.

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;

use super::error::ApiError;
use super::query::RequestUrl;
use super::TYPICAL_RECORD_BYTES;
use crate::config::Profile;
use crate::views::writer::{self, WriteJson};

/// Page size when the request names none.
pub const DEFAULT_PER_PAGE: usize = 100;
/// Largest page size; larger requests are clamped to it.
pub const MAX_PER_PAGE: usize = 10_000;

/// Which slice of a collection a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: usize,
    /// Records per page, between 1 and [`MAX_PER_PAGE`].
    pub per_page: usize,
}

impl PageRequest {
    /// Reads `page` and `per_page`; below 1 or not an integer is a 400 naming the parameter.
    pub fn from_url(url: &RequestUrl) -> Result<Self, ApiError> {
        let page = positive(url, "page")?.unwrap_or(1);
        let per_page = positive(url, "per_page")?
            .unwrap_or(DEFAULT_PER_PAGE)
            .min(MAX_PER_PAGE);
        Ok(Self { page, per_page })
    }

    /// How many records precede this page.
    pub fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// How many records this page holds out of `total`.
    pub fn len_of(&self, total: usize) -> usize {
        total.saturating_sub(self.offset()).min(self.per_page)
    }
}

fn positive(url: &RequestUrl, name: &str) -> Result<Option<usize>, ApiError> {
    let Some(raw) = url.get(name) else {
        return Ok(None);
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        // Numeric but beyond u64: still a valid request for "a lot".
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Ok(Some(usize::MAX)),
        _ => Err(ApiError::bad_field(
            name,
            format!("must be a positive integer, got `{raw}`"),
        )),
    }
}

/// The page a list request asks for, with what its answer needs: the request URL to link the
/// other pages from and the profile that decides the headers.
#[derive(Clone, Copy, Debug)]
pub struct Page<'u> {
    request: PageRequest,
    url: &'u RequestUrl,
    profile: Profile,
}

impl<'u> Page<'u> {
    /// Reads `page` and `per_page` from `url` (a 400 naming a bad one).
    pub fn new(url: &'u RequestUrl, profile: Profile) -> Result<Self, ApiError> {
        Ok(Self {
            request: PageRequest::from_url(url)?,
            url,
            profile,
        })
    }

    /// How many items precede this page and how many it holds at most: all a handler needs to
    /// know to compute no more of a list than the page shows (see the sorted directory list).
    /// The same page with `per_page` clamped to `max`, for lists Procore caps lower than
    /// [`MAX_PER_PAGE`].
    pub fn capped_at(mut self, max: usize) -> Self {
        self.request.per_page = self.request.per_page.min(max);
        self
    }

    pub fn request(&self) -> PageRequest {
        self.request
    }

    /// Answers with this page of `items`, every item of the list in order (the page is cut
    /// here), of which there are `total`.
    pub fn answer<T: WriteJson>(&self, items: impl Iterator<Item = T>, total: usize) -> Response {
        let items = items
            .skip(self.request.offset())
            .take(self.request.per_page);
        page_response(items, total, self.request, self.url, self.profile)
    }
}

/// Serializes one page of `items` (already cut to the page) with Procore's paging headers.
fn page_response<T: WriteJson>(
    items: impl Iterator<Item = T>,
    total: usize,
    request: PageRequest,
    url: &RequestUrl,
    profile: Profile,
) -> Response {
    let count = request.len_of(total);
    // Room for the first record; the writer sizes the rest from it.
    let mut buffer = Vec::with_capacity(count.min(1) * TYPICAL_RECORD_BYTES + 2);
    writer::write_array(&mut buffer, items, count);
    let mut response = json_bytes(buffer);
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("total"), HeaderValue::from(total));
    headers.insert(
        HeaderName::from_static("per-page"),
        HeaderValue::from(request.per_page),
    );
    if profile.serves_seed_extras() {
        headers.insert(HeaderName::from_static("x-total"), HeaderValue::from(total));
        super::warnings::seed_extra("the X-Total header");
    }
    if let Some(link) = link_header(total, request, url) {
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
    }
    response
}

/// A JSON response from already-serialized bytes.
pub fn json_bytes(bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// The `Link` header: `first`/`prev` when there is an earlier page, `next`/`last` when there
/// is a later one; nothing for a lone page.
fn link_header(total: usize, request: PageRequest, url: &RequestUrl) -> Option<String> {
    let last = total.div_ceil(request.per_page).max(1);
    let page = request.page;
    let mut links = Vec::with_capacity(4);
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", url.with_page(1)));
        links.push(format!(
            "<{}>; rel=\"prev\"",
            url.with_page(((page - 1).min(last)) as u64)
        ));
    }
    if page < last {
        links.push(format!(
            "<{}>; rel=\"next\"",
            url.with_page((page + 1) as u64)
        ));
        links.push(format!("<{}>; rel=\"last\"", url.with_page(last as u64)));
    }
    (!links.is_empty()).then(|| links.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Uri};

    fn url(query: &str) -> RequestUrl {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4010"));
        let uri: Uri = format!("/rest/v1.0/companies/1/users?{query}")
            .parse()
            .unwrap();
        RequestUrl::from_parts(&axum::http::Method::GET, &uri, &headers)
    }

    #[test]
    fn middle_page_links_all_four_and_keeps_the_query() {
        let url = url("per_page=2&page=2&filters[search]=doe");
        let request = PageRequest::from_url(&url).unwrap();
        let link = link_header(7, request, &url).unwrap();
        assert_eq!(
            link,
            "<http://127.0.0.1:4010/rest/v1.0/companies/1/users?per_page=2&page=1&filters%5Bsearch%5D=doe>; rel=\"first\", \
             <http://127.0.0.1:4010/rest/v1.0/companies/1/users?per_page=2&page=1&filters%5Bsearch%5D=doe>; rel=\"prev\", \
             <http://127.0.0.1:4010/rest/v1.0/companies/1/users?per_page=2&page=3&filters%5Bsearch%5D=doe>; rel=\"next\", \
             <http://127.0.0.1:4010/rest/v1.0/companies/1/users?per_page=2&page=4&filters%5Bsearch%5D=doe>; rel=\"last\""
        );
    }

    #[test]
    fn per_page_is_clamped_and_bad_values_refused() {
        assert_eq!(
            PageRequest::from_url(&url("per_page=50000"))
                .unwrap()
                .per_page,
            MAX_PER_PAGE
        );
        assert!(PageRequest::from_url(&url("page=0")).is_err());
        assert!(PageRequest::from_url(&url("per_page=abc")).is_err());
        assert!(PageRequest::from_url(&url("page=-1")).is_err());
    }
}
