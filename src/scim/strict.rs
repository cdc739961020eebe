//! The strict profile's request checks (draft-zollner-scim-interop-profile, as issue 18 lists
//! its points; ARCHITECTURE.md, "Strict profile"), for tenants set to `profile=strict`. The
//! tolerant default never calls them. Pure: the service decides when they apply.
//!
//! - A POST/PUT body may hold only attributes the resource's schemas define (core, common,
//!   declared extensions, and their sub-attributes), and `schemas` may name only those schemas
//!   by their canonical URNs: anything else is 400 `invalidSyntax` instead of being ignored
//!   (RFC 7643 §3 leaves "unknown attribute" handling to the provider; the profile closes it).
//! - Every PATCH operation has a `path` (the no-path form of RFC 7644 §3.5.2.1/§3.5.2.3 is
//!   refused): 400 `invalidSyntax`.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::scim::json::get_ci;
use crate::scim::patch::Operation;
use crate::scim::schema::{common_attribute, AttrType, AttributeDef, ResourceKind, SchemaDef};

fn unknown(what: String) -> ScimError {
    ScimError::invalid_syntax(format!(
        "{what} This tenant uses the strict SCIM interoperability profile, which refuses attributes and schemas the resource's schemas do not define."
    ))
}

fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Check a POST/PUT body of `kind` (the body must already be an object; anything else is left
/// to the ordinary validation, which answers it).
pub fn check_resource(kind: ResourceKind, body: &Value) -> Result<(), ScimError> {
    let Some(obj) = body.as_object() else {
        return Ok(());
    };
    let core = kind.core_schema();
    let schema_of = |urn: &str| -> Option<&'static SchemaDef> {
        std::iter::once(core)
            .chain(kind.extensions().iter().copied())
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    };
    if let Some(schemas) = get_ci(obj, "schemas").and_then(Value::as_array) {
        for s in schemas {
            let name = s.as_str().unwrap_or_default();
            if schema_of(name).is_none() {
                return Err(unknown(format!(
                    "The schema {:?} is not a schema of {} resources.",
                    clip(name),
                    kind.name()
                )));
            }
        }
    }
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(def) = core.attribute(key).or_else(|| common_attribute(key)) {
            check_value(def, key, value)?;
            continue;
        }
        match schema_of(key) {
            Some(ext) if !std::ptr::eq(ext, core) => {
                if let Value::Object(inner) = value {
                    check_attributes(ext, key, inner)?;
                }
            }
            Some(_) => {
                // The core schema spelled out as a key: its attributes.
                if let Value::Object(inner) = value {
                    check_attributes(core, key, inner)?;
                }
            }
            None => {
                return Err(unknown(format!(
                    "{:?} is not an attribute of {} resources.",
                    clip(key),
                    kind.name()
                )))
            }
        }
    }
    Ok(())
}

fn check_attributes(
    schema: &'static SchemaDef,
    at: &str,
    inner: &Map<String, Value>,
) -> Result<(), ScimError> {
    for (k, v) in inner {
        let def = schema.attribute(k).ok_or_else(|| {
            unknown(format!(
                "{:?} is not an attribute of {}.",
                clip(k),
                clip(at)
            ))
        })?;
        check_value(def, k, v)?;
    }
    Ok(())
}

/// Sub-attributes of a complex value (each element of a multi-valued one) must be defined.
fn check_value(def: &AttributeDef, name: &str, value: &Value) -> Result<(), ScimError> {
    if def.ty != AttrType::Complex {
        return Ok(());
    }
    let elements: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    for e in elements {
        if let Value::Object(m) = e {
            for k in m.keys() {
                if def.sub_attribute(k).is_none() {
                    return Err(unknown(format!(
                        "{:?} is not a sub-attribute of {}.",
                        clip(k),
                        clip(name)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Every PATCH operation must name its `path`.
pub fn check_patch(ops: &[Operation]) -> Result<(), ScimError> {
    match ops.iter().position(|op| op.path.is_none()) {
        None => Ok(()),
        Some(i) => Err(ScimError::invalid_syntax(format!(
            "Operation {}: a PATCH operation without \"path\" is not accepted: this tenant uses the strict SCIM interoperability profile. Send one operation per attribute, each with its path.",
            i + 1
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_attributes_pass_and_unknown_ones_are_invalid_syntax() {
        let ok = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "a", "externalId": "x", "id": "1",
            "name": {"givenName": "A"},
            "emails": [{"value": "a@example.com", "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "manager": {"value": "2"}}
        });
        check_resource(ResourceKind::User, &ok).unwrap();
        for bad in [
            json!({"userName": "a", "favouriteColour": "blue"}),
            json!({"userName": "a", "name": {"nickname": "x"}}),
            json!({"userName": "a", "emails": [{"value": "a@example.com", "label": "x"}]}),
            json!({"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"shoeSize": 9}}),
            json!({"schemas": ["urn:example:custom"], "userName": "a"}),
            json!({"userName": "a", "urn:example:custom": {"x": 1}}),
        ] {
            let e = check_resource(ResourceKind::User, &bad).unwrap_err();
            assert_eq!(
                (e.status(), e.scim_type().map(|t| t.as_str())),
                (400, Some("invalidSyntax")),
                "{bad}"
            );
        }
        check_resource(
            ResourceKind::Group,
            &json!({"displayName": "G", "members": [{"value": "1", "type": "User"}]}),
        )
        .unwrap();
        assert!(check_resource(
            ResourceKind::Group,
            &json!({"displayName": "G", "owner": "x"})
        )
        .is_err());
    }
}
