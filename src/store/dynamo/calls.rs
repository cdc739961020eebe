//! Counting DynamoDB round trips: an SDK interceptor that records every operation a client
//! executes. Round trips are what a request costs (moto is too slow to time meaningfully), so the
//! tests assert them per SCIM operation.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
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
        std::mem::take(&mut *self.names.lock().unwrap_or_else(|p| p.into_inner()))
    }
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
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.total.fetch_add(1, Ordering::SeqCst);
        let name = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(name);
        Ok(())
    }
}

/// Adds every DynamoDB operation to the current request's measurements ([`crate::metrics`]), for
/// the request log line. Attached to every [`super::DynamoStore`] client.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestMetrics;

impl Intercept for RequestMetrics {
    fn name(&self) -> &'static str {
        "RequestMetrics"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        crate::metrics::record_ddb_call();
        Ok(())
    }
}
