//! `POST /.search` at the service root (RFC 7644 §3.4.3): one search over Users and Groups.
//!
//! The result is the users that match, then the groups that match, paged as one list: item
//! `startIndex` of the concatenation comes first, `totalResults` is the sum. `sortBy` orders
//! within each resource type (there is no order across types). Cursors are offsets into the
//! concatenation.

use super::groups::GroupList;
use super::users::{decode_offset_cursor, encode_offset_cursor, ListQuery};
use super::{ListResult, ScimService};
use crate::error::ScimError;
use crate::tenant::TenantId;

pub struct SearchResult {
    pub users: ListResult,
    pub groups: GroupList,
    pub total_results: usize,
    pub start_index: usize,
    pub next_cursor: Option<String>,
}

impl ScimService {
    pub async fn search_all(
        &self,
        tenant: &TenantId,
        q: &ListQuery,
        group_members: bool,
    ) -> Result<SearchResult, ScimError> {
        let start = match &q.cursor {
            Some(c) => decode_offset_cursor(tenant, c)? + 1,
            None => q.start_index,
        };
        let users_q = ListQuery {
            start_index: start,
            cursor: None,
            cursor_requested: false,
            ..q.clone()
        };
        let users = self.list_users(tenant, &users_q).await?;
        // Groups continue where users end: overall item `start` is group `start - users`.
        let groups_q = ListQuery {
            start_index: start.saturating_sub(users.total_results).max(1),
            count: q.count.saturating_sub(users.items.len()),
            cursor: None,
            cursor_requested: false,
            ..q.clone()
        };
        let groups = self.list_groups(tenant, &groups_q, group_members).await?;
        let total_results = users.total_results + groups.total_results;
        let next = start - 1 + users.items.len() + groups.items.len();
        let next_cursor =
            (q.count > 0 && next < total_results).then(|| encode_offset_cursor(tenant, next));
        Ok(SearchResult {
            users,
            groups,
            total_results,
            start_index: start,
            next_cursor,
        })
    }
}
