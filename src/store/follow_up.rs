//! The follow-ups of a large group write: what a group rename or a group delete leaves to do on
//! its members' items when the request's time budget runs out, and the queue it waits on.
//!
//! A user's group references are copies on the user item (`dynamo/group_refs.rs`): a rename
//! refreshes one copy per member, a delete removes one per member, one UpdateItem each. A group of
//! 50,000 members is ~54,000 calls, longer than the API function's 10 s timeout, so the store
//! does what fits in its budget and hands the rest over as a [`FollowUpJob`] (ARCHITECTURE.md,
//! "Follow-ups of large group writes"). The job is a cursor, not a list: the members are read
//! again, in member-id order, from the one after `after`. Every step is idempotent (conditional
//! updates; deleting an absent item is a no-op), so a job delivered twice changes nothing.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::tenant::TenantId;

/// What is left of a group write's fan-out over the group's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUpJob {
    pub tenant: String,
    pub group_id: String,
    pub work: FollowUpWork,
    /// The last member id (in member-id order) whose work is done; `None`: none yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl FollowUpJob {
    /// The whole fan-out of `work` over `group_id`'s members, none done yet.
    pub fn start(tenant: &TenantId, group_id: &str, work: FollowUpWork) -> Self {
        FollowUpJob {
            tenant: tenant.as_str().to_owned(),
            group_id: group_id.to_owned(),
            work,
            after: None,
        }
    }
}

/// Which fan-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum FollowUpWork {
    /// Refresh each user member's copy of the group's names to the group's current ones.
    Refresh,
    /// The clean-up of a deleted group: its place in other groups (when `after` is `None`),
    /// then each member's reference and membership items. `deleted_at` is the deletion's time
    /// (the users' `lastModified`).
    #[serde(rename_all = "camelCase")]
    Delete { deleted_at: String },
}

impl FollowUpWork {
    /// For logs.
    pub fn kind(&self) -> &'static str {
        match self {
            FollowUpWork::Refresh => "refresh",
            FollowUpWork::Delete { .. } => "delete",
        }
    }
}

/// Where follow-ups wait for the asynchronous worker (on AWS: the asynchronous /Bulk SQS queue).
#[async_trait]
pub trait FollowUpQueue: Send + Sync {
    async fn enqueue(&self, job: &FollowUpJob) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_job_travels_as_camel_case_json_and_refuses_unknown_fields() {
        let tenant = TenantId::parse("acme").unwrap();
        let mut job = FollowUpJob::start(
            &tenant,
            "g1",
            FollowUpWork::Delete {
                deleted_at: "2026-12-06T00:00:00Z".into(),
            },
        );
        job.after = Some("u9".into());
        let v = serde_json::to_value(&job).unwrap();
        assert_eq!(
            v,
            json!({"tenant": "acme", "groupId": "g1", "after": "u9",
                   "work": {"kind": "delete", "deletedAt": "2026-12-06T00:00:00Z"}})
        );
        assert_eq!(serde_json::from_value::<FollowUpJob>(v).unwrap(), job);
        let refresh = json!({"tenant": "acme", "groupId": "g1", "work": {"kind": "refresh"}});
        let read: FollowUpJob = serde_json::from_value(refresh).unwrap();
        assert_eq!((read.work.kind(), read.after), ("refresh", None));
        for bad in [
            json!({"tenant": "acme", "groupId": "g1", "work": {"kind": "refresh"}, "x": 1}),
            json!({"tenant": "acme", "groupId": "g1", "work": {"kind": "drop"}}),
            json!({"tenant": "acme", "work": {"kind": "refresh"}}),
        ] {
            assert!(serde_json::from_value::<FollowUpJob>(bad).is_err());
        }
    }
}
