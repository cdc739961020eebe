//! The attribute definitions of the resources we serve: the single source of truth for discovery
//! (`/Schemas`, RFC 7643 §7) and for request validation (`validate`).
//!
//! The tables follow the normative JSON of RFC 7643 §8.7.1 (User, Group, Enterprise User), with
//! three deliberate differences, each noted where it occurs:
//! - Group `displayName` is `required: true`: §4.2 says REQUIRED, §8.7.1 says `false`; we need it
//!   to find groups by name (Entra looks groups up with `displayName eq`).
//! - Group `members` has a `display` sub-attribute: §8.7.1 omits it, but the §8.4 example returns
//!   it and Okta and Entra send it. It is `immutable` like every other sub-attribute of `members`
//!   (§4.2), so what the IdP sends is kept and returned.
//! - User `addresses` has a `primary` sub-attribute: §8.7.1 omits it, but §4.1.2 gives every
//!   multi-valued attribute a `primary` and the §8.2 example sends one on an address.
//!
//! The common attributes `id`, `externalId` and `meta` (RFC 7643 §3.1) belong to no schema and
//! are described by [`common_attribute`].

use crate::scim::urn;

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    /// The name used in schema representations (RFC 7643 §7 `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute and its characteristics (RFC 7643 §2.2, §7). Defaults follow §2.2: single
/// valued, optional, case-insensitive, readWrite, returned by default, no uniqueness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttributeDef],
}

/// A resource schema (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

fn find(attrs: &'static [AttributeDef], name: &str) -> Option<&'static AttributeDef> {
    // RFC 7643 §2.1: attribute names are case-insensitive.
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

impl SchemaDef {
    /// The top-level attribute called `name`, in any case.
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.attributes, name)
    }
}

impl AttributeDef {
    /// The sub-attribute called `name`, in any case.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.sub_attributes, name)
    }

    /// Whether a client may set this attribute (RFC 7643 §7: readOnly attributes are ignored
    /// when sent, writeOnly ones are never stored or returned by us).
    pub fn is_client_settable(&self) -> bool {
        matches!(
            self.mutability,
            Mutability::ReadWrite | Mutability::Immutable
        )
    }

    // Builders, so the tables below only say what differs from the RFC 7643 §2.2 defaults.

    const fn new(name: &'static str, ty: AttrType, description: &'static str) -> Self {
        AttributeDef {
            name,
            ty,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }
    const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    const fn read_only(self) -> Self {
        self.mutability(Mutability::ReadOnly)
    }
    const fn immutable(self) -> Self {
        self.mutability(Mutability::Immutable)
    }
    const fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    const fn unique(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }
}

const fn string(name: &'static str, description: &'static str) -> AttributeDef {
    AttributeDef::new(name, AttrType::String, description)
}
const fn boolean(name: &'static str, description: &'static str) -> AttributeDef {
    AttributeDef::new(name, AttrType::Boolean, description)
}
const fn date_time(name: &'static str, description: &'static str) -> AttributeDef {
    AttributeDef::new(name, AttrType::DateTime, description)
}
const fn binary(name: &'static str, description: &'static str) -> AttributeDef {
    AttributeDef::new(name, AttrType::Binary, description)
}
const fn reference(
    name: &'static str,
    types: &'static [&'static str],
    description: &'static str,
) -> AttributeDef {
    let mut a = AttributeDef::new(name, AttrType::Reference, description);
    a.reference_types = types;
    a
}
const fn complex(
    name: &'static str,
    description: &'static str,
    sub_attributes: &'static [AttributeDef],
) -> AttributeDef {
    let mut a = AttributeDef::new(name, AttrType::Complex, description);
    a.sub_attributes = sub_attributes;
    a
}

// Sub-attributes shared by the multi-valued attributes of RFC 7643 §2.4 / §4.1.2.
const DISPLAY: AttributeDef = string(
    "display",
    "A human-readable name, primarily used for display purposes.  READ-ONLY.",
);
const TYPE_PLAIN: AttributeDef = string("type", "A label indicating the attribute's function.");
const PRIMARY: AttributeDef = boolean(
    "primary",
    "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.  The primary attribute value 'true' MUST appear no more than once.",
);
const WORK_HOME_OTHER: &[&str] = &["work", "home", "other"];

const NAME_SUBS: &[AttributeDef] = &[
    string("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III')."),
    string("familyName", "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III')."),
    string("givenName", "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III')."),
    string("middleName", "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III')."),
    string("honorificPrefix", "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III')."),
    string("honorificSuffix", "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III')."),
];

