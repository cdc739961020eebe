//! Placeholder for the merge of `groups`: the DynamoDB store does not hold groups yet. Reads find
//! no group (so user answers render `groups: []` exactly as before groups existed) and every group
//! write is refused. Replaced by the real implementation in the commits that follow the merge.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;

use super::DynamoStore;
use crate::scim::members::{GroupRef, Member, MemberKind};
use crate::scim::resource::Resource;
use crate::store::{Deletion, GroupStore, GroupUpdate, MemberPage, Page, PageRequest, StoreError};
use crate::tenant::TenantId;

fn unsupported() -> StoreError {
    StoreError::Internal("the DynamoDB store does not hold groups yet".into())
}

#[async_trait]
impl GroupStore for DynamoStore {
    async fn create_group(
        &self,
        _tenant: &TenantId,
        _group: &Resource,
        _members: &[Member],
    ) -> Result<u64, StoreError> {
        Err(unsupported())
    }

    async fn get_group(
        &self,
        _tenant: &TenantId,
        _id: &str,
    ) -> Result<Option<Resource>, StoreError> {
        Ok(None)
    }

    async fn find_groups_by_display_name(
        &self,
        _tenant: &TenantId,
        _display_name: &str,
        _limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        Ok(Vec::new())
    }

    async fn update_group(
        &self,
        _tenant: &TenantId,
        _update: &GroupUpdate<'_>,
    ) -> Result<u64, StoreError> {
        Err(StoreError::NotFound)
    }

    async fn delete_group(
        &self,
        _tenant: &TenantId,
        _current: &Resource,
        _deletion: &Deletion,
    ) -> Result<(), StoreError> {
        Err(StoreError::NotFound)
    }

    async fn list_groups(
        &self,
        _tenant: &TenantId,
        _page: &PageRequest,
    ) -> Result<Page, StoreError> {
        Ok(Page {
            items: Vec::new(),
            total_results: 0,
            next_cursor: None,
        })
    }

    async fn list_members(
        &self,
        _tenant: &TenantId,
        _group_id: &str,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<MemberPage, StoreError> {
        Ok(MemberPage {
            members: Vec::new(),
            next_cursor: None,
        })
    }

    async fn members_among(
        &self,
        _tenant: &TenantId,
        _group_id: &str,
        _ids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        Ok(HashSet::new())
    }

    async fn groups_of(
        &self,
        _tenant: &TenantId,
        _member_id: &str,
    ) -> Result<Vec<GroupRef>, StoreError> {
        Ok(Vec::new())
    }

    async fn resolve_members(
        &self,
        _tenant: &TenantId,
        _ids: &[String],
    ) -> Result<HashMap<String, MemberKind>, StoreError> {
        Ok(HashMap::new())
    }
}
