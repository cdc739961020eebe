//! Roles from groups (issue 19, item 4): the tenant's role ladder, its rules and its ceiling, and
//! the pure rule that turns a user's groups into its product role (ARCHITECTURE.md, "Roles from
//! groups").
//!
//! - `roles=viewer,member,admin,owner` (the default): the product's roles, lowest first.
//! - `role_rules=[{"group": "Admins", "role": "admin", "priority": 10}, {"external_id": "abc",
//!   "role": "viewer", "priority": 1}]`: a rule names one group, by `displayName`
//!   (case-insensitively, RFC 7643 §4.2 leaves it caseExact false) or by `externalId` (exactly,
//!   RFC 7643 §3.1 makes it caseExact), and the role its members get.
//! - `role_ceiling=admin` (default: the role just below the top): the highest role the IdP may
//!   grant. The top role (`owner`) is never accepted as a ceiling, so whatever the rules say, an
//!   IdP can never grant it.
//!
//! A user's role is the role of the matching rule with the highest `priority` (ties: the lower
//! role, least privilege), lowered to the ceiling; no matching rule: no role.

use serde::{Deserialize, Serialize};

/// The product's roles when the tenant sets none, lowest first.
pub const DEFAULT_ROLES: &[&str] = &["viewer", "member", "admin", "owner"];
/// Most rules a tenant may have (each user read evaluates all of them).
pub const MAX_RULES: usize = 100;
/// Most roles on a ladder.
pub const MAX_ROLES: usize = 20;
/// Highest `priority` accepted.
pub const MAX_PRIORITY: u32 = 1_000_000;

/// One rule: members of the group it names get `role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    /// The group's `displayName` (compared case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The group's `externalId` (compared exactly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub role: String,
    pub priority: u32,
}

impl RoleRule {
    /// Whether this rule names the group with this `displayName` and `externalId`.
    pub fn matches(&self, display_name: &str, external_id: Option<&str>) -> bool {
        match (&self.group, &self.external_id) {
            (Some(name), None) => name.to_lowercase() == display_name.to_lowercase(),
            (None, Some(ext)) => external_id == Some(ext.as_str()),
            _ => false,
        }
    }
}

/// A role name: lower-case letters, digits, `_` and `-`, 1 to 64 characters.
pub fn valid_role(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 64
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A group reference of a rule: 1 to 256 characters, no control character.
fn valid_group(g: &str) -> bool {
    !g.trim().is_empty() && g.chars().count() <= 256 && !g.chars().any(char::is_control)
}

/// Parse `role_rules`: a JSON array of rules (`none` or empty: no rules). Every problem is
/// named, so the operator can fix the value in one go.
pub fn parse_rules(v: &str) -> Result<Vec<RoleRule>, String> {
    if v == "none" || v.is_empty() {
        return Ok(Vec::new());
    }
    let rules: Vec<RoleRule> = serde_json::from_str(v).map_err(|e| {
        format!("not a JSON array of {{\"group\" or \"external_id\", \"role\", \"priority\"}} rules ({e})")
    })?;
    if rules.len() > MAX_RULES {
        return Err(format!("at most {MAX_RULES} rules"));
    }
    for (i, r) in rules.iter().enumerate() {
        let n = i + 1;
        match (&r.group, &r.external_id) {
            (Some(g), None) | (None, Some(g)) if valid_group(g) => {}
            (Some(_), Some(_)) => {
                return Err(format!(
                    "rule {n} names both \"group\" and \"external_id\"; give one"
                ))
            }
            (None, None) => {
                return Err(format!(
                    "rule {n} names no group; give \"group\" (displayName) or \"external_id\""
                ))
            }
            _ => return Err(format!("rule {n}: the group must be 1 to 256 characters")),
        }
        if !valid_role(&r.role) {
            return Err(format!(
                "rule {n}: role {:?} is not a role name (lower-case letters, digits, _ and -)",
                r.role
            ));
        }
        if r.priority > MAX_PRIORITY {
            return Err(format!("rule {n}: priority is at most {MAX_PRIORITY}"));
        }
        if rules[..i]
            .iter()
            .any(|o| o.group == r.group && o.external_id == r.external_id)
        {
            return Err(format!("rule {n} names the same group as an earlier rule"));
        }
    }
    Ok(rules)
}

/// `role_rules` as `scimctl tenant show` prints it (the JSON `parse_rules` reads back).
pub fn print_rules(rules: &[RoleRule]) -> String {
    if rules.is_empty() {
        "none".into()
    } else {
        serde_json::to_string(rules).unwrap_or_else(|_| "none".into())
    }
}

/// The tenant's role configuration, as read from its settings.
#[derive(Debug, Clone, Copy)]
pub struct RolePolicy<'a> {
    pub ladder: &'a [String],
    pub rules: &'a [RoleRule],
    pub ceiling: Option<&'a str>,
}

impl<'a> RolePolicy<'a> {
    /// Whether any rule is set: without one, users have no role attribute at all.
    pub fn is_on(&self) -> bool {
        !self.rules.is_empty()
    }

