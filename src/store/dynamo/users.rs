//! The DynamoDB adapter of [`UserStore`]: reads, look-ups through the userName guard and the
//! externalId and email entries (`index.rs`), and the user transactions of `user_tx.rs`.

use async_trait::async_trait;

use aws_sdk_dynamodb::types::CancellationReason;

use super::batch::Projection;
use super::errors::{cancellation, classify, Cancelled, Role, TxFailure};
use super::group_refs;
use super::group_tx::Leave;
use super::item::USERS;
use super::keys::{self, Key, Partition};
use super::policies::count_seat;
use super::Rejected;
use super::{
    cursor, epoch_seconds_after, user_item, user_tx, DynamoStore, DELETION_RECORD_RETENTION,
};
use crate::audit::AuditRecord;
use crate::scim::emails::indexed_emails;
use crate::scim::members::GroupRef;
use crate::scim::resource::{fold_user_name, Folded, Resource};
use crate::store::{GroupStore, Page, PageRequest, StoreError, UserStore};
use crate::tenant::TenantId;

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(
        &self,
        tenant: &TenantId,
        user: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let days = self.audit_retention_days;
        self.transact(user_tx::create(&self.table, tenant, user, audit, days)?)
            .await
    }

    async fn get_user(&self, tenant: &TenantId, id: &str) -> Result<Option<Resource>, StoreError> {
        if !cursor::plausible_id(id) {
            return Ok(None);
        }
        match self.get_item(&keys::user(tenant, id)).await? {
            Some(item) => user_item::user_from_item(item).map(Some),
            None => Ok(None),
        }
    }

    async fn find_user_by_user_name(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let folded = fold_user_name(user_name);
        let guard = keys::user_name_guard(tenant, user_name);
        self.follow_guard(tenant, guard, |u| fold_user_name(u.user_name()) == folded)
            .await
    }

    async fn find_users_by_external_id(
        &self,
        tenant: &TenantId,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let pk = Partition::ExternalIds.pk(tenant);
        let prefix = keys::external_id_prefix(external_id);
        self.users_listed(tenant, pk, prefix, limit, |u| {
            u.external_id() == Some(external_id)
        })
        .await
    }

    async fn find_users_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let folded = Folded::of(email);
        let pk = Partition::Emails.pk(tenant);
        let prefix = keys::email_prefix(&folded);
        self.users_listed(tenant, pk, prefix, limit, |u| {
            indexed_emails(&u.attributes).contains(&folded)
        })
        .await
    }

    async fn update_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        next: &Resource,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let days = self.audit_retention_days;
        self.transact(user_tx::update(
            &self.table,
            tenant,
            current,
            next,
            audit,
            days,
        )?)
        .await
    }

    async fn delete_user(
        &self,
        tenant: &TenantId,
        current: &Resource,
        groups: Option<&[GroupRef]>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.delete_user_leaving(tenant, current, groups, 0, audit)
            .await
    }

    async fn get_user_with_groups(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<(Resource, Vec<GroupRef>)>, StoreError> {
        if !cursor::plausible_id(id) {
            return Ok(None);
        }
        let Some(item) = self.get_item(&keys::user(tenant, id)).await? else {
            return Ok(None);
        };
        let inline = group_refs::inline_groups(&item);
        let user = user_item::user_from_item(item)?;
        let groups = match inline {
            Some(groups) => groups,
            // Written before references, or in too many groups: the member -> group items.
            None => self.groups_of(tenant, id).await?,
        };
        Ok(Some((user, groups)))
    }

    async fn list_users(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page, StoreError> {
        self.list_page(
            tenant,
            Partition::Users,
            USERS,
            page,
            user_item::user_from_item,
        )
        .await
    }
}

impl DynamoStore {
    /// The users that the look-up entries of `pk` under `prefix` name and that `holds` keeps, at
    /// most `limit`, in id order: one Query of the entries, then one BatchGetItem per 100 users
    /// (none when nothing matches). An entry read just before a change or a delete committed (or
    /// a guard from before externalId was non-unique, or an entry a backfill wrote back) may name
    /// a user that no longer has the value: the user, as read, decides.
    async fn users_listed(
        &self,
        tenant: &TenantId,
        pk: String,
        prefix: String,
        limit: usize,
        holds: impl Fn(&Resource) -> bool,
    ) -> Result<Vec<Resource>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let entries = self.index_entries(pk, prefix, limit).await?;
        let mut seen = std::collections::HashSet::new();
        let mut ids = Vec::with_capacity(entries.len());
        for entry in &entries {
            let id = user_item::guard_owner(entry)?;
            if cursor::plausible_id(id) && seen.insert(id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Key> = ids.iter().map(|id| keys::user(tenant, id)).collect();
        let mut found = self
            .batch_get(&keys, Projection::All)
            .await?
            .into_iter()
            .map(user_item::user_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        found.retain(|u| holds(u));
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.truncate(limit);
        Ok(found)
    }

    /// A user's delete (with `seats` added to the tenant's seats item when not 0). With the
    /// user's `groups` as read at `current.version`, its first [`user_tx::leaves_that_fit`]
    /// memberships go in the delete's own transaction (sent again without the items of a group
    /// deleted meanwhile) and the rest right after; without them, one Query finds them after.
    /// Any membership change of the user bumps its version (`group_refs.rs`), so the delete's
    /// condition also guarantees that `groups` is still the whole list.
    pub(super) async fn delete_user_leaving(
        &self,
        tenant: &TenantId,
        current: &Resource,
        groups: Option<&[GroupRef]>,
        seats: i64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let expires_at = epoch_seconds_after(DELETION_RECORD_RETENTION);
        let days = self.audit_retention_days;
        let all: Vec<Leave> = groups
            .unwrap_or_default()
            .iter()
            .map(|g| Leave::of(&g.id))
            .collect();
        let split = all.len().min(user_tx::leaves_that_fit(current));
        let (mut first, rest) = (all[..split].to_vec(), all[split..].to_vec());
        // Each refused round turns off at least one conditional leave item.
        let mut sent = false;
        for _ in 0..=2 * first.len() {
            let mut tx = user_tx::delete(
                &self.table,
                tenant,
                current,
                &first,
                audit,
                expires_at,
                days,
            )?;
            if seats != 0 {
                count_seat(&mut tx, tenant, seats)?;
            }
            let reasons = match self.send_tx(&tx.items).await {
                Ok(()) => {
                    sent = true;
                    break;
                }
                Err(Rejected::Failed(e)) => return Err(e),
                Err(Rejected::Cancelled(reasons)) => reasons,
            };
            if !leaves_only(&tx.roles, &reasons, &mut first) {
                return Err(match cancellation(&tx.roles, &reasons) {
                    TxFailure::Failed(e) => e,
                    TxFailure::Conflict => StoreError::Unavailable("transaction conflict".into()),
                });
            }
        }
        if !sent {
            return Err(StoreError::Unavailable(
                "a user delete kept failing the conditions of its groups".into(),
            ));
        }
        // The user is gone for SCIM; what did not fit follows. Adds check that the member
        // exists, so none can slip in after the delete.
        let left = match groups {
            Some(_) => {
                self.leave_groups(tenant, &current.id, rest, &audit.at)
                    .await
            }
            None => self.leave_all_groups(tenant, &current.id, &audit.at).await,
        };
        if let Err(e) = left {
            tracing::error!(user_id = %current.id, error = %e, "user deleted, membership clean-up unfinished; DynamoStore::resume_cascades finishes it");
        }
        Ok(())
    }
}

/// If only leave items failed (a membership removed or a group deleted since the read): turn
/// them off in `leaves` and say so (`true`: send again).
fn leaves_only(roles: &[Role], reasons: &[CancellationReason], leaves: &mut [Leave]) -> bool {
    let Cancelled::Conditions(failed) = classify(reasons) else {
        return false;
    };
    if !failed
        .iter()
        .all(|(i, _)| matches!(roles.get(*i), Some(Role::Leave(..))))
    {
        return false;
    }
    for (i, _) in failed {
        if let Some(Role::Leave(part, j)) = roles.get(i) {
            if let Some(l) = leaves.get_mut(*j) {
                l.refused(*part);
            }
        }
    }
    true
}
