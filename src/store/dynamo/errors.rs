//! From SDK errors to [`StoreError`]: the one place that reads DynamoDB's error codes.
//!
//! A cancelled transaction says, per item and in request order, which condition failed. Each
//! transaction is built with a parallel list of [`Role`]s, so a reason is read as what it means
//! for that item: a taken guard is `Uniqueness`, a changed user is `VersionConflict`, a missing
//! user is `NotFound`.

use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::item::Item;
use crate::store::{StoreError, UniqueAttr};

/// What one item of a transaction is there for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A user item put with `attribute_not_exists`.
    NewUser,
    /// A user item written or deleted on condition of the version read. Its condition failure
    /// carries the old item (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) when it exists.
    StoredUser,
    /// A guard put with `attribute_not_exists` (or already held by the same user).
    NewGuard(UniqueAttr),
    /// A guard deleted on condition that it belongs to the user.
    OldGuard,
    /// A non-unique look-up entry (a user's externalId), put or deleted without a condition.
    IndexEntry,
    /// The counter item (unconditional `ADD`).
    Counter,
    /// A deletion record put with `attribute_not_exists`.
    DeletionRecord,
    /// The audit record of the change, put with `attribute_not_exists` (its key is unique).
    AuditRecord,
    /// The tenant's seats item (`store::policies`), incremented on condition of a free seat.
    Seats,
    /// An item of leaving parent group `i` in a user's delete (the memberships go in the same
    /// transaction, `group_tx::leave_items`).
    Leave(LeavePart, usize),
}

/// The items of one parent group that a deleted member leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeavePart {
    /// The group -> member item, deleted if present.
    Membership,
    /// The member -> group item (unconditional).
    Reverse,
    /// The group's version bump, if it still exists.
    Bump,
}

/// Why a transaction did not commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxFailure {
    /// Another transaction held one of the items (`TransactionConflict`) and no condition failed:
    /// nothing was written and the same transaction may be tried again.
    Conflict,
    Failed(StoreError),
}

/// Error codes that mean "try again later": answered 503, never 500.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "LimitExceededException",
];

/// Cancellation reason codes that mean the same.
const TRANSIENT_REASONS: &[&str] = &[
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// DynamoDB's "Item size has exceeded the maximum allowed size" (and "Item size to update ...").
fn is_item_size_message(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.to_ascii_lowercase().contains("item size"))
}

/// A 5xx or 429 answer whose code is not one of [`TRANSIENT_CODES`] (a gateway or load
/// balancer in front of DynamoDB, or no code at all): the service is unavailable, not broken.
fn is_transient_status(raw: &dyn std::any::Any) -> bool {
    raw.downcast_ref::<HttpResponse>().is_some_and(|r| {
        let status = r.status().as_u16();
        status == 429 || (500..600).contains(&status)
    })
}

/// Map the error of any operation (`op` names it in the logged cause).
pub fn sdk_error<E, R>(op: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let cause = || format!("{op}: {}", DisplayErrorContext(&err));
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            // The code and message say it all; the raw response would only add noise to logs.
            let cause = || {
                let code = e.code().unwrap_or("unknown error");
                format!("{op}: {code}: {}", e.message().unwrap_or_default())
            };
            match e.code() {
                Some(code) if TRANSIENT_CODES.contains(&code) => StoreError::Unavailable(cause()),
                _ if is_transient_status(service.raw()) => StoreError::Unavailable(cause()),
                Some("ValidationException") if is_item_size_message(e.message()) => {
                    StoreError::TooLarge
                }
                _ => StoreError::Internal(cause()),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(cause())
        }
        _ => StoreError::Internal(cause()),
    }
}

/// What a cancelled transaction says, before any role gives it meaning.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancelled {
    /// The conditions of these items failed, in request order: (index, the stored item when
    /// DynamoDB returned it, i.e. when it exists and `ReturnValuesOnConditionCheckFailure` was
    /// set). A failed condition decides: nothing else in the reasons changes the outcome.
    Conditions(Vec<(usize, Option<Item>)>),
    /// Another transaction held one of the items (`TransactionConflict`) and no condition
    /// failed: nothing was written and the same transaction may be sent again.
    Conflict,
    Failed(StoreError),
}

/// The cancellation reasons of a `TransactWriteItems` error, or the error as a [`StoreError`]
/// when it is not a cancellation.
pub fn cancellation_reasons(
    err: SdkError<TransactWriteItemsError>,
) -> Result<Vec<CancellationReason>, StoreError> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            Ok(c.cancellation_reasons().to_vec())
        }
        _ => Err(sdk_error("TransactWriteItems", err)),
    }
}

