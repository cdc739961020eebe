//! SCIM filter expressions (RFC 7644 §3.4.2.2).
//!
//! - `ast.rs`: the syntax tree ([`Filter`], [`AttrPath`], [`CompareOp`], [`CompValue`]).
//! - `parse.rs`: the parser ([`parse_filter`]), bounded by [`MAX_LEN`] and [`MAX_DEPTH`], and
//!   shared with PATCH paths (`scim::path`).
//! - `print.rs`: the canonical printer (`Display`), the inverse of the parser.
//! - `eval.rs`: [`matches()`], which evaluates a filter against a rendered resource.
//!
//! What a list query can learn from a filter before evaluating it (index hints) is the service's
//! list planning: `service/plan.rs`.
//!
//! What callers use is re-exported here, so they name `crate::scim::filter::X` whatever file `X`
//! lives in.

mod ast;
mod eval;
mod parse;
mod print;
#[cfg(test)]
pub(crate) mod tests;

pub use ast::{
    is_core_schema_urn, AttrPath, CompValue, CompareOp, Filter, CORE_GROUP_URN, CORE_USER_URN,
};
pub use eval::{matches, AttrInfo};
pub use parse::{parse_filter, MAX_DEPTH, MAX_LEN};
pub(crate) use parse::{Grammar, Parser};
