//! The discovery documents: `/ServiceProviderConfig` (RFC 7643 §5), `/ResourceTypes` (§6) and
//! `/Schemas` (§7), served as RFC 7644 §4 describes. All of them are generated from
//! [`crate::scim::schema`], so what we advertise is exactly what `validate` enforces.
//!
//! `base_url` is the absolute URL of the SCIM root for the tenant (e.g.
//! `https://scim.example.com/t/acme/scim/v2`); a trailing `/` is tolerated. It only feeds
//! `meta.location` (RFC 7643 §3.1: the URI of the resource being returned).

use serde_json::{json, Map, Value};

use crate::scim::schema::{
    AttrType, AttributeDef, ResourceKind, SchemaDef, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA,
    ROLES_USER_SCHEMA, USER_SCHEMA,
};
use crate::scim::urn;
use crate::settings::Profile;

/// Defaults of [`Capabilities`]; the deployment's limits are the service's
/// (`service::bulk`). RFC 7643 §5 requires both numbers in `bulk`.
pub const BULK_MAX_OPERATIONS: u32 = 1000;
pub const BULK_MAX_PAYLOAD_BYTES: u32 = 1_048_576;

fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// One attribute as `profile` describes it. Strict: every `type` sub-attribute lists
/// `canonicalValues` (the interoperability profile asks for it so that clients know which
/// labels to send); where RFC 7643 names none (`roles`, `entitlements`, `x509Certificates`) the
/// list is empty, saying "any label" explicitly rather than by omission.
fn attribute_document_for(a: &AttributeDef, profile: Profile) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), a.name.into());
    m.insert("type".into(), a.ty.as_str().into());
    m.insert("multiValued".into(), a.multi_valued.into());
    m.insert("description".into(), a.description.into());
    m.insert("required".into(), a.required.into());
    m.insert("caseExact".into(), a.case_exact.into());
    m.insert("mutability".into(), a.mutability.as_str().into());
    m.insert("returned".into(), a.returned.as_str().into());
    m.insert("uniqueness".into(), a.uniqueness.as_str().into());
    let listed_type = profile == Profile::Strict && a.name == "type";
    if !a.canonical_values.is_empty() || listed_type {
        m.insert("canonicalValues".into(), a.canonical_values.into());
    }
    // RFC 7643 §7: referenceTypes is defined for reference attributes only.
    if a.ty == AttrType::Reference {
        m.insert("referenceTypes".into(), a.reference_types.into());
    }
    if a.ty == AttrType::Complex {
        let subs: Vec<Value> = a
            .sub_attributes
            .iter()
            .map(|s| attribute_document_for(s, profile))
            .collect();
        m.insert("subAttributes".into(), subs.into());
    }
    Value::Object(m)
}

/// The RFC 7643 §7 representation of one schema (as in §8.7.1, plus `schemas` and `meta` which
/// RFC 7644 §4 requires of a served resource).
pub fn schema_document(s: &SchemaDef, base_url: &str) -> Value {
    schema_document_for(s, base_url, Profile::Tolerant)
}

/// [`schema_document`] as a tenant with `profile` is answered.
pub fn schema_document_for(s: &SchemaDef, base_url: &str, profile: Profile) -> Value {
    let attributes: Vec<Value> = s
        .attributes
        .iter()
        .map(|a| attribute_document_for(a, profile))
        .collect();
    json!({
        "schemas": [urn::SCHEMA],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", base(base_url), s.id),
        },
    })
}

const ALL_SCHEMAS: [&SchemaDef; 4] = [
    &USER_SCHEMA,
    &ENTERPRISE_USER_SCHEMA,
    &ROLES_USER_SCHEMA,
    &GROUP_SCHEMA,
];

/// Every schema we serve: User, EnterpriseUser, our roles extension, Group.
pub fn schemas(base_url: &str) -> Vec<Value> {
    schemas_for(base_url, Profile::Tolerant)
}

