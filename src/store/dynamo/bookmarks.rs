//! Where a `startIndex` page starts (RFC 7644 §3.4.2.4 index paging, no cursor).
//!
//! A DynamoDB Query can only start after a key, never at an offset, and it is charged for the
//! items it reads whatever the projection: skipping `startIndex - 1` resources reads them all
//! (10,000 users of ~580 bytes: 5.8 MB, ~1,400 strongly consistent read units). Paging a whole
//! tenant by index, as Entra ID's Account Discovery and Okta's import do, would then be
//! quadratic. So a page that was reached by index and has more after it leaves a *bookmark*: a
//! small item (`BOOKMARK` partition, sk `<USER|GROUP>#<next index>`) naming the last resource it
//! showed, kept [`BOOKMARK_TTL`]. The next page, at that index, reads the bookmark (one GetItem,
//! concurrent with the counter shards' Query) and starts its one Query after that resource.
//!
//! - **Pages that do not look a bookmark up**: `startIndex=1` (nothing to skip) and any page whose
//!   skip is no longer than the page itself (`startIndex - 1 <= count`, e.g. the second page of
//!   a client paging by `count`). That skip costs at most what the page costs, and it keeps a
//!   stale bookmark from an earlier walk out of a walk's second page: page 1 writes none (most
//!   first pages are not index walks: plain lists, `cursor=` first pages, the service's filter
//!   scans), so the second page's bookmark would otherwise come from someone else's walk.
//!   From the second page on, each page of a walk finds the bookmark its previous page wrote.
//! - **Consistency**: index paging promises none across pages ("Because pagination is not
//!   stateful, clients MUST be prepared to handle inconsistent results", RFC 7644 §3.4.2.4). A
//!   bookmark gives a walk more than an offset does: each page starts right after the last
//!   resource the previous page showed, so among resources that existed throughout the walk
//!   nobody is skipped or shown twice, whatever was created or deleted meanwhile (an offset
//!   skips one resource per delete before it, repeats one per create). Two clients walking the
//!   same tenant at once share bookmarks; without concurrent writes theirs are the same.
//! - **Isolation**: a bookmark's key is built from the caller's tenant, like every key, and the
//!   id it holds is only ever used under the caller's tenant's partition: a bookmark can move a
//!   start within the caller's own data, never into another tenant's. Its id is checked like a
//!   cursor's ([`cursor::plausible_id`]); a bookmark that fails the check, or is past its TTL
//!   but not yet removed by DynamoDB (TTL deletion lags by up to days), is not used.
//! - **Purge**: the partition is in [`Partition::ALL`], so a tenant purge removes it.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::sdk_error;
use super::item::Item;
use super::keys::{self, Key, Partition, SK, TTL};
use super::{epoch_seconds_after, DynamoStore};
use crate::store::{cursor, StoreError};
use crate::tenant::TenantId;

/// How long a bookmark is used after the page that wrote it. A walk reads its next page within
/// seconds; a short life bounds how stale a bookmark found by someone else can be.
pub const BOOKMARK_TTL: Duration = Duration::from_secs(15 * 60);

/// The bookmark item's attribute naming the last resource (its sort key) of the page before.
const AFTER: &str = "after";

/// Does a page at `start_index` of `count` look up a bookmark? Only when skipping would read
/// more than the page (see the module documentation).
pub(super) fn uses_bookmark(start_index: usize, count: usize) -> bool {
    start_index.saturating_sub(1) > count
}

/// Does a page at `start_index` leave a bookmark for the next one (when more follow)? Every
/// index page but the first (see the module documentation).
pub(super) fn leaves_bookmark(start_index: usize) -> bool {
    start_index > 1
}

impl DynamoStore {
    /// Where a page of `partition` starts: after the resource `after` (from a cursor), or at
    /// `start_index` (1-based) through a bookmark or by skipping. `Ok(None)`: there are fewer
    /// than `start_index - 1` resources, the page is empty.
    pub(super) async fn page_start(
        &self,
        tenant: &TenantId,
        partition: Partition,
        after: Option<&str>,
        start_index: usize,
        count: usize,
    ) -> Result<Option<Option<Item>>, StoreError> {
        if let Some(last_id) = after {
            return Ok(Some(Some(start_after(tenant, partition, last_id))));
        }
        if uses_bookmark(start_index, count) {
            if let Some(last_id) = self.bookmark(tenant, partition, start_index).await? {
                return Ok(Some(Some(start_after(tenant, partition, &last_id))));
            }
        }
        self.skip(tenant, partition, start_index.saturating_sub(1))
            .await
    }

