//! Mistakes that would pass silently: what a request sent and the handler never read, and
//! seed-only behaviour the `documented` profile serves.
//!
//! Procore ignores unknown query parameters and body fields, so the mock does too; but a typo
//! (`permision_template_id`, `filters[nonsense]`) then passes against the mock and fails in
//! production. So every answer that ignored something carries [`HEADER`] naming it (the
//! journal keeps response headers, so it records the warning too), and `--strict` turns the
//! same cases into a 400 naming them. What was read is noted where requests are read
//! ([`RequestUrl`], [`RequestBody`], [`Fields`]); each handler, once it has read its request and
//! before it writes anything, calls [`Ignored::settle`], which reports "sent − read".
//!
//! Warnings gather in a task-local the control layer opens around each API request
//! ([`collecting`]); nothing is allocated unless there is something to say.

use std::cell::RefCell;
use std::future::Future;

use super::body::{Fields, RequestBody};
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

/// The names a request sent that its handler did not read, gathered from each part of the
/// request. Allocates only once something unread is found.
#[derive(Debug, Default)]
pub struct Ignored {
    names: Vec<String>,
}

impl Ignored {
    /// Starts with nothing ignored.
    pub fn new() -> Self {
        Self::default()
    }

    /// The query parameters not looked up, by name as sent (`filters[nonsense]`).
    pub fn query(mut self, url: &RequestUrl) -> Self {
        self.names.extend(url.unread().map(str::to_owned));
        self
    }

    /// The top-level body fields not looked up (`usr` beside `user`).
    pub fn body(mut self, body: &RequestBody) -> Self {
        self.names.extend(body.unread().map(str::to_owned));
        self
    }

    /// The fields of a nested body object not looked up, named Rails-style under `root`
    /// (`user[permision_template_id]`); a name already listed (another sync item) is not
    /// repeated.
    pub fn object(mut self, root: &str, fields: &Fields<'_>) -> Self {
        for name in fields.unread() {
            let named = format!("{root}[{name}]");
            if !self.names.contains(&named) {
                self.names.push(named);
            }
        }
        self
    }

    /// Reports what was ignored: nothing to do when nothing was; in `strict` mode a 400 naming
    /// each; otherwise a warning on the answer.
    pub fn settle(self, strict: bool) -> Result<(), ApiError> {
        if self.names.is_empty() {
            return Ok(());
        }
        if strict {
            let errors: FieldErrors = self
                .names
                .into_iter()
                .map(|name| {
                    (
                        name,
                        vec!["is not taken by this request (--strict refuses what Procore would ignore)".to_owned()],
                    )
                })
                .collect();
            return Err(ApiError::malformed(errors));
        }
        warn(&format!("ignored: {}", self.names.join(", ")));
        Ok(())
    }
}
