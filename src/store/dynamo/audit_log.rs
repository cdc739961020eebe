//! The DynamoDB adapter of [`AuditLog`]: the tenant's audit partition, read oldest first.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::sdk_error;
use super::keys::{self, Partition, PK};
use super::{item, DynamoStore};
use crate::audit::AuditRecord;
use crate::store::audit::{selected, AuditLog, AuditQuery};
use crate::store::StoreError;
use crate::tenant::TenantId;

#[async_trait]
impl AuditLog for DynamoStore {
    /// One Query of the tenant's audit partition from `since` on (sk begins with the time), in
    /// pages, stopping at `limit`; the resource filter is applied to what is read.
    async fn audit_records(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", AttributeValue::S(Partition::Audit.pk(tenant)));
            // Sort keys begin with the record's time, so `since` is a key range.
            q = match &query.since {
                Some(since) => q
                    .key_condition_expression("#pk = :pk AND #sk >= :since")
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":since", AttributeValue::S(since.clone())),
                None => q.key_condition_expression("#pk = :pk"),
            };
            let page = q
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for item in page.items.unwrap_or_default() {
                let record = item::audit_from_item(item)?;
                if selected(&record, query) {
                    out.push(record);
                    if out.len() >= query.limit {
                        return Ok(out);
                    }
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}
