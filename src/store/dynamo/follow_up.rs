//! The member fan-outs of a group rename and a group delete, bounded by a time budget: what
//! does not fit is handed to the asynchronous worker as a [`FollowUpJob`] (ARCHITECTURE.md,
//! "Follow-ups of large group writes").
//!
//! Without a queue (tests, `scimctl`, the local server) a fan-out runs to its end in the
//! request, as it always did. With one (the Lambda, [`DynamoStore::with_follow_ups`]) it runs
//! until the budget and then enqueues the rest; the worker runs it with
//! [`DynamoStore::run_follow_up`] until its own deadline and enqueues what is left again.
//!
//! Progress is a cursor over the `MEMBER#<group>` partition: the last member id, in sort-key
//! order, whose work is done. A job resumes with the Query page after it. Each page's members
//! are sent [`FOLLOW_UP_RATE`] per second at most: on DynamoDB a tenant's users share one
//! partition key (`T#<t>#USER`, ~1,000 write units per second), and an unpaced 50,000-update
//! burst would throttle the tenant's own IdP writes for most of a minute.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::group_item::sort_key;
use super::group_refs::Pace;
use super::keys;
use super::DynamoStore;
use crate::scim::resource::Resource;
use crate::store::follow_up::{FollowUpJob, FollowUpQueue, FollowUpWork};
use crate::store::{GroupStore, StoreError};
use crate::tenant::TenantId;

/// How long a request fans out before handing the rest over: the API function's timeout is
/// 10 s, and the request has its own reads and transaction besides.
pub const DEFAULT_FOLLOW_UP_BUDGET: Duration = Duration::from_secs(3);

/// Member updates started per second by a fan-out that has a queue (in the request and in the
/// worker): half of a partition's 1,000 write units per second (a user item under 1 KB is one
/// write unit), so the tenant's IdP keeps the other half. The cap is per fan-out: two large
/// groups renamed at once pace separately.
pub const FOLLOW_UP_RATE: u32 = 500;

/// Where the rest of a fan-out goes, and after how long.
#[derive(Clone)]
pub(super) struct FollowUps {
    queue: Arc<dyn FollowUpQueue>,
    budget: Duration,
}

