//! The DynamoDB adapter of [`SettingsStore`]: one item, `pk = T#<tenant>#SETTINGS`,
//! `sk = CURRENT` ([`keys::settings`]), attributes `type` = `Settings`, `version` (N),
//! `settings` (S: the record as JSON, so a new field needs no table change) and `updated_at`.
//! A write is one PutItem conditional on the version read (absent for version 0).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::sdk_error;
use super::item::{Item, VERSION};
use super::keys::{self, PK};
use super::DynamoStore;
use crate::settings::{TenantSettings, VersionedSettings};
use crate::store::{SettingsStore, StoreError};
use crate::tenant::TenantId;

const TYPE: &str = "Settings";
const SETTINGS: &str = "settings";

fn from_item(item: &Item) -> Result<VersionedSettings, StoreError> {
    let bad = |what: &str| StoreError::Internal(format!("settings item: {what}"));
    let version = match item.get(VERSION) {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| bad("version is not a number"))?,
        _ => return Err(bad("no version")),
    };
    let settings = match item.get(SETTINGS) {
        Some(AttributeValue::S(s)) => TenantSettings::from_json(s).map_err(StoreError::Internal)?,
        _ => return Err(bad("no settings")),
    };
    Ok(VersionedSettings { settings, version })
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn get_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<VersionedSettings>, StoreError> {
        self.get_item(&keys::settings(tenant))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected_version: u64,
    ) -> Result<u64, StoreError> {
        let version = expected_version + 1;
        let mut item = keys::settings(tenant).to_attrs();
        item.insert("type".into(), AttributeValue::S(TYPE.into()));
        item.insert(VERSION.into(), AttributeValue::N(version.to_string()));
        item.insert(SETTINGS.into(), AttributeValue::S(settings.to_json()));
        item.insert(
            "updated_at".into(),
            AttributeValue::S(crate::scim::resource::now_rfc3339()),
        );
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        // No lost update (ARCHITECTURE.md, Invariants 3): the write holds only if nobody wrote
        // since this writer read.
        let put = if expected_version == 0 {
            put.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
        } else {
            put.condition_expression("#v = :v")
                .expression_attribute_names("#v", VERSION)
                .expression_attribute_values(":v", AttributeValue::N(expected_version.to_string()))
        };
        match put.send().await {
            Ok(_) => Ok(version),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::VersionConflict)
                }
                _ => Err(sdk_error("PutItem", e)),
            },
        }
    }
}