/// [`schemas`] as a tenant with `profile` is answered.
pub fn schemas_for(base_url: &str, profile: Profile) -> Vec<Value> {
    ALL_SCHEMAS
        .iter()
        .map(|s| schema_document_for(s, base_url, profile))
        .collect()
}

/// `GET /Schemas/{id}`; `id` is matched case-insensitively (RFC 7643 §2.1 treats URNs in
/// attribute names that way, and clients do not always keep the case).
pub fn schema(base_url: &str, id: &str) -> Option<Value> {
    schema_for(base_url, id, Profile::Tolerant)
}

/// [`schema`] as a tenant with `profile` is answered.
pub fn schema_for(base_url: &str, id: &str, profile: Profile) -> Option<Value> {
    ALL_SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema_document_for(s, base_url, profile))
}

fn resource_type_document(kind: ResourceKind, base_url: &str) -> Value {
    let description = match kind {
        ResourceKind::User => "User Account",
        ResourceKind::Group => "Group",
    };
    let mut doc = json!({
        "schemas": [urn::RESOURCE_TYPE],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": kind.endpoint(),
        "description": description,
        "schema": kind.core_schema().id,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", base(base_url), kind.name()),
        },
    });
    // RFC 7643 §6: schemaExtensions is optional; the §8.6 Group example leaves it out.
    if !kind.extensions().is_empty() {
        let ext: Vec<Value> = kind
            .extensions()
            .iter()
            .map(|e| json!({ "schema": e.id, "required": false }))
            .collect();
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("schemaExtensions".into(), ext.into());
        }
    }
    doc
}

/// `GET /ResourceTypes` (RFC 7643 §6, example §8.6).
pub fn resource_types(base_url: &str) -> Vec<Value> {
    ResourceKind::ALL
        .iter()
        .map(|k| resource_type_document(*k, base_url))
        .collect()
}

/// `GET /ResourceTypes/{name}`, name matched case-insensitively.
pub fn resource_type(base_url: &str, name: &str) -> Option<Value> {
    ResourceKind::ALL
        .iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
        .map(|k| resource_type_document(*k, base_url))
}

/// What this deployment supports, as advertised in `/ServiceProviderConfig` (RFC 7643 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub patch: bool,
    pub bulk: bool,
    /// `filter.maxResults`: the most resources one list response returns.
    pub filter_max_results: u32,
    pub sort: bool,
    pub etag: bool,
    pub change_password: bool,
    pub documentation_uri: Option<String>,
    /// RFC 9865 §4: page size when the client gives no `count`, and the largest accepted.
    pub default_page_size: u32,
    /// Whether RFC 9865 cursor paging is offered (index paging always is).
    pub cursor_paging: bool,
    /// `bulk.maxOperations` and `bulk.maxPayloadSize` (RFC 7643 §5), when `bulk` is on.
    pub bulk_max_operations: u32,
    pub bulk_max_payload_bytes: u32,
    /// Say `interopProfileConformant: true` (draft-zollner-scim-interop-profile): only for a
    /// tenant on the strict profile.
    pub interop_profile_conformant: bool,
    /// RFC 9967 §4 `securityEvents`: absent when `None`.
    pub security_events: Option<SecurityEvents>,
}

/// RFC 9967 §4: what `securityEvents` in `/ServiceProviderConfig` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvents {
    /// `asyncRequest`: `none`, `long` (the provider goes asynchronous at its discretion) or
    /// `request` (when the client asks with `Prefer: respond-async`).
    pub async_request: &'static str,
    /// `eventUris`: the event URIs this provider delivers.
    pub event_uris: Vec<String>,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            patch: true,
            bulk: false,
            filter_max_results: 200,
            sort: false,
            etag: true,
            change_password: false,
            documentation_uri: None,
            default_page_size: 100,
            cursor_paging: true,
            bulk_max_operations: BULK_MAX_OPERATIONS,
            bulk_max_payload_bytes: BULK_MAX_PAYLOAD_BYTES,
            interop_profile_conformant: false,
            security_events: None,
        }
    }
}

