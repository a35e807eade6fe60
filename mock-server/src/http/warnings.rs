//! Mistakes that would pass silently: what a request sent and the handler never read, and
//! seed-only behaviour the `documented` profile serves.
//!
//! Procore ignores unknown query parameters and body fields, so the mock does too; but a typo
//! (`permision_template_id`, `filters[nonsense]`) then passes against the mock and fails in
//! production. So every answer that ignored something carries [`HEADER`] naming it (the
//! journal keeps response headers, so it records the warning too), and `--strict` turns the
//! same cases into a 400 naming them. What was read is noted where requests are read
//! ([`RequestUrl`], [`RequestBody`], [`Fields`]); each API handler, once it has read its request
//! and before it writes anything, calls [`Ignored::settle`], which reports "sent − read". A name
//! Procore documents for the operation (`super::documented`) but the mock does not emulate is
//! told apart from a typo: "not applied" rather than "ignored".
//!
//! Warnings gather in a task-local the control layer opens around each API request
//! ([`collecting`]); nothing is allocated unless there is something to say.

use std::cell::RefCell;
use std::future::Future;

use super::body::{Fields, RequestBody};
use super::documented;
use super::error::ApiError;
use super::query::RequestUrl;
use crate::domain::FieldErrors;

/// The response header that names what a request sent and the mock ignored, and seed-only
/// behaviour it was served. Several warnings are joined with `; `. Defined by the journal,
/// which reads it back as each entry's `warning`.
pub const HEADER: &str = crate::control::journal::WARNING_HEADER;

tokio::task_local! {
    /// The warnings of the request being answered, joined; `None` while there are none.
    static WARNINGS: RefCell<Option<String>>;
}

/// Runs `answering` (the handler of one request) and returns its output with the warnings it
/// raised, if any, made fit for a header value (a character a header cannot carry, as a sent
/// field name may hold, reads as `?`).
pub async fn collecting<F: Future>(answering: F) -> (F::Output, Option<String>) {
    WARNINGS
        .scope(RefCell::new(None), async {
            let output = answering.await;
            let warnings = WARNINGS.with(|warnings| warnings.borrow_mut().take());
            let warnings = warnings.map(|text| {
                text.chars()
                    .map(|c| {
                        if c == ' ' || c.is_ascii_graphic() {
                            c
                        } else {
                            '?'
                        }
                    })
                    .collect()
            });
            (output, warnings)
        })
        .await
}

/// Adds one warning to the request being answered (outside [`collecting`], e.g. in a unit test
/// calling a handler directly, there is no one to tell and it is dropped).
fn warn(text: &str) {
    let _ = WARNINGS.try_with(|warnings| match &mut *warnings.borrow_mut() {
        Some(joined) => {
            joined.push_str("; ");
            joined.push_str(text);
        }
        empty @ None => *empty = Some(text.to_owned()),
    });
}

/// Flags seed-only behaviour: served by the `documented` profile because the founding guide
/// relies on it, but absent from Procore's reference (see docs/divergences.md, "Profile
/// extras"). Warned in strict mode too: strictness is about the client's mistakes, and these
/// routes are the mock's choice, which `--profile official` turns off.
pub fn seed_extra(what: &str) {
    warn(&format!(
        "seed-only, not in Procore's reference (documented profile): {what}"
    ));
}

/// What a request sent that its handler did not read: the query parameters (from the
/// [`RequestUrl`] it is made with) and the body fields it is shown. Allocates only once
/// something unread is found.
#[derive(Debug)]
pub struct Ignored<'r> {
    /// The request's URL: its unread parameters, and the operation whose documented names
    /// tell "not applied" from "ignored".
    url: &'r RequestUrl,
    /// Body fields not looked up, named as [`Ignored::object`] says.
    fields: Vec<String>,
}

impl<'r> Ignored<'r> {
    /// Starts with the query of `url`: whatever of it is still unread when the request is
    /// settled (by name as sent: `filters[nonsense]`).
    pub fn new(url: &'r RequestUrl) -> Self {
        Self {
            url,
            fields: Vec::new(),
        }
    }

    /// The top-level body fields not looked up (`usr` beside `user`).
    pub fn body(mut self, body: &RequestBody) -> Self {
        self.fields.extend(body.unread().map(str::to_owned));
        self
    }

    /// The top-level fields of a body read as one object (`usernme` beside `username`).
    pub fn fields(mut self, fields: &Fields<'_>) -> Self {
        self.fields.extend(fields.unread().map(str::to_owned));
        self
    }

    /// The fields of a nested body object not looked up, named Rails-style under `root`
    /// (`user[permision_template_id]`); a name already listed (another sync item) is not
    /// repeated.
    pub fn object(mut self, root: &str, fields: &Fields<'_>) -> Self {
        for name in fields.unread() {
            let named = format!("{root}[{name}]");
            if !self.fields.contains(&named) {
                self.fields.push(named);
            }
        }
        self
    }

    /// Reports what was not read, as the Procore API answers: see [`Ignored::settle_with`];
    /// the strict 400 is the usual error shape.
    pub fn settle(self, strict: bool) -> Result<(), ApiError> {
        self.settle_with(strict, ApiError::malformed)
    }

    /// Reports what was not read: nothing to do when everything was. Otherwise each name is
    /// either *not applied* (Procore documents it for this operation and the mock does not
    /// emulate it: the answer may differ from Procore's) or *ignored* (Procore does not
    /// document it either: a typo, or a name of another operation). In `strict` mode both
    /// are refused, `refuse` making the 400 from the messages by name; otherwise they are
    /// warned about on the answer.
    pub fn settle_with<E>(
        self,
        strict: bool,
        refuse: impl FnOnce(FieldErrors) -> E,
    ) -> Result<(), E> {
        let mut query = self.url.unread().peekable();
        if query.peek().is_none() && self.fields.is_empty() {
            return Ok(());
        }
        let documented = documented::documented_names(&self.url.method, self.url.path());
        let (not_applied, ignored): (Vec<String>, Vec<String>) = query
            .map(str::to_owned)
            .chain(self.fields)
            .partition(|name| documented::is_documented(documented, name));
        if strict {
            let refused = |names: Vec<String>, message: &'static str| {
                names
                    .into_iter()
                    .map(move |name| (name, vec![message.to_owned()]))
            };
            let errors: FieldErrors = refused(ignored, IGNORED_REFUSAL)
                .chain(refused(not_applied, NOT_APPLIED_REFUSAL))
                .collect();
            return Err(refuse(errors));
        }
        if !ignored.is_empty() {
            warn(&format!("ignored: {}", ignored.join(", ")));
        }
        if !not_applied.is_empty() {
            warn(&format!(
                "not applied (documented by Procore, not emulated by the mock): {}",
                not_applied.join(", ")
            ));
        }
        Ok(())
    }
}

/// Why `--strict` refuses a name Procore does not document for the operation.
const IGNORED_REFUSAL: &str =
    "is not taken by this request (--strict refuses what the real API would ignore)";
/// Why `--strict` refuses a name Procore documents and the mock does not emulate.
const NOT_APPLIED_REFUSAL: &str = "is documented by Procore but not emulated by the mock (--strict refuses an answer that could differ from Procore's)";
