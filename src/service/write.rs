//! The conditional-write loop every change goes through: read, check `If-Match`, compute, write
//! on condition of the version read; a lost race is retried from a fresh read (no update is ever
//! lost), or answered 412 when the client sent `If-Match` (RFC 7644 §3.14).

use std::time::Duration;

use super::{not_found, Caller, ScimService};
use crate::audit::{changed_attributes, Action};
use crate::error::ScimError;
use crate::retry;
use crate::scim::resource::{ETagCondition, Resource};
use crate::scim::schema::ResourceKind;
use crate::store::{StoreError, UserWrite};

/// How often a read-modify-write without `If-Match` is retried after losing a race.
pub(super) const MAX_WRITE_ATTEMPTS: u32 = 25;

pub(super) fn check_if_match(
    if_match: Option<&ETagCondition>,
    current: &Resource,
) -> Result<(), ScimError> {
    match if_match {
        Some(c) if !c.matches(current.version) => Err(ScimError::precondition_failed()),
        _ => Ok(()),
    }
}

/// A short random pause after a lost race, so that competing writers spread out: up to 1, 2, 4,
/// 8, then 16 ms ([`retry::backoff`]).
pub(super) async fn backoff(attempt: u32) {
    retry::backoff(attempt, Duration::from_millis(1), Duration::from_millis(16)).await;
}

/// The outcome of one conditional write in a read-modify-write loop: `Some(value)` when it stuck,
/// `None` when a lost race should be retried from a fresh read (only without `If-Match`; with it
/// the answer is 412), or the error to answer with.
pub(super) fn settle<T>(
    written: Result<T, StoreError>,
    if_match: Option<&ETagCondition>,
    kind: ResourceKind,
    id: &str,
) -> Result<Option<T>, ScimError> {
    match written {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::VersionConflict) if if_match.is_none() => Ok(None),
        Err(StoreError::NotFound) => Err(not_found(kind, id)),
        Err(e) => Err(e.into()),
    }
}

/// The answer after [`MAX_WRITE_ATTEMPTS`] lost races: retry later.
pub(super) fn gave_up(id: &str) -> ScimError {
    tracing::warn!(resource_id = %id, "gave up after repeated write conflicts");
    ScimError::unavailable(1)
}

impl ScimService {
    /// DELETE of a user or a group (RFC 7644 §3.6): gone for SCIM afterwards (404), its
    /// memberships with it, a deletion record and an audit record kept.
    pub async fn delete(
        &self,
        caller: &Caller,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&ETagCondition>,
    ) -> Result<(), ScimError> {
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            // A user is read with its groups: the store can then remove its memberships in the
            // delete's own write.
            let (current, groups) = match kind {
                ResourceKind::User => {
                    let (user, groups) = self
                        .store
                        .get_user_with_groups(&caller.tenant, id)
                        .await?
                        .ok_or_else(|| not_found(kind, id))?;
                    (user, Some(groups))
                }
                ResourceKind::Group => (self.read_existing(kind, &caller.tenant, id).await?, None),
            };
            check_if_match(if_match, &current)?;
            if kind == ResourceKind::User {
                self.check_user_write(caller, Some(&current), None).await?;
            }
            let audit = caller
                .record(
                    kind,
                    id,
                    Action::Delete,
                    changed_attributes(Some(&current.attributes), None),
                )
                // One past the last version: a consumer drops any event of this resource that
                // arrives after its delete.
                .at_version(current.version.next());
            let tenant = &caller.tenant;
            let written = match kind {
                ResourceKind::User => {
                    self.write_user(
                        caller,
                        UserWrite::Delete(&current, groups.as_deref()),
                        &audit,
                    )
                    .await
                }
                ResourceKind::Group => {
                    // Roles from groups: its user members lose it (`roles.rs`).
                    let roles = self
                        .group_write_roles(tenant, id, Some(&current), None, (&[], &[]))
                        .await?;
                    let audit = audit.with_roles(roles);
                    self.store.delete_group(tenant, &current, &audit).await
                }
            };
            if settle(written, if_match, kind, id)?.is_some() {
                return Ok(());
            }
            backoff(attempt).await;
        }
        Err(gave_up(id))
    }
}
