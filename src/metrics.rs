//! Per-request measurements for the request log line: what a request cost downstream.
//!
//! The router runs each request inside [`scope`]; code anywhere below it (the DynamoDB
//! interceptor) adds to the current request's [`RequestStats`] without it being passed around.
//! Outside a scope (admin commands, tests of the store alone) recording is a no-op.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct RequestStats {
    ddb_calls: AtomicU32,
    /// Consumed capacity in thousandths of a unit, so it can be summed atomically.
    ddb_capacity_milli: AtomicU64,
}

impl RequestStats {
    pub fn ddb_calls(&self) -> u32 {
        self.ddb_calls.load(Ordering::Relaxed)
    }

    /// DynamoDB capacity units consumed (reads and writes together), as DynamoDB reports them.
    pub fn ddb_capacity(&self) -> f64 {
        self.ddb_capacity_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

tokio::task_local! {
    static CURRENT: Arc<RequestStats>;
}

/// Run `f` with `stats` as the current request's measurements.
pub async fn scope<F: Future>(stats: Arc<RequestStats>, f: F) -> F::Output {
    CURRENT.scope(stats, f).await
}

/// One DynamoDB operation was executed for the current request.
pub fn record_ddb_call() {
    let _ = CURRENT.try_with(|s| s.ddb_calls.fetch_add(1, Ordering::Relaxed));
}

/// DynamoDB reported `units` of consumed capacity for the current request.
pub fn record_ddb_capacity(units: f64) {
    if units.is_finite() && units > 0.0 {
        let milli = (units * 1000.0).round() as u64;
        let _ = CURRENT.try_with(|s| s.ddb_capacity_milli.fetch_add(milli, Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_only_inside_a_scope() {
        record_ddb_call();
        let stats = Arc::new(RequestStats::default());
        scope(stats.clone(), async {
            record_ddb_call();
            record_ddb_call();
            record_ddb_capacity(0.5);
            record_ddb_capacity(f64::NAN);
        })
        .await;
        record_ddb_call();
        assert_eq!(stats.ddb_calls(), 2);
        assert_eq!(stats.ddb_capacity(), 0.5);
    }
}
