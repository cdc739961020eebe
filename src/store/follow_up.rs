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
