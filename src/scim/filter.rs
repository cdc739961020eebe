//! SCIM filter expressions (RFC 7644 §3.4.2.2): AST, parser, canonical printer, evaluator.
//!
//! Grammar (RFC 7644 §3.4.2.2 Figure 1, precedence `not` > `and` > `or`):
//!
//! ```text
//! FILTER    = andExp *( SP "or" SP andExp )
//! andExp    = term *( SP "and" SP term )
//! term      = "(" FILTER ")" / "not" *SP "(" FILTER ")" / valuePath / attrExp
//! valuePath = attrPath "[" FILTER "]"          ; not nested; attrPath has no subAttr
//! attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! compValue = "false" / "null" / "true" / number / string   ; JSON, RFC 8259
//! attrPath  = [URI ":"] ATTRNAME ["." ATTRNAME]
//! ATTRNAME  = ALPHA *( "-" / "_" / DIGIT / ALPHA ) / "$ref"
//! ```
//!
//! Keywords, operators and literals are case-insensitive; attribute names keep the client's
//! spelling and are compared case-insensitively (RFC 7643 §2.1). `SP` is read as any run of
//! whitespace. Input is bounded ([`MAX_LEN`] bytes, [`MAX_DEPTH`] levels of `(`, `[` and `not`),
//! so parsing recursion is bounded and every step is linear in the input.
//!
//! Error details give a 1-based character position ("at character 14").

use crate::error::ScimError;
use crate::scim::json::get_exact_or_ci;
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// Longest filter or PATCH path accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting accepted; each `(`, `[` and `not` opens one level.
pub const MAX_DEPTH: usize = 32;

/// Core schema URNs; a path qualified with one means the top-level attribute (RFC 7644 §3.10).
pub const CORE_USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Whether `urn` names the core User or Group schema (case-insensitive).
pub fn is_core_schema_urn(urn: &str) -> bool {
    urn.eq_ignore_ascii_case(CORE_USER_URN) || urn.eq_ignore_ascii_case(CORE_GROUP_URN)
}

// ---------------------------------------------------------------------------------------------
// AST

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

    fn from_word(word: &str) -> Option<Self> {
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

    fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }

    fn is_substring(self) -> bool {
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

/// Parses a `filter` query parameter (RFC 7644 §3.4.2.2). Errors are 400 `invalidFilter`.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    let mut p = Parser::new(input, Grammar::Filter)?;
    p.skip_ws();
    if p.at_end() {
        return Err(p.error(p.pos, "the filter is empty"));
    }
    let filter = p.or_expr()?;
    p.skip_ws();
    if !p.at_end() {
        return Err(p.expected(p.pos, "'and', 'or' or the end of the filter"));
    }
    Ok(filter)
}

// ---------------------------------------------------------------------------------------------
// Parser (shared with `path.rs`, which parses `attrPath` and `[valFilter]` through it)

/// Which grammar a [`Parser`] serves; decides the error's `scimType` and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    Filter,
    Path,
}

impl Grammar {
    fn noun(self) -> &'static str {
        match self {
            Grammar::Filter => "filter",
            Grammar::Path => "path",
        }
    }
}

const EXPECTED_OPERATOR: &str = "a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)";
const NOT_WITH_BOOL_OR_NULL: &str = "it cannot be used with true, false or null";
const INVALID_STRING: &str =
    "invalid string: use JSON escapes (\\\" \\\\ \\uXXXX) and no raw control characters";
const EXPECTED_NAME: &str = "an attribute name (a letter, then letters, digits, '-' or '_')";

type PResult<T> = Result<T, ScimError>;