impl fmt::Debug for FollowUps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FollowUps")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    /// Fan out group renames and deletes for at most `budget` per request, at most
    /// [`FOLLOW_UP_RATE`] updates per second, and send what is left to `queue`.
    pub fn with_follow_ups(mut self, queue: Arc<dyn FollowUpQueue>, budget: Duration) -> Self {
        self.follow_ups = Some(FollowUps { queue, budget });
        self
    }

    /// After a rename committed (`group` at its new version): refresh the members' copies.
    pub(super) async fn after_rename(&self, tenant: &TenantId, group: &Resource) {
        let job = FollowUpJob::start(tenant, &group.id, FollowUpWork::Refresh);
        self.in_request(tenant, job, Some(group)).await;
    }

    /// After a group's deletion committed: its place in other groups, its members' references
    /// and membership items.
    pub(super) async fn after_group_delete(
        &self,
        tenant: &TenantId,
        group_id: &str,
        deleted_at: &str,
    ) {
        let job = FollowUpJob::start(tenant, group_id, delete(deleted_at));
        self.in_request(tenant, job, None).await;
    }

    /// Run `job` in the request: to its end without a queue; else until the budget, then hand
    /// the rest over (also after a failure: the rest is idempotent and the worker retries).
    async fn in_request(&self, tenant: &TenantId, mut job: FollowUpJob, group: Option<&Resource>) {
        let Some(follow_ups) = &self.follow_ups else {
            let mut done = 0;
            if let Err(e) = self
                .advance(tenant, &mut job, group, Pace::default(), &mut done)
                .await
            {
                log_unfinished(&job, &e);
            }
            return;
        };
        let pace = Pace {
            deadline: Some(Instant::now() + follow_ups.budget),
            per_second: Some(FOLLOW_UP_RATE),
        };
        let mut done = 0;
        let stopped_by = match self.advance(tenant, &mut job, group, pace, &mut done).await {
            Ok(true) => return,
            Ok(false) => "budget",
            Err(e) => {
                tracing::warn!(tenant = %job.tenant, group_id = %job.group_id, work = job.work.kind(), error = %e, "group follow-up failed in the request; handing it to the worker");
                "failure"
            }
        };
        match follow_ups.queue.enqueue(&job).await {
            Ok(()) => {
                tracing::info!(tenant = %job.tenant, group_id = %job.group_id, work = job.work.kind(), members_done = done, after = job.after.as_deref().unwrap_or(""), stopped_by, "group follow-up handed to the asynchronous worker");
            }
            Err(e) => log_unfinished(&job, &e),
        }
    }

    /// The worker's side: run `job` until `deadline` (none: to its end). Returns what is left
    /// when the deadline came first. A refresh reads the group and writes its current names
    /// (a group gone meanwhile: nothing to do, its deletion removes the references).
    pub async fn run_follow_up(
        &self,
        job: &FollowUpJob,
        deadline: Option<Instant>,
    ) -> Result<Option<FollowUpJob>, StoreError> {
        let tenant = TenantId::parse(&job.tenant)
            .map_err(|_| StoreError::Internal("a follow-up names no valid tenant".into()))?;
        let group = match job.work {
            FollowUpWork::Refresh => match self.get_group(&tenant, &job.group_id).await? {
                Some(g) => Some(g),
                None => return Ok(None),
            },
            FollowUpWork::Delete { .. } => None,
        };
        let pace = Pace {
            deadline,
            per_second: Some(FOLLOW_UP_RATE),
        };
        let mut job = job.clone();
        let finished = self
            .advance(&tenant, &mut job, group.as_ref(), pace, &mut 0)
            .await?;
        Ok((!finished).then_some(job))
    }

    /// Send `job` to the follow-up queue (the worker, for what its deadline left).
    pub async fn enqueue_follow_up(&self, job: &FollowUpJob) -> Result<(), StoreError> {
        match &self.follow_ups {
            Some(f) => f.queue.enqueue(job).await,
            None => Err(StoreError::Internal(
                "this store has no follow-up queue".into(),
            )),
        }
    }

    /// Everything a group deletion leaves, to its end (`resume_cascades`).
    pub(super) async fn finish_group_deletion(
        &self,
        tenant: &TenantId,
        group_id: &str,
        deleted_at: &str,
    ) -> Result<(), StoreError> {
        let mut job = FollowUpJob::start(tenant, group_id, delete(deleted_at));
        self.advance(tenant, &mut job, None, Pace::default(), &mut 0)
            .await
            .map(drop)
    }

    /// Work through `job`'s members from `job.after`, one Query page at a time, moving
    /// `job.after` past each member done. `group` (a refresh): the names to copy, at its
    /// version. `true` when finished, `false` when `pace`'s deadline came first; `done` counts
    /// the members done.
    async fn advance(
        &self,
        tenant: &TenantId,
        job: &mut FollowUpJob,
        group: Option<&Resource>,
        pace: Pace,
        done_so_far: &mut usize,
    ) -> Result<bool, StoreError> {
        if let (FollowUpWork::Delete { deleted_at }, None) = (&job.work, &job.after) {
            self.leave_all_groups(tenant, &job.group_id, deleted_at)
                .await?;
        }
        let pk = keys::members_pk(tenant, &job.group_id);
        let mut start = job
            .after
            .as_deref()
            .map(|id| keys::member(tenant, &job.group_id, id).to_attrs());
        loop {
            if pace.expired() {
                return Ok(false);
            }
            let (items, next) = self.keys_page(&pk, start).await?;
            let ids = items.iter().map(sort_key).collect::<Result<Vec<_>, _>>()?;
            let done = match (&job.work, group) {
                (FollowUpWork::Refresh, Some(g)) => {
                    self.refresh_refs(tenant, g, g.version, &ids, pace).await?
                }
                (FollowUpWork::Refresh, None) => {
                    return Err(StoreError::Internal("a refresh without its group".into()))
                }
                (FollowUpWork::Delete { deleted_at }, _) => {
                    let done = self
                        .drop_refs(tenant, &job.group_id, &ids, deleted_at, pace)
                        .await?;
                    // The users' references first: the membership items are what finds them
                    // again if this stops half way (`resume_cascades`, a retried job).
                    let doomed: Vec<_> = ids[..done]
                        .iter()
                        .flat_map(|id| {
                            [
                                keys::member_of(tenant, id, &job.group_id),
                                keys::member(tenant, &job.group_id, id),
                            ]
                        })
                        .collect();
                    self.batch_delete(&doomed).await?;
                    done
                }
            };
            *done_so_far += done;
            if let Some(last) = done.checked_sub(1).and_then(|i| ids.get(i)) {
                job.after = Some((*last).to_owned());
            }
            if done < ids.len() {
                return Ok(false);
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(true),
            }
        }
    }
}

fn delete(deleted_at: &str) -> FollowUpWork {
    FollowUpWork::Delete {
        deleted_at: deleted_at.to_owned(),
    }
}

/// A fan-out that neither finished nor was handed over: what is left, for the operator.
fn log_unfinished(job: &FollowUpJob, e: &StoreError) {
    let after = job.after.as_deref().unwrap_or("");
    match job.work {
        // The rename is committed; a copy left stale shows the previous name until the group is
        // renamed again.
        FollowUpWork::Refresh => {
            tracing::error!(tenant = %job.tenant, group_id = %job.group_id, after, error = %e, "group renamed, members' copies of its name not all refreshed (members after `after` left)");
        }
        FollowUpWork::Delete { .. } => {
            tracing::error!(tenant = %job.tenant, group_id = %job.group_id, after, error = %e, "group deleted, membership clean-up unfinished (members after `after` left); DynamoStore::resume_cascades finishes it");
        }
    }
}
