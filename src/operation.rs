//! What a request does: named once by the router, read by the request log line.
//!
//! The names are part of the log format (`operation` field of `scim::request` lines), which
//! dashboards and alarms filter on: keep them stable.

/// The SCIM operation a request performs (RFC 7644 §3.2 endpoints × methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Operation {
    /// Not routed (no endpoint at the path, or a method the endpoint does not serve).
    #[default]
    Unknown,
    ServiceProviderConfig,
    ResourceTypes,
    ResourceType,
    Schemas,
    Schema,
    UsersList,
    UsersSearch,
    UsersGet,
    UsersCreate,
    UsersReplace,
    UsersPatch,
    UsersDelete,
    GroupsList,
    GroupsSearch,
    GroupsGet,
    GroupsCreate,
    GroupsReplace,
    GroupsPatch,
    GroupsDelete,
    /// `POST /.search` at the root (RFC 7644 §3.4.3).
    RootSearch,
    Bulk,
    Me,
}

impl Operation {
    pub fn is_discovery(self) -> bool {
        use Operation::*;
        matches!(
            self,
            ServiceProviderConfig | ResourceTypes | ResourceType | Schemas | Schema
        )
    }

    pub fn is_users(self) -> bool {
        use Operation::*;
        matches!(
            self,
            UsersList
                | UsersSearch
                | UsersGet
                | UsersCreate
                | UsersReplace
                | UsersPatch
                | UsersDelete
        )
    }

    pub fn is_groups(self) -> bool {
        use Operation::*;
        matches!(
            self,
            GroupsList
                | GroupsSearch
                | GroupsGet
                | GroupsCreate
                | GroupsReplace
                | GroupsPatch
                | GroupsDelete
        )
    }

    pub fn as_str(self) -> &'static str {
        use Operation::*;
        match self {
            Unknown => "unknown",
            ServiceProviderConfig => "discovery.spc",
            ResourceTypes => "discovery.resource_types",
            ResourceType => "discovery.resource_type",
            Schemas => "discovery.schemas",
            Schema => "discovery.schema",
            UsersList => "users.list",
            UsersSearch => "users.search",
            UsersGet => "users.get",
            UsersCreate => "users.create",
            UsersReplace => "users.replace",
            UsersPatch => "users.patch",
            UsersDelete => "users.delete",
            GroupsList => "groups.list",
            GroupsSearch => "groups.search",
            GroupsGet => "groups.get",
            GroupsCreate => "groups.create",
            GroupsReplace => "groups.replace",
            GroupsPatch => "groups.patch",
            GroupsDelete => "groups.delete",
            RootSearch => "root.search",
            Bulk => "bulk",
            Me => "me",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
