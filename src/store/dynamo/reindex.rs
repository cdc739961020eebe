//! The backfill of look-up entries that a table written before them lacks: `scimctl tenant
//! reindex`. Users written before email look-ups existed have no `EMAIL` entries, so an email
//! filter would not find them; this writes the entries of every user of a tenant.
//!
//! Idempotent and safe while IdPs write: an entry is the same item whoever writes it, so writing
//! it again changes nothing, and a user's own transactions keep its entries from then on. An entry
//! written here just after a write removed that address is stale, which a look-up tolerates (the
//! user, as read, decides: `users.rs`); the next write of that user's emails does not remove it,
//! but it never answers wrongly.

use super::keys;
use super::user_item::{guard_item, GuardKind};
use super::DynamoStore;
use crate::scim::emails::indexed_emails;
use crate::store::{PageRequest, StoreError, UserStore};
use crate::tenant::TenantId;

/// Users read per page of the backfill.
const PAGE: usize = 1_000;

/// What a backfill wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reindexed {
    /// Users read.
    pub users: usize,
    /// Email look-up entries written (present or not before).
    pub email_entries: usize,
}

impl DynamoStore {
    /// Write the email look-up entries of every user of `tenant`: one Query per 1,000 users (and
    /// the counter's), one `BatchWriteItem` per 25 entries.
    pub async fn reindex_emails(&self, tenant: &TenantId) -> Result<Reindexed, StoreError> {
        let mut done = Reindexed::default();
        let mut cursor = None;
        loop {
            let request = PageRequest {
                start_index: 1,
                count: PAGE,
                cursor,
            };
            let page = self.list_users(tenant, &request).await?;
            let mut entries = Vec::new();
            for user in &page.items {
                for email in indexed_emails(&user.attributes) {
                    let key = keys::email_entry(tenant, &email, &user.id);
                    entries.push(guard_item(GuardKind::EmailEntry, &key, &user.id)?);
                }
            }
            done.users += page.items.len();
            done.email_entries += entries.len();
            self.batch_put(entries).await?;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(done),
            }
        }
    }
}