/// `GET /ServiceProviderConfig` (RFC 7643 §5, example §8.5). Filtering is always supported:
/// every IdP looks users up with `filter=userName eq "..."` before creating them.
pub fn service_provider_config(base_url: &str, caps: &Capabilities) -> Value {
    let (max_ops, max_payload) = if caps.bulk {
        (caps.bulk_max_operations, caps.bulk_max_payload_bytes)
    } else {
        (0, 0)
    };
    let mut doc = json!({
        "schemas": [urn::SERVICE_PROVIDER_CONFIG],
        "patch": { "supported": caps.patch },
        "bulk": { "supported": caps.bulk, "maxOperations": max_ops, "maxPayloadSize": max_payload },
        "filter": { "supported": true, "maxResults": caps.filter_max_results },
        "changePassword": { "supported": caps.change_password },
        "sort": { "supported": caps.sort },
        "etag": { "supported": caps.etag },
        "pagination": {
            "cursor": caps.cursor_paging,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": caps.default_page_size,
            "maxPageSize": caps.filter_max_results,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard (a static SCIM token issued for this tenant)",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        },
    });
    if let (Some(uri), Some(obj)) = (&caps.documentation_uri, doc.as_object_mut()) {
        obj.insert("documentationUri".into(), uri.as_str().into());
    }
    if let (Some(se), Some(obj)) = (&caps.security_events, doc.as_object_mut()) {
        obj.insert(
            "securityEvents".into(),
            json!({ "asyncRequest": se.async_request, "eventUris": se.event_uris }),
        );
    }
    if let (true, Some(obj)) = (caps.interop_profile_conformant, doc.as_object_mut()) {
        obj.insert("interopProfileConformant".into(), true.into());
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://example.com/v2";

    fn attr<'a>(doc: &'a Value, name: &str) -> &'a Value {
        doc["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == name))
            .unwrap_or_else(|| panic!("no attribute {name}"))
    }

    fn sub<'a>(a: &'a Value, name: &str) -> &'a Value {
        a["subAttributes"]
            .as_array()
            .and_then(|s| s.iter().find(|x| x["name"] == name))
            .unwrap_or_else(|| panic!("no sub-attribute {name}"))
    }

    #[test]
    fn user_schema_matches_rfc_8_7_1() {
        let doc = schema(BASE, urn::USER).expect("user schema");
        assert_eq!(doc["schemas"], json!([urn::SCHEMA]));
        assert_eq!(doc["id"], urn::USER);
        assert_eq!(doc["name"], "User");
        assert_eq!(doc["meta"]["resourceType"], "Schema");
        assert_eq!(
            doc["meta"]["location"],
            format!("{BASE}/Schemas/{}", urn::USER)
        );
        let cases: &[(&str, &str, Value)] = &[
            ("userName", "uniqueness", json!("server")),
            ("userName", "required", json!(true)),
            ("userName", "caseExact", json!(false)),
            ("userName", "type", json!("string")),
            ("password", "returned", json!("never")),
            ("password", "mutability", json!("writeOnly")),
            ("groups", "mutability", json!("readOnly")),
            ("groups", "multiValued", json!(true)),
            ("emails", "type", json!("complex")),
            ("active", "type", json!("boolean")),
            ("profileUrl", "referenceTypes", json!(["external"])),
        ];
        for (name, key, want) in cases {
            assert_eq!(&attr(&doc, name)[*key], want, "{name}.{key}");
        }
        assert!(attr(&doc, "userName").get("subAttributes").is_none());
        assert!(attr(&doc, "userName").get("referenceTypes").is_none());
        let emails = attr(&doc, "emails");
        assert_eq!(
            sub(emails, "type")["canonicalValues"],
            json!(["work", "home", "other"])
        );
        assert_eq!(
            sub(attr(&doc, "groups"), "$ref")["referenceTypes"],
            json!(["User", "Group"])
        );
        assert_eq!(
            sub(attr(&doc, "x509Certificates"), "value")["type"],
            "binary"
        );
    }

    #[test]
    fn group_and_enterprise_schemas() {
        let g = schema(BASE, "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:GROUP").expect("group");
        let members = attr(&g, "members");
        assert_eq!(sub(members, "value")["mutability"], "immutable");
        assert_eq!(
            sub(members, "type")["canonicalValues"],
            json!(["User", "Group"])
        );
        assert_eq!(attr(&g, "displayName")["required"], true);
        let e = schema(BASE, urn::ENTERPRISE_USER).expect("enterprise");
        assert_eq!(e["name"], "EnterpriseUser");
        assert_eq!(
            sub(attr(&e, "manager"), "displayName")["mutability"],
            "readOnly"
        );
        assert!(schema(BASE, "urn:scim:schemas:core:2.0").is_none());
        let all = schemas(&format!("{BASE}/"));
        let ids: Vec<_> = all.iter().map(|s| s["id"].clone()).collect();
        assert_eq!(
            ids,
            [
                json!(urn::USER),
                json!(urn::ENTERPRISE_USER),
                json!(urn::ROLES_USER),
                json!(urn::GROUP)
            ]
        );
        assert_eq!(
            all[3]["meta"]["location"],
            format!("{BASE}/Schemas/{}", urn::GROUP)
        );
    }

    #[test]
    fn resource_types_match_rfc_8_6() {
        let all = resource_types(BASE);
        assert_eq!(all.len(), 2);
        let u = resource_type(BASE, "user").expect("User");
        assert_eq!(u["schemas"], json!([urn::RESOURCE_TYPE]));
        assert_eq!(u["id"], "User");
        assert_eq!(u["endpoint"], "/Users");
        assert_eq!(u["schema"], urn::USER);
        assert_eq!(
            u["schemaExtensions"],
            json!([
                { "schema": urn::ENTERPRISE_USER, "required": false },
                { "schema": urn::ROLES_USER, "required": false }
            ])
        );
        assert_eq!(
            u["meta"],
            json!({ "resourceType": "ResourceType", "location": format!("{BASE}/ResourceTypes/User") })
        );
        let g = resource_type(BASE, "Group").expect("Group");
        assert_eq!(g["endpoint"], "/Groups");
        assert_eq!(g["schema"], urn::GROUP);
        assert!(g.get("schemaExtensions").is_none());
        assert!(resource_type(BASE, "Device").is_none());
    }

    #[test]
    fn service_provider_config_matches_rfc_8_5() {
        let d = service_provider_config(BASE, &Capabilities::default());
        assert_eq!(d["schemas"], json!([urn::SERVICE_PROVIDER_CONFIG]));
        assert_eq!(d["patch"]["supported"], true);
        assert_eq!(
            d["bulk"],
            json!({ "supported": false, "maxOperations": 0, "maxPayloadSize": 0 })
        );
        assert_eq!(d["filter"], json!({ "supported": true, "maxResults": 200 }));
        assert_eq!(d["sort"]["supported"], false);
        assert_eq!(d["etag"]["supported"], true);
        assert_eq!(d["changePassword"]["supported"], false);
        assert_eq!(d["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(d["authenticationSchemes"][0]["name"], "OAuth Bearer Token");
        assert_eq!(d["authenticationSchemes"][0]["primary"], true);
        assert_eq!(d["meta"]["resourceType"], "ServiceProviderConfig");
        assert_eq!(
            d["meta"]["location"],
            format!("{BASE}/ServiceProviderConfig")
        );
        assert!(d.get("documentationUri").is_none());
        assert!(d.get("id").is_none(), "RFC 7643 §5: no id");

        let caps = Capabilities {
            bulk: true,
            sort: true,
            filter_max_results: 50,
            documentation_uri: Some("https://docs.example.com/scim".into()),
            ..Capabilities::default()
        };
        let d = service_provider_config(BASE, &caps);
        assert_eq!(d["bulk"]["supported"], true);
        assert_eq!(d["bulk"]["maxOperations"], BULK_MAX_OPERATIONS);
        assert_eq!(d["sort"]["supported"], true);
        assert_eq!(d["filter"]["maxResults"], 50);
        assert_eq!(d["documentationUri"], "https://docs.example.com/scim");
    }
}
