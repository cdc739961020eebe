//! The production token source: one Secrets Manager secret per tenant, named
//! `<prefix><tenant>` (e.g. `scim/tenants/acme`), whose string value is the tenant's
//! [`CredentialDocument`] (hashes and metadata, never a token).
//!
//! Why one secret per tenant: a read fetches exactly one small document, IAM can scope access by
//! name prefix, rotating one tenant never rewrites another's secret, and there is no shared
//! document to race on. The cost ($0.40 per secret per month) is discussed in ARCHITECTURE.md.
//! Reads go through `cache::CachedTokenSource`; this type does no caching itself.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use aws_sdk_secretsmanager::Client;

use super::credentials::{CredentialDocument, CredentialStore, CredentialStoreError};
use super::{Credential, SourceError, TokenSource};
use crate::tenant::TenantId;

/// Longest accepted prefix (a secret name is at most 512 characters; the tenant id adds 63).
const MAX_PREFIX_LEN: usize = 200;

/// Timeouts for the Secrets Manager client: a request must fail fast enough for a 503 with
/// `Retry-After` to reach the IdP well within the Lambda timeout, instead of the function
/// timing out into an opaque gateway error.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// A Secrets Manager client from the shared SDK configuration (region, credentials, and
/// `AWS_ENDPOINT_URL` for emulators), with [`timeouts`]. Build it once, at start.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let conf = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(timeouts())
        .build();
    Client::from_conf(conf)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the secret prefix must be 1 to {MAX_PREFIX_LEN} characters of A-Z a-z 0-9 / _ + = . @ -, not {0:?}")]
pub struct InvalidSecretPrefix(pub String);

/// Tenants' credential documents in Secrets Manager.
#[derive(Debug, Clone)]
pub struct SecretsManagerTokenSource {
    client: Client,
    prefix: String,
}