/// Read a cancellation: a failed condition decides (the caller's view is stale, or a value is
/// taken); otherwise a conflict may be retried; otherwise throttling is transient.
pub fn classify(reasons: &[CancellationReason]) -> Cancelled {
    if reasons.is_empty() {
        return Cancelled::Failed(StoreError::Internal(
            "transaction cancelled without reasons".into(),
        ));
    }
    let mut failed = Vec::new();
    let mut conflict = false;
    let mut transient = None;
    let mut too_large = false;
    let mut unexpected = Vec::new();
    for (i, reason) in reasons.iter().enumerate() {
        match reason.code().unwrap_or("None") {
            "None" => {}
            "ConditionalCheckFailed" => {
                let old = reason.item().filter(|old| !old.is_empty()).cloned();
                failed.push((i, old));
            }
            "TransactionConflict" => conflict = true,
            code if TRANSIENT_REASONS.contains(&code) => transient = Some(code.to_owned()),
            "ValidationError" if is_item_size_message(reason.message()) => too_large = true,
            code => unexpected.push(format!("item {i}: {code} {:?}", reason.message())),
        }
    }
    if !failed.is_empty() {
        return Cancelled::Conditions(failed);
    }
    if too_large {
        return Cancelled::Failed(StoreError::TooLarge);
    }
    if !unexpected.is_empty() {
        return Cancelled::Failed(StoreError::Internal(format!(
            "transaction cancelled: {}",
            unexpected.join("; ")
        )));
    }
    if conflict {
        return Cancelled::Conflict;
    }
    match transient {
        Some(code) => Cancelled::Failed(StoreError::Unavailable(format!(
            "transaction cancelled: {code}"
        ))),
        None => Cancelled::Failed(StoreError::Internal(
            "transaction cancelled, every reason None".into(),
        )),
    }
}

/// Read the cancellation of a user transaction whose items have these `roles`.
pub fn cancellation(roles: &[Role], reasons: &[CancellationReason]) -> TxFailure {
    match classify(reasons) {
        Cancelled::Conditions(failed) => {
            let mut decided: Option<StoreError> = None;
            for (i, old) in failed {
                let e = condition_failed(roles.get(i).copied(), old.is_some());
                if decided.as_ref().is_none_or(|d| rank(&e) < rank(d)) {
                    decided = Some(e);
                }
            }
            TxFailure::Failed(decided.unwrap_or_else(|| {
                StoreError::Internal("transaction cancelled by a condition".into())
            }))
        }
        Cancelled::Conflict => TxFailure::Conflict,
        Cancelled::Failed(e) => TxFailure::Failed(e),
    }
}

fn condition_failed(role: Option<Role>, old_returned: bool) -> StoreError {
    match role {
        Some(Role::StoredUser) => {
            if old_returned {
                StoreError::VersionConflict
            } else {
                StoreError::NotFound
            }
        }
        Some(Role::NewGuard(attr)) => StoreError::Uniqueness(attr),
        Some(Role::NewUser) => StoreError::Internal("user id already exists".into()),
        Some(Role::Seats) => StoreError::SeatLimit,
        Some(Role::OldGuard) => {
            StoreError::Internal("a guard of the user is missing or held by another user".into())
        }
        Some(Role::DeletionRecord) => {
            StoreError::Internal("a deletion record with this key exists".into())
        }
        Some(Role::Counter | Role::AuditRecord | Role::IndexEntry | Role::Leave(..)) | None => {
            StoreError::Internal(format!("unexpected condition failure on {role:?}"))
        }
    }
}

