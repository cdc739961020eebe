//! Non-unique look-up entries: a partition whose sort keys are `<digest of a value>#<id>`, read
//! with one Query per page of `begins_with(sk, <digest>)`. Group displayNames
//! (`DISPLAYNAME`) and user externalIds (`EXTERNALID`) are such indexes (see `keys.rs`).

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::sdk_error;
use super::item::Item;
use super::keys::{PK, SK};
use super::DynamoStore;
use crate::store::StoreError;

impl DynamoStore {
    /// The entries of partition `pk` whose sort key begins with `prefix`, at most `limit`, in
    /// sort-key order (so in id order for one value). Strongly consistent.
    pub(super) async fn index_entries(
        &self,
        pk: String,
        prefix: String,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut entries = Vec::new();
        let mut start = None;
        while entries.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.clone()))
                .consistent_read(true)
                .limit(i32::try_from(limit - entries.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            entries.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(entries)
    }
}
