//! The integration tests, in one binary: every file here links the crate and the AWS SDK once,
//! instead of once per file (`cargo test --test it`, or a name filter such as
//! `cargo test --test it -- groups_api::`). A new test file goes here as a module.
//!
//! `tests/request_log.rs` and `tests/tokens_logs.rs` stay binaries of their own: they install a
//! thread-local tracing subscriber and check what it captured, which other tests running as
//! threads of the same process (plain `cargo test`) could disturb through tracing's global
//! callsite interest cache.

#[path = "../common/mod.rs"]
mod common;
#[path = "../event_support/mod.rs"]
mod event_support;
#[path = "../token_support/mod.rs"]
mod token_support;

mod admin_api;
mod admin_browser;
mod async_bulk;
mod audit_trail;
mod bad_input;
mod bootstrap_logs;
mod bulk;
mod counter_shards;
mod dynamo_deadlines;
mod dynamodb;
mod email_lookup;
mod event_feed;
mod events;
mod follow_ups;
mod group_refs;
mod group_store_contract;
mod groups_api;
mod groups_scale;
mod hardening;
mod idp_groups_replay;
mod idp_replay;
mod idp_rows;
mod index_paging;
mod interop;
mod ipsie_filters;
mod local_server;
mod member_bound;
mod partial_writes;
mod patch_properties;
mod policies;
mod policy_replay;
mod query_api;
mod rfc_patch;
mod roles;
mod scimctl_cli;
mod settings;
mod smoke;
mod store_contract;
mod stores_through_router;
mod strict_profile;
mod tokens_secrets;
mod unindexed_paging;
mod users_api;
