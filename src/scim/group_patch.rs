//! PATCH on a Group (RFC 7644 §3.5.2), split in two: operations on the group's own attributes
//! go through the ordinary PATCH engine ([`super::patch`]); operations on `members` become
//! membership changes that the service turns into O(changed members) store writes, never a
//! rewrite of the whole member list.
//!
//! The member shapes IdPs send (ARCHITECTURE.md, IdP shapes rows): `add members [...]` without
//! `type` (row 13) and with `"$ref": null` (Entra); `remove members[value eq "id"]` (row 7);
//! `remove members` with a value list removes only those (row 6); `remove members` with no value
//! clears the list (row 17, RFC 7644 §3.5.2.2); `replace members [...]` replaces the list; a no-path
//! `replace`/`add` whose value object holds `members` next to other attributes (Okta's rename
//! with `id` inside, row 5, goes to the attribute engine, which ignores a matching `id`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::filter::{self, Filter};
use super::members::Member;
use super::members::{
    check_member_count, member_for_filter, members_attribute, parse_member_ids, parse_members,
};
use super::patch::{in_operation, Op, Operation};
use super::path::{parse_patch_path, PatchPath};
use super::schema::ResourceKind;
use super::{attribute_def, urn, ElementAttrInfo};
use crate::error::ScimError;

/// One operation on `members`, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    Add(Vec<Member>),
    /// Remove these ids (rows 6 and 7).
    Remove(Vec<String>),
    /// Remove the members a value filter selects that is not a plain list of ids
    /// (`members[type eq "Group"]`): needs the current member list.
    RemoveWhere(Filter),
    /// Remove every member (row 17).
    Clear,
    Replace(Vec<Member>),
}

/// A Group PATCH request, split.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupPatch {
    /// Operations on the group's own attributes, with their position in the request (for error
    /// messages).
    pub attribute_ops: Vec<(usize, Operation)>,
    pub member_ops: Vec<MemberOp>,
}

/// What the member operations of a request amount to.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberPlan {
    /// Add and remove these, whatever else the group holds. `add` and `remove` are disjoint.
    Delta {
        add: BTreeMap<String, Member>,
        remove: BTreeSet<String>,
    },
    /// The group's members become exactly these.
    Exactly(BTreeMap<String, Member>),
}

/// Whether `path` names the Group's `members`, resolved exactly as the attribute engine resolves
/// paths (any case, bare or URN-qualified, with a filter or a sub-attribute): whatever the engine
/// would apply to `members` must come here instead.
fn is_members(path: &PatchPath) -> bool {
    attribute_def(ResourceKind::Group, &path.attr).is_some_and(|d| d.name == "members")
}

/// The ids of a filter that is `value eq "a"` or an `or` chain of them (Okta and Entra remove
/// one member at a time with `members[value eq "id"]`).
fn value_ids(f: &Filter) -> Option<Vec<String>> {
    if let Some(id) = f.element_value_eq() {
        return Some(vec![id.to_owned()]);
    }
    match f {
        Filter::Or(a, b) => {
            let mut ids = value_ids(a)?;
            ids.extend(value_ids(b)?);
            Some(ids)
        }
        _ => None,
    }
}

fn member_op(op: Op, path: &PatchPath, value: Option<&Value>) -> Result<MemberOp, ScimError> {
    if path.attr.sub_attr.is_some() || path.sub_attr.is_some() {
        return Err(ScimError::mutability(
            "The sub-attributes of a member (value, display, type) cannot be changed. Remove the member and add it again.",
        ));
    }
    if let Some(f) = &path.filter {
        if op != Op::Remove {
            return Err(ScimError::invalid_path(
                "Members are added or replaced with the path \"members\" and a list of members; a filtered path such as members[value eq \"...\"] can only remove.",
            ));
        }
        return Ok(match value_ids(f) {
            Some(ids) => MemberOp::Remove(ids),
            None => MemberOp::RemoveWhere(f.clone()),
        });
    }
    Ok(match (op, value) {
        (Op::Add, Some(v)) => MemberOp::Add(parse_members(v, "members")?),
        (Op::Add, None) => return Err(ScimError::invalid_value("\"add\" needs a \"value\".")),
        (Op::Replace, Some(v)) => MemberOp::Replace(parse_members(v, "members")?),
        // `replace` with null is a removal (the PATCH parser already turned it into one).
        (Op::Replace, None) | (Op::Remove, None) => MemberOp::Clear,
        // Row 6: a value list removes only those members; an empty or null list removes none.
        (Op::Remove, Some(v)) => MemberOp::Remove(parse_member_ids(v, "members")?),
    })
}

