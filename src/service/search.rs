//! `POST /.search` at the service root (RFC 7644 §3.4.3): one search over Users and Groups.
//!
//! The result is the users that match, then the groups that match, paged as one list: item
//! `startIndex` of the concatenation comes first, `totalResults` is the sum. `sortBy` orders
//! within each resource type (there is no order across types). Cursors are offsets into the
//! concatenation.

use super::groups::GroupList;
use super::paging::{next_offset_cursor, offset, ListQuery};
use super::users::UserList;
use super::ScimService;
use crate::error::ScimError;
use crate::scim::projection::Projection;
use crate::tenant::TenantId;

pub struct SearchResult {
    pub users: UserList,
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
        user_proj: &Projection,
        group_proj: &Projection,
    ) -> Result<SearchResult, ScimError> {
        let start = offset(tenant, q)?.saturating_add(1);
        let users_q = ListQuery {
            start_index: start,
            cursor: None,
            cursor_requested: false,
            ..q.clone()
        };
        let users = self.list_users(tenant, &users_q, user_proj).await?;
        // Groups continue where users end: overall item `start` is group `start - users`.
        let groups_q = ListQuery {
            start_index: start.saturating_sub(users.total_results).max(1),
            count: q.count.saturating_sub(users.items.len()),
            cursor: None,
            cursor_requested: false,
            ..q.clone()
        };
        let groups = self.list_groups(tenant, &groups_q, group_proj).await?;
        // Checked: `start` comes from the client (startIndex up to i64::MAX, or a cursor).
        let total_results = users.total_results.saturating_add(groups.total_results);
        let next = (start - 1)
            .saturating_add(users.items.len())
            .saturating_add(groups.items.len());
        Ok(SearchResult {
            next_cursor: next_offset_cursor(tenant, q, next, total_results),
            users,
            groups,
            total_results,
            start_index: start,
        })
    }
}
