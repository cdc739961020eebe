//! The DynamoDB store (production): one table, every key scoped by the tenant.
//!
//! - `keys.rs`: where each item lives (the key design, also in ARCHITECTURE.md).
//! - `user_item.rs`: what each user and guard item holds; `group_item.rs` the same for groups,
//!   look-up entries and memberships; `item.rs` what they share (sizes against DynamoDB's 400 KB
//!   limit, deletion and audit records, the counter shards); `counter_model.rs` (tests only) the
//!   simulation that sizes the shards.
//! - `tx.rs`: the transaction builder and its conditions; `user_tx.rs` the user transactions,
//!   `group_tx.rs` the group ones.
//! - `members.rs`: group writes in chunks of at most 100 items; `cascade.rs`: the memberships a
//!   delete leaves, removed after it; `follow_up.rs`: a group rename's or delete's fan-out over
//!   its members, bounded by a budget, the rest handed to the asynchronous worker; `batch.rs`: BatchGetItem / BatchWriteItem with retries.
//! - `users.rs`: the `UserStore` adapter; `groups.rs`: the `GroupStore` adapter (reads and
//!   look-ups); `audit_log.rs`: reading the audit trail.
//! - `errors.rs`: SDK errors and cancellation reasons to [`StoreError`].
//! - `bookmarks.rs`: where a `startIndex` page starts (a bookmark of the page before, or a skip).
//! - `calls.rs`: the round-trip counter the tests use; `client.rs`: the client and its deadlines.
//! - `table.rs`: the table definition shared by `scimctl table create` and the tests;
//!   `reindex.rs`: the backfill of email look-up entries (`scimctl tenant reindex`).
//!
//! Round trips per store call: `get_user` 1 GetItem; `find_user_by_*` 2 GetItems (guard, then
//! user); `find_users_by_external_id` and `find_users_by_email` 1 Query of the look-up entries
//! and 1 BatchGetItem per 100 users found; `create_user`, `update_user` 1 TransactWriteItems; `delete_user` 1 TransactWriteItems
//! and 1 Query for its memberships (plus one transaction per 33 groups it was in); `list_users`
//! 1 Query and 1 Query of the counter shards issued concurrently; a `startIndex` page without a
//! cursor starts from the bookmark the previous page left (1 GetItem, and 1 PutItem when more
//! follow) or else skips with keys-only Queries (`bookmarks.rs`). Groups: see `groups.rs`.
//! Every read is strongly consistent. There is no Scan.

mod admin;
mod audit_log;
mod batch;
mod bookmarks;
pub mod calls;
mod cascade;
pub mod client;
#[cfg(test)]
mod counter_model;
pub mod errors;
pub mod follow_up;
pub mod group_item;
pub mod group_refs;
pub mod group_tx;
mod groups;
mod index;
pub mod item;
pub mod keys;
mod members;
mod policies;
pub mod reindex;
mod settings;
pub mod table;
pub mod tx;
pub mod user_item;
pub mod user_tx;
mod users;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use self::calls::CallCounter;
use self::errors::{cancellation, cancellation_reasons, classify, sdk_error, Cancelled, TxFailure};
use self::item::Item;
use self::keys::{Key, Partition, PK, SK};
use super::cursor;
use super::{Deletion, Page, PageRequest, StoreError, UserStore};
use crate::audit;
use crate::retry;
use crate::scim::resource::Resource;
use crate::tenant::TenantId;

/// How long a deletion record is kept before DynamoDB's TTL removes it: over a year, so that a
/// yearly access review can still see who was deprovisioned and when.
pub const DELETION_RECORD_RETENTION: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// How often a transaction is sent again after DynamoDB cancelled it for a `TransactionConflict`
/// alone (another transaction held one of its items; nothing was written). Every create and
/// delete adds to one of the tenant's counter shards, so two of them can still meet on a shard
/// (rarely: [`keys::COUNTER_SHARDS`]).
const CONFLICT_ATTEMPTS: u32 = 4;

/// Why [`DynamoStore::send_tx`] did not commit.
pub(crate) enum Rejected {
    /// A condition failed: the reasons, item by item, in request order.
    Cancelled(Vec<CancellationReason>),
    Failed(StoreError),
}

/// The DynamoDB adapter of [`UserStore`]. Cheap to clone (the SDK client is shared).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Days an audit record is kept before DynamoDB's TTL removes it
    /// (`SCIM_AUDIT_RETENTION_DAYS`).
    audit_retention_days: u32,
    /// Where group fan-outs that outrun their budget continue (none: they run to their end).
    follow_ups: Option<follow_up::FollowUps>,
}

