//! The filter syntax tree (RFC 7644 §3.4.2.2): attribute paths, operators, literals.
//!
//! Shared by filters, PATCH paths (`path.rs`) and `sortBy` (`sort.rs`). Attribute names keep the
//! client's spelling; comparisons of names ignore case (RFC 7643 §2.1).

use serde_json::Number;

/// Core schema URNs; a path qualified with one means the top-level attribute (RFC 7644 §3.10).
pub const CORE_USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Whether `urn` names the core User or Group schema (case-insensitive).
pub fn is_core_schema_urn(urn: &str) -> bool {
    urn.eq_ignore_ascii_case(CORE_USER_URN) || urn.eq_ignore_ascii_case(CORE_GROUP_URN)
}

/// `[urn ":"] name ["." sub_attr]` as the client spelled it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URN prefix, e.g. the enterprise extension's; `None` means the core schema.
    pub urn: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// True when the path is in the core schema: no URN, or the core User/Group URN.
    pub fn is_core(&self) -> bool {
        self.urn.as_deref().is_none_or(is_core_schema_urn)
    }

    /// True for the single core attribute `name` (no sub-attribute), ignoring case.
    pub fn is(&self, name: &str) -> bool {
        self.is_core() && self.sub_attr.is_none() && self.name.eq_ignore_ascii_case(name)
    }

    /// Component-wise equality ignoring ASCII case (RFC 7643 §2.1: names are case-insensitive).
    pub fn eq_ignore_case(&self, other: &AttrPath) -> bool {
        fn opt(a: &Option<String>, b: &Option<String>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
        }
        self.name.eq_ignore_ascii_case(&other.name)
            && opt(&self.sub_attr, &other.sub_attr)
            && opt(&self.urn, &other.urn)
    }
}

/// RFC 7644 §3.4.2.2 Table 3 attribute operators (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator `word` names; operators are case-insensitive (RFC 7644 §3.4.2.2).
    pub(super) fn from_word(word: &str) -> Option<Self> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// `gt`, `ge`, `lt`, `le`: not defined for booleans and null (RFC 7644 §3.4.2.2).
    pub(super) fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }

    /// `co`, `sw`, `ew`: substring matches, defined for strings only (RFC 7644 §3.4.2.2).
    pub(super) fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

/// `compValue`: a JSON literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    Str(String),
    Bool(bool),
    Num(Number),
    Null,
}

/// A parsed filter. `And`/`Or` chains are left-nested, as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `path[filter]`: `filter`'s attribute names are relative to one element of `path`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    /// The string of `value eq "s"` inside a value filter (relative to one element of a
    /// multi-valued attribute: `members[value eq "id"]`, `emails[... and value eq "x"]`).
    pub fn element_value_eq(&self) -> Option<&str> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::Str(s),
            } if path.urn.is_none()
                && path.sub_attr.is_none()
                && path.name.eq_ignore_ascii_case("value") =>
            {
                Some(s)
            }
            _ => None,
        }
    }
}