    /// The start after the first `to_skip` resources, read past with keys-only Queries (they
    /// are charged for the whole items all the same: this is the O(startIndex) fallback).
    async fn skip(
        &self,
        tenant: &TenantId,
        partition: Partition,
        mut to_skip: usize,
    ) -> Result<Option<Option<Item>>, StoreError> {
        let mut start: Option<Item> = None;
        while to_skip > 0 {
            let out = self
                .partition_query(tenant, partition, start.take(), to_skip)
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#sk", SK)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            to_skip = to_skip.saturating_sub(out.items.as_ref().map_or(0, Vec::len));
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(None),
            }
        }
        Ok(Some(start))
    }

    /// The id after which the page at `start_index` of `partition` starts, if a page that ended
    /// just before it was served within [`BOOKMARK_TTL`]. One strongly consistent GetItem.
    async fn bookmark(
        &self,
        tenant: &TenantId,
        partition: Partition,
        start_index: usize,
    ) -> Result<Option<String>, StoreError> {
        let key = keys::bookmark(tenant, partition, start_index);
        Ok(self
            .get_item(&key)
            .await?
            .and_then(|item| bookmarked_id(&item, epoch_seconds_after(Duration::ZERO))))
    }

    /// Remember that the page at `start_index` of `partition` starts after `last_id`. One
    /// PutItem, awaited (a Lambda is frozen once it has answered).
    pub(super) async fn put_bookmark(
        &self,
        tenant: &TenantId,
        partition: Partition,
        start_index: usize,
        last_id: &str,
    ) -> Result<(), StoreError> {
        let key = keys::bookmark(tenant, partition, start_index);
        let mut item = key.to_attrs();
        item.insert(AFTER.to_owned(), AttributeValue::S(last_id.to_owned()));
        item.insert(
            TTL.to_owned(),
            AttributeValue::N(epoch_seconds_after(BOOKMARK_TTL).to_string()),
        );
        item.insert("type".to_owned(), AttributeValue::S("Bookmark".to_owned()));
        self.put_item(item).await
    }
}

/// The `ExclusiveStartKey` after resource `last_id` of `partition`, always in the caller's
/// tenant: a cursor or a bookmark only ever contributes an id.
fn start_after(tenant: &TenantId, partition: Partition, last_id: &str) -> Item {
    Key {
        pk: partition.pk(tenant),
        sk: last_id.to_owned(),
    }
    .to_attrs()
}

/// The id a bookmark item names, if it is still alive at `now` (epoch seconds) and the id is
/// one a cursor could name. Anything else is treated as no bookmark (the page skips instead).
fn bookmarked_id(item: &Item, now: i64) -> Option<String> {
    let alive = item
        .get(TTL)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|ttl| ttl > now);
    let id = item.get(AFTER).and_then(|v| v.as_s().ok())?;
    (alive && cursor::plausible_id(id)).then(|| id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(after: Option<AttributeValue>, ttl: Option<AttributeValue>) -> Item {
        let mut item =
            keys::bookmark(&TenantId::parse("acme").unwrap(), Partition::Users, 7).to_attrs();
        if let Some(a) = after {
            item.insert(AFTER.to_owned(), a);
        }
        if let Some(t) = ttl {
            item.insert(TTL.to_owned(), t);
        }
        item
    }

    fn s(v: &str) -> Option<AttributeValue> {
        Some(AttributeValue::S(v.to_owned()))
    }

    fn n(v: &str) -> Option<AttributeValue> {
        Some(AttributeValue::N(v.to_owned()))
    }

    #[test]
    fn a_live_bookmark_names_its_id() {
        assert_eq!(
            bookmarked_id(&item(s("u-42"), n("1000")), 999),
            Some("u-42".to_owned())
        );
    }

    #[test]
    fn expired_or_malformed_bookmarks_are_not_used() {
        let cases = [
            item(s("u-42"), n("1000")),    // expired at `now` = 1000
            item(s("u-42"), None),         // no TTL
            item(s("u-42"), n("soon")),    // TTL not a number
            item(s("u-42"), s("2000")),    // TTL not of type N
            item(None, n("2000")),         // no id
            item(n("42"), n("2000")),      // id not a string
            item(s(""), n("2000")),        // empty id
            item(s("a\u{0}b"), n("2000")), // control character
            item(s(&"x".repeat(cursor::MAX_ID_BYTES + 1)), n("2000")), // too long for a key
        ];
        for (i, c) in cases.iter().enumerate() {
            let now = if i == 0 { 1000 } else { 1500 };
            assert_eq!(bookmarked_id(c, now), None, "case {i}: {c:?}");
        }
    }

    #[test]
    fn only_skips_longer_than_the_page_look_a_bookmark_up() {
        assert!(!uses_bookmark(1, 100));
        assert!(!uses_bookmark(101, 100), "the second page skips one page");
        assert!(uses_bookmark(102, 100));
        assert!(uses_bookmark(201, 100));
        assert!(uses_bookmark(3, 1));
        assert!(!uses_bookmark(usize::MAX, usize::MAX));
        assert!(!leaves_bookmark(1));
        assert!(leaves_bookmark(2));
    }

    #[test]
    fn bookmarks_of_users_and_groups_and_tenants_differ() {
        let acme = TenantId::parse("acme").unwrap();
        let other = TenantId::parse("other").unwrap();
        let u = keys::bookmark(&acme, Partition::Users, 201);
        assert_eq!(u.pk, "T#acme#BOOKMARK");
        assert_eq!(u.sk, "USER#201");
        assert_ne!(u, keys::bookmark(&acme, Partition::Groups, 201));
        assert_ne!(u, keys::bookmark(&other, Partition::Users, 201));
        assert_ne!(u, keys::bookmark(&acme, Partition::Users, 202));
    }
}
