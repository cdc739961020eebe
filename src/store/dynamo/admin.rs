//! The DynamoDB adapter of [`AdminStore`], in the tenant's `ADMIN` partition (and its `AUDIT`
//! partition for the trail). Every item here carries a TTL, so nothing accumulates:
//! - `LINKREV#<link id>`: a revoked setup link, kept until the link's own expiry;
//! - `HEALTH#<idp>#<hour>`: one bucket per IdP and hour, kept two days. Flushes from several
//!   function instances `ADD` into the same bucket, so counts are never lost to a race.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::sdk_error;
use super::item::{self, audit_from_item, corrupt, Item};
use super::keys::{Partition, PK, SK, TTL};
use super::DynamoStore;
use crate::audit::{self, AuditRecord};
use crate::store::admin::{AdminStore, HealthBucket, LastError};
use crate::store::StoreError;
use crate::tenant::TenantId;

const LINK_REVOKED: &str = "LINKREV#";
const HEALTH: &str = "HEALTH#";
/// Health buckets outlive the 24-hour window by a day, for clock skew between instances.
const HEALTH_KEEP_SECS: i64 = 2 * 86_400;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        None => Ok(0),
        Some(v) => v
            .as_n()
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt("health", format!("{name} is not a number"))),
    }
}

fn bucket_from_item(item: &Item) -> Result<HealthBucket, StoreError> {
    let last_error = match item.get("last_error_at") {
        None => None,
        Some(_) => Some(LastError {
            at: get_s(item, "last_error_at"),
            status: u16::try_from(get_n(item, "last_error_status")?).unwrap_or(0),
            scim_type: get_s(item, "last_error_type"),
            detail: get_s(item, "last_error_detail"),
        }),
    };
    Ok(HealthBucket {
        idp: get_s(item, "idp"),
        hour: get_n(item, "hour")?,
        requests: get_n(item, "requests")?.max(0) as u64,
        errors: get_n(item, "errors")?.max(0) as u64,
        last_at: get_s(item, "last_at"),
        last_token: get_s(item, "last_token"),
        last_error,
    })
}

#[async_trait]
impl AdminStore for DynamoStore {
    async fn record_admin_action(
        &self,
        tenant: &TenantId,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        let expires = audit::expiry_epoch_seconds(self.audit_retention_days);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::audit_item(tenant, record, expires)?))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    /// One Query of the audit partition backwards (sort keys begin with the record's time).
    async fn recent_audit(
        &self,
        tenant: &TenantId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let want = limit.saturating_sub(out.len()).clamp(1, 1000);
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(Partition::Audit.pk(tenant)))
                .scan_index_forward(false)
                .limit(i32::try_from(want).unwrap_or(1000))
                .set_exclusive_start_key(start);
            q = match before {
                Some(b) => q
                    .key_condition_expression("#pk = :pk AND #sk < :b")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":b", s(b)),
                None => q.key_condition_expression("#pk = :pk"),
            };
            let page = q.send().await.map_err(|e| sdk_error("Query", e))?;
            for item in page.items.unwrap_or_default() {
                out.push(audit_from_item(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() && out.len() < limit => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn revoke_link(
        &self,
        tenant: &TenantId,
        link_id: &str,
        until: i64,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(Partition::Admin.pk(tenant)))
            .item(SK, s(format!("{LINK_REVOKED}{link_id}")))
            .item("type", s("LinkRevocation"))
            .item(TTL, n(until))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn link_revoked(&self, tenant: &TenantId, link_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(Partition::Admin.pk(tenant)))
            .key(SK, s(format!("{LINK_REVOKED}{link_id}")))
            .consistent_read(true)
            .projection_expression("#sk")
            .expression_attribute_names("#sk", SK)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item.is_some())
    }

    async fn add_health(&self, tenant: &TenantId, bucket: &HealthBucket) -> Result<(), StoreError> {
        let mut set = vec![
            "idp = :idp",
            "#hour = :hour",
            "last_at = :last_at",
            "last_token = :tok",
            "#ttl = :ttl",
            "#type = :type",
        ];
        let mut u = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(Partition::Admin.pk(tenant)))
            .key(SK, s(format!("{HEALTH}{}#{}", bucket.idp, bucket.hour)))
            .expression_attribute_names("#hour", "hour")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":idp", s(&bucket.idp))
            .expression_attribute_values(":hour", n(bucket.hour))
            .expression_attribute_values(":last_at", s(&bucket.last_at))
            .expression_attribute_values(":tok", s(&bucket.last_token))
            .expression_attribute_values(":ttl", n(bucket.hour * 3600 + HEALTH_KEEP_SECS))
            .expression_attribute_values(":type", s("Health"))
            .expression_attribute_values(":r", n(bucket.requests))
            .expression_attribute_values(":e", n(bucket.errors));
        if let Some(e) = &bucket.last_error {
            set.extend([
                "last_error_at = :ea",
                "last_error_status = :es",
                "last_error_type = :et",
                "last_error_detail = :ed",
            ]);
            u = u
                .expression_attribute_values(":ea", s(&e.at))
                .expression_attribute_values(":es", n(e.status))
                .expression_attribute_values(":et", s(&e.scim_type))
                .expression_attribute_values(":ed", s(&e.detail));
        }
        u.update_expression(format!("SET {} ADD requests :r, errors :e", set.join(", ")))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }

    /// One Query of the tenant's `ADMIN` partition: a few health items per IdP seen in the last
    /// two days, and the revocations of links still alive.
    async fn health(
        &self,
        tenant: &TenantId,
        since_hour: i64,
    ) -> Result<Vec<HealthBucket>, StoreError> {
        let mut out = Vec::new();
        for item in self.partition_items(tenant, Partition::Admin).await? {
            if !get_s(&item, SK).starts_with(HEALTH) {
                continue;
            }
            let b = bucket_from_item(&item)?;
            if b.hour >= since_hour {
                out.push(b);
            }
        }
        Ok(out)
    }
}
