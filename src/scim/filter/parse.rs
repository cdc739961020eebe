//! The filter parser (RFC 7644 §3.4.2.2), also used by `path.rs` for PATCH paths
//! (RFC 7644 §3.5.2), which share `attrPath` and `[valFilter]`.
//!
//! Grammar (RFC 7644 §3.4.2.2 Figure 1, precedence `not` > `and` > `or`):
//!
//! ```text
//! FILTER    = andExp *( SP "or" SP andExp )
//! andExp    = term *( SP "and" SP term )
//! term      = "(" FILTER ")" / "not" *SP "(" FILTER ")" / valuePath / attrExp
//! valuePath = attrPath "[" FILTER "]" [subExp]  ; not nested; attrPath has no subAttr
//! subExp    = "." ATTRNAME SP ( "pr" / compareOp SP compValue )   ; extension, see below
//! attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! compValue = "false" / "null" / "true" / number / string / bareWord   ; JSON, RFC 8259
//! bareWord  = 1*( any character but whitespace, "(", ")", "[", "]", '"' )  ; extension
//! ```
//!
//! Two extensions beyond RFC 7644's grammar, for what identity providers send
//! (ARCHITECTURE.md, IdP shapes rows 21 and 22):
//! - `emails[type eq "work"].value eq "x"` (Entra ID, matching on an email) is read as
//!   `emails[type eq "work" and value eq "x"]`: the tree holds only the latter, so the printer,
//!   the evaluator and list planning see one form.
//! - a bare word that is not `true`, `false`, `null` or a JSON number is a string
//!   (`userName sw O`, `meta.created gt 2015-10-10T14:38:21.8617979-07:00`); the canonical
//!   printer still quotes it.
//!
//! ```text
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

use std::fmt;

use serde_json::Number;

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::error::ScimError;

/// Longest filter or PATCH path accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting accepted; each `(`, `[` and `not` opens one level.
pub const MAX_DEPTH: usize = 32;

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
const EXPECTED_VALUE: &str = "a value: a quoted string, a number, true, false, null or a word";
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
                    let mut filter = self.value_filter(&path)?;
                    // `path[f].sub op v` means `path[f and sub op v]` (IdP shapes row 21).
                    if let Some(sub) = self.sub_attr_after_bracket()? {
                        let condition = self.attr_exp(AttrPath::new(sub))?;
                        filter = Filter::And(Box::new(filter), Box::new(condition));
                    }
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
            Some(_) => {
                // A JSON literal, a JSON number, or else a bare word read as a string
                // (IdP shapes row 22): `userName sw O`, `meta.created gt 2015-10-10T14:38:21Z`.
                let end = self.bare_end(at);
                let word = &self.src[at..end];
                // `'x'` is a mistaken quote, not a word: comparing with the quotes would match
                // nothing, silently.
                if word.is_empty() || word.starts_with('\'') {
                    return Err(self.expected(at, EXPECTED_VALUE));
                }
                let value = match word.to_ascii_lowercase().as_str() {
                    "true" => CompValue::Bool(true),
                    "false" => CompValue::Bool(false),
                    "null" => CompValue::Null,
                    _ => match serde_json::from_str::<Number>(word) {
                        Ok(number) => CompValue::Num(number),
                        Err(_) => CompValue::Str(word.to_owned()),
                    },
                };
                self.pos = end;
                Ok(value)
            }
            None => Err(self.expected(at, EXPECTED_VALUE)),
        }
    }

    /// End of the bare word starting at `from`: up to whitespace, a bracket, a parenthesis or a
    /// quote, so `(emails.value co example.com)` ends the word at `)`.
    fn bare_end(&self, from: usize) -> usize {
        self.src[from..]
            .find(|c: char| c.is_whitespace() || "()[]\"".contains(c))
            .map_or(self.src.len(), |i| from + i)
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