/// Which failed condition explains the outcome best: the caller's stale view first (retrying
/// from a fresh read may resolve everything else), then the uniqueness of userName.
fn rank(e: &StoreError) -> u8 {
    match e {
        StoreError::NotFound => 0,
        StoreError::VersionConflict => 1,
        StoreError::Uniqueness(UniqueAttr::UserName) => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    fn failed(e: StoreError) -> TxFailure {
        TxFailure::Failed(e)
    }

    const CREATE: [Role; 4] = [
        Role::NewUser,
        Role::NewGuard(UniqueAttr::UserName),
        Role::IndexEntry,
        Role::Counter,
    ];

    #[test]
    fn a_taken_guard_is_uniqueness_before_other_failures() {
        let r = [
            reason("None"),
            reason("ConditionalCheckFailed"),
            reason("None"),
            reason("None"),
        ];
        assert_eq!(
            cancellation(&CREATE, &r),
            failed(StoreError::Uniqueness(UniqueAttr::UserName))
        );
        let r = [
            reason("ConditionalCheckFailed"),
            reason("ConditionalCheckFailed"),
            reason("None"),
            reason("None"),
        ];
        assert_eq!(
            cancellation(&CREATE, &r),
            failed(StoreError::Uniqueness(UniqueAttr::UserName))
        );
    }

    #[test]
    fn a_stored_user_condition_is_version_conflict_or_not_found() {
        let roles = [
            Role::StoredUser,
            Role::NewGuard(UniqueAttr::UserName),
            Role::OldGuard,
        ];
        let changed = CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .item("version", AttributeValue::N("4".into()))
            .build();
        let r = [changed, reason("ConditionalCheckFailed"), reason("None")];
        assert_eq!(
            cancellation(&roles, &r),
            failed(StoreError::VersionConflict)
        );
        let r = [
            reason("ConditionalCheckFailed"),
            reason("None"),
            reason("ConditionalCheckFailed"),
        ];
        assert_eq!(cancellation(&roles, &r), failed(StoreError::NotFound));
    }

    fn service(code: &str, message: &str) -> SdkError<GetItemError, ()> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(GetItemError::generic(meta), ())
    }

    #[test]
    fn operation_errors_map_to_store_errors() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "InternalServerError",
        ] {
            assert!(
                matches!(
                    sdk_error("GetItem", service(code, "slow down")),
                    StoreError::Unavailable(_)
                ),
                "{code}"
            );
        }
        let big = service(
            "ValidationException",
            "Item size has exceeded the maximum allowed size",
        );
        assert_eq!(sdk_error("PutItem", big), StoreError::TooLarge);
        let other = service(
            "ValidationException",
            "One or more parameter values were invalid",
        );
        assert!(matches!(
            sdk_error("GetItem", other),
            StoreError::Internal(_)
        ));
        let missing = service("ResourceNotFoundException", "Requested resource not found");
        match sdk_error("GetItem", missing) {
            StoreError::Internal(cause) => {
                assert!(cause.contains("ResourceNotFoundException"), "{cause}")
            }
            e => panic!("{e:?}"),
        }
        let timeout: SdkError<GetItemError, ()> = SdkError::timeout_error("took too long");
        assert!(matches!(
            sdk_error("GetItem", timeout),
            StoreError::Unavailable(_)
        ));
    }

    fn raw(status: u16) -> HttpResponse {
        HttpResponse::new(
            status.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        )
    }

    #[test]
    fn throttling_unavailability_and_timeouts_are_unavailable() {
        for code in [
            "RequestLimitExceeded",
            "ServiceUnavailable",
            "LimitExceededException",
            "TransactionInProgressException",
        ] {
            let meta = ErrorMetadata::builder().code(code).build();
            let e = SdkError::service_error(GetItemError::generic(meta), raw(400));
            assert!(
                matches!(sdk_error("GetItem", e), StoreError::Unavailable(_)),
                "{code}"
            );
        }
        // A 5xx or 429 without a known code (a gateway in front of DynamoDB, or no code at all).
        for status in [429, 500, 502, 503, 504] {
            let meta = ErrorMetadata::builder().message("busy").build();
            let e = SdkError::service_error(GetItemError::generic(meta), raw(status));
            assert!(
                matches!(sdk_error("GetItem", e), StoreError::Unavailable(_)),
                "{status}"
            );
        }
        let meta = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .build();
        let e = SdkError::service_error(GetItemError::generic(meta), raw(400));
        assert!(matches!(sdk_error("GetItem", e), StoreError::Internal(_)));
        // Timed out or unreachable after the retries: the connect, attempt and operation
        // deadlines surface as these kinds.
        let connect = aws_smithy_runtime_api::client::result::ConnectorError::timeout(
            "connect timed out".into(),
        );
        let e: SdkError<GetItemError, HttpResponse> = SdkError::dispatch_failure(connect);
        assert!(matches!(
            sdk_error("GetItem", e),
            StoreError::Unavailable(_)
        ));
        let e: SdkError<GetItemError, HttpResponse> = SdkError::timeout_error("operation timeout");
        assert!(matches!(
            sdk_error("GetItem", e),
            StoreError::Unavailable(_)
        ));
        let e: SdkError<GetItemError, HttpResponse> =
            SdkError::response_error("connection reset", raw(200));
        assert!(matches!(
            sdk_error("GetItem", e),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn conflicts_throttling_and_size_are_told_apart() {
        let r = [
            reason("None"),
            reason("TransactionConflict"),
            reason("None"),
            reason("None"),
        ];
        assert_eq!(cancellation(&CREATE, &r), TxFailure::Conflict);
        let r = [
            reason("ThrottlingError"),
            reason("None"),
            reason("None"),
            reason("None"),
        ];
        assert!(matches!(
            cancellation(&CREATE, &r),
            TxFailure::Failed(StoreError::Unavailable(_))
        ));
        let big = CancellationReason::builder()
            .code("ValidationError")
            .message("Item size to update has exceeded the maximum allowed size")
            .build();
        let r = [big, reason("None"), reason("None"), reason("None")];
        assert_eq!(cancellation(&CREATE, &r), failed(StoreError::TooLarge));
        assert!(matches!(
            cancellation(&CREATE, &[]),
            TxFailure::Failed(StoreError::Internal(_))
        ));
        let r = [
            reason("Surprise"),
            reason("None"),
            reason("None"),
            reason("None"),
        ];
        assert!(matches!(
            cancellation(&CREATE, &r),
            TxFailure::Failed(StoreError::Internal(_))
        ));
    }
}
