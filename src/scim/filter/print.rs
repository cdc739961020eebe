//! The canonical printer: lowercase keywords, JSON literals, parentheses only where needed, so
//! that `parse_filter(&f.to_string()) == Ok(f)`. Filters are printed back in error details and
//! logs, and the round trip is what the property tests check the parser against.

use std::fmt;

use super::{AttrPath, CompValue, CompareOp, Filter};

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => f.write_str(&serde_json::to_string(s).map_err(|_| fmt::Error)?),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn operand(f: &mut fmt::Formatter<'_>, x: &Filter, parens: bool) -> fmt::Result {
            if parens {
                write!(f, "({x})")
            } else {
                write!(f, "{x}")
            }
        }
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            // Chains parse left-nested, so a right operand of the same operator needs parentheses.
            Filter::And(l, r) => {
                operand(f, l, matches!(**l, Filter::Or(..)))?;
                f.write_str(" and ")?;
                operand(f, r, matches!(**r, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Or(l, r) => {
                write!(f, "{l} or ")?;
                operand(f, r, matches!(**r, Filter::Or(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}