pub(crate) struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    in_value_path: bool,
    grammar: Grammar,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, grammar: Grammar) -> PResult<Self> {
        let p = Parser {
            src,
            pos: 0,
            depth: 0,
            in_value_path: false,
            grammar,
        };
        if src.len() > MAX_LEN {
            return Err(p.error(
                0,
                format!("the {} is longer than {MAX_LEN} bytes", grammar.noun()),
            ));
        }
        Ok(p)
    }

    /// The error for byte offset `at`, reported as a 1-based character position.
    pub(crate) fn error(&self, at: usize, msg: impl fmt::Display) -> ScimError {
        let character = self.src.get(..at).map_or(0, |s| s.chars().count()) + 1;
        let detail = format!(
            "invalid {} at character {character}: {msg}",
            self.grammar.noun()
        );
        match self.grammar {
            Grammar::Filter => ScimError::invalid_filter(detail),
            Grammar::Path => ScimError::invalid_path(detail),
        }
    }

    pub(crate) fn expected(&self, at: usize, what: &str) -> ScimError {
        self.error(at, format!("expected {what}, found {}", self.found(at)))
    }

    /// A short excerpt of the input at `at`, for error details.
    fn found(&self, at: usize) -> String {
        let rest = self.src.get(at..).unwrap_or("");
        let Some(first) = rest.chars().next() else {
            return format!("the end of the {}", self.grammar.noun());
        };
        let end = rest
            .find(|c: char| c.is_whitespace() || "()[]".contains(c))
            .unwrap_or(rest.len());
        let token = if end == 0 {
            &rest[..first.len_utf8()]
        } else {
            &rest[..end]
        };
        let mut excerpt: String = token.chars().take(24).collect();
        if excerpt.len() < token.len() {
            excerpt.push('…');
        }
        format!("'{excerpt}'")
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// End of the ASCII-alphanumeric word starting at `from` (keywords, operators, literals).
    fn word_end(&self, from: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut end = from;
        while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
            end += 1;
        }
        end
    }

    fn word_at(&self, from: usize) -> &'a str {
        &self.src[from..self.word_end(from)]
    }

    fn enter(&mut self, at: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let noun = self.grammar.noun();
            let msg = format!("the {noun} is nested more than {MAX_DEPTH} levels deep");
            return Err(self.error(at, format!("{msg} (parentheses, brackets and 'not')")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Consumes optional whitespace and then `keyword` as a whole word, or nothing.
    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        let end = self.word_end(self.pos);
        if self.src[self.pos..end].eq_ignore_ascii_case(keyword) {
            self.pos = end;
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn or_expr(&mut self) -> PResult<Filter> {
        let mut left = self.and_expr()?;
        while self.eat_keyword("or") {
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Filter> {
        let mut left = self.term()?;
        while self.eat_keyword("and") {
            let right = self.term()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> PResult<Filter> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(b'(') => self.group(),
            Some(b) if b.is_ascii_alphabetic() || b == b'$' => {
                if let Some(paren) = self.not_keyword()? {
                    self.enter(start)?;
                    self.pos = paren;
                    let inner = self.group()?;
                    self.leave();
                    return Ok(Filter::Not(Box::new(inner)));
                }
                let path = self.attr_path()?;
                if self.peek() == Some(b'[') {
                    let filter = self.value_filter(&path)?;
                    return Ok(Filter::ValuePath {
                        path,
                        filter: Box::new(filter),
                    });
                }
                self.attr_exp(path)
            }
            _ => Err(self.expected(start, "an attribute name, '(' or 'not ('")),
        }
    }

    /// At a word `not`: `Some(offset of '(')` if it is the `not (` operator, `None` if it is an
    /// attribute that happens to be called `not` (followed by an operator or `[`), else an error.
    fn not_keyword(&self) -> PResult<Option<usize>> {
        let end = self.word_end(self.pos);
        if !self.src[self.pos..end].eq_ignore_ascii_case("not") {
            return Ok(None);
        }
        let bytes = self.src.as_bytes();
        let mut next = end;
        while next < bytes.len() && bytes[next].is_ascii_whitespace() {
            next += 1;
        }
        match bytes.get(next) {
            Some(b'(') => Ok(Some(next)),
            _ if next == end => Ok(None), // `not.x`, `not[`, `not-x`: an attribute name
            _ => {
                let word = self.word_at(next);
                if word.eq_ignore_ascii_case("pr") || CompareOp::from_word(word).is_some() {
                    Ok(None)
                } else {
                    Err(self.expected(next, "'(' after 'not' (write 'not (...)')"))
                }
            }
        }
    }

    /// At `(`: a parenthesised filter.
    fn group(&mut self) -> PResult<Filter> {
        self.enter(self.pos)?;
        self.pos += 1;
        let inner = self.or_expr()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.expected(self.pos, "'and', 'or' or ')'"));
        }
        self.pos += 1;
        self.leave();
        Ok(inner)
    }

    /// At `[` after `path`: the value filter of a valuePath, up to and including `]`.
    pub(crate) fn value_filter(&mut self, path: &AttrPath) -> PResult<Filter> {
        let open = self.pos;
        if self.in_value_path {
            return Err(self.error(open, "value filters '[...]' cannot be nested"));
        }
        if path.sub_attr.is_some() {
            return Err(self.error(
                open,
                "a value filter '[...]' must follow a multi-valued attribute, not a sub-attribute",
            ));
        }
        self.enter(open)?;
        self.pos += 1;
        self.in_value_path = true;
        let inner = self.or_expr()?;
        self.skip_ws();
        if self.peek() != Some(b']') {
            return Err(self.expected(self.pos, "'and', 'or' or ']'"));
        }
        self.pos += 1;
        self.in_value_path = false;
        self.leave();
        Ok(inner)
    }

    /// `attrPath = [URI ":"] ATTRNAME ["." ATTRNAME]`. The attribute name is what follows the
    /// last ':' (URNs contain ':' and '.', e.g. `...:enterprise:2.0:User:manager.value`).
    pub(crate) fn attr_path(&mut self) -> PResult<AttrPath> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut end = start;
        while end < bytes.len() && is_path_byte(bytes[end]) {
            end += 1;
        }
        let token = &self.src[start..end];
        let (urn, rest, rest_at) = match token.rfind(':') {
            Some(i) => {
                let urn = &token[..i];
                let valid = urn.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
                    && !urn.contains('$');
                if !valid {
                    return Err(self.expected(start, "a schema URN or an attribute name"));
                }
                (Some(urn.to_owned()), &token[i + 1..], start + i + 1)
            }
            None => (None, token, start),
        };
        let (name, sub_attr) = match rest.split_once('.') {
            Some((name, sub)) => {
                let sub_at = rest_at + name.len() + 1;
                if let Some(dot) = sub.find('.') {
                    return Err(self.error(
                        sub_at + dot,
                        "an attribute path has at most one sub-attribute (attribute.subAttribute)",
                    ));
                }
                self.check_name(sub, sub_at)?;
                (name, Some(sub.to_owned()))
            }
            None => (rest, None),
        };
        self.check_name(name, rest_at)?;
        self.pos = end;
        Ok(AttrPath {
            urn,
            name: name.to_owned(),
            sub_attr,
        })
    }

    /// `"." ATTRNAME` after a valuePath's `]` (RFC 7644 §3.5.2 `valuePath [subAttr]`).
    pub(crate) fn sub_attr_after_bracket(&mut self) -> PResult<Option<String>> {
        if self.peek() != Some(b'.') {
            return Ok(None);
        }
        let at = self.pos + 1;
        let bytes = self.src.as_bytes();
        let mut end = at;
        while end < bytes.len() && is_path_byte(bytes[end]) && !matches!(bytes[end], b'.' | b':') {
            end += 1;
        }
        let name = &self.src[at..end];
        self.check_name(name, at)?;
        self.pos = end;
        Ok(Some(name.to_owned()))
    }

    fn check_name(&self, name: &str, at: usize) -> PResult<()> {
        if is_attr_name(name) {
            Ok(())
        } else {
            Err(self.expected(at, EXPECTED_NAME))
        }
    }

    /// After an attribute path: `SP "pr"` or `SP compareOp SP compValue`.
    fn attr_exp(&mut self, path: AttrPath) -> PResult<Filter> {
        if !self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            return Err(self.expected(self.pos, EXPECTED_OPERATOR));
        }
        self.skip_ws();
        let at = self.pos;
        let word = self.word_at(at);
        if word.eq_ignore_ascii_case("pr") {
            self.pos += word.len();
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_word(word) else {
            return Err(self.expected(at, EXPECTED_OPERATOR));
        };
        self.pos += word.len();
        self.skip_ws();
        let value_at = self.pos;
        let value = self.comp_value()?;
        // RFC 7644 §3.4.2.2: gt/ge/lt/le with a boolean or null, and co/sw/ew with a
        // non-string, are invalidFilter.
        if op.is_ordering() && matches!(value, CompValue::Bool(_) | CompValue::Null) {
            let op = op.as_str();
            return Err(self.error(
                value_at,
                format!("'{op}' compares strings, numbers and dates; {NOT_WITH_BOOL_OR_NULL}"),
            ));
        }
        if op.is_substring() && !matches!(value, CompValue::Str(_)) {
            return Err(self.error(
                value_at,
                format!("'{}' needs a quoted string value", op.as_str()),
            ));
        }
        Ok(Filter::Compare { path, op, value })
    }

    fn comp_value(&mut self) -> PResult<CompValue> {
        let at = self.pos;
        match self.peek() {
            Some(b'"') => self.string().map(CompValue::Str),
            Some(b'-' | b'0'..=b'9') => {
                let bytes = self.src.as_bytes();
                let mut end = at;
                while end < bytes.len()
                    && matches!(bytes[end], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    end += 1;
                }
                let number = serde_json::from_str::<Number>(&self.src[at..end]).map_err(|_| {
                    self.expected(at, "a JSON number (for example 42, -1.5 or 2e3)")
                })?;
                self.pos = end;
                Ok(CompValue::Num(number))
            }
            _ => {
                let word = self.word_at(at);
                let value = match word.to_ascii_lowercase().as_str() {
                    "true" => CompValue::Bool(true),
                    "false" => CompValue::Bool(false),
                    "null" => CompValue::Null,
                    _ => {
                        return Err(self.expected(
                            at,
                            "a value: a quoted string, a number, true, false or null",
                        ))
                    }
                };
                self.pos += word.len();
                Ok(value)
            }
        }
    }

    /// A JSON string literal (RFC 8259 §7), decoded by serde_json.
    fn string(&mut self) -> PResult<String> {
        let open = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = open + 1;
        loop {
            match bytes.get(i) {
                None => return Err(self.error(open, "this string has no closing '\"'")),
                Some(b'"') => break,
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
            }
        }
        let literal = &self.src[open..=i];
        let decoded = serde_json::from_str::<String>(literal)
            .map_err(|_| self.error(open, INVALID_STRING))?;
        self.pos = i + 1;
        Ok(decoded)
    }
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.' | b'$')
}

fn is_attr_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.eq_ignore_ascii_case("$ref")
        || (bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

// ---------------------------------------------------------------------------------------------
// Canonical printer: lowercase keywords, JSON literals, parentheses only where needed, so that
// `parse_filter(&f.to_string()) == Ok(f)`.

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

// ---------------------------------------------------------------------------------------------
// Evaluation (RFC 7644 §3.4.2.2) against a resource as returned to clients.

/// What the evaluator needs from the schema (RFC 7643 §2.2 `caseExact`, §2.3.5 `dateTime`).
///
/// `path` is fully qualified: inside `emails[type eq "work"]` the evaluator asks about
/// `emails.type`. Implementations must be cheap and must not panic on unknown attributes
/// (answer `false`).
pub trait AttrInfo {
    /// Whether string values of `path` compare case-sensitively.
    fn case_exact(&self, path: &AttrPath) -> bool;
    /// Whether `path` is a `dateTime`, compared chronologically.
    fn is_date_time(&self, path: &AttrPath) -> bool;
}

/// Whether `resource` matches `filter`.
pub fn matches(filter: &Filter, resource: &Value, info: &dyn AttrInfo) -> bool {
    eval(filter, resource, None, info)
}

/// `parent` is the multi-valued attribute while evaluating inside its `[...]`, where `node`
/// is one element and attribute names are relative to it.
fn eval(filter: &Filter, node: &Value, parent: Option<&AttrPath>, info: &dyn AttrInfo) -> bool {
    match filter {
        Filter::And(l, r) => eval(l, node, parent, info) && eval(r, node, parent, info),
        Filter::Or(l, r) => eval(l, node, parent, info) || eval(r, node, parent, info),
        Filter::Not(inner) => !eval(inner, node, parent, info),
        Filter::Present(path) => resolve(node, path, parent.is_some())
            .into_iter()
            .any(has_value),
        Filter::Compare { path, op, value } => {
            let values = resolve(node, path, parent.is_some());
            let qualified = match parent {
                Some(p) => Cow::Owned(AttrPath {
                    urn: p.urn.clone(),
                    name: p.name.clone(),
                    sub_attr: Some(path.name.clone()),
                }),
                None => Cow::Borrowed(path),
            };
            compare(&values, *op, value, &qualified, info)
        }
        Filter::ValuePath { path, filter } => resolve(node, path, parent.is_some())
            .into_iter()
            .any(|element| element.is_object() && eval(filter, element, Some(path), info)),
    }
}

/// The values at `path`, with multi-valued attributes flattened to their elements.
fn resolve<'v>(node: &'v Value, path: &AttrPath, relative: bool) -> Vec<&'v Value> {
    let container = match &path.urn {
        // Extension attributes live under their schema URN (RFC 7643 §3.3).
        Some(urn) if !relative && !is_core_schema_urn(urn) => match get_exact_or_ci(node, urn) {
            Some(extension) => extension,
            None => return Vec::new(),
        },
        _ => node,
    };
    let Some(attr) = get_exact_or_ci(container, &path.name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match &path.sub_attr {
        None => push_flat(attr, &mut out),
        Some(sub) => {
            let elements: &[Value] = match attr {
                Value::Array(items) => items,
                other => std::slice::from_ref(other),
            };
            for element in elements {
                if let Some(v) = get_exact_or_ci(element, sub) {
                    push_flat(v, &mut out);
                }
            }
        }
    }
    out
}

fn push_flat<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Array(items) => out.extend(items),
        other => out.push(other),
    }
}