const EMAIL_SUBS: &[AttributeDef] = &[
    string("value", "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'."),
    DISPLAY,
    string("type", "A label indicating the attribute's function, e.g., 'work' or 'home'.").canonical(WORK_HOME_OTHER),
    boolean("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address or primary email address.  The primary attribute value 'true' MUST appear no more than once."),
];

const PHONE_SUBS: &[AttributeDef] = &[
    string("value", "Phone number of the User."),
    DISPLAY,
    string("type", "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.")
        .canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
    boolean("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred phone number or primary phone number.  The primary attribute value 'true' MUST appear no more than once."),
];

const IM_SUBS: &[AttributeDef] = &[
    string("value", "Instant messaging address for the User."),
    DISPLAY,
    string("type", "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.")
        .canonical(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
    boolean("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred messenger or primary messenger.  The primary attribute value 'true' MUST appear no more than once."),
];

const PHOTO_SUBS: &[AttributeDef] = &[
    reference("value", &["external"], "URL of a photo of the User."),
    DISPLAY,
    string("type", "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.")
        .canonical(&["photo", "thumbnail"]),
    boolean("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred photo or thumbnail.  The primary attribute value 'true' MUST appear no more than once."),
];

const ADDRESS_SUBS: &[AttributeDef] = &[
    string("formatted", "The full mailing address, formatted for display or use with a mailing label.  This attribute MAY contain newlines."),
    string("streetAddress", "The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information.  This attribute MAY contain newlines."),
    string("locality", "The city or locality component."),
    string("region", "The state or region component."),
    string("postalCode", "The zip code or postal code component."),
    string("country", "The country name component."),
    string("type", "A label indicating the attribute's function, e.g., 'work' or 'home'.").canonical(WORK_HOME_OTHER),
    // §8.7.1 omits `primary` here, but §4.1.2 and the §8.2 example give addresses a primary.
    boolean("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address.  The primary attribute value 'true' MUST appear no more than once."),
];

const GROUPS_SUBS: &[AttributeDef] = &[
    string("value", "The identifier of the User's group.").read_only(),
    reference(
        "$ref",
        &["User", "Group"],
        "The URI of the corresponding 'Group' resource to which the user belongs.",
    )
    .read_only(),
    string(
        "display",
        "A human-readable name, primarily used for display purposes.  READ-ONLY.",
    )
    .read_only(),
    string(
        "type",
        "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
    )
    .canonical(&["direct", "indirect"])
    .read_only(),
];

const ENTITLEMENT_SUBS: &[AttributeDef] = &[
    string("value", "The value of an entitlement."),
    DISPLAY,
    TYPE_PLAIN,
    PRIMARY,
];
const ROLE_SUBS: &[AttributeDef] = &[
    string("value", "The value of a role."),
    DISPLAY,
    TYPE_PLAIN,
    PRIMARY,
];
const X509_SUBS: &[AttributeDef] = &[
    binary("value", "The value of an X.509 certificate."),
    DISPLAY,
    TYPE_PLAIN,
    PRIMARY,
];

const USER_ATTRIBUTES: &[AttributeDef] = &[
    string("userName", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value.  This identifier MUST be unique across the service provider's entire set of Users. REQUIRED.")
        .required()
        .unique(Uniqueness::Server),
    complex("name", "The components of the user's real name. Providers MAY return just the full name as a single string in the formatted sub-attribute, or they MAY return just the individual component attributes using the other sub-attributes, or they MAY return both.  If both variants are returned, they SHOULD be describing the same name, with the formatted name indicating how the component attributes should be combined.", NAME_SUBS),
    string("displayName", "The name of the User, suitable for display to end-users.  The name SHOULD be the full name of the User being described, if known."),
    string("nickName", "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'.  This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge')."),
    reference("profileUrl", &["external"], "A fully qualified URL pointing to a page representing the User's online profile."),
    string("title", "The user's title, such as \"Vice President.\""),
    string("userType", "Used to identify the relationship between the organization and the user.  Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used."),
    string("preferredLanguage", "Indicates the User's preferred written or spoken language.  Generally used for selecting a localized user interface; e.g., 'en_US' specifies the language English and country US."),
    string("locale", "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
    string("timezone", "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
    boolean("active", "A Boolean value indicating the User's administrative status."),
    string("password", "The User's cleartext password.  This attribute is intended to be used as a means to specify an initial password when creating a new User or to reset an existing User's password.")
        .mutability(Mutability::WriteOnly)
        .returned(Returned::Never),
    complex("emails", "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'.", EMAIL_SUBS).multi(),
    complex("phoneNumbers", "Phone numbers for the User.  The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.", PHONE_SUBS).multi(),
    complex("ims", "Instant messaging addresses for the User.", IM_SUBS).multi(),
    complex("photos", "URLs of photos of the User.", PHOTO_SUBS).multi(),
    complex("addresses", "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'.  This attribute is a complex type with the following sub-attributes.", ADDRESS_SUBS).multi(),
    complex("groups", "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.", GROUPS_SUBS)
        .multi()
        .read_only(),
    complex("entitlements", "A list of entitlements for the User that represent a thing the User has.", ENTITLEMENT_SUBS).multi(),
    complex("roles", "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.", ROLE_SUBS).multi(),
    complex("x509Certificates", "A list of certificates issued to the User.", X509_SUBS).multi(),
];

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub static USER_SCHEMA: SchemaDef = SchemaDef {
    id: urn::USER,
    name: "User",
    description: "User Account",
    attributes: USER_ATTRIBUTES,
};

const MANAGER_SUBS: &[AttributeDef] = &[
    string(
        "value",
        "The id of the SCIM resource representing the User's manager.  REQUIRED.",
    ),
    reference(
        "$ref",
        &["User"],
        "The URI of the SCIM resource representing the User's manager.  REQUIRED.",
    ),
    string(
        "displayName",
        "The displayName of the User's manager. OPTIONAL and READ-ONLY.",
    )
    .read_only(),
];

/// The Enterprise User extension (RFC 7643 §4.3, §8.7.1).
pub static ENTERPRISE_USER_SCHEMA: SchemaDef = SchemaDef {
    id: urn::ENTERPRISE_USER,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        string("employeeNumber", "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
        string("costCenter", "Identifies the name of a cost center."),
        string("organization", "Identifies the name of an organization."),
        string("division", "Identifies the name of a division."),
        string("department", "Identifies the name of a department."),
        complex("manager", "The User's manager.  A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.", MANAGER_SUBS),
    ],
};

/// Our roles extension of User (`urn::ROLES_USER`): one read-only attribute, computed from the
/// user's groups and the tenant's rules on every read, never stored (RFC 7643 §2.2: readOnly
/// values a client sends are ignored).
pub static ROLES_USER_SCHEMA: SchemaDef = SchemaDef {
    id: urn::ROLES_USER,
    name: "UserRole",
    description: "The product role the user's groups give it under the tenant's role rules",
    attributes: &[string(
        "role",
        "The product role of the user: the highest-priority role rule among its groups, never above the tenant's role ceiling. Absent when no rule matches.",
    )
    .read_only()],
};

const MEMBER_SUBS: &[AttributeDef] = &[
    string("value", "Identifier of the member of this Group.").immutable(),
    reference(
        "$ref",
        &["User", "Group"],
        "The URI corresponding to a SCIM resource that is a member of this Group.",
    )
    .immutable(),
    // Not in §8.7.1; see the module documentation.
    string(
        "display",
        "A human-readable name for the member, primarily used for display purposes.",
    )
    .immutable(),
    string(
        "type",
        "A label indicating the type of resource, e.g., 'User' or 'Group'.",
    )
    .canonical(&["User", "Group"])
    .immutable(),
];

/// The core Group schema (RFC 7643 §4.2, §8.7.1).
pub static GROUP_SCHEMA: SchemaDef = SchemaDef {
    id: urn::GROUP,
    name: "Group",
    description: "Group",
    attributes: &[
        // required: see the module documentation.
        string(
            "displayName",
            "A human-readable name for the Group. REQUIRED.",
        )
        .required(),
        complex("members", "A list of members of the Group.", MEMBER_SUBS).multi(),
    ],
};

const META_SUBS: &[AttributeDef] = &[
    string("resourceType", "The name of the resource type of the resource.").case_exact().read_only(),
    date_time("created", "The \"DateTime\" that the resource was added to the service provider.").read_only(),
    date_time("lastModified", "The most recent DateTime that the details of this resource were updated at the service provider.").read_only(),
    reference("location", &["uri"], "The URI of the resource being returned.").case_exact().read_only(),
    string("version", "The version of the resource being returned.").case_exact().read_only(),
];

/// RFC 7643 §3.1: attributes of every resource, outside any schema.
pub static COMMON_ATTRIBUTES: &[AttributeDef] = &[
    string(
        "id",
        "A unique identifier for a SCIM resource as defined by the service provider.",
    )
    .case_exact()
    .read_only()
    .returned(Returned::Always)
    .unique(Uniqueness::Server),
    string(
        "externalId",
        "A String that is an identifier for the resource as defined by the provisioning client.",
    )
    .case_exact(),
    complex(
        "meta",
        "A complex attribute containing resource metadata.",
        META_SUBS,
    )
    .read_only(),
];

/// `id`, `externalId` or `meta` (RFC 7643 §3.1), in any case.
pub fn common_attribute(name: &str) -> Option<&'static AttributeDef> {
    find(COMMON_ATTRIBUTES, name)
}

/// The schema whose canonical URN is `urn` (case-insensitive; aliases are resolved by
/// [`urn::canonical_schema_urn`] first, not here).
pub fn schema_by_urn(urn: &str) -> Option<&'static SchemaDef> {
    [
        &USER_SCHEMA,
        &ENTERPRISE_USER_SCHEMA,
        &ROLES_USER_SCHEMA,
        &GROUP_SCHEMA,
    ]
    .into_iter()
    .find(|s| s.id.eq_ignore_ascii_case(urn))
}

static USER_EXTENSIONS: [&SchemaDef; 2] = [&ENTERPRISE_USER_SCHEMA, &ROLES_USER_SCHEMA];

/// The resource types we serve (RFC 7643 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

    /// The resource type name (`meta.resourceType`, `/ResourceTypes/{name}`).
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The endpoint relative to the service base URL (RFC 7644 §3.2).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }

    pub fn core_schema(self) -> &'static SchemaDef {
        match self {
            ResourceKind::User => &USER_SCHEMA,
            ResourceKind::Group => &GROUP_SCHEMA,
        }
    }

    /// The schema extensions this resource type allows; none is required.
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        match self {
            ResourceKind::User => &USER_EXTENSIONS,
            ResourceKind::Group => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> &'static AttributeDef {
        USER_SCHEMA
            .attribute(name)
            .unwrap_or_else(|| panic!("no User attribute {name}"))
    }

    #[test]
    fn user_has_every_rfc_attribute_in_order() {
        let names: Vec<_> = USER_SCHEMA.attributes.iter().map(|a| a.name).collect();
        assert_eq!(
            names,
            [
                "userName",
                "name",
                "displayName",
                "nickName",
                "profileUrl",
                "title",
                "userType",
                "preferredLanguage",
                "locale",
                "timezone",
                "active",
                "password",
                "emails",
                "phoneNumbers",
                "ims",
                "photos",
                "addresses",
                "groups",
                "entitlements",
                "roles",
                "x509Certificates",
            ]
        );
    }

    #[test]
    fn characteristics_match_rfc_7643_8_7_1() {
        let u = user("USERNAME");
        assert!(u.required && !u.case_exact);
        assert_eq!(u.uniqueness, Uniqueness::Server);
        let p = user("password");
        assert_eq!(
            (p.mutability, p.returned),
            (Mutability::WriteOnly, Returned::Never)
        );
        let g = user("groups");
        assert!(g.multi_valued);
        assert_eq!(g.mutability, Mutability::ReadOnly);
        assert!(g
            .sub_attributes
            .iter()
            .all(|s| s.mutability == Mutability::ReadOnly));
        assert_eq!(user("profileUrl").reference_types, ["external"]);
        assert_eq!(user("active").ty, AttrType::Boolean);
        let x = user("x509Certificates")
            .sub_attribute("VALUE")
            .map(|s| s.ty);
        assert_eq!(x, Some(AttrType::Binary));
        let ims = user("ims")
            .sub_attribute("type")
            .map(|s| s.canonical_values.len());
        assert_eq!(ims, Some(8));
        let addr: Vec<_> = user("addresses")
            .sub_attributes
            .iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(
            addr,
            [
                "formatted",
                "streetAddress",
                "locality",
                "region",
                "postalCode",
                "country",
                "type",
                "primary"
            ]
        );
        let name: Vec<_> = user("name").sub_attributes.iter().map(|a| a.name).collect();
        assert_eq!(
            name,
            [
                "formatted",
                "familyName",
                "givenName",
                "middleName",
                "honorificPrefix",
                "honorificSuffix"
            ]
        );
        for a in [
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "entitlements",
            "roles",
        ] {
            assert!(
                user(a).multi_valued && user(a).ty == AttrType::Complex,
                "{a}"
            );
        }
    }

    #[test]
    fn enterprise_and_group() {
        let m = ENTERPRISE_USER_SCHEMA
            .attribute("manager")
            .expect("manager");
        assert!(!m.multi_valued);
        assert_eq!(
            m.sub_attribute("displayName").map(|s| s.mutability),
            Some(Mutability::ReadOnly)
        );
        assert_eq!(
            m.sub_attribute("$ref").map(|s| s.reference_types),
            Some(&["User"][..])
        );
        for a in [
            "employeeNumber",
            "costCenter",
            "organization",
            "division",
            "department",
        ] {
            assert_eq!(
                ENTERPRISE_USER_SCHEMA.attribute(a).map(|d| d.ty),
                Some(AttrType::String)
            );
        }
        let d = GROUP_SCHEMA.attribute("displayname").expect("displayName");
        assert!(d.required);
        let members = GROUP_SCHEMA.attribute("members").expect("members");
        assert_eq!(members.mutability, Mutability::ReadWrite);
        assert_eq!(
            members.sub_attribute("value").map(|s| s.mutability),
            Some(Mutability::Immutable)
        );
        assert_eq!(
            members.sub_attribute("type").map(|s| s.canonical_values),
            Some(&["User", "Group"][..])
        );
    }

    #[test]
    fn no_sub_attribute_is_complex() {
        // RFC 7643 §2.3.8: a complex attribute MUST NOT contain sub-attributes that have
        // sub-attributes. `validate` relies on this to bound recursion.
        let all = [&USER_SCHEMA, &ENTERPRISE_USER_SCHEMA, &GROUP_SCHEMA];
        for s in all {
            for a in s.attributes {
                assert_eq!(
                    a.sub_attributes.is_empty(),
                    a.ty != AttrType::Complex,
                    "{}",
                    a.name
                );
                for sub in a.sub_attributes {
                    assert!(sub.ty != AttrType::Complex && sub.sub_attributes.is_empty());
                }
            }
        }
        for a in COMMON_ATTRIBUTES {
            for sub in a.sub_attributes {
                assert!(sub.ty != AttrType::Complex);
            }
        }
    }

    #[test]
    fn names_are_unique_case_insensitively() {
        fn check(attrs: &[AttributeDef]) {
            for (i, a) in attrs.iter().enumerate() {
                assert!(
                    attrs
                        .iter()
                        .skip(i + 1)
                        .all(|b| !b.name.eq_ignore_ascii_case(a.name)),
                    "{}",
                    a.name
                );
                check(a.sub_attributes);
            }
        }
        for s in [&USER_SCHEMA, &ENTERPRISE_USER_SCHEMA, &GROUP_SCHEMA] {
            check(s.attributes);
        }
        check(COMMON_ATTRIBUTES);
    }

    #[test]
    fn lookups() {
        let cases: &[(&str, Option<&str>)] = &[
            (urn::USER, Some("User")),
            ("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:GROUP", Some("Group")),
            (urn::ENTERPRISE_USER, Some("EnterpriseUser")),
            ("urn:scim:schemas:core:2.0", None),
            (urn::PATCH_OP, None),
        ];
        for (id, want) in cases {
            assert_eq!(schema_by_urn(id).map(|s| s.name), *want, "{id}");
        }
        let id = common_attribute("ID").expect("id");
        assert!(
            id.case_exact
                && id.mutability == Mutability::ReadOnly
                && id.returned == Returned::Always
        );
        assert_eq!(id.uniqueness, Uniqueness::Server);
        assert_eq!(
            common_attribute("externalid").map(|a| a.mutability),
            Some(Mutability::ReadWrite)
        );
        let meta = common_attribute("meta").expect("meta");
        assert_eq!(
            meta.sub_attribute("LASTMODIFIED").map(|a| a.ty),
            Some(AttrType::DateTime)
        );
        assert!(common_attribute("schemas").is_none());
        assert_eq!(ResourceKind::User.extensions().len(), 2);
        assert!(ResourceKind::Group.extensions().is_empty());
        assert_eq!(ResourceKind::Group.endpoint(), "/Groups");
        assert_eq!(ResourceKind::User.core_schema().id, urn::USER);
    }
}
