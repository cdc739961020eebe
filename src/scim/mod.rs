//! The SCIM protocol layer (RFC 7643, RFC 7644): pure, no I/O, no HTTP or AWS types.

pub mod bulk;
pub mod discovery;
pub mod emails;
pub mod filter;
pub mod group_patch;
pub(crate) mod json;
pub mod members;
pub mod patch;
mod patch_extension;
pub mod path;
pub mod projection;
pub mod resource;
pub mod roles;
pub mod schema;
pub mod sort;
pub mod strict;
pub mod urn;
pub mod validate;

use filter::{AttrInfo, AttrPath};
use schema::{common_attribute, AttrType, AttributeDef, ResourceKind};

/// The definition of the attribute an [`AttrPath`] names (ignoring its sub-attribute), looking in
/// the resource's core schema, its extensions (when URN-qualified), and the common attributes.
pub fn attribute_def(kind: ResourceKind, path: &AttrPath) -> Option<&'static AttributeDef> {
    match &path.urn {
        None => kind
            .core_schema()
            .attribute(&path.name)
            .or_else(|| common_attribute(&path.name)),
        Some(u) => {
            let canonical = urn::canonical_schema_urn(u)?;
            if canonical == kind.core_schema().id {
                return kind
                    .core_schema()
                    .attribute(&path.name)
                    .or_else(|| common_attribute(&path.name));
            }
            kind.extensions()
                .iter()
                .find(|e| e.id == canonical)?
                .attribute(&path.name)
        }
    }
}

/// The definition a full filter path resolves to: the sub-attribute when there is one, and for a
/// multi-valued complex attribute compared as a whole, its `value` (RFC 7644 §3.4.2.2).
fn leaf_def(kind: ResourceKind, path: &AttrPath) -> Option<&'static AttributeDef> {
    let def = attribute_def(kind, path)?;
    match &path.sub_attr {
        Some(s) => def.sub_attribute(s),
        None if def.ty == AttrType::Complex => def.sub_attribute("value"),
        None => Some(def),
    }
}

/// Attribute characteristics for filtering whole resources of one kind.
pub struct SchemaAttrInfo(pub ResourceKind);

impl AttrInfo for SchemaAttrInfo {
    fn case_exact(&self, path: &AttrPath) -> bool {
        leaf_def(self.0, path).is_some_and(|d| d.case_exact)
    }
    fn is_date_time(&self, path: &AttrPath) -> bool {
        leaf_def(self.0, path).is_some_and(|d| d.ty == AttrType::DateTime)
    }
}

/// Attribute characteristics for value filters on the elements of one complex attribute
/// (`emails[type eq "work"]`: `type` is a sub-attribute of `emails`).
pub struct ElementAttrInfo(pub &'static AttributeDef);

impl AttrInfo for ElementAttrInfo {
    fn case_exact(&self, path: &AttrPath) -> bool {
        self.0
            .sub_attribute(&path.name)
            .is_some_and(|d| d.case_exact)
    }
    fn is_date_time(&self, path: &AttrPath) -> bool {
        self.0
            .sub_attribute(&path.name)
            .is_some_and(|d| d.ty == AttrType::DateTime)
    }
}