/// `pr`: "has a non-empty value, or contains a non-empty node for complex attributes".
fn has_value(v: &Value) -> bool {
    fn non_empty(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::Bool(_) | Value::Number(_) => true,
        }
    }
    match v {
        Value::Array(a) => a.iter().any(non_empty),
        Value::Object(o) => o.values().any(non_empty),
        other => non_empty(other),
    }
}

fn compare(
    values: &[&Value],
    op: CompareOp,
    wanted: &CompValue,
    path: &AttrPath,
    info: &dyn AttrInfo,
) -> bool {
    match (op, wanted) {
        // `ne` is the complement of `eq`, so it holds for a missing attribute and, on a
        // multi-valued attribute, when no element equals the value.
        (CompareOp::Ne, _) => !compare(values, CompareOp::Eq, wanted, path, info),
        // `eq null` means "not present" (RFC 7644 §3.4.2.2, RFC 7643 §2.5 unassigned = null).
        (_, CompValue::Null) => !values.iter().copied().any(has_value),
        _ => {
            let case_exact = info.case_exact(path);
            let date_time = info.is_date_time(path);
            values
                .iter()
                .filter_map(|v| scalar(v))
                .any(|actual| compare_one(actual, op, wanted, case_exact, date_time))
        }
    }
}

/// A complex value compares through its `value` sub-attribute (`emails eq "x"`).
fn scalar(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(_) => {
            get_exact_or_ci(v, "value").filter(|inner| !inner.is_object() && !inner.is_array())
        }
        Value::Null => None,
        other => Some(other),
    }
}

