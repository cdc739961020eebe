//! List planning: which filters the service answers from a direct look-up instead of
//! evaluating every resource (ARCHITECTURE.md, Decisions: filters).

use crate::scim::filter::{self, Filter, IndexedAttr};

/// `groups.value eq "id"` (or `groups eq`, `groups[value eq]`) and nothing else: the group id.
/// Answered by paging over the group's member list, however large.
pub(super) fn exact_group_filter(f: &Filter) -> Option<String> {
    if !matches!(f, Filter::Compare { .. } | Filter::ValuePath { .. }) {
        return None;
    }
    match filter::indexed_equalities(f).as_slice() {
        [(IndexedAttr::Groups, id)] => Some(id.clone()),
        _ => None,
    }
}
