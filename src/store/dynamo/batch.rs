//! Batched reads, deletes and puts: `BatchGetItem` (at most 100 keys a call) and
//! `BatchWriteItem` (at most 25 writes a call), with DynamoDB's "unprocessed" remainders sent
//! again.
//!
//! DynamoDB may leave part of a batch unprocessed (throttling, or a 16 MB response limit) and
//! says which: those keys are sent again after a short pause. A round that processes nothing
//! counts against [`STALLED_ROUNDS`]; past it the store is unavailable (503), never partially
//! answered.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use tokio::task::JoinSet;

use super::errors::sdk_error;
use super::item::Item;
use super::keys::{Key, PK, SK};
use super::DynamoStore;
use crate::retry;
use crate::store::StoreError;

/// Keys per `BatchGetItem` (DynamoDB's limit).
pub const GET_BATCH: usize = 100;
/// Writes per `BatchWriteItem` (DynamoDB's limit).
pub const WRITE_BATCH: usize = 25;
/// Rounds in a row that may make no progress before giving up.
const STALLED_ROUNDS: u32 = 5;
/// `BatchWriteItem` calls of one clean-up or backfill in flight at once.
const WRITES_IN_FLIGHT: usize = 8;

/// What to read of each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// The whole item.
    All,
    /// Only `pk` and `sk`: enough to learn which keys exist.
    Keys,
}

/// The pause before resending an unprocessed remainder after `round` rounds without progress:
/// up to 40, 80, 160, 320 ms (full jitter, [`retry::backoff`]), under 0.6 s in all on average
/// before [`STALLED_ROUNDS`] gives up.
async fn pause(round: u32) {
    retry::backoff(round, Duration::from_millis(20), Duration::from_millis(640)).await;
}

impl DynamoStore {
    /// The items that exist among `keys` (duplicates are read once), in no particular order.
    /// Strongly consistent. ceil(keys / 100) calls when nothing is left unprocessed.
    pub(crate) async fn batch_get(
        &self,
        keys: &[Key],
        projection: Projection,
    ) -> Result<Vec<Item>, StoreError> {
        let mut seen = HashSet::new();
        let unique: Vec<&Key> = keys.iter().filter(|k| seen.insert(*k)).collect();
        let mut out = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(GET_BATCH) {
            let mut pending: Vec<Item> = chunk.iter().map(|k| k.to_attrs()).collect();
            let mut stalled = 0;
            while !pending.is_empty() {
                let mut request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true);
                if projection == Projection::Keys {
                    request = request
                        .projection_expression("#pk, #sk")
                        .expression_attribute_names("#pk", PK)
                        .expression_attribute_names("#sk", SK);
                }
                let request = request
                    .build()
                    .map_err(|e| StoreError::Internal(format!("BatchGetItem request: {e}")))?;
                let got = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchGetItem", e))?;
                let items = got
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default();
                let progressed = !items.is_empty();
                out.extend(items);
                pending = got
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                stalled = if progressed { 0 } else { stalled + 1 };
                if stalled >= STALLED_ROUNDS {
                    return Err(StoreError::Unavailable(format!(
                        "BatchGetItem left {} keys unprocessed {STALLED_ROUNDS} times",
                        pending.len()
                    )));
                }
                pause(stalled).await;
            }
        }
        Ok(out)
    }

    /// Delete `keys` (idempotent: a missing item is no error), 25 per call, up to
    /// [`WRITES_IN_FLIGHT`] calls at a time (a 50,000-member group is 100,000 items: 4,000
    /// calls, which must fit in a Lambda's time).
    pub(crate) async fn batch_delete(&self, keys: &[Key]) -> Result<(), StoreError> {
        let mut seen = HashSet::new();
        let requests = keys
            .iter()
            .filter(|k| seen.insert(*k))
            .map(|k| {
                DeleteRequest::builder()
                    .set_key(Some(k.to_attrs()))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<Vec<_>, _>>();
        self.batch_write(requests).await
    }

    /// Put `items` unconditionally (idempotent for items that are the same every time, such as
    /// look-up entries), like [`Self::batch_delete`]. The items' keys must be distinct.
    pub(crate) async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
            })
            .collect::<Result<Vec<_>, _>>();
        self.batch_write(requests).await
    }

    /// `requests`, 25 per `BatchWriteItem`, up to [`WRITES_IN_FLIGHT`] calls at a time.
    async fn batch_write<E: std::fmt::Display>(
        &self,
        requests: Result<Vec<WriteRequest>, E>,
    ) -> Result<(), StoreError> {
        let requests =
            requests.map_err(|e| StoreError::Internal(format!("BatchWriteItem request: {e}")))?;
        let mut running = JoinSet::new();
        for chunk in requests.chunks(WRITE_BATCH) {
            if running.len() >= WRITES_IN_FLIGHT {
                finished(running.join_next().await)?;
            }
            running.spawn(self.clone().write_batch(chunk.to_vec()));
        }
        while let Some(done) = running.join_next().await {
            finished(Some(done))?;
        }
        Ok(())
    }

    /// One `BatchWriteItem`, with its unprocessed remainder sent again.
    async fn write_batch(self, mut pending: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut stalled = 0;
        while !pending.is_empty() {
            let sent = pending.len();
            let out = self
                .client
                .batch_write_item()
                .set_request_items(Some(HashMap::from([(
                    self.table.clone(),
                    std::mem::take(&mut pending),
                )])))
                .send()
                .await
                .map_err(|e| sdk_error("BatchWriteItem", e))?;
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            stalled = if pending.len() < sent { 0 } else { stalled + 1 };
            if stalled >= STALLED_ROUNDS {
                return Err(StoreError::Unavailable(format!(
                    "BatchWriteItem left {} writes unprocessed {STALLED_ROUNDS} times",
                    pending.len()
                )));
            }
            pause(stalled).await;
        }
        Ok(())
    }
}

/// The outcome of one spawned batch (a panic in it is an internal error, not a crash).
fn finished(
    done: Option<Result<Result<(), StoreError>, tokio::task::JoinError>>,
) -> Result<(), StoreError> {
    match done {
        None | Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) => Err(StoreError::Internal(format!("a batch write failed: {e}"))),
    }
}
