//! Directory sync: many user writes in one request, each matched to a user or created.

use chrono::{DateTime, Utc};

use super::changes::UserChanges;
use super::company_users;
use super::error::{field_error, FieldErrors};
use super::webhooks::{Change, EventType};
use crate::store::Directory;

/// One update of a sync request, as read from the request.
#[derive(Clone, Debug)]
pub struct SyncItem {
    /// The user to update, when the item names one.
    pub id: Option<u64>,
    /// The fields to write.
    pub changes: UserChanges,
}

/// Applies sync items in order, each on its own: one refused item does not stop the others.
/// An item is matched by `id` (an unknown id is an error), else by `origin_id` (an unknown one
/// creates the user with it), else creates a user with an id from `new_id`. Items that could
/// not be read arrive as their field errors and are answered with them. Returns, per item, the
/// change made (the user created or updated) or the field errors that refused it.
pub fn sync(
    directory: &mut Directory,
    items: impl IntoIterator<Item = Result<SyncItem, FieldErrors>>,
    mut new_id: impl FnMut() -> u64,
    now: DateTime<Utc>,
) -> Vec<Result<Change, FieldErrors>> {
    items
        .into_iter()
        .map(|item| {
            let item = item?;
            let target = match item.id {
                Some(id) => Some(
                    directory
                        .user(id)
                        .map(|user| user.id)
                        .ok_or_else(|| field_error("id", format!("{id} not found")))?,
                ),
                None => match &item.changes.origin_id {
                    Some(Some(origin)) => directory.user_by_origin_id(origin).map(|u| u.id),
                    _ => None,
                },
            };
            let written = match target {
                Some(id) => company_users::update(directory, id, &item.changes, now)
                    .map(|user| Change::company_user(EventType::Update, user.id)),
                None => company_users::create(directory, &mut new_id, &item.changes, now)
                    .map(|user| Change::company_user(EventType::Create, user.id)),
            };
            written.map_err(|e| e.into_field_errors())
        })
        .collect()
}
