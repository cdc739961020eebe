//! Tests of the parser, printer and evaluator together (most cases parse, print and evaluate
//! one input), and the proptest strategies that `path.rs` and the service's list planning (`service/plan.rs`) reuse.

use super::*;
use crate::error::ScimType;
use proptest::prelude::*;
use serde_json::{json, Number, Value};

/// RFC 7643 §4.1/§3.1 `caseExact` and `dateTime` facts for the attributes the tests use.
pub(crate) struct CoreSchema;
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

pub(crate) fn user() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/filters/rfc7643-enterprise-user.json"
    ))
    .unwrap()
}

pub(crate) fn parse(input: &str) -> Filter {
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
        "../../../tests/fixtures/filters/rfc7644-3.4.2.2-examples.json"
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
        (
            "name.familyName pr",
            present(p(None, "name", Some("familyName"))),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"x\"",
            cmp(p(ent, "department", None), Eq, s("x")),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"271\"",
            cmp(p(ent, "manager", Some("value")), Eq, s("271")),
        ),
        (
            "USERNAME EQ \"x\"",
            cmp(AttrPath::new("USERNAME"), Eq, s("x")),
        ),
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

/// Each (input, canonical form, whether it matches the RFC 7643 user): parses to the tree of its
/// canonical form, prints as it, and evaluates as stated.
fn check_loose_forms(cases: &[(&str, &str, bool)]) {
    let user = user();
    for &(input, canonical, want) in cases {
        let f = parse(input);
        assert_eq!(f, parse(canonical), "{input}");
        assert_eq!(f.to_string(), canonical, "{input}");
        assert_eq!(matches(&f, &user, &CoreSchema), want, "{input}");
    }
}

/// IdP shapes row 21: `emails[type eq "work"].value eq "x"` (Entra ID) is the value path with
/// both conditions, in filters, `.search` and group filters alike (one parser).
#[test]
fn value_path_then_sub_attribute_is_the_and_of_both() {
    let cases = [
        (
            r#"emails[type eq "work"].value eq "bjensen@example.com""#,
            r#"emails[type eq "work" and value eq "bjensen@example.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "home"].value eq "bjensen@example.com""#,
            r#"emails[type eq "home" and value eq "bjensen@example.com"]"#,
            false,
        ),
        (
            r#"emails[type eq "work" or type eq "home"].value ew "jensen.org""#,
            r#"emails[(type eq "work" or type eq "home") and value ew "jensen.org"]"#,
            true,
        ),
        (
            r#"emails[type eq "home"].primary pr"#,
            r#"emails[type eq "home" and primary pr]"#,
            false,
        ),
        (
            r#"EMAILS[TYPE EQ "work"].Value Eq "BJENSEN@example.com" and userName pr"#,
            r#"EMAILS[TYPE eq "work" and Value eq "BJENSEN@example.com"] and userName pr"#,
            true,
        ),
        (
            r#"not (emails[type eq "work"].value eq "nobody@example.com")"#,
            r#"not (emails[type eq "work" and value eq "nobody@example.com"])"#,
            true,
        ),
    ];
    check_loose_forms(&cases);
}

/// IdP shapes row 22: bare words are strings, JSON literals and numbers keep their type, and
/// dateTime attributes compare as instants whatever the offset and precision.
#[test]
fn bare_words_are_strings_and_date_times_compare_as_instants() {
    let cases = [
        ("userName sw bjen", r#"userName sw "bjen""#, true),
        ("userName sw O", r#"userName sw "O""#, false),
        ("name.familyName eq Jensen and (emails.value co example.com or emails.value co example.org)", r#"name.familyName eq "Jensen" and (emails.value co "example.com" or emails.value co "example.org")"#, true),
        ("(emails.value co example.org)", r#"emails.value co "example.org""#, false),
        ("emails[type eq work]", r#"emails[type eq "work"]"#, true),
        ("userName eq bjensen@example.com", r#"userName eq "bjensen@example.com""#, true),
        ("active eq TRUE", "active eq true", true),
        ("x eq 42", "x eq 42", false),
        ("x eq 01", r#"x eq "01""#, false),
        ("title eq truest", r#"title eq "truest""#, false),
        // 2010-01-23T04:56:22Z is 2010-01-22T21:56:22-07:00.
        ("meta.created gt 2010-01-22T21:56:21.8617979-07:00", r#"meta.created gt "2010-01-22T21:56:21.8617979-07:00""#, true),
        ("meta.created eq 2010-01-22T21:56:22.000000000-07:00", r#"meta.created eq "2010-01-22T21:56:22.000000000-07:00""#, true),
        (r#"meta.created lt "2010-01-23T05:56:21.999999999+01:00""#, r#"meta.created lt "2010-01-23T05:56:21.999999999+01:00""#, false),
        ("meta.created gt 2015-10-10T14:38:21.8617979-07:00", r#"meta.created gt "2015-10-10T14:38:21.8617979-07:00""#, false),
        ("meta.lastModified ge 2011-05-13T04:42:34Z", r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
    ];
    check_loose_forms(&cases);
}

/// (input, 1-based character, fragment of the detail)
const ERRORS: &[(&str, usize, &str)] = &[
    ("", 1, "the filter is empty"),
    ("   ", 4, "the filter is empty"),
    ("userName", 9, "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found the end of the filter"),
    ("userName equals \"x\"", 10, "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found 'equals'"),
    ("userName=\"x\"", 9, "expected a comparison operator"),
    ("userName eq", 12, "expected a value: a quoted string, a number, true, false, null or a word, found the end"),
    ("userName eq 'bjensen'", 13, "expected a value: a quoted string, a number, true, false, null or a word, found ''bjensen''"),
    ("userName eq )", 13, "expected a value"),
    ("(userName eq )", 14, "expected a value"),
    ("userName eq \"bjensen", 13, "this string has no closing '\"'"),
    ("userName eq \"bj\\qensen\"", 13, "invalid string: use JSON escapes"),
    ("userName eq \"tab\there\"", 13, "invalid string"),
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
    ("emails[type eq \"work\"].value", 29, "expected a comparison operator"),
    ("emails[type eq \"work\"].value.x eq 1", 29, "expected a comparison operator"),
    ("emails[type eq \"work\"].", 24, "expected an attribute name"),
    ("emails[type eq \"work\"].value eq \"x\".y", 36, "expected 'and', 'or' or the end of the filter"),
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
            (e.status(), e.scim_type()),
            (400, Some(ScimType::InvalidFilter)),
            "{input}"
        );
        let prefix = format!("invalid filter at character {character}: ");
        assert!(e.detail().starts_with(&prefix), "{input}: {}", e.detail());
        assert!(e.detail().contains(fragment), "{input}: {}", e.detail());
    }
}

#[test]
fn length_is_bounded() {
    let long = format!("userName eq \"{}\"", "x".repeat(MAX_LEN));
    let e = parse_filter(&long).unwrap_err();
    assert_eq!(
        e.detail(),
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
    assert_eq!(e.detail(), "invalid filter at character 33: the filter is nested more than 32 levels deep (parentheses, brackets and 'not')");
    // 100,000 '(' is an error (too long); so are unclosed runs that fit the length bound.
    for input in [
        "(".repeat(100_000),
        "(".repeat(MAX_LEN),
        "not (".repeat(800),
        "not(".repeat(1000),
        "a[".repeat(2000),
    ] {
        let e = parse_filter(&input).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
        assert!(
            e.detail().contains("longer than")
                || e.detail().contains("nested more than")
                || e.detail().contains("cannot be nested"),
            "{}",
            e.detail()
        );
    }
    // `not (` counts twice, `[` once.
    let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
    assert!(parse_filter(&nots(MAX_DEPTH / 2)).is_ok());
    assert!(parse_filter(&nots(MAX_DEPTH / 2 + 1))
        .unwrap_err()
        .detail()
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
        (-1_000_000i64..1_000_000).prop_filter_map("finite", |k| Number::from_f64(k as f64 / 8.0)),
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
        "].value",
        "O",
        "example.com",
        "2015-10-10T14:38:21.8617979-07:00",
        "'",
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

/// Whether `s` reads back as the same string when written bare (no quotes).
fn bare_safe(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('\'')
        && !s.contains(|c: char| c.is_whitespace() || "()[]\"".contains(c))
        && !["true", "false", "null"]
            .iter()
            .any(|l| s.eq_ignore_ascii_case(l))
        && serde_json::from_str::<Number>(s).is_err()
}

/// `f` written the way Microsoft's collection and Entra ID write filters: strings bare where
/// that reads back the same, and a value path whose filter ends in `and sub op value` written as
/// `path[rest].sub op value`. The canonical printer never writes either.
fn loose(f: &Filter) -> String {
    fn value(v: &CompValue) -> String {
        match v {
            CompValue::Str(s) if bare_safe(s) => s.clone(),
            other => other.to_string(),
        }
    }
    fn operand(x: &Filter, parens: bool) -> String {
        if parens {
            format!("({})", loose(x))
        } else {
            loose(x)
        }
    }
    match f {
        Filter::Compare { path, op, value: v } => format!("{path} {op} {}", value(v)),
        Filter::Present(path) => format!("{path} pr"),
        Filter::And(l, r) => format!(
            "{} and {}",
            operand(l, matches!(**l, Filter::Or(..))),
            operand(r, matches!(**r, Filter::Or(..) | Filter::And(..)))
        ),
        Filter::Or(l, r) => format!(
            "{} or {}",
            loose(l),
            operand(r, matches!(**r, Filter::Or(..)))
        ),
        Filter::Not(inner) => format!("not ({})", loose(inner)),
        Filter::ValuePath { path, filter } => match &**filter {
            Filter::And(rest, last) => match &**last {
                Filter::Compare {
                    path: sub,
                    op,
                    value: v,
                } if sub.urn.is_none() && sub.sub_attr.is_none() => {
                    let rest = loose(rest);
                    format!("{path}[{rest}].{} {op} {}", sub.name, value(v))
                }
                Filter::Present(sub) if sub.urn.is_none() && sub.sub_attr.is_none() => {
                    format!("{path}[{}].{} pr", loose(rest), sub.name)
                }
                _ => format!("{path}[{}]", loose(filter)),
            },
            _ => format!("{path}[{}]", loose(filter)),
        },
    }
}

/// Value paths whose filter ends in a condition on one plain sub-attribute, the tree that
/// `path[f].sub op v` parses to.
fn arb_sub_attribute_value_path() -> impl Strategy<Value = Filter> {
    let sub_leaf = (leaf(), name()).prop_map(|(l, name)| match l {
        Filter::Compare { op, value, .. } => Filter::Compare {
            path: AttrPath::new(name),
            op,
            value,
        },
        _ => Filter::Present(AttrPath::new(name)),
    });
    (attr_path(false), arb_element_filter(), sub_leaf).prop_map(|(path, rest, last)| {
        Filter::ValuePath {
            path,
            filter: Box::new(Filter::And(Box::new(rest), Box::new(last))),
        }
    })
}

/// Filters with bare-safe strings and `].sub` value paths among the others.
fn arb_loose_filter() -> impl Strategy<Value = Filter> {
    let bare = ("[a-zA-Z@._:+-][a-zA-Z0-9@._:+-]{0,14}", attr_path(true)).prop_map(|(s, path)| {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(s),
        }
    });
    prop_oneof![2 => leaf(), 1 => bare, 1 => arb_sub_attribute_value_path()].prop_recursive(
        3,
        16,
        2,
        |inner| boolean_tree(inner).boxed(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn loose_filters_parse_to_the_tree_the_canonical_printer_round_trips(f in arb_loose_filter()) {
        let text = loose(&f);
        prop_assert_eq!(parse_filter(&text).map_err(|e| e.detail().to_owned()), Ok(f.clone()), "{}", text);
        let canonical = f.to_string();
        prop_assert_eq!(parse_filter(&canonical).map_err(|e| e.detail().to_owned()), Ok(f), "{}", canonical);
    }

    #[test]
    fn printed_filters_parse_back_to_the_same_tree(f in arb_filter()) {
        let text = f.to_string();
        prop_assert_eq!(parse_filter(&text).map_err(|e| e.detail().to_owned()), Ok(f), "{}", text);
    }

    #[test]
    fn arbitrary_text_never_panics_and_round_trips_when_valid(input in arb_text()) {
        match parse_filter(&input) {
            Ok(f) => {
                let text = f.to_string();
                prop_assert_eq!(parse_filter(&text).map_err(|e| e.detail().to_owned()), Ok(f.clone()), "{}", text);
                let _ = matches(&f, &user(), &CoreSchema);
            }
            Err(e) => {
                prop_assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
                prop_assert!(e.detail().starts_with("invalid filter at character "), "{}", e.detail());
            }
        }
    }

    #[test]
    fn evaluation_never_panics(f in arb_filter()) {
        let _ = matches(&f, &user(), &CoreSchema);
    }
}
