//! The embedded token source: tenants' credentials in process memory, for the local server and
//! tests. Secrets Manager is the production source. It keeps the same [`CredentialDocument`] as
//! the Secrets Manager source, so generate / rotate / revoke / status behave identically.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::credentials::{
    CredentialDocument, CredentialStore, CredentialStoreError, StoredCredential,
};
use super::token::{self, PlainToken, TokenHash};
use super::{Credential, SourceError, TokenSource};
use crate::tenant::TenantId;

#[derive(Default)]
pub struct EmbeddedTokenSource {
    tenants: RwLock<HashMap<TenantId, CredentialDocument>>,
}

impl EmbeddedTokenSource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Generate a token for `tenant`, replacing any previous one (a new token invalidates the
    /// old). Returns the token text, to be shown once. (`credentials::generate` offers overlap
    /// and labels over the same store.)
    pub fn generate(
        &self,
        tenant: &TenantId,
        not_after: Option<i64>,
    ) -> Result<PlainToken, getrandom::Error> {
        let new = token::generate(tenant)?;
        self.set(tenant, stored(&new.hash, not_after));
        Ok(new.token)
    }

    /// Accept exactly this token for `tenant` (e.g. one given in `SCIM_LOCAL_TOKEN`), replacing
    /// previous ones. Returns false if the token is not well formed for that tenant.
    pub fn install(&self, tenant: &TenantId, token: &PlainToken) -> bool {
        let token_text = token.expose_secret();
        if token::claimed_tenant(token_text).as_ref() != Some(tenant) {
            return false;
        }
        self.set(tenant, stored(&TokenHash::of(token_text), None));
        true
    }

    pub fn revoke(&self, tenant: &TenantId) {
        self.tenants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tenant);
    }

    fn set(&self, tenant: &TenantId, credential: StoredCredential) {
        let doc = CredentialDocument {
            credentials: vec![credential],
            ..Default::default()
        };
        self.put(tenant, doc);
    }

    fn put(&self, tenant: &TenantId, doc: CredentialDocument) {
        self.tenants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.clone(), doc);
    }

    fn get(&self, tenant: &TenantId) -> Option<CredentialDocument> {
        self.tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .cloned()
    }
}

fn stored(hash: &TokenHash, not_after: Option<i64>) -> StoredCredential {
    let now = OffsetDateTime::now_utc();
    StoredCredential {
        hash: hash.to_hex(),
        id: token::token_id(hash),
        created: now.replace_nanosecond(0).unwrap_or(now),
        not_after,
        label: None,
    }
}

#[async_trait]
impl TokenSource for EmbeddedTokenSource {
    async fn credentials(&self, tenant: &TenantId) -> Result<Vec<Credential>, SourceError> {
        match self.get(tenant) {
            None => Ok(Vec::new()),
            // Documents here were written by this process and are always well formed.
            Some(doc) => doc
                .verification_credentials()
                .map_err(|e| SourceError::Unavailable(e.to_string())),
        }
    }
}

#[async_trait]
impl CredentialStore for EmbeddedTokenSource {
    async fn load(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<CredentialDocument>, CredentialStoreError> {
        Ok(self.get(tenant))
    }

    async fn save(
        &self,
        tenant: &TenantId,
        doc: &CredentialDocument,
    ) -> Result<(), CredentialStoreError> {
        self.put(tenant, doc.clone());
        Ok(())
    }

    async fn tenants(&self) -> Result<Vec<TenantId>, CredentialStoreError> {
        let mut all: Vec<TenantId> = self
            .tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        all.sort();
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn generating_again_replaces_the_previous_token() {
        let src = EmbeddedTokenSource::new();
        let t = TenantId::parse("acme").unwrap();
        let first = src.generate(&t, None).unwrap().expose_secret().to_owned();
        let second = src.generate(&t, None).unwrap().expose_secret().to_owned();
        let creds = src.credentials(&t).await.unwrap();
        assert_eq!(creds.len(), 1);
        assert!(creds[0].hash.ct_eq(&TokenHash::of(&second)));
        assert!(!creds[0].hash.ct_eq(&TokenHash::of(&first)));
        src.revoke(&t);
        assert!(src.credentials(&t).await.unwrap().is_empty());
    }

    #[test]
    fn install_rejects_tokens_of_another_tenant() {
        let src = EmbeddedTokenSource::new();
        let acme = TenantId::parse("acme").unwrap();
        let other = token::generate(&TenantId::parse("globex").unwrap())
            .unwrap()
            .token
            .expose_secret()
            .to_owned();
        assert!(!src.install(&acme, &PlainToken::from(other)));
        assert!(!src.install(&acme, &PlainToken::from("scim_acme_tooshort")));
    }
}
