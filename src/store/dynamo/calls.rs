//! Counting DynamoDB round trips: an SDK interceptor that records every operation a client
//! executes. Round trips are what a request costs (moto is too slow to time meaningfully), so the
//! tests assert them per SCIM operation.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
    BeforeSerializationInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// Operations executed by the clients it is attached to. Cheap to clone; clones share the log.
///
/// One execution is one count, however many attempts the SDK's retries make: it counts what the
/// store asked for.
#[derive(Clone, Default)]
pub struct CallCounter {
    total: Arc<AtomicUsize>,
    names: Arc<Mutex<Vec<String>>>,
    transaction_items: Arc<Mutex<Vec<usize>>>,
    query_reads: Arc<Mutex<Vec<QueryRead>>>,
}

/// What one Query read, as DynamoDB reports it: what a Query costs is the size of the items it
/// read (`ScannedCount` of them), whatever its projection returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRead {
    /// The partition read, from the returned items (`None` when it returned none).
    pub pk: Option<String>,
    /// `ScannedCount`: the items read.
    pub scanned: usize,
    /// The items returned.
    pub returned: usize,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Operations executed so far.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// The names of the operations executed since the last call (e.g. `["GetItem"]`), in the
    /// order they started.
    pub fn take(&self) -> Vec<String> {
        drain(&self.names)
    }

    /// The item counts of the `TransactWriteItems` executed since the last call (benchmarks
    /// estimate write capacity from them).
    pub fn take_transaction_items(&self) -> Vec<usize> {
        drain(&self.transaction_items)
    }
}

impl CallCounter {
    /// The Queries completed since the last call, in the order they answered.
    pub fn take_query_reads(&self) -> Vec<QueryRead> {
        drain(&self.query_reads)
    }
}

/// Append to a log, even one a panicking test thread left poisoned.
fn push<T>(log: &Mutex<Vec<T>>, value: T) {
    log.lock().unwrap_or_else(|p| p.into_inner()).push(value);
}

/// Empty a log and return what it held.
fn drain<T>(log: &Mutex<Vec<T>>) -> Vec<T> {
    std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()))
}

impl fmt::Debug for CallCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallCounter")
            .field("total", &self.total())
            .finish()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    /// Once per execution, after the operation's configuration (and so its name) is in `cfg`
    /// (`read_before_execution` runs before that, for client-level interceptors).
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.total.fetch_add(1, Ordering::SeqCst);
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
        if let Some(t) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            let n = t.transact_items.as_ref().map(Vec::len).unwrap_or(0);
            push(&self.transaction_items, n);
        }
        let name = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        push(&self.names, name);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::query::QueryOutput;
        let Some(q) = context
            .output_or_error()
            .ok()
            .and_then(|o| o.downcast_ref::<QueryOutput>())
        else {
            return Ok(());
        };
        let items = q.items();
        let read = QueryRead {
            pk: items
                .first()
                .and_then(|i| i.get(super::keys::PK))
                .and_then(|v| v.as_s().ok())
                .cloned(),
            scanned: usize::try_from(q.scanned_count).unwrap_or(0),
            returned: items.len(),
        };
        push(&self.query_reads, read);
        Ok(())
    }
}

/// Adds every DynamoDB operation, and the capacity it consumed, to the current request's
/// measurements ([`crate::metrics`]), for the request log line. Attached to every
/// [`super::DynamoStore`] client. It asks DynamoDB to report consumed capacity
/// (`ReturnConsumedCapacity=TOTAL`, free of charge) on the operations the store uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestMetrics;

/// Set `return_consumed_capacity` on whichever operation input this is.
fn ask_for_capacity(input: &mut aws_smithy_runtime_api::client::interceptors::context::Input) {
    use aws_sdk_dynamodb::operation::*;
    use aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total;
    macro_rules! ask {
        ($($ty:ty),*) => {
            $(if let Some(i) = input.downcast_mut::<$ty>() {
                i.return_consumed_capacity = Some(Total);
                return;
            })*
        };
    }
    ask!(
        get_item::GetItemInput,
        put_item::PutItemInput,
        update_item::UpdateItemInput,
        delete_item::DeleteItemInput,
        query::QueryInput,
        transact_write_items::TransactWriteItemsInput,
        transact_get_items::TransactGetItemsInput,
        batch_get_item::BatchGetItemInput,
        batch_write_item::BatchWriteItemInput
    );
}

/// The capacity units an operation output reports, if any.
fn reported_capacity(
    output: &aws_smithy_runtime_api::client::interceptors::context::Output,
) -> f64 {
    use aws_sdk_dynamodb::operation::*;
    use aws_sdk_dynamodb::types::ConsumedCapacity;
    fn units(c: &ConsumedCapacity) -> f64 {
        c.capacity_units.unwrap_or(0.0)
    }
    macro_rules! one {
        ($($ty:ty),*) => {
            $(if let Some(o) = output.downcast_ref::<$ty>() {
                return o.consumed_capacity.as_ref().map(units).unwrap_or(0.0);
            })*
        };
    }
    macro_rules! many {
        ($($ty:ty),*) => {
            $(if let Some(o) = output.downcast_ref::<$ty>() {
                return o.consumed_capacity.iter().flatten().map(units).sum();
            })*
        };
    }
    one!(
        get_item::GetItemOutput,
        put_item::PutItemOutput,
        update_item::UpdateItemOutput,
        delete_item::DeleteItemOutput,
        query::QueryOutput
    );
    many!(
        transact_write_items::TransactWriteItemsOutput,
        transact_get_items::TransactGetItemsOutput,
        batch_get_item::BatchGetItemOutput,
        batch_write_item::BatchWriteItemOutput
    );
    0.0
}

impl Intercept for RequestMetrics {
    fn name(&self) -> &'static str {
        "RequestMetrics"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        crate::metrics::record_ddb_call();
        ask_for_capacity(context.input_mut());
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(output) = context.output_or_error() {
            crate::metrics::record_ddb_capacity(reported_capacity(output));
        }
        Ok(())
    }
}
