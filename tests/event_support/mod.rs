//! The API Gateway events in `events/`, shared by the tests that replay them (`events.rs` through
//! the handler, `bootstrap_logs.rs` through the real binary).

use std::path::Path;

/// Each event file, in the order they are replayed, with the status it must get.
pub const EXPECTED: &[(&str, u16)] = &[
    ("post-user.json", 201),
    ("get-user.json", 200),
    ("put-user.json", 200),
    ("patch-user.json", 200),
    ("list-users.json", 200),
    ("filter-users.json", 200),
    ("get-service-provider-config.json", 200),
    ("get-resource-types.json", 200),
    ("get-resource-type-user.json", 200),
    ("get-schemas.json", 200),
    ("get-schema-user.json", 200),
    ("delete-user.json", 204),
];

/// DynamoDB stream events for the stream handler (`scim-events`), with the event URIs their
/// audit records give, in order.
pub const STREAM_EVENTS: &[(&str, &[&str])] = &[(
    "dynamodb-stream-audit.json",
    &[
        "urn:ietf:params:scim:event:prov:create:notice",
        "urn:ietf:params:scim:event:prov:deactivate",
        "urn:ietf:params:scim:event:prov:delete",
    ],
)];

/// The event file `name` with its placeholders replaced by `token` and `user_id`.
pub fn event_text(name: &str, token: &str, user_id: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.replace("SCIM_TOKEN_PLACEHOLDER", token)
        .replace("USER_ID_PLACEHOLDER", user_id)
}
