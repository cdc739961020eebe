//! The stored form of a tenant's credentials and the admin operations on it (generate with
//! rotation, revoke, status), written once over any [`CredentialStore`] so that Secrets Manager
//! and the embedded source behave the same way.
//!
//! The stored document holds hashes and metadata, never a token:
//! `{"version":1,"credentials":[{"hash":"<hex sha256>","id":"<token_id>","created":"RFC3339",
//! "not_after":unix|null,"label":"..."|null}]}`, newest credential first.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::token::{self, TokenHash};
use super::Credential;
use crate::tenant::TenantId;

/// The document format version this code reads and writes.
pub const DOCUMENT_VERSION: u32 = 1;
/// Longest rotation overlap: long enough to update every IdP of a tenant, short enough that a
/// forgotten overlap does not keep a leaked token alive for long.
pub const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longest token lifetime `--expires` accepts (ten years keeps the arithmetic trivially safe).
pub const MAX_EXPIRES: Duration = Duration::from_secs(3650 * 24 * 3600);
/// Most credentials a tenant can hold at once (the new one plus overlapping previous ones).
/// Bounds the document size and the per-request comparison work.
pub const MAX_CREDENTIALS: usize = 10;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// One stored credential: what verification needs (hash, not_after) and what an admin needs to
/// tell credentials apart (id, created, label).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCredential {
    /// Hex SHA-256 of the token.
    pub hash: String,
    /// `token::token_id` of the hash: the name of the credential in logs and status output.
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Unix seconds after which the credential is rejected; `None` means no expiry.
    pub not_after: Option<i64>,
    pub label: Option<String>,
}

impl std::fmt::Debug for StoredCredential {
    // The hash is not a secret in the way the token is, but it never needs to be shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCredential")
            .field("id", &self.id)
            .field("created", &self.created)
            .field("not_after", &self.not_after)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl StoredCredential {
    fn is_live(&self, now: i64) -> bool {
        self.not_after.is_none_or(|t| now < t)
    }
}

/// A tenant's stored credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDocument {
    pub version: u32,
    pub credentials: Vec<StoredCredential>,
}

impl Default for CredentialDocument {
    fn default() -> Self {
        CredentialDocument {
            version: DOCUMENT_VERSION,
            credentials: Vec::new(),
        }
    }
}

/// Why a stored document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("not a credential document: {0}")]
    Syntax(String),
    #[error(
        "unsupported credential document version {0} (this build reads version {DOCUMENT_VERSION})"
    )]
    Version(u32),
    #[error("credential {index} has a malformed hash")]
    Hash { index: usize },
}

