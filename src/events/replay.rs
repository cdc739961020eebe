//! Republishing a tenant's audit trail as events (`scimctl events replay`): for a product that
//! lost events or is onboarding. The records are the same, so the events are the same, `jti`
//! included: a consumer that keeps the `jti`s it applied recognises a replayed event. Only what
//! the audit trail still holds (its TTL, `SCIM_AUDIT_RETENTION_DAYS`) can be replayed.

use super::set::{events_of, Event};
use crate::store::audit::{AuditLog, AuditQuery};
use crate::store::StoreError;
use crate::tenant::TenantId;

/// Most records one replay reads (about 1 KB each in memory).
pub const MAX_REPLAY_RECORDS: usize = 1_000_000;

/// The events of `tenant`'s changes at or after `since` and before `until` (RFC 3339, UTC), in
/// the order they were committed: by time, and by version within one resource.
pub async fn events_between(
    log: &dyn AuditLog,
    tenant: &TenantId,
    since: &str,
    until: Option<&str>,
    iss: &str,
) -> Result<Vec<Event>, StoreError> {
    let query = AuditQuery {
        since: Some(since.to_owned()),
        resource_id: None,
        limit: MAX_REPLAY_RECORDS,
    };
    let mut records = log.audit_records(tenant, &query).await?;
    records.retain(|r| until.is_none_or(|u| r.at.as_str() < u));
    // Sort keys order by time, then by a random suffix: two changes in one millisecond are put
    // back in version order.
    records.sort_by(|a, b| {
        (a.at.as_str(), &a.resource_id, a.version).cmp(&(b.at.as_str(), &b.resource_id, b.version))
    });
    Ok(records.iter().flat_map(|r| events_of(r, iss)).collect())
}