impl SecretsManagerTokenSource {
    /// `prefix` is prepended to the tenant id to name its secret (`scim/tenants/` gives
    /// `scim/tenants/acme`). It uses the alphabet Secrets Manager allows in names.
    pub fn new(client: Client, prefix: &str) -> Result<Self, InvalidSecretPrefix> {
        let ok = !prefix.is_empty()
            && prefix.len() <= MAX_PREFIX_LEN
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
        if !ok {
            return Err(InvalidSecretPrefix(prefix.to_owned()));
        }
        Ok(SecretsManagerTokenSource {
            client,
            prefix: prefix.to_owned(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn secret_name(&self, tenant: &TenantId) -> String {
        format!("{}{}", self.prefix, tenant)
    }

    /// Whether the secret is scheduled for deletion (Secrets Manager then refuses to read it
    /// with InvalidRequestException): such a tenant has no credentials.
    async fn is_deleted(&self, name: &str) -> bool {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(d) => d.deleted_date().is_some(),
            Err(_) => false,
        }
    }

    async fn create(
        &self,
        tenant: &TenantId,
        json: String,
    ) -> Result<(), SdkError<CreateSecretError>> {
        let tag = Tag::builder()
            .key("scim:tenant")
            .value(tenant.as_str())
            .build();
        self.client
            .create_secret()
            .name(self.secret_name(tenant))
            .description(format!(
                "SCIM bearer-token hashes of tenant {tenant} (written by scimctl)"
            ))
            .secret_string(json)
            .tags(tag)
            .send()
            .await
            .map(|_| ())
    }

    async fn put(&self, name: &str, json: String) -> Result<(), SdkError<PutSecretValueError>> {
        self.client
            .put_secret_value()
            .secret_id(name)
            .secret_string(json)
            .send()
            .await
            .map(|_| ())
    }
}

fn unavailable(op: &str, name: &str, e: &dyn std::error::Error) -> CredentialStoreError {
    CredentialStoreError::Unavailable(format!(
        "Secrets Manager {op} {name}: {}",
        DisplayErrorContext(e)
    ))
}

#[async_trait]
impl CredentialStore for SecretsManagerTokenSource {
    async fn load(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<CredentialDocument>, CredentialStoreError> {
        let name = self.secret_name(tenant);
        let out = match self.client.get_secret_value().secret_id(&name).send().await {
            Ok(out) => out,
            Err(e) => {
                return match e.as_service_error() {
                    // No secret, or a secret without a current value: no credentials.
                    Some(GetSecretValueError::ResourceNotFoundException(_)) => Ok(None),
                    Some(GetSecretValueError::InvalidRequestException(_))
                        if self.is_deleted(&name).await =>
                    {
                        Ok(None)
                    }
                    _ => Err(unavailable("GetSecretValue", &name, &e)),
                };
            }
        };
        let json = out
            .secret_string()
            .ok_or_else(|| CredentialStoreError::Malformed {
                tenant: tenant.clone(),
                source: super::credentials::DocumentError::Syntax(
                    "the secret has no string value".into(),
                ),
            })?;
        CredentialDocument::parse(json).map(Some).map_err(|source| {
            CredentialStoreError::Malformed {
                tenant: tenant.clone(),
                source,
            }
        })
    }

    async fn save(
        &self,
        tenant: &TenantId,
        doc: &CredentialDocument,
    ) -> Result<(), CredentialStoreError> {
        let name = self.secret_name(tenant);
        let json = doc.to_json();
        let Err(e) = self.put(&name, json.clone()).await else {
            return Ok(());
        };
        if !matches!(
            e.as_service_error(),
            Some(PutSecretValueError::ResourceNotFoundException(_))
        ) {
            return Err(unavailable("PutSecretValue", &name, &e));
        }
        // First document of this tenant: create the secret.
        let Err(e) = self.create(tenant, json.clone()).await else {
            return Ok(());
        };
        if !matches!(
            e.as_service_error(),
            Some(CreateSecretError::ResourceExistsException(_))
        ) {
            return Err(unavailable("CreateSecret", &name, &e));
        }
        // Created by a concurrent writer since: write over it (last writer wins).
        self.put(&name, json)
            .await
            .map_err(|e| unavailable("PutSecretValue", &name, &e))
    }

    async fn tenants(&self) -> Result<Vec<TenantId>, CredentialStoreError> {
        let filter = Filter::builder()
            .key(FilterNameStringType::Name)
            .values(&self.prefix)
            .build();
        let mut pages = self
            .client
            .list_secrets()
            .filters(filter)
            .into_paginator()
            .send();
        let mut tenants = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("ListSecrets", &self.prefix, &e))?;
            for secret in page.secret_list() {
                // The service's name filter is a case-insensitive word match: check the exact prefix.
                let tenant = secret
                    .name()
                    .and_then(|n| n.strip_prefix(self.prefix.as_str()))
                    .map(TenantId::parse);
                match tenant {
                    Some(Ok(t)) => tenants.push(t),
                    _ => tracing::debug!(
                        name = secret.name().unwrap_or("-"),
                        "not a tenant secret, skipped"
                    ),
                }
            }
        }
        tenants.sort();
        tenants.dedup();
        Ok(tenants)
    }
}

#[async_trait]
impl TokenSource for SecretsManagerTokenSource {
    async fn credentials(&self, tenant: &TenantId) -> Result<Vec<Credential>, SourceError> {
        let doc = match self.load(tenant).await {
            Ok(doc) => doc,
            Err(e) => {
                // Unreadable or unreachable: the source cannot know, so 503 rather than 401.
                tracing::error!(tenant = %tenant, error = %e, "cannot read the tenant's token secret");
                return Err(SourceError::Unavailable(e.to_string()));
            }
        };
        match doc {
            None => Ok(Vec::new()),
            // `load` has already checked every hash.
            Some(doc) => doc
                .verification_credentials()
                .map_err(|e| SourceError::Unavailable(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline_client() -> Client {
        let conf = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .build();
        Client::from_conf(conf)
    }

    #[test]
    fn secret_names_are_prefix_and_tenant() {
        let src = SecretsManagerTokenSource::new(offline_client(), "scim/tenants/").unwrap();
        assert_eq!(
            src.secret_name(&TenantId::parse("acme").unwrap()),
            "scim/tenants/acme"
        );
    }

    #[test]
    fn prefixes_outside_the_secret_name_alphabet_are_refused() {
        let long = "a".repeat(MAX_PREFIX_LEN + 1);
        for bad in ["", "scim tenants/", "scim/tenants/*", "é/", long.as_str()] {
            assert!(
                SecretsManagerTokenSource::new(offline_client(), bad).is_err(),
                "{bad:?}"
            );
        }
    }
}
