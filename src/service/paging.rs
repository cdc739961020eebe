//! List queries and pages (RFC 7644 §3.4.2, RFC 9865 cursors), and paging a result computed in
//! memory (filtered or sorted) with offset cursors.

use base64::Engine;

use crate::error::ScimError;
use crate::scim::filter::Filter;
use crate::scim::resource::Resource;
use crate::scim::sort::SortSpec;
use crate::store::{cursor, Page, StoreError};

/// The longest cursor a list answer may carry (store cursors are the longer kind), for
/// transports that bound the size of an answer.
pub use crate::store::cursor::MAX_CURSOR_CHARS;
use crate::tenant::TenantId;

/// A parsed list request (RFC 7644 §3.4.2, RFC 9865).
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<SortSpec>,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    /// The cursor to continue from (RFC 9865); `None` on the first page.
    pub cursor: Option<String>,
    /// The client pages with cursors (it sent a `cursor` parameter, even empty).
    pub cursor_requested: bool,
}

/// A page of a list answer: users, groups, or either as the client will see them.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResult<T> {
    pub items: Vec<T>,
    pub total_results: usize,
    pub start_index: usize,
    pub next_cursor: Option<String>,
    /// How a cursor to any item of this page is made, should the page be cut short.
    resume: Resume,
}

/// The kind of cursor a page hands out (RFC 9865): a store cursor naming the last resource
/// shown, or an offset cursor into a result computed in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    AfterId,
    /// The offset of the page's first item.
    Offset(usize),
}

impl<T> ListResult<T> {
    /// The same page with each item turned into what the answer shows.
    pub(super) fn map<U>(self, f: impl FnMut(T) -> U) -> ListResult<U> {
        ListResult {
            items: self.items.into_iter().map(f).collect(),
            total_results: self.total_results,
            start_index: self.start_index,
            next_cursor: self.next_cursor,
            resume: self.resume,
        }
    }

    /// The same page with each item joined to what was read for it (`extras`, in item order;
    /// `None` past its end).
    pub(super) fn joined<E, U>(
        self,
        extras: Vec<E>,
        mut f: impl FnMut(T, Option<E>) -> U,
    ) -> ListResult<U> {
        let mut extras = extras.into_iter();
        self.map(|item| f(item, extras.next()))
    }

    /// Keep only the first `n` items, and make `next_cursor` continue right after them. For a
    /// page that would not fit a response limit (Lambda's 6 MB): RFC 7644 §3.4.2.4 lets a page
    /// hold fewer than `count`, and the client continues from `nextCursor` (RFC 9865) or from
    /// `startIndex + itemsPerPage`. `id` gives an item's resource id.
    pub fn keep_first(&mut self, tenant: &TenantId, n: usize, id: impl Fn(&T) -> &str) {
        if n >= self.items.len() {
            return;
        }
        self.items.truncate(n);
        self.next_cursor = match self.resume {
            Resume::AfterId => self
                .items
                .last()
                .map(|last| cursor::encode(tenant, id(last))),
            Resume::Offset(first) => first
                .checked_add(n)
                .map(|next| encode_offset_cursor(tenant, next)),
        };
    }
}

impl ListResult<Resource> {
    /// A store page as the answer to `q`.
    pub(super) fn from_page(page: Page, q: &ListQuery) -> Self {
        ListResult {
            items: page.items,
            total_results: page.total_results,
            start_index: q.start_index,
            next_cursor: page.next_cursor,
            resume: Resume::AfterId,
        }
    }
}

impl<T> ListResult<T> {
    /// A page of a result computed in memory whose first item is at `offset` and which used
    /// `consumed` positions of it (more than `items.len()` when some were skipped, such as
    /// members deleted meanwhile). Cut short by [`Self::keep_first`], it resumes at `offset` plus
    /// the items kept: a skipped position may be shown again, never one left out.
    pub(super) fn at_offset(
        tenant: &TenantId,
        q: &ListQuery,
        (items, consumed): (Vec<T>, usize),
        offset: usize,
        total_results: usize,
    ) -> Self {
        let next = offset.saturating_add(consumed);
        ListResult {
            items,
            total_results,
            start_index: offset.saturating_add(1),
            next_cursor: next_offset_cursor(tenant, q, next, total_results),
            resume: Resume::Offset(offset),
        }
    }
}

/// The largest offset an offset cursor may carry: far beyond any list a filter may produce
/// ([`super::MEMBER_SCAN_LIMIT`] is the largest), so that no arithmetic on it can overflow.
const MAX_OFFSET: usize = 1 << 32;

/// Where a page of an in-memory result starts: the cursor's offset, else `startIndex - 1`.
pub(super) fn offset(tenant: &TenantId, q: &ListQuery) -> Result<usize, ScimError> {
    match &q.cursor {
        Some(c) => decode_offset_cursor(tenant, c),
        None => Ok(q.start_index.saturating_sub(1)),
    }
}

/// Page a result set computed in memory (filtered or sorted). Its cursors are offsets, marked
/// with a `.` that store cursors (base64url) never contain, and bound to the tenant.
pub(super) fn page_in_memory<T>(
    tenant: &TenantId,
    all: Vec<T>,
    q: &ListQuery,
) -> Result<ListResult<T>, ScimError> {
    let offset = offset(tenant, q)?;
    let total_results = all.len();
    let items: Vec<T> = all.into_iter().skip(offset).take(q.count).collect();
    let consumed = items.len();
    Ok(ListResult::at_offset(
        tenant,
        q,
        (items, consumed),
        offset,
        total_results,
    ))
}

/// The cursor to the item at `next`, if the client asked for items and there are more.
pub(super) fn next_offset_cursor(
    tenant: &TenantId,
    q: &ListQuery,
    next: usize,
    total: usize,
) -> Option<String> {
    (q.count > 0 && next < total).then(|| encode_offset_cursor(tenant, next))
}

pub(super) fn encode_offset_cursor(tenant: &TenantId, offset: usize) -> String {
    format!(
        "o.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{tenant}\n{offset}"))
    )
}

/// The offset an offset cursor carries; refused unless it was issued to this tenant and is in
/// range.
pub(super) fn decode_offset_cursor(tenant: &TenantId, cursor: &str) -> Result<usize, ScimError> {
    let invalid = || ScimError::from(StoreError::InvalidCursor);
    let raw = cursor.strip_prefix("o.").ok_or_else(invalid)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match text.split_once('\n') {
        Some((t, n)) if t == tenant.as_str() => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_OFFSET)
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_cursors_are_bound_to_the_tenant_and_in_range() {
        let acme = TenantId::parse("acme").unwrap();
        let other = TenantId::parse("other").unwrap();
        let c = encode_offset_cursor(&acme, 120);
        assert_eq!(decode_offset_cursor(&acme, &c).unwrap(), 120);
        assert!(decode_offset_cursor(&other, &c).is_err());
        let huge = format!(
            "o.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("acme\n{}", u64::MAX))
        );
        let err = decode_offset_cursor(&acme, &huge).unwrap_err();
        assert_eq!(err.scim_type().map(|t| t.as_str()), Some("invalidCursor"));
    }
}
