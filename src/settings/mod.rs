//! Per-tenant settings: one typed record per tenant, every tenant policy a field of it.
//!
//! The record is model, like `tenant`: no I/O. The store keeps it (`store::settings`), the
//! service caches it (`service::settings`), `scimctl tenant show|set` and the admin API read and
//! write it. Operators write `KEY=VALUE` pairs; [`TenantSettings::assign`] parses and validates
//! them, refusing the whole set when one pair is wrong, so a record on the store is always
//! valid.
//!
//! Adding a policy: a field of [`TenantSettings`] (with `#[serde(default)]` semantics, so a
//! record written before the field existed reads as the default) and one entry in [`KEYS`]
//! (its name, what it means, how to parse and print it). Nothing else changes.

pub mod roles;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How closely the tenant's endpoint follows the SCIM interoperability profile
/// (draft-zollner-scim-interop-profile; see ARCHITECTURE.md, "Strict profile").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Today's behaviour: the IdP dialects are accepted (PATCH without `path`, attributes the
    /// schema does not know are ignored). Okta and Entra ID need it, so it is the default.
    #[default]
    Tolerant,
    /// The interoperability profile: unknown attributes and PATCH without `path` are 400
    /// `invalidSyntax`, discovery says `interopProfileConformant: true`.
    Strict,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Tolerant => "tolerant",
            Profile::Strict => "strict",
        }
    }
}

/// One tenant's settings. A tenant without a stored record has `TenantSettings::default()`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    pub profile: Profile,
    /// `seat_limit`: the most active users the tenant may have (ARCHITECTURE.md, Tenant
    /// policies). `None`: no limit, and no seats item is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seat_limit: Option<u64>,
    /// `domains`: the verified email domains, lower-case; `*.example.com` admits subdomains of
    /// example.com (not example.com itself). Empty: any domain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// `protected`: userNames (folded) that SCIM may not deactivate, delete, rename or remove
    /// from a group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<String>,
    /// `roles`: the product's role ladder, lowest first (empty: `roles::DEFAULT_ROLES`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// `role_rules`: which group gives which role (ARCHITECTURE.md, Roles from groups). Empty:
    /// users have no role attribute.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub role_rules: Vec<roles::RoleRule>,
    /// `role_ceiling`: the highest role the IdP may grant (`None`: the role below the top).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_ceiling: Option<String>,
    /// Fields this build does not know (written by a newer one during a deploy): kept as they
    /// are, so an older `scimctl tenant set` never drops a newer policy.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The stored record: the settings and the version every write is conditional on (0: none
/// stored yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionedSettings {
    pub settings: TenantSettings,
    pub version: u64,
}

/// One settable key.
pub struct SettingKey {
    pub name: &'static str,
    /// The accepted values, for the operator's error message.
    pub accepts: &'static str,
    set: fn(&mut TenantSettings, &str) -> Result<(), ()>,
    get: fn(&TenantSettings) -> String,
}

/// Every key `scimctl tenant set` accepts, in the order `show` prints them.
pub const KEYS: &[SettingKey] = &[
    SettingKey {
        name: "profile",
        accepts: "tolerant or strict",
        set: |s, v| {
            s.profile = match v {
                "tolerant" => Profile::Tolerant,
                "strict" => Profile::Strict,
                _ => return Err(()),
            };
            Ok(())
        },
        get: |s| s.profile.as_str().to_owned(),
    },
    SettingKey {
        name: "seat_limit",
        accepts: "a whole number of active users (0 to 10000000), or none",
        set: |s, v| {
            s.seat_limit = match v {
                "none" | "" => None,
                n => match n.parse::<u64>() {
                    Ok(n) if n <= MAX_SEAT_LIMIT => Some(n),
                    _ => return Err(()),
                },
            };
            Ok(())
        },
        get: |s| {
            s.seat_limit
                .map_or_else(|| "none".into(), |n| n.to_string())
        },
    },
    SettingKey {
        name: "domains",
        accepts: "a comma-separated list of email domains (example.com, *.example.org), or none",
        set: |s, v| {
            s.domains = list(v, valid_domain)?;
            Ok(())
        },
        get: |s| shown(&s.domains),
    },
    SettingKey {
        name: "protected",
        accepts: "a comma-separated list of userNames, or none",
        set: |s, v| {
            // Lower-cased as `list` does: the folded form userNames are compared in
            // (`scim::resource::Folded`).
            s.protected = list(v, |n| !n.is_empty() && n.len() <= 256)?;
            Ok(())
        },
        get: |s| shown(&s.protected),
    },
    SettingKey {
        name: "roles",
        accepts: "the product's roles, lowest first, comma-separated (viewer,member,admin,owner), or none for that default",
        set: |s, v| {
            let ladder = list(v, roles::valid_role)?;
            if ladder.len() == 1 || ladder.len() > roles::MAX_ROLES {
                return Err(());
            }
            s.roles = ladder;
            Ok(())
        },
        get: |s| {
            if s.roles.is_empty() {
                roles::DEFAULT_ROLES.join(",")
            } else {
                s.roles.join(",")
            }
        },
    },
    SettingKey {
        name: "role_rules",
        accepts: r#"a JSON array of rules [{"group": "<displayName>", "role": "admin", "priority": 10}, {"external_id": "<externalId>", "role": "viewer", "priority": 1}], or none"#,
        set: |s, v| {
            s.role_rules = roles::parse_rules(v).map_err(|_| ())?;
            Ok(())
        },
        get: |s| roles::print_rules(&s.role_rules),
    },
    SettingKey {
        name: "role_ceiling",
        accepts: "a role below the top of roles, or none (the role just below the top)",
        set: |s, v| {
            s.role_ceiling = match v {
                "none" | "" => None,
                r if roles::valid_role(r) => Some(r.to_owned()),
                _ => return Err(()),
            };
            Ok(())
        },
        get: |s| {
            s.role_ceiling
                .clone()
                .unwrap_or_else(|| "none".into())
        },
    },
];