/// Split parsed operations into attribute operations and member operations. Every spelling of
/// `members` becomes a member operation or a 400: a path (`members`, `members[value eq "x"]`,
/// `members.display`, URN-qualified), and the same spellings as keys of a no-path value, also
/// inside the core schema's URN key (`{"urn:...:core:2.0:Group": {"members": [...]}}`). So the
/// attribute engine never sees `members`, and a group's stored attributes never hold them
/// (RFC 7643 §4.2 members are references checked by the membership rules, not free data).
pub fn split(ops: Vec<Operation>) -> Result<GroupPatch, ScimError> {
    let mut out = GroupPatch::default();
    for (i, op) in ops.into_iter().enumerate() {
        match (&op.path, &op.value) {
            (Some(path), value) if is_members(path) => {
                let m = member_op(op.op, path, value.as_ref()).map_err(|e| in_operation(e, i))?;
                out.member_ops.push(m);
            }
            (None, Some(Value::Object(values))) => {
                let before = out.member_ops.len();
                let rest = split_no_path(op.op, values, &mut out.member_ops)
                    .map_err(|e| in_operation(e, i))?;
                if !rest.is_empty() || out.member_ops.len() == before {
                    out.attribute_ops.push((
                        i,
                        Operation {
                            op: op.op,
                            path: None,
                            value: Some(Value::Object(rest)),
                        },
                    ));
                }
            }
            _ => out.attribute_ops.push((i, op)),
        }
    }
    let named: usize = out.member_ops.iter().map(MemberOp::named).sum();
    check_member_count(named)?;
    Ok(out)
}

