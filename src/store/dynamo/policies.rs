//! DynamoDB's side of the tenant policies (`store::policies`): refusal records, and the seats
//! item `T#<t>#META` / `SEATS` (`active`, `limit`), apart from the tenant's counter item so that
//! only tenants with a limit serialise their user writes on it.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::Role;
use super::keys::{Key, Partition};
use super::tx::{Condition, Tx, UpdateExpr};
use super::{user_tx, DynamoStore};
use crate::audit::AuditRecord;
use crate::store::admin::AdminStore;
use crate::store::policies::{PolicyStore, Seats, UserWrite};
use crate::store::StoreError;
use crate::tenant::TenantId;

const SEATS_SK: &str = "SEATS";
const ACTIVE: &str = "active";
const LIMIT: &str = "limit";

fn seats_key(tenant: &TenantId) -> Key {
    Key {
        pk: Partition::Meta.pk(tenant),
        sk: SEATS_SK.to_owned(),
    }
}

fn number(item: &super::item::Item, name: &str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Internal(format!("seats item: {name} is not a number")))
}

/// Add `delta` to the seats item: an increment only on condition of a free seat.
pub(super) fn count_seat(tx: &mut Tx, tenant: &TenantId, delta: i64) -> Result<(), StoreError> {
    let u = UpdateExpr {
        expression: "ADD #active :delta".to_owned(),
        names: vec![("#active", ACTIVE)],
        values: vec![(":delta", AttributeValue::N(delta.to_string()))],
    };
    let c = (delta > 0).then(Condition::seat_free);
    tx.update(Role::Seats, &seats_key(tenant), u, c, false)
}

#[async_trait]
impl PolicyStore for DynamoStore {
    /// One PutItem of an audit item, as for an admin action: the stream gives its event.
    async fn record_refusal(
        &self,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.record_admin_action(tenant, record).await
    }

    async fn get_seats(&self, tenant: &TenantId) -> Result<Option<Seats>, StoreError> {
        let Some(item) = self.get_item(&seats_key(tenant)).await? else {
            return Ok(None);
        };
        Ok(Some(Seats {
            active: number(&item, ACTIVE)?,
            limit: number(&item, LIMIT)?,
        }))
    }

    async fn put_seats(&self, tenant: &TenantId, seats: &Seats) -> Result<(), StoreError> {
        let mut item = seats_key(tenant).to_attrs();
        item.insert("type".into(), AttributeValue::S("Seats".into()));
        item.insert(ACTIVE.into(), AttributeValue::N(seats.active.to_string()));
        item.insert(LIMIT.into(), AttributeValue::N(seats.limit.to_string()));
        self.put_item(item).await
    }

    /// The plain user transaction (`user_tx`) plus one Update of the seats item.
    async fn write_user_seated(
        &self,
        tenant: &TenantId,
        write: UserWrite<'_>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let days = self.audit_retention_days;
        let delta = write.seat_delta();
        let mut tx = match write {
            UserWrite::Create(u) => user_tx::create(&self.table, tenant, u, audit, days)?,
            UserWrite::Update { current, next } => {
                user_tx::update(&self.table, tenant, current, next, audit, days)?
            }
            UserWrite::Delete(u, groups) => {
                return self
                    .delete_user_leaving(tenant, u, groups, delta, audit)
                    .await
            }
        };
        if delta != 0 {
            count_seat(&mut tx, tenant, delta)?;
        }
        self.transact(tx).await
    }
}