impl DynamoStore {
    /// A store on `table`, which must have the [`table::TABLE`] definition. Its operations are
    /// counted in the current request's measurements ([`calls::RequestMetrics`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        let config = client
            .config()
            .to_builder()
            .interceptor(calls::RequestMetrics)
            .build();
        DynamoStore {
            client: Client::from_conf(config),
            table: table.into(),
            audit_retention_days: audit::DEFAULT_RETENTION_DAYS,
            follow_ups: None,
        }
    }

    /// Keep the audit records this store writes for `days` (their `ttl`), instead of
    /// [`audit::DEFAULT_RETENTION_DAYS`]. The binaries pass `Config::audit_retention_days`.
    pub fn with_audit_retention_days(mut self, days: u32) -> Self {
        self.audit_retention_days = days;
        self
    }

    pub fn audit_retention_days(&self) -> u32 {
        self.audit_retention_days
    }

    /// A store whose every DynamoDB operation is recorded by the returned counter (tests and
    /// diagnostics): the same client configuration plus a [`CallCounter`] interceptor.
    pub fn with_call_counter(client: &Client, table: impl Into<String>) -> (Self, CallCounter) {
        let counter = CallCounter::new();
        let config = client
            .config()
            .to_builder()
            .interceptor(counter.clone())
            .build();
        (Self::new(Client::from_conf(config), table), counter)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Read a key that no tenant can own: proves the table exists and is readable with these
    /// credentials, and opens the connection (at Lambda init, not in the first request).
    pub async fn check_table(&self) -> Result<(), StoreError> {
        let probe = Key {
            pk: keys::PROBE_PK.to_owned(),
            sk: "-".to_owned(),
        };
        self.get_item(&probe).await.map(|_| ())
    }

    /// The deletion records of a tenant, oldest first: (user id, record).
    pub async fn deletions(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<(String, Deletion)>, StoreError> {
        self.partition_items(tenant, Partition::Deletions)
            .await?
            .into_iter()
            .map(item::deletion_from_item)
            .collect()
    }

    /// Every item of one of a tenant's partitions, in sort-key order (audit, diagnostics and the
    /// tests: with [`Partition::ALL`] this reads all of a tenant's data without a Scan).
    pub async fn partition_items(
        &self,
        tenant: &TenantId,
        partition: Partition,
    ) -> Result<Vec<Item>, StoreError> {
        self.items_with_prefix(tenant, partition, "").await
    }

    /// The items of one of a tenant's partitions whose sort key begins with `prefix` (all of
    /// them for `""`), in sort-key order, strongly consistent, every page.
    async fn items_with_prefix(
        &self,
        tenant: &TenantId,
        partition: Partition,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", AttributeValue::S(partition.pk(tenant)))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            query = if prefix.is_empty() {
                query.key_condition_expression("#pk = :pk")
            } else {
                query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            };
            let page = query.send().await.map_err(|e| sdk_error("Query", e))?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    pub(crate) async fn get_item(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }

    /// Write `item` whole, unconditionally (small records of the store's own: seats, bookmarks).
    pub(crate) async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    /// Send a user transaction, its cancellation read through its roles.
    async fn transact(&self, tx: tx::Tx) -> Result<(), StoreError> {
        match self.send_tx(&tx.items).await {
            Ok(()) => Ok(()),
            Err(Rejected::Failed(e)) => Err(e),
            Err(Rejected::Cancelled(reasons)) => match cancellation(&tx.roles, &reasons) {
                TxFailure::Failed(e) => Err(e),
                // send_tx already retried conflicts.
                TxFailure::Conflict => Err(StoreError::Unavailable(format!(
                    "transaction conflicted {CONFLICT_ATTEMPTS} times"
                ))),
            },
        }
    }

    /// Send a transaction; on a bare `TransactionConflict`, send it again after a short random
    /// pause ([`pause`]), at most [`CONFLICT_ATTEMPTS`] sends in all. Each send has a fresh
    /// `ClientRequestToken`: the SDK's own retries of one send reuse it (so a retried commit is
    /// not applied twice), while a send after a cancellation is a new transaction. A cancellation by a failed condition is returned with its reasons, for the
    /// caller to read through its roles.
    pub(crate) async fn send_tx(&self, items: &[TransactWriteItem]) -> Result<(), Rejected> {
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.to_vec()))
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .send()
                .await;
            let reasons = match sent {
                Ok(_) => return Ok(()),
                Err(e) => cancellation_reasons(e).map_err(Rejected::Failed)?,
            };
            match classify(&reasons) {
                // No pause after the last send: the caller gets its 503 at once.
                Cancelled::Conflict if attempt < CONFLICT_ATTEMPTS => pause(attempt).await,
                Cancelled::Conflict => {}
                Cancelled::Failed(e) => return Err(Rejected::Failed(e)),
                Cancelled::Conditions(_) => return Err(Rejected::Cancelled(reasons)),
            }
        }
        Err(Rejected::Failed(StoreError::Unavailable(format!(
            "transaction conflicted {CONFLICT_ATTEMPTS} times"
        ))))
    }

    /// The user a guard points to, if it still has the guarded value (`matches`): between the two
    /// reads the user may have been renamed or deleted, and then the guard is read again.
    async fn follow_guard(
        &self,
        tenant: &TenantId,
        guard: Key,
        matches: impl Fn(&Resource) -> bool,
    ) -> Result<Option<Resource>, StoreError> {
        for _ in 0..2 {
            let Some(g) = self.get_item(&guard).await? else {
                return Ok(None);
            };
            let owner = user_item::guard_owner(&g)?;
            match self.get_user(tenant, owner).await? {
                Some(user) if matches(&user) => return Ok(Some(user)),
                _ => continue,
            }
        }
        Ok(None)
    }

    /// A count (`users`, `groups`): the sum of the tenant's counter shards, read by one strongly
    /// consistent Query (`begins_with(sk, "COUNTS")`), so it is exact as of the read, like the
    /// single item it replaces. 256 shards of about 40 bytes fit one Query page (3 read units).
    async fn count(&self, tenant: &TenantId, attr: &'static str) -> Result<usize, StoreError> {
        let shards = self
            .items_with_prefix(tenant, Partition::Meta, keys::COUNTER_SK_PREFIX)
            .await?;
        let mut total: i64 = 0;
        for shard in &shards {
            total = total.saturating_add(item::counter_value(Some(shard), attr)?);
        }
        Ok(usize::try_from(total).unwrap_or(0))
    }

    fn partition_query(
        &self,
        tenant: &TenantId,
        partition: Partition,
        start: Option<Item>,
        limit: usize,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(partition.pk(tenant)))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
    }

    /// One page of the resources of `partition` (users or groups). Asks for one more than the
    /// page so that the last page is known to be the last (no cursor) without another round
    /// trip.
    async fn resource_page(
        &self,
        tenant: &TenantId,
        partition: Partition,
        after: Option<&str>,
        page: &PageRequest,
        parse: fn(Item) -> Result<Resource, StoreError>,
    ) -> Result<(Vec<Resource>, Option<String>), StoreError> {
        if page.count == 0 {
            return Ok((Vec::new(), None));
        }
        let Some(start) = self
            .page_start(tenant, partition, after, page.start_index, page.count)
            .await?
        else {
            return Ok((Vec::new(), None));
        };
        let out = self
            .partition_query(tenant, partition, start, page.count.saturating_add(1))
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let mut items = out.items.unwrap_or_default();
        // A 1 MB response can end before `count`: then DynamoDB's LastEvaluatedKey says more may
        // follow, and the page is shorter (RFC 7644 §3.4.2.4 allows fewer than `count`).
        let more =
            items.len() > page.count || out.last_evaluated_key.is_some_and(|k| !k.is_empty());
        items.truncate(page.count);
        let resources = items
            .into_iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let Some(last) = resources.last().filter(|_| more) else {
            return Ok((resources, None));
        };
        if after.is_none() && bookmarks::leaves_bookmark(page.start_index) {
            let next_index = page.start_index.saturating_add(resources.len());
            self.put_bookmark(tenant, partition, next_index, &last.id)
                .await?;
        }
        let next = cursor::encode(tenant, &last.id);
        Ok((resources, Some(next)))
    }

    /// A list page of `partition` with the count `counted` from the counter shards: the page's
    /// Query and the shards' Query are sent concurrently.
    async fn list_page(
        &self,
        tenant: &TenantId,
        partition: Partition,
        counted: &'static str,
        page: &PageRequest,
        parse: fn(Item) -> Result<Resource, StoreError>,
    ) -> Result<Page, StoreError> {
        // A bad cursor is refused before any call.
        let after = match &page.cursor {
            Some(c) => Some(cursor::decode(tenant, c)?),
            None => None,
        };
        let (resources, total) = tokio::join!(
            self.resource_page(tenant, partition, after.as_deref(), page, parse),
            self.count(tenant, counted)
        );
        let (items, next_cursor) = resources?;
        Ok(Page {
            items,
            total_results: total?,
            next_cursor,
        })
    }
}

/// The pause before sending a conflicted transaction again (after `attempt` sends): up to 20,
/// 40, 80 ms (full jitter, [`retry::backoff`]).
async fn pause(attempt: u32) {
    retry::backoff(attempt, PAUSE_BASE, PAUSE_CAP).await;
}

/// The backoff of [`pause`] (also what `counter_model` simulates).
const PAUSE_BASE: Duration = Duration::from_millis(10);
const PAUSE_CAP: Duration = Duration::from_millis(100);

pub(crate) fn epoch_seconds_after(d: Duration) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from((now + d).as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

    #[test]
    fn audit_retention_is_the_default_unless_configured() {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        let store = DynamoStore::new(Client::from_conf(conf), "tbl");
        assert_eq!(store.audit_retention_days(), audit::DEFAULT_RETENTION_DAYS);
        let store = store.with_audit_retention_days(30);
        assert_eq!(store.audit_retention_days(), 30);
        assert_eq!(store.clone().audit_retention_days(), 30);
    }
}