/// The member operations of a no-path value object (its keys are paths, RFC 7644 §3.5.2.3 and
/// ARCHITECTURE.md, IdP shapes row 4), pushed to `member_ops`; what is left for the attribute
/// engine is returned. A `null` value removes, as it does for any other attribute (row 14).
fn split_no_path(
    op: Op,
    values: &Map<String, Value>,
    member_ops: &mut Vec<MemberOp>,
) -> Result<Map<String, Value>, ScimError> {
    let mut rest = Map::new();
    for (key, value) in values {
        if urn::canonical_schema_urn(key) == Some(urn::GROUP) {
            if let Value::Object(inner) = value {
                let inner_rest = split_no_path(op, inner, member_ops)?;
                if !inner_rest.is_empty() {
                    rest.insert(key.clone(), Value::Object(inner_rest));
                }
                continue;
            }
        }
        match parse_patch_path(key.trim()) {
            Ok(path) if is_members(&path) => {
                let m = if value.is_null() {
                    member_op(Op::Remove, &path, None)?
                } else {
                    member_op(op, &path, Some(value))?
                };
                member_ops.push(m);
            }
            // Anything else, including keys that are not paths, is the attribute engine's.
            _ => {
                rest.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(rest)
}

impl MemberOp {
    /// How many members the operation names (for the per-request bound).
    fn named(&self) -> usize {
        match self {
            MemberOp::Add(ms) | MemberOp::Replace(ms) => ms.len(),
            MemberOp::Remove(ids) => ids.len(),
            MemberOp::RemoveWhere(_) | MemberOp::Clear => 0,
        }
    }
}

impl GroupPatch {
    /// Whether planning needs the group's current members (a removal by a general filter).
    pub fn needs_current_members(&self) -> bool {
        self.member_ops
            .iter()
            .any(|o| matches!(o, MemberOp::RemoveWhere(_)))
    }

    /// Fold the member operations, in order, into one plan. With `current` (the group's members
    /// as read), the plan is always `Exactly`; without it, `RemoveWhere` is not allowed (see
    /// [`Self::needs_current_members`]) and operations that do not depend on the current list
    /// stay a `Delta`.
    pub fn member_plan(&self, current: Option<&[Member]>) -> Option<MemberPlan> {
        if self.member_ops.is_empty() {
            return None;
        }
        let mut plan = match current {
            Some(ms) => {
                MemberPlan::Exactly(ms.iter().map(|m| (m.value.clone(), m.clone())).collect())
            }
            None => MemberPlan::Delta {
                add: BTreeMap::new(),
                remove: BTreeSet::new(),
            },
        };
        let info = ElementAttrInfo(members_attribute());
        for op in &self.member_ops {
            match (op, &mut plan) {
                (MemberOp::Add(ms), MemberPlan::Delta { add, remove }) => {
                    for m in ms {
                        remove.remove(&m.value);
                        add.insert(m.value.clone(), m.clone());
                    }
                }
                (MemberOp::Add(ms), MemberPlan::Exactly(set)) => {
                    for m in ms {
                        // RFC 7644 §3.5.2.1: adding an existing member changes nothing.
                        set.entry(m.value.clone()).or_insert_with(|| m.clone());
                    }
                }
                (MemberOp::Remove(ids), MemberPlan::Delta { add, remove }) => {
                    for id in ids {
                        add.remove(id);
                        remove.insert(id.clone());
                    }
                }
                (MemberOp::Remove(ids), MemberPlan::Exactly(set)) => {
                    for id in ids {
                        set.remove(id);
                    }
                }
                (MemberOp::RemoveWhere(f), MemberPlan::Exactly(set)) => {
                    set.retain(|_, m| !filter::matches(f, &member_for_filter(m), &info));
                }
                // Callers read the current members first when needs_current_members() says so;
                // without them a general filter cannot be evaluated, so it removes nothing.
                (MemberOp::RemoveWhere(_), MemberPlan::Delta { .. }) => {}
                (MemberOp::Clear, _) => plan = MemberPlan::Exactly(BTreeMap::new()),
                (MemberOp::Replace(ms), _) => {
                    plan = MemberPlan::Exactly(
                        ms.iter().map(|m| (m.value.clone(), m.clone())).collect(),
                    )
                }
            }
        }
        Some(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::members::MemberKind;
    use crate::scim::patch::parse_request;
    use serde_json::json;

    fn split_body(ops: Value) -> Result<GroupPatch, ScimError> {
        split(parse_request(&json!({"Operations": ops}))?)
    }

    fn ids(plan: &MemberPlan) -> (Vec<&str>, Vec<&str>) {
        match plan {
            MemberPlan::Delta { add, remove } => (
                add.keys().map(String::as_str).collect(),
                remove.iter().map(String::as_str).collect(),
            ),
            MemberPlan::Exactly(set) => (set.keys().map(String::as_str).collect(), vec!["*"]),
        }
    }

    fn member(id: &str) -> Member {
        Member {
            value: id.into(),
            kind: MemberKind::User,
            display: None,
        }
    }

    #[test]
    fn idp_member_shapes_become_member_operations() {
        let p = split_body(json!([
            {"op": "Add", "path": "members", "value": [{"value": "u1", "$ref": null}, {"value": "u2"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "u3"}]},
            {"op": "replace", "value": {"id": "g", "displayName": "New name"}}
        ]))
        .unwrap();
        assert_eq!(p.attribute_ops.len(), 1);
        assert_eq!(p.attribute_ops[0].0, 3);
        assert!(!p.needs_current_members());
        let plan = p.member_plan(None).unwrap();
        assert_eq!(ids(&plan), (vec!["u1"], vec!["u2", "u3"]));
    }

    #[test]
    fn clear_and_replace_make_an_exact_plan() {
        let p = split_body(json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"value": "a"}]}
        ]))
        .unwrap();
        assert_eq!(ids(&p.member_plan(None).unwrap()), (vec!["a"], vec!["*"]));
        let p = split_body(json!([
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": [{"value": "b"}, {"value": "c"}]},
            {"op": "remove", "path": "members[value eq \"c\" or value eq \"x\"]"}
        ]))
        .unwrap();
        assert_eq!(ids(&p.member_plan(None).unwrap()), (vec!["b"], vec!["*"]));
        // A no-path value with members next to other attributes.
        let p = split_body(json!([
            {"op": "replace", "value": {"displayName": "x", "members": [{"value": "d"}]}}
        ]))
        .unwrap();
        assert_eq!(p.attribute_ops.len(), 1);
        assert_eq!(ids(&p.member_plan(None).unwrap()), (vec!["d"], vec!["*"]));
        // An empty removal list removes nothing (row 6 never clears).
        let p = split_body(json!([{"op": "remove", "path": "members", "value": []}])).unwrap();
        assert_eq!(ids(&p.member_plan(None).unwrap()), (vec![], vec![]));
    }

    #[test]
    fn general_filters_need_the_current_members() {
        let p = split_body(json!([
            {"op": "remove", "path": "members[type eq \"Group\"]"}
        ]))
        .unwrap();
        assert!(p.needs_current_members());
        let current = vec![
            member("u1"),
            Member {
                kind: MemberKind::Group,
                ..member("g1")
            },
        ];
        assert_eq!(
            ids(&p.member_plan(Some(&current)).unwrap()),
            (vec!["u1"], vec!["*"])
        );
    }

    #[test]
    fn bad_member_paths_are_refused_with_the_operation_number() {
        let e = split_body(json!([
            {"op": "add", "path": "displayName", "value": "x"},
            {"op": "replace", "path": "members[value eq \"u\"]", "value": {"display": "x"}}
        ]))
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::error::ScimType::InvalidPath));
        assert!(e.detail().starts_with("Operation 2"), "{}", e.detail());
        let e = split_body(json!([{"op": "replace", "path": "members.display", "value": "x"}]))
            .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::error::ScimType::Mutability));
        let e = split_body(json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]))
            .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::error::ScimType::InvalidValue));
    }
}