/// The largest `seat_limit` accepted (a typo guard, far above any real contract).
pub const MAX_SEAT_LIMIT: u64 = 10_000_000;

/// A comma-separated list (`none` or empty: no entries), each entry trimmed and lower-cased,
/// each accepted by `valid`, no duplicates kept.
fn list(v: &str, valid: fn(&str) -> bool) -> Result<Vec<String>, ()> {
    if v == "none" || v.is_empty() {
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for entry in v.split(',') {
        let entry = entry.trim().to_lowercase();
        if !valid(&entry) {
            return Err(());
        }
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    Ok(out)
}

fn shown(entries: &[String]) -> String {
    if entries.is_empty() {
        "none".into()
    } else {
        entries.join(",")
    }
}

/// A domain as `domains` accepts it: labels of letters, digits and `-` (IDNs in their `xn--`
/// form), at least two, optionally after `*.`.
fn valid_domain(d: &str) -> bool {
    let bare = d.strip_prefix("*.").unwrap_or(d);
    let labels: Vec<&str> = bare.split('.').collect();
    bare.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Why a set of `KEY=VALUE` pairs was refused: every problem, one a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct SettingsError {
    pub problems: Vec<String>,
}

impl TenantSettings {
    /// These settings with `pairs` (`KEY=VALUE`) applied, or every problem found: a malformed
    /// pair, an unknown key, a key given twice, a value the key does not accept. Nothing is
    /// applied unless all are valid.
    pub fn assign<S: AsRef<str>>(&self, pairs: &[S]) -> Result<TenantSettings, SettingsError> {
        let mut next = self.clone();
        let mut problems = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        if pairs.is_empty() {
            problems.push("no setting given: pass KEY=VALUE (for example profile=strict)".into());
        }
        for pair in pairs {
            let pair = pair.as_ref();
            let Some((key, value)) = pair.split_once('=') else {
                problems.push(format!("{pair:?} is not KEY=VALUE"));
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            let Some(k) = KEYS.iter().find(|k| k.name == key) else {
                let known: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
                problems.push(format!(
                    "unknown setting {key:?}; known settings: {}",
                    known.join(", ")
                ));
                continue;
            };
            if seen.contains(&k.name) {
                problems.push(format!("{} is given more than once", k.name));
                continue;
            }
            seen.push(k.name);
            if (k.set)(&mut next, value).is_err() {
                // `role_rules` says which rule is wrong and why.
                let why = match k.name {
                    "role_rules" => roles::parse_rules(value).err(),
                    _ => None,
                }
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
                problems.push(format!(
                    "{}={value:?} is not valid{why}: {} accepts {}",
                    k.name, k.name, k.accepts
                ));
            }
        }
        if problems.is_empty() {
            // Keys that depend on each other, checked once every pair is applied.
            problems.extend(next.role_policy().check());
        }
        if problems.is_empty() {
            Ok(next)
        } else {
            Err(SettingsError { problems })
        }
    }

    /// The tenant's roles from groups configuration.
    pub fn role_policy(&self) -> roles::RolePolicy<'_> {
        roles::RolePolicy {
            ladder: &self.roles,
            rules: &self.role_rules,
            ceiling: self.role_ceiling.as_deref(),
        }
    }

    /// `(key, value)` for every key, as `scimctl tenant show` prints them.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        KEYS.iter().map(|k| (k.name, (k.get)(self))).collect()
    }

    /// The stored form (a JSON object).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Read the stored form. A field with a value this build cannot read is an error, never a
    /// silent default: a tenant set to `strict` must not be served as `tolerant`.
    pub fn from_json(s: &str) -> Result<TenantSettings, String> {
        serde_json::from_str(s).map_err(|e| format!("stored tenant settings are not valid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_tolerant() {
        assert_eq!(TenantSettings::default().profile, Profile::Tolerant);
        assert_eq!(
            TenantSettings::from_json("{}").unwrap(),
            TenantSettings::default()
        );
    }

    #[test]
    fn assign_sets_valid_pairs() {
        let s = TenantSettings::default()
            .assign(&["profile=strict"])
            .unwrap();
        assert_eq!(s.profile, Profile::Strict);
        assert_eq!(s.pairs()[0], ("profile", "strict".to_owned()));
        let back = s.assign(&[" profile = tolerant "]).unwrap();
        assert_eq!(back.profile, Profile::Tolerant);
    }

    #[test]
    fn assign_refuses_every_bad_pair_and_applies_nothing() {
        let base = TenantSettings::default();
        let err = base
            .assign(&["profile=Strict", "color=blue", "nonsense", "profile=strict"])
            .unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(err.problems[0].contains("tolerant or strict"), "{err}");
        assert!(
            err.problems[1].contains("unknown setting \"color\""),
            "{err}"
        );
        assert!(err.problems[2].contains("not KEY=VALUE"), "{err}");
        assert!(err.problems[3].contains("more than once"), "{err}");
        assert!(base.assign::<&str>(&[]).is_err());
    }

    #[test]
    fn policies_parse_print_and_clear() {
        let s = TenantSettings::default()
            .assign(&[
                "seat_limit=5",
                "domains=Example.com, *.example.org,example.com",
                "protected=Owner@Example.com",
            ])
            .unwrap();
        assert_eq!(s.seat_limit, Some(5));
        assert_eq!(s.domains, vec!["example.com", "*.example.org"]);
        assert_eq!(s.protected, vec!["owner@example.com"]);
        assert_eq!(
            s.pairs()[1..4],
            [
                ("seat_limit", "5".to_owned()),
                ("domains", "example.com,*.example.org".to_owned()),
                ("protected", "owner@example.com".to_owned()),
            ]
        );
        assert_eq!(TenantSettings::from_json(&s.to_json()).unwrap(), s);
        let cleared = s
            .assign(&["seat_limit=none", "domains=", "protected=none"])
            .unwrap();
        assert_eq!(cleared, TenantSettings::default());
        assert_eq!(cleared.to_json(), r#"{"profile":"tolerant"}"#);
        for bad in [
            "seat_limit=-1",
            "seat_limit=many",
            "seat_limit=99999999999",
            "domains=example",
            "domains=exa mple.com",
            "domains=*.*.example.com",
            "domains=a.com,,b.com",
            "protected=a,,b",
        ] {
            assert!(TenantSettings::default().assign(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_keys_are_checked_together() {
        let rules = r#"role_rules=[{"group":"Admins","role":"admin","priority":10}]"#;
        let s = TenantSettings::default().assign(&[rules]).unwrap();
        assert_eq!(s.role_rules.len(), 1);
        let shown: Vec<_> = s.pairs().into_iter().skip(4).collect();
        assert_eq!(shown[0], ("roles", "viewer,member,admin,owner".to_owned()));
        assert_eq!(
            TenantSettings::default()
                .assign(&[format!("role_rules={}", shown[1].1)])
                .unwrap(),
            s,
            "show prints what set reads"
        );
        assert_eq!(TenantSettings::from_json(&s.to_json()).unwrap(), s);
        // A rule's role must be on the ladder, whatever order the keys come in.
        let e = s.assign(&["roles=guest,staff,root"]).unwrap_err();
        assert!(e.problems[0].contains("not one of roles"), "{e}");
        let ok = s
            .assign(&[
                r#"role_rules=[{"group":"Admins","role":"staff","priority":1}]"#,
                "roles=guest,staff,root",
                "role_ceiling=staff",
            ])
            .unwrap();
        assert_eq!(ok.role_ceiling.as_deref(), Some("staff"));
        let e = s.assign(&["role_ceiling=owner"]).unwrap_err();
        assert!(e.problems[0].contains("top role"), "{e}");
        let e = s.assign(&["role_rules=Admins:admin:10"]).unwrap_err();
        assert!(e.problems[0].starts_with("role_rules="), "{e}");
        assert!(e.problems[0].contains("not a JSON array"), "{e}");
        for bad in ["roles=one", "roles=a b,c", "role_ceiling=Admin!"] {
            assert!(TenantSettings::default().assign(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn stored_form_round_trips_and_keeps_unknown_fields() {
        let s = TenantSettings::from_json(r#"{"profile":"strict","later_policy":[]}"#).unwrap();
        assert_eq!(s.profile, Profile::Strict);
        let again = TenantSettings::from_json(&s.to_json()).unwrap();
        assert_eq!(again, s);
        assert!(s.to_json().contains("later_policy"));
    }

    #[test]
    fn unreadable_stored_value_is_an_error_not_a_default() {
        assert!(TenantSettings::from_json(r#"{"profile":"lenient"}"#).is_err());
        assert!(TenantSettings::from_json("[]").is_err());
    }
}