    fn ladder(&self) -> Vec<&'a str> {
        if self.ladder.is_empty() {
            DEFAULT_ROLES.to_vec()
        } else {
            self.ladder.iter().map(String::as_str).collect()
        }
    }

    /// The ceiling's rank on the ladder: the one set, else the role below the top.
    fn ceiling_rank(&self, ladder: &[&str]) -> usize {
        let below_top = ladder.len().saturating_sub(2);
        self.ceiling
            .and_then(|c| ladder.iter().position(|r| *r == c))
            // Never the top, whatever is stored (`check` refuses it too).
            .map_or(below_top, |p| p.min(below_top))
    }

    /// The role of a user in these groups (`(displayName, externalId)` each), or `None`.
    pub fn role_for<'g>(
        &self,
        groups: impl IntoIterator<Item = (&'g str, Option<&'g str>)>,
    ) -> Option<String> {
        if !self.is_on() {
            return None;
        }
        let ladder = self.ladder();
        let rank = |role: &str| ladder.iter().position(|r| *r == role);
        let groups: Vec<(&str, Option<&str>)> = groups.into_iter().collect();
        let best = self
            .rules
            .iter()
            .filter(|rule| groups.iter().any(|(d, e)| rule.matches(d, *e)))
            .filter_map(|rule| rank(&rule.role).map(|k| (rule.priority, k)))
            // Highest priority; among equals the lower role (least privilege).
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))?;
        let capped = best.1.min(self.ceiling_rank(&ladder));
        ladder.get(capped).map(|r| (*r).to_owned())
    }

    /// Problems of the configuration as a whole (after every pair is applied): each rule's role
    /// is on the ladder, the ceiling is on it and below the top.
    pub fn check(&self) -> Vec<String> {
        let ladder = self.ladder();
        let mut problems = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if !ladder.contains(&r.role.as_str()) {
                problems.push(format!(
                    "role_rules: rule {} gives role {:?}, which is not one of roles={}",
                    i + 1,
                    r.role,
                    ladder.join(",")
                ));
            }
        }
        if let Some(c) = self.ceiling {
            match ladder.iter().position(|r| *r == c) {
                None => problems.push(format!(
                    "role_ceiling={c:?} is not one of roles={}",
                    ladder.join(",")
                )),
                Some(p) if p + 1 == ladder.len() => problems.push(format!(
                    "role_ceiling={c:?} is the top role: an identity provider may never grant it; choose a lower role"
                )),
                Some(_) => {}
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy<'a>(rules: &'a [RoleRule], ceiling: Option<&'a str>) -> RolePolicy<'a> {
        RolePolicy {
            ladder: &[],
            rules,
            ceiling,
        }
    }

    #[test]
    fn highest_priority_wins_and_the_ceiling_caps() {
        let rules = parse_rules(
            r#"[{"group":"Admins","role":"admin","priority":10},
                {"external_id":"ext-1","role":"viewer","priority":1},
                {"group":"Owners","role":"owner","priority":99}]"#,
        )
        .unwrap();
        let p = policy(&rules, None);
        assert_eq!(p.role_for([("ADMINS", None)]).as_deref(), Some("admin"));
        assert_eq!(
            p.role_for([("x", Some("ext-1")), ("admins", None)])
                .as_deref(),
            Some("admin")
        );
        assert_eq!(p.role_for([("x", Some("EXT-1"))]), None, "exact");
        // The owner rule has the highest priority, but the default ceiling is admin.
        assert_eq!(p.role_for([("Owners", None)]).as_deref(), Some("admin"));
        let low = policy(&rules, Some("viewer"));
        assert_eq!(low.role_for([("Admins", None)]).as_deref(), Some("viewer"));
        assert_eq!(policy(&[], None).role_for([("Admins", None)]), None);
    }

    #[test]
    fn bad_rules_are_named() {
        for (bad, says) in [
            ("Admins:admin:10", "not a JSON array"),
            (r#"[{"role":"admin","priority":1}]"#, "names no group"),
            (
                r#"[{"group":"a","external_id":"b","role":"admin","priority":1}]"#,
                "both",
            ),
            (
                r#"[{"group":"a","role":"Admin","priority":1}]"#,
                "not a role name",
            ),
            (
                r#"[{"group":"a","role":"admin","priority":-1}]"#,
                "not a JSON array",
            ),
            (r#"[{"group":"a","role":"admin"}]"#, "not a JSON array"),
            (
                r#"[{"group":"a","role":"admin","priority":1,"x":1}]"#,
                "not a JSON array",
            ),
            (
                r#"[{"group":"a","role":"admin","priority":1},{"group":"a","role":"viewer","priority":2}]"#,
                "same group",
            ),
            (r#"[{"group":"","role":"admin","priority":1}]"#, "1 to 256"),
        ] {
            let e = parse_rules(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let rules = parse_rules(r#"[{"group":"a","role":"boss","priority":1}]"#).unwrap();
        assert_eq!(policy(&rules, None).check().len(), 1);
        assert!(policy(&rules, Some("owner")).check()[1].contains("top role"));
    }
}
