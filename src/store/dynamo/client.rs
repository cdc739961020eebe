//! The DynamoDB client the Lambda and the local server use: deadlines on every call, so a
//! DynamoDB that hangs, throttles or fails is answered with a 503 and `Retry-After` well within
//! the Lambda timeout (10 s), never by the function timing out (ARCHITECTURE.md, "Deadlines").
//!
//! Budget of one operation: connect 500 ms; one attempt 1 s; at most 3 attempts with a backoff
//! of at most 100 ms (jittered, doubling, capped at 200 ms); the whole operation, retries
//! included, 2 s. A SCIM request that meets a DynamoDB that does not answer fails with its first
//! call, so it answers after at most 2 s of DynamoDB (plus at most 4 s of Secrets Manager on a
//! cold tenant: 6 s); the request deadline of the Lambda transport
//! ([`crate::http::lambda::REQUEST_DEADLINE`]) bounds requests whose several calls are each slow
//! but succeed.

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;

/// Connect timeout of one connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Deadline of one attempt (DynamoDB answers a GetItem in ~5 ms, a transaction in ~20 ms).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// Deadline of one operation, retries and backoff included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per operation (the first one included).
pub const MAX_ATTEMPTS: u32 = 3;

pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// Standard retries (throttling, 5xx, transient network errors), with backoffs short enough
/// to fit a retry inside [`OPERATION_TIMEOUT`] (the SDK's default starts at 1 s).
pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_millis(200))
}

/// A DynamoDB client from the shared SDK configuration (region, credentials,
/// `AWS_ENDPOINT_URL`), with [`timeouts`] and [`retries`]. Build it once, at start.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(timeouts())
        .retry_config(retries())
        .build();
    Client::from_conf(conf)
}