impl CredentialDocument {
    /// Parse and check a stored document. Every hash must be well formed: a document that is
    /// partly unreadable is refused whole rather than silently accepting fewer tokens.
    pub fn parse(json: &str) -> Result<Self, DocumentError> {
        // Position and category only: serde's message can quote values (hashes) of the document.
        let doc: CredentialDocument = serde_json::from_str(json).map_err(|e| {
            DocumentError::Syntax(format!(
                "{:?} error at line {}, column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if doc.version != DOCUMENT_VERSION {
            return Err(DocumentError::Version(doc.version));
        }
        doc.verification_credentials()?;
        Ok(doc)
    }

    pub fn to_json(&self) -> String {
        // Serialising plain strings, integers and options cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The credentials in the form the authenticator compares against.
    pub fn verification_credentials(&self) -> Result<Vec<Credential>, DocumentError> {
        self.credentials
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let hash = TokenHash::from_hex(&c.hash).ok_or(DocumentError::Hash { index })?;
                Ok(Credential {
                    hash,
                    not_after: c.not_after,
                })
            })
            .collect()
    }
}

/// Options of `generate`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Keep the previous live credentials valid for this long (at most [`MAX_OVERLAP`]).
    /// `None`: they stop working at once.
    pub overlap: Option<Duration>,
    /// The new token stops working after this long (at most [`MAX_EXPIRES`]). `None`: no expiry.
    pub expires: Option<Duration>,
    pub label: Option<String>,
}

/// A credential store refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum CredentialStoreError {
    /// The store could not be reached or answered with an error.
    #[error("{0}")]
    Unavailable(String),
    /// The tenant's stored document cannot be read.
    #[error("the stored credentials of tenant {tenant} are unreadable ({source}); `scimctl token revoke` resets them")]
    Malformed {
        tenant: TenantId,
        source: DocumentError,
    },
    /// The request itself is not acceptable (an option out of range, too many credentials).
    #[error("{0}")]
    Invalid(String),
    #[error("the OS random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// Where tenants' credential documents are kept (Secrets Manager, or process memory).
///
/// Contract: `load` returns `Ok(None)` for a tenant that has no document; `save` replaces the
/// tenant's document (creating it if needed). There is no compare-and-swap: concurrent admin
/// writes for one tenant are last-writer-wins (tokens are generated by hand, rarely).
#[async_trait]
pub trait CredentialStore: Send + Sync {
    async fn load(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<CredentialDocument>, CredentialStoreError>;
    async fn save(
        &self,
        tenant: &TenantId,
        doc: &CredentialDocument,
    ) -> Result<(), CredentialStoreError>;
    /// Every tenant that has a document, sorted.
    async fn tenants(&self) -> Result<Vec<TenantId>, CredentialStoreError>;
}

/// A generated token: the text, shown once, and what the admin may be told about the rotation.
pub struct Generated {
    pub token: super::token::PlainToken,
    pub id: String,
    pub not_after: Option<i64>,
    /// Previous credentials still accepted (overlap), with their end.
    pub overlapping: Vec<(String, Option<i64>)>,
    /// How many previous credentials stopped being accepted.
    pub dropped: usize,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("id", &self.id)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

fn secs(d: Duration) -> i64 {
    // Callers bound `d` by MAX_EXPIRES or MAX_OVERLAP, far below i64::MAX.
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn check_options(opts: &GenerateOptions) -> Result<(), CredentialStoreError> {
    if opts.overlap.is_some_and(|d| d > MAX_OVERLAP) {
        return Err(CredentialStoreError::Invalid(
            "--overlap can be at most 7 days".into(),
        ));
    }
    if let Some(e) = opts.expires {
        if e > MAX_EXPIRES || e < Duration::from_secs(1) {
            return Err(CredentialStoreError::Invalid(
                "--expires must be between 1 second and 3650 days".into(),
            ));
        }
    }
    if let Some(l) = &opts.label {
        if l.chars().count() > MAX_LABEL_CHARS || l.chars().any(char::is_control) {
            return Err(CredentialStoreError::Invalid(format!(
                "--label must be at most {MAX_LABEL_CHARS} characters without control characters"
            )));
        }
    }
    Ok(())
}

/// Apply a rotation to `doc`: the new credential goes first; previous live credentials are kept
/// until `now + overlap` (never extended beyond their own expiry) or dropped without overlap;
/// expired ones are dropped. Pure, so the rules are tested without any store.
pub fn rotate(
    doc: &CredentialDocument,
    new: StoredCredential,
    overlap: Option<Duration>,
    now: i64,
) -> Result<(CredentialDocument, usize), CredentialStoreError> {
    let mut kept = vec![new];
    let mut dropped = 0;
    for c in &doc.credentials {
        match overlap.filter(|_| c.is_live(now)) {
            Some(d) => {
                let end = now.saturating_add(secs(d));
                let mut c = c.clone();
                c.not_after = Some(c.not_after.map_or(end, |t| t.min(end)));
                kept.push(c);
            }
            None => dropped += 1,
        }
    }
    if kept.len() > MAX_CREDENTIALS {
        return Err(CredentialStoreError::Invalid(format!(
            "the tenant would have {} credentials (at most {MAX_CREDENTIALS}): wait for earlier overlaps to end, or generate without --overlap",
            kept.len()
        )));
    }
    Ok((
        CredentialDocument {
            version: DOCUMENT_VERSION,
            credentials: kept,
        },
        dropped,
    ))
}

/// Generate a token for `tenant` and store its hash, rotating out the previous credentials.
pub async fn generate(
    store: &dyn CredentialStore,
    tenant: &TenantId,
    opts: &GenerateOptions,
) -> Result<Generated, CredentialStoreError> {
    check_options(opts)?;
    let current = store.load(tenant).await?.unwrap_or_default();
    let now_dt = OffsetDateTime::now_utc();
    let now = now_dt.unix_timestamp();
    let new = token::generate(tenant).map_err(CredentialStoreError::Random)?;
    let id = token::token_id(&new.hash);
    let not_after = opts.expires.map(|d| now.saturating_add(secs(d)));
    let stored = StoredCredential {
        hash: new.hash.to_hex(),
        id: id.clone(),
        // Whole seconds: the stored RFC 3339 text stays short and readable.
        created: now_dt.replace_nanosecond(0).unwrap_or(now_dt),
        not_after,
        label: opts.label.clone(),
    };
    let (doc, dropped) = rotate(&current, stored, opts.overlap, now)?;
    let overlapping = doc.credentials[1..]
        .iter()
        .map(|c| (c.id.clone(), c.not_after))
        .collect();
    store.save(tenant, &doc).await?;
    Ok(Generated {
        token: new.token,
        id,
        not_after,
        overlapping,
        dropped,
    })
}

/// Remove every credential of `tenant` (the document stays, empty). Returns how many there were.
/// Does not need to read a valid document, so it also resets an unreadable one.
pub async fn revoke(
    store: &dyn CredentialStore,
    tenant: &TenantId,
) -> Result<usize, CredentialStoreError> {
    let before = match store.load(tenant).await {
        Ok(doc) => doc.map_or(0, |d| d.credentials.len()),
        Err(CredentialStoreError::Malformed { .. }) => 0,
        Err(e) => return Err(e),
    };
    store.save(tenant, &CredentialDocument::default()).await?;
    Ok(before)
}

/// Whether a credential is the newest one or a previous one kept by an overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Current,
    Previous,
}

/// What `scimctl token status` shows of a credential: never its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialStatus {
    pub id: String,
    pub label: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub not_after: Option<i64>,
    pub role: Role,
    /// Accepted now.
    pub live: bool,
}

/// The tenant's credentials, newest first; `None` when the tenant has no document at all.
pub async fn status(
    store: &dyn CredentialStore,
    tenant: &TenantId,
) -> Result<Option<Vec<CredentialStatus>>, CredentialStoreError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Ok(store.load(tenant).await?.map(|doc| {
        doc.credentials
            .iter()
            .enumerate()
            .map(|(i, c)| CredentialStatus {
                id: c.id.clone(),
                label: c.label.clone(),
                created: c.created,
                not_after: c.not_after,
                role: if i == 0 {
                    Role::Current
                } else {
                    Role::Previous
                },
                live: c.is_live(now),
            })
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::EmbeddedTokenSource;

    fn cred(id: &str, not_after: Option<i64>) -> StoredCredential {
        StoredCredential {
            hash: TokenHash::of(id).to_hex(),
            id: id.into(),
            created: OffsetDateTime::UNIX_EPOCH,
            not_after,
            label: None,
        }
    }

    fn ids(doc: &CredentialDocument) -> Vec<(&str, Option<i64>)> {
        doc.credentials
            .iter()
            .map(|c| (c.id.as_str(), c.not_after))
            .collect()
    }

    #[test]
    fn rotation_without_overlap_keeps_only_the_new_credential() {
        let doc = CredentialDocument {
            version: 1,
            credentials: vec![cred("a", None), cred("b", Some(2000))],
        };
        let (out, dropped) = rotate(&doc, cred("n", None), None, 1000).unwrap();
        assert_eq!(ids(&out), [("n", None)]);
        assert_eq!(dropped, 2);
    }

    #[test]
    fn overlap_bounds_previous_live_credentials_and_drops_expired_ones() {
        let doc = CredentialDocument {
            version: 1,
            credentials: vec![
                cred("a", None),
                cred("b", Some(1100)),
                cred("c", Some(5000)),
                cred("old", Some(999)),
            ],
        };
        let (out, dropped) = rotate(
            &doc,
            cred("n", Some(9000)),
            Some(Duration::from_secs(600)),
            1000,
        )
        .unwrap();
        // a: no expiry -> now+600; b: already ends before -> unchanged; c: capped; old: expired.
        assert_eq!(
            ids(&out),
            [
                ("n", Some(9000)),
                ("a", Some(1600)),
                ("b", Some(1100)),
                ("c", Some(1600))
            ]
        );
        assert_eq!(dropped, 1);
    }

    #[test]
    fn too_many_overlapping_credentials_are_refused() {
        let credentials = (0..MAX_CREDENTIALS)
            .map(|i| cred(&i.to_string(), None))
            .collect();
        let doc = CredentialDocument {
            version: 1,
            credentials,
        };
        let e = rotate(&doc, cred("n", None), Some(Duration::from_secs(60)), 0).unwrap_err();
        assert!(matches!(e, CredentialStoreError::Invalid(_)));
    }

    #[test]
    fn documents_round_trip_and_bad_ones_are_refused() {
        let doc = CredentialDocument {
            version: 1,
            credentials: vec![cred("a", Some(5))],
        };
        assert_eq!(CredentialDocument::parse(&doc.to_json()).unwrap(), doc);
        assert!(matches!(
            CredentialDocument::parse("{}"),
            Err(DocumentError::Syntax(_))
        ));
        assert!(matches!(
            CredentialDocument::parse(r#"{"version":2,"credentials":[]}"#),
            Err(DocumentError::Version(2))
        ));
        let bad_hash = r#"{"version":1,"credentials":[{"hash":"zz","id":"x","created":"2024-01-01T00:00:00Z","not_after":null,"label":null}]}"#;
        assert_eq!(
            CredentialDocument::parse(bad_hash),
            Err(DocumentError::Hash { index: 0 })
        );
        // The Debug form shows no hash.
        assert!(!format!("{doc:?}").contains(&doc.credentials[0].hash));
    }

    #[tokio::test]
    async fn out_of_range_options_are_refused_before_any_write() {
        let store = EmbeddedTokenSource::new();
        let t = TenantId::parse("acme").unwrap();
        let bad = [
            GenerateOptions {
                overlap: Some(MAX_OVERLAP + Duration::from_secs(1)),
                ..Default::default()
            },
            GenerateOptions {
                expires: Some(Duration::ZERO),
                ..Default::default()
            },
            GenerateOptions {
                label: Some("a\nb".into()),
                ..Default::default()
            },
            GenerateOptions {
                label: Some("x".repeat(MAX_LABEL_CHARS + 1)),
                ..Default::default()
            },
        ];
        for opts in bad {
            assert!(
                matches!(
                    generate(&store, &t, &opts).await,
                    Err(CredentialStoreError::Invalid(_))
                ),
                "{opts:?}"
            );
        }
        assert_eq!(store.load(&t).await.unwrap(), None);
    }

    #[tokio::test]
    async fn status_marks_current_previous_and_expired() {
        let store = EmbeddedTokenSource::new();
        let t = TenantId::parse("acme").unwrap();
        let first = GenerateOptions {
            label: Some("okta".into()),
            ..Default::default()
        };
        generate(&store, &t, &first).await.unwrap();
        let second = GenerateOptions {
            overlap: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        let g = generate(&store, &t, &second).await.unwrap();
        assert_eq!(g.overlapping.len(), 1);
        let s = status(&store, &t).await.unwrap().unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].role, s[0].live, s[0].id.as_str()),
            (Role::Current, true, g.id.as_str())
        );
        assert_eq!(
            (s[1].role, s[1].live, s[1].label.as_deref()),
            (Role::Previous, true, Some("okta"))
        );
        assert_eq!(revoke(&store, &t).await.unwrap(), 2);
        assert_eq!(status(&store, &t).await.unwrap(), Some(vec![]));
        assert_eq!(
            status(&store, &TenantId::parse("nobody").unwrap())
                .await
                .unwrap(),
            None
        );
    }
}