fn compare_one(
    actual: &Value,
    op: CompareOp,
    wanted: &CompValue,
    case_exact: bool,
    date_time: bool,
) -> bool {
    match (actual, wanted) {
        (Value::String(a), CompValue::Str(w)) => compare_strings(a, w, op, case_exact, date_time),
        (Value::Number(a), CompValue::Num(w)) => {
            compare_numbers(a, w).is_some_and(|o| holds(op, o))
        }
        (Value::Bool(a), CompValue::Bool(w)) => op == CompareOp::Eq && a == w,
        // Some IdPs store or send booleans as "True"/"False" (IDP-BEHAVIOUR.md row 2).
        (Value::Bool(a), CompValue::Str(w)) => op == CompareOp::Eq && parse_bool(w) == Some(*a),
        (Value::String(a), CompValue::Bool(w)) => op == CompareOp::Eq && parse_bool(a) == Some(*w),
        _ => false,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Whether `actual <op> wanted` holds, given `actual.cmp(wanted)`.
fn holds(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_strings(
    actual: &str,
    wanted: &str,
    op: CompareOp,
    case_exact: bool,
    date_time: bool,
) -> bool {
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;
    if date_time && !op.is_substring() {
        if let (Ok(a), Ok(w)) = (
            OffsetDateTime::parse(actual, &Rfc3339),
            OffsetDateTime::parse(wanted, &Rfc3339),
        ) {
            return holds(op, a.cmp(&w));
        }
    }
    let (a, w) = if case_exact {
        (Cow::Borrowed(actual), Cow::Borrowed(wanted))
    } else {
        (
            Cow::Owned(actual.to_lowercase()),
            Cow::Owned(wanted.to_lowercase()),
        )
    };
    match op {
        CompareOp::Co => a.contains(&*w),
        CompareOp::Sw => a.starts_with(&*w),
        CompareOp::Ew => a.ends_with(&*w),
        _ => holds(op, a.cmp(&w)),
    }
}

/// Exact for integers (i64/u64), f64 when either side is a decimal.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    fn int(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

// ---------------------------------------------------------------------------------------------
// Index hints

/// Attributes the store can look up directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexedAttr {
    Id,
    UserName,
    ExternalId,
    DisplayName,
    /// A Group's `members` (`members eq`, `members.value eq`, `members[value eq ...]`): answered
    /// from the member's memberships.
    Members,
    /// A User's `groups` (`groups eq`, `groups.value eq`, `groups[value eq ...]`): answered from
    /// the group's member list.
    Groups,
}

impl IndexedAttr {
    fn from_path(path: &AttrPath) -> Option<Self> {
        if !path.is_core() {
            return None;
        }
        if let Some(attr) = Self::membership(&path.name) {
            // The id of a membership is its `value`, named or implied (RFC 7644 §3.4.2.2).
            return match path.sub_attr.as_deref() {
                None => Some(attr),
                Some(s) if s.eq_ignore_ascii_case("value") => Some(attr),
                Some(_) => None,
            };
        }
        if path.sub_attr.is_some() {
            return None;
        }
        [
            ("id", IndexedAttr::Id),
            ("userName", IndexedAttr::UserName),
            ("externalId", IndexedAttr::ExternalId),
            ("displayName", IndexedAttr::DisplayName),
        ]
        .into_iter()
        .find(|(name, _)| path.name.eq_ignore_ascii_case(name))
        .map(|(_, attr)| attr)
    }

    fn membership(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("members") {
            Some(IndexedAttr::Members)
        } else if name.eq_ignore_ascii_case("groups") {
            Some(IndexedAttr::Groups)
        } else {
            None
        }
    }
}

/// The `attr eq "string"` terms on indexed attributes that every match must satisfy: the
/// filter itself or conjuncts of its top-level `and` chain (never under `or`/`not`/`[...]`).
/// A caller may fetch candidates by any one of them and then run [`matches`] on those.
/// Values are as written; case-folding for `userName` is the caller's rule.
pub fn indexed_equalities(filter: &Filter) -> Vec<(IndexedAttr, String)> {
    let mut out = Vec::new();
    let mut stack = vec![filter];
    while let Some(f) = stack.pop() {
        match f {
            Filter::And(l, r) => {
                stack.push(r);
                stack.push(l);
            }
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::Str(s),
            } => {
                if let Some(attr) = IndexedAttr::from_path(path) {
                    out.push((attr, s.clone()));
                }
            }
            // `members[value eq "id"]`: the same as `members.value eq "id"`.
            Filter::ValuePath { path, filter } if path.is_core() && path.sub_attr.is_none() => {
                if let (
                    Some(attr),
                    Filter::Compare {
                        path: inner,
                        op: CompareOp::Eq,
                        value: CompValue::Str(s),
                    },
                ) = (IndexedAttr::membership(&path.name), filter.as_ref())
                {
                    if inner.urn.is_none()
                        && inner.sub_attr.is_none()
                        && inner.name.eq_ignore_ascii_case("value")
                    {
                        out.push((attr, s.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether the filter refers to the core attribute `name` anywhere (in any case, with or
/// without a sub-attribute or value filter). Attributes that are not stored with the resource
/// (a Group's `members`, a User's `groups`) must be read before such a filter is evaluated.
pub fn mentions(filter: &Filter, name: &str) -> bool {
    let named = |p: &AttrPath| p.is_core() && p.name.eq_ignore_ascii_case(name);
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => named(path),
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, name) || mentions(b, name),
        Filter::Not(f) => mentions(f, name),
        Filter::ValuePath { path, .. } => named(path),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ScimType;
    use proptest::prelude::*;
    use serde_json::json;

    /// RFC 7643 §4.1/§3.1 `caseExact` and `dateTime` facts for the attributes the tests use.
    struct CoreSchema;
    impl AttrInfo for CoreSchema {
        fn case_exact(&self, path: &AttrPath) -> bool {
            ["id", "externalId"].iter().any(|n| path.is(n))
                || path
                    .sub_attr
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("$ref"))
        }
        fn is_date_time(&self, path: &AttrPath) -> bool {
            path.is_core()
                && path.name.eq_ignore_ascii_case("meta")
                && path.sub_attr.as_deref().is_some_and(|s| {
                    s.eq_ignore_ascii_case("created") || s.eq_ignore_ascii_case("lastModified")
                })
        }
    }

    fn user() -> Value {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/filters/rfc7643-enterprise-user.json"
        ))
        .unwrap()
    }

    fn parse(input: &str) -> Filter {
        parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare { path, op, value }
    }

    fn s(v: &str) -> CompValue {
        CompValue::Str(v.to_owned())
    }

    #[test]
    fn rfc7644_examples_parse_print_and_match() {
        let examples: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/filters/rfc7644-3.4.2.2-examples.json"
        ))
        .unwrap();
        let user = user();
        for ex in examples.as_array().unwrap() {
            let input = ex["filter"].as_str().unwrap();
            let f = parse(input);
            assert_eq!(f.to_string(), ex["canonical"].as_str().unwrap(), "{input}");
            assert_eq!(parse(&f.to_string()), f, "{input}");
            assert_eq!(
                matches(&f, &user, &CoreSchema),
                ex["matchesEnterpriseUser"].as_bool().unwrap(),
                "{input}"
            );
        }
    }

    #[test]
    fn parses_to_the_expected_ast() {
        use CompareOp::{Eq, Ge, Ne};
        let ent = Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
        let p = |urn: Option<&str>, name: &str, sub: Option<&str>| AttrPath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub.map(str::to_owned),
        };
        let a = || AttrPath::new("a");
        let num = |n: &str| CompValue::Num(serde_json::from_str(n).unwrap());
        let present = |path| Filter::Present(path);
        let not = |f| Filter::Not(Box::new(f));
        let cases = [
            ("name.familyName pr", present(p(None, "name", Some("familyName")))),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"x\"",
                cmp(p(ent, "department", None), Eq, s("x")),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"271\"",
                cmp(p(ent, "manager", Some("value")), Eq, s("271")),
            ),
            ("USERNAME EQ \"x\"", cmp(AttrPath::new("USERNAME"), Eq, s("x"))),
            ("members.$ref pr", present(p(None, "members", Some("$ref")))),
            ("a eq -1.5e3", cmp(a(), Eq, num("-1.5e3"))),
            ("a GE 42", cmp(a(), Ge, num("42"))),
            ("a eq TRUE", cmp(a(), Eq, CompValue::Bool(true))),
            ("a Ne False", cmp(a(), Ne, CompValue::Bool(false))),
            ("a eq Null", cmp(a(), Eq, CompValue::Null)),
            (
                "a eq \"\\\"q\\\" \\\\ \\u00e9 \u{1F600}\"",
                cmp(a(), Eq, s("\"q\" \\ \u{e9} \u{1F600}")),
            ),
            ("  a   pr  ", present(a())),
            ("a eq\"x\"", cmp(a(), Eq, s("x"))),
            ("not(a pr)", not(present(a()))),
            ("NOT (a pr)", not(present(a()))),
            // An attribute may be called `not`; only `not (` is the operator.
            ("not eq \"x\"", cmp(AttrPath::new("not"), Eq, s("x"))),
            ("not pr", present(AttrPath::new("not"))),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), want, "{input}");
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let [a, b, c] = ["a", "b", "c"].map(|n| Box::new(Filter::Present(AttrPath::new(n))));
        let and_bc = Box::new(Filter::And(b.clone(), c.clone()));
        assert_eq!(
            parse("a pr or b pr and c pr"),
            Filter::Or(a.clone(), and_bc.clone())
        );
        assert_eq!(
            parse("a pr OR b pr AND c pr"),
            Filter::Or(a.clone(), and_bc.clone())
        );
        assert_eq!(
            parse("(a pr or b pr) and c pr"),
            Filter::And(Box::new(Filter::Or(a.clone(), b.clone())), c.clone())
        );
        assert_eq!(
            parse("a pr and b pr and c pr"),
            Filter::And(Box::new(Filter::And(a.clone(), b.clone())), c.clone())
        );
        assert_eq!(
            parse("not (a pr) and b pr"),
            Filter::And(Box::new(Filter::Not(a.clone())), b.clone())
        );
        // The printer keeps exactly the parentheses that change the tree.
        for (input, canonical) in [
            ("a pr or (b pr and c pr)", "a pr or b pr and c pr"),
            ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
            ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
            ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
            ("((a pr)) or b pr", "a pr or b pr"),
            ("emails[(type eq \"work\")]", "emails[type eq \"work\"]"),
            ("a EQ \"\\u0041\\n\"", "a eq \"A\\n\""),
        ] {
            let f = parse(input);
            assert_eq!(f.to_string(), canonical, "{input}");
            assert_eq!(parse(canonical), f, "{input}");
        }
    }

    #[test]
    fn idp_lookup_queries() {
        let guid = "7c9bd2d1-2a0b-4e7c-a1b6-4f5e9e0f8a3d";
        let cases = [
            (
                "userName eq \"bjensen@example.com\"",
                IndexedAttr::UserName,
                "bjensen@example.com",
                true,
            ),
            (
                "USERNAME EQ \"BJensen@Example.com\"",
                IndexedAttr::UserName,
                "BJensen@Example.com",
                true,
            ),
            (
                "externalId eq \"701984\"",
                IndexedAttr::ExternalId,
                "701984",
                true,
            ),
            (
                "displayName eq \"babs jensen\"",
                IndexedAttr::DisplayName,
                "babs jensen",
                true,
            ),
            // Entra's "Test connection": a random GUID that matches nobody.
            (&*format!("id eq \"{guid}\""), IndexedAttr::Id, guid, false),
            ("userName eq \"x\"", IndexedAttr::UserName, "x", false),
        ];
        for (input, attr, value, want) in cases {
            let f = parse(input);
            assert_eq!(
                indexed_equalities(&f),
                vec![(attr, value.to_owned())],
                "{input}"
            );
            assert_eq!(matches(&f, &user(), &CoreSchema), want, "{input}");
        }
    }

    #[test]
    fn indexed_equalities_only_from_the_top_level_and_chain() {
        let cases: [(&str, Vec<(IndexedAttr, &str)>); 10] = [
            (
                "userName eq \"a\" and active eq true",
                vec![(IndexedAttr::UserName, "a")],
            ),
            (
                "title pr and (externalId eq \"e\") and id eq \"i\"",
                vec![(IndexedAttr::ExternalId, "e"), (IndexedAttr::Id, "i")],
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq \"g\"",
                vec![(IndexedAttr::DisplayName, "g")],
            ),
            ("userName eq \"a\" or userName eq \"b\"", vec![]),
            ("not (userName eq \"a\")", vec![]),
            ("userName ne \"a\"", vec![]),
            ("userName sw \"a\"", vec![]),
            ("id eq 5", vec![]),
            ("name.userName eq \"a\" and emails[id eq \"x\"]", vec![]),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:id eq \"a\"",
                vec![],
            ),
        ];
        for (input, want) in cases {
            let want: Vec<_> = want.into_iter().map(|(a, v)| (a, v.to_owned())).collect();
            assert_eq!(indexed_equalities(&parse(input)), want, "{input}");
        }
    }

    #[test]
    fn membership_equalities_and_mentions() {
        let cases = [
            ("members eq \"u1\"", vec![(IndexedAttr::Members, "u1")]),
            (
                "members.value eq \"u1\"",
                vec![(IndexedAttr::Members, "u1")],
            ),
            (
                "displayName eq \"g\" and members[value eq \"u1\"]",
                vec![
                    (IndexedAttr::DisplayName, "g"),
                    (IndexedAttr::Members, "u1"),
                ],
            ),
            ("groups.value eq \"g1\"", vec![(IndexedAttr::Groups, "g1")]),
            ("groups.display eq \"g1\"", vec![]),
            ("members[type eq \"User\"]", vec![]),
        ];
        for (input, want) in cases {
            let want: Vec<_> = want.into_iter().map(|(a, v)| (a, v.to_owned())).collect();
            assert_eq!(indexed_equalities(&parse(input)), want, "{input}");
        }
        assert!(mentions(
            &parse("title pr or not (GROUPS.display eq \"x\")"),
            "groups"
        ));
        assert!(mentions(&parse("members[value eq \"x\"]"), "members"));
        assert!(!mentions(&parse("displayName eq \"members\""), "members"));
    }

    #[test]
    fn evaluates_against_a_realistic_user() {
        let cases = [
            // Attribute names and string values are case-insensitive by default.
            ("USERNAME eq \"BJENSEN@EXAMPLE.COM\"", true),
            ("userName sw \"BJ\" and userName ew \".COM\"", true),
            ("name.FAMILYNAME eq \"jensen\"", true),
            // caseExact attributes (id, externalId) compare exactly.
            ("id eq \"2819C223-7F76-453A-919D-413861904646\"", false),
            ("id eq \"2819c223-7f76-453a-919d-413861904646\"", true),
            // Extension attributes live under their URN; a core URN means the top level.
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"tour operations\"", true),
            ("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:employeeNumber eq \"701984\"", true),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"26118915-6090-4610-87e4-49d8ca9f808d\"", true),
            ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq \"26118915-6090-4610-87e4-49d8ca9f808d\"", true),
            ("urn:ietf:params:scim:schemas:core:2.0:User:title eq \"Tour Guide\"", true),
            ("urn:example:other:title eq \"Tour Guide\"", false),
            ("department eq \"Tour Operations\"", false),
            // Multi-valued: any element; complex elements compare through `value`.
            ("emails eq \"babs@jensen.org\"", true),
            ("emails.type eq \"home\"", true),
            ("emails.type ne \"home\"", false),
            ("emails[type eq \"home\" and value ew \"example.com\"]", false),
            ("emails[type eq \"home\" and not (primary eq true)]", true),
            ("emails[primary eq true]", true),
            ("emails[primary eq \"True\"]", true),
            ("groups.display eq \"Tour Guides\"", true),
            ("groups[display eq \"Tour Guides\"]", true),
            ("name[givenName eq \"Barbara\"]", true),
            ("ims[type eq \"xmpp\"]", false),
            ("addresses[type eq \"work\" and postalCode eq \"91608\"]", true),
            ("schemas eq \"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER\"", true),
            // Presence, missing attributes and null.
            ("nickName pr", true),
            ("password pr", false),
            ("emails pr and name pr", true),
            ("password ne \"x\"", true),
            ("password eq null", true),
            ("title eq null", false),
            ("title ne null", true),
            ("password gt \"a\"", false),
            // Booleans: eq/ne only, lenient on "True"/"False".
            ("active eq true", true),
            ("active eq false", false),
            ("active ne false", true),
            ("active eq \"TRUE\"", true),
            // dateTime compares chronologically, offsets included.
            ("meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", true),
            ("meta.lastModified gt \"2011-05-13T04:42:33.999Z\"", true),
            ("meta.created lt \"2010-01-23T05:00:00+00:00\"", true),
            ("meta.created gt \"not a date\"", false),
            ("meta.created sw \"2010-01\"", true),
            // Ordering on plain strings is lexicographic and case-insensitive.
            ("userType gt \"EMPLOYEE\"", false),
            ("userType ge \"EMPLOYEE\"", true),
            ("userType lt \"F\"", true),
            // Type mismatches never match.
            ("active eq 1", false),
            ("title eq 1", false),
        ];
        let user = user();
        for (input, want) in cases {
            assert_eq!(matches(&parse(input), &user, &CoreSchema), want, "{input}");
        }
    }

    #[test]
    fn numbers_compare_numerically() {
        let resource = json!({"n": 10, "f": 2.5, "big": u64::MAX, "neg": -3, "list": [1, 20]});
        let cases = [
            ("n eq 10", true),
            ("n eq 10.0", true),
            ("n gt 9.99", true),
            ("n lt 1e2", true),
            ("f ge 2.5", true),
            ("f lt 3", true),
            ("f eq 2", false),
            ("big gt 9223372036854775807", true),
            ("big eq 18446744073709551615", true),
            ("neg lt 0", true),
            ("neg ge -3", true),
            ("list gt 15", true),
            ("list gt 25", false),
            ("n eq \"10\"", false),
        ];
        for (input, want) in cases {
            assert_eq!(
                matches(&parse(input), &resource, &CoreSchema),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn presence_rules() {
        let resource = json!({"empty": "", "nul": null, "list": [], "nulls": [null, ""], "obj": {}, "objnull": {"a": null},
                              "complex": [{"value": ""}, {"value": "x"}], "zero": 0, "f": false});
        let cases = [
            ("empty pr", false),
            ("nul pr", false),
            ("list pr", false),
            ("nulls pr", false),
            ("obj pr", false),
            ("objnull pr", false),
            ("complex pr", true),
            ("complex.value pr", true),
            ("zero pr", true),
            ("f pr", true),
            ("missing pr", false),
            ("empty eq null", true),
            ("complex eq null", false),
        ];
        for (input, want) in cases {
            assert_eq!(
                matches(&parse(input), &resource, &CoreSchema),
                want,
                "{input}"
            );
        }
    }

    /// (input, 1-based character, fragment of the detail)
    const ERRORS: &[(&str, usize, &str)] = &[
        ("", 1, "the filter is empty"),
        ("   ", 4, "the filter is empty"),
        ("userName", 9, "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found the end of the filter"),
        ("userName equals \"x\"", 10, "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found 'equals'"),
        ("userName=\"x\"", 9, "expected a comparison operator"),
        ("userName eq", 12, "expected a value: a quoted string, a number, true, false or null, found the end"),
        ("userName eq bjensen", 13, "expected a value: a quoted string, a number, true, false or null, found 'bjensen'"),
        ("userName eq 'bjensen'", 13, "expected a value"),
        ("userName eq \"bjensen", 13, "this string has no closing '\"'"),
        ("userName eq \"bj\\qensen\"", 13, "invalid string: use JSON escapes"),
        ("userName eq \"tab\there\"", 13, "invalid string"),
        ("n eq 01", 6, "expected a JSON number"),
        ("n eq 1e400", 6, "expected a JSON number"),
        ("n eq -", 6, "expected a JSON number"),
        ("userName eq \"x\" userName eq \"y\"", 17, "expected 'and', 'or' or the end of the filter, found 'userName'"),
        ("userName eq \"x\")", 16, "expected 'and', 'or' or the end of the filter, found ')'"),
        ("(userName eq \"x\"", 17, "expected 'and', 'or' or ')', found the end of the filter"),
        ("title pr and", 13, "expected an attribute name, '(' or 'not (', found the end"),
        ("and title pr", 5, "expected a comparison operator"),
        ("1abc pr", 1, "expected an attribute name, '(' or 'not ('"),
        ("[a pr]", 1, "expected an attribute name, '(' or 'not ('"),
        ("() ", 2, "expected an attribute name, '(' or 'not ('"),
        ("not title pr", 5, "expected '(' after 'not'"),
        ("name.2x pr", 6, "expected an attribute name (a letter, then letters, digits, '-' or '_'), found '2x'"),
        ("name. pr", 6, "expected an attribute name"),
        ("a.b.c pr", 4, "at most one sub-attribute"),
        ("urn:x: pr", 7, "expected an attribute name"),
        (":x pr", 1, "expected an attribute name, '(' or 'not ('"),
        ("a$:x pr", 1, "expected a schema URN or an attribute name, found 'a$:x'"),
        ("a$b pr", 1, "expected an attribute name"),
        ("emails[type eq \"work\"", 22, "expected 'and', 'or' or ']'"),
        ("emails[type eq \"work\"].value eq \"x\"", 23, "expected 'and', 'or' or the end of the filter, found '.value'"),
        ("emails[value[type pr]]", 13, "value filters '[...]' cannot be nested"),
        ("emails[(a pr or value[type pr])]", 22, "cannot be nested"),
        ("name.familyName[type pr]", 16, "must follow a multi-valued attribute, not a sub-attribute"),
        ("emails[]", 8, "expected an attribute name"),
        ("meta.lastModified gt true", 22, "'gt' compares strings, numbers and dates; it cannot be used with true, false or null"),
        ("active lt null", 11, "'lt' compares strings"),
        ("a ge FALSE", 6, "'ge' compares strings"),
        ("a le null", 6, "'le' compares strings"),
        ("userName co 5", 13, "'co' needs a quoted string value"),
        ("userName sw true", 13, "'sw' needs a quoted string value"),
        ("userName ew null", 13, "'ew' needs a quoted string value"),
        ("é eq \"x\"", 1, "expected an attribute name, '(' or 'not (', found 'é'"),
        ("a eq \"é\" é", 10, "found 'é'"),
    ];

    #[test]
    fn every_error_is_invalid_filter_with_a_position() {
        for &(input, character, fragment) in ERRORS {
            let e = parse_filter(input).expect_err(input);
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(ScimType::InvalidFilter)),
                "{input}"
            );
            let prefix = format!("invalid filter at character {character}: ");
            assert!(e.detail.starts_with(&prefix), "{input}: {}", e.detail);
            assert!(e.detail.contains(fragment), "{input}: {}", e.detail);
        }
    }

    #[test]
    fn length_is_bounded() {
        let long = format!("userName eq \"{}\"", "x".repeat(MAX_LEN));
        let e = parse_filter(&long).unwrap_err();
        assert_eq!(
            e.detail,
            "invalid filter at character 1: the filter is longer than 4096 bytes"
        );
        let max = format!("a eq \"{}\"", "x".repeat(MAX_LEN - 7));
        assert_eq!(max.len(), MAX_LEN);
        assert!(parse_filter(&max).is_ok());
    }

    #[test]
    fn nesting_is_bounded_without_recursing_past_the_bound() {
        let nested = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_filter(&nested(MAX_DEPTH)).is_ok());
        let e = parse_filter(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(e.detail, "invalid filter at character 33: the filter is nested more than 32 levels deep (parentheses, brackets and 'not')");
        // 100,000 '(' is an error (too long); so are unclosed runs that fit the length bound.
        for input in [
            "(".repeat(100_000),
            "(".repeat(MAX_LEN),
            "not (".repeat(800),
            "not(".repeat(1000),
            "a[".repeat(2000),
        ] {
            let e = parse_filter(&input).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
            assert!(
                e.detail.contains("longer than")
                    || e.detail.contains("nested more than")
                    || e.detail.contains("cannot be nested"),
                "{}",
                e.detail
            );
        }
        // `not (` counts twice, `[` once.
        let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
        assert!(parse_filter(&nots(MAX_DEPTH / 2)).is_ok());
        assert!(parse_filter(&nots(MAX_DEPTH / 2 + 1))
            .unwrap_err()
            .detail
            .contains("nested more than 32"));
        let in_brackets = |n: usize| format!("x[{}a pr{}]", "(".repeat(n), ")".repeat(n));
        assert!(parse_filter(&in_brackets(MAX_DEPTH - 1)).is_ok());
        assert!(parse_filter(&in_brackets(MAX_DEPTH)).is_err());
    }

    #[test]
    fn longest_chains_parse_print_evaluate_and_drop() {
        // The deepest trees a bounded input can produce are left-nested and/or chains.
        for sep in [" and ", " or "] {
            let n = MAX_LEN / (4 + sep.len());
            let input = vec!["a pr"; n].join(sep);
            let f = parse(&input);
            assert_eq!(f.to_string(), input);
            assert!(matches(&f, &json!({"a": "x"}), &CoreSchema));
            let _ = format!("{f:?}");
            assert_eq!(f.clone(), f);
        }
        let worst = [
            format!("a eq \"{}\"", "\\\\".repeat(2000)),
            format!("a eq \"{}", "\\".repeat(4000)),
            " ".repeat(MAX_LEN),
            format!("{}:a pr", "urn:x".repeat(800)),
            format!("a{} pr", ".b".repeat(2000)),
            format!("a pr{}", " ".repeat(4000)),
            format!("not{}(a pr)", " ".repeat(4000)),
            format!("a eq {}", "1".repeat(4000)),
        ];
        for input in worst {
            let _ = parse_filter(&input);
        }
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![9 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}", 1 => Just("$ref".to_owned())]
    }

    pub(crate) fn attr_path(sub: bool) -> impl Strategy<Value = AttrPath> {
        let urn = prop_oneof![
            6 => Just(None),
            1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned())),
            1 => Just(Some(CORE_USER_URN.to_owned())),
            1 => Just(Some("urn:x-test:a.b-c:9".to_owned())),
        ];
        let sub = if sub {
            proptest::option::of(name()).boxed()
        } else {
            Just(None).boxed()
        };
        (urn, name(), sub).prop_map(|(urn, name, sub_attr)| AttrPath {
            urn,
            name,
            sub_attr,
        })
    }

    fn leaf() -> impl Strategy<Value = Filter> {
        use CompareOp::*;
        let number = prop_oneof![
            any::<i64>().prop_map(Number::from),
            any::<u64>().prop_map(Number::from),
            (-1_000_000i64..1_000_000)
                .prop_filter_map("finite", |k| Number::from_f64(k as f64 / 8.0)),
        ];
        let compare = prop_oneof![
            (
                prop::sample::select(vec![Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le]),
                any::<String>()
            )
                .prop_map(|(op, v)| (op, CompValue::Str(v.chars().take(12).collect()))),
            (prop::sample::select(vec![Eq, Ne, Gt, Ge, Lt, Le]), number)
                .prop_map(|(op, n)| (op, CompValue::Num(n))),
            (prop::sample::select(vec![Eq, Ne]), any::<bool>())
                .prop_map(|(op, b)| (op, CompValue::Bool(b))),
            prop::sample::select(vec![Eq, Ne]).prop_map(|op| (op, CompValue::Null)),
        ];
        prop_oneof![
            3 => (attr_path(true), compare).prop_map(|(path, (op, value))| Filter::Compare { path, op, value }),
            1 => attr_path(true).prop_map(Filter::Present),
        ]
    }

    fn boolean_tree(
        inner: impl Strategy<Value = Filter> + Clone + 'static,
    ) -> impl Strategy<Value = Filter> {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    }

    /// Arbitrary filters without value paths, as allowed inside `[...]`.
    pub(crate) fn arb_element_filter() -> impl Strategy<Value = Filter> {
        leaf().prop_recursive(3, 12, 2, |inner| boolean_tree(inner).boxed())
    }

    /// Arbitrary filters within the bounds: value paths only at the outer level.
    pub(crate) fn arb_filter() -> impl Strategy<Value = Filter> {
        let value_path =
            (attr_path(false), arb_element_filter()).prop_map(|(path, f)| Filter::ValuePath {
                path,
                filter: Box::new(f),
            });
        prop_oneof![3 => leaf(), 1 => value_path]
            .prop_recursive(4, 24, 2, |inner| boolean_tree(inner).boxed())
    }

    /// Token soup that reaches every branch of the parser far more often than random text.
    pub(crate) fn arb_text() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "(",
            ")",
            "[",
            "]",
            " ",
            "  ",
            "not",
            "NOT",
            "and",
            "or",
            "Or",
            "eq",
            "ne",
            "co",
            "sw",
            "gt",
            "LE",
            "pr",
            "\"x\"",
            "\"\\u00e9\\\"\"",
            "\"",
            "\\",
            "1.5e3",
            "-",
            "01",
            "true",
            "null",
            "False",
            "userName",
            "name.familyName",
            "emails",
            "urn:ietf:params:scim:schemas:core:2.0:User:",
            ":",
            ".",
            "$ref",
            "é",
            "\u{1F600}",
            "a.b.c",
            "\t",
            "\n",
        ]);
        prop_oneof![
            prop::collection::vec(token, 0..40).prop_map(|t| t.concat()),
            any::<String>(),
            prop::collection::vec(any::<u8>(), 0..64)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn printed_filters_parse_back_to_the_same_tree(f in arb_filter()) {
            let text = f.to_string();
            prop_assert_eq!(parse_filter(&text).map_err(|e| e.detail), Ok(f), "{}", text);
        }

        #[test]
        fn arbitrary_text_never_panics_and_round_trips_when_valid(input in arb_text()) {
            match parse_filter(&input) {
                Ok(f) => {
                    let text = f.to_string();
                    prop_assert_eq!(parse_filter(&text).map_err(|e| e.detail), Ok(f.clone()), "{}", text);
                    let _ = matches(&f, &user(), &CoreSchema);
                    let _ = indexed_equalities(&f);
                }
                Err(e) => {
                    prop_assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
                    prop_assert!(e.detail.starts_with("invalid filter at character "), "{}", e.detail);
                }
            }
        }

        #[test]
        fn evaluation_never_panics(f in arb_filter()) {
            let _ = matches(&f, &user(), &CoreSchema);
        }
    }
}
