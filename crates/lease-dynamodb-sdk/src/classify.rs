//! The one place where SDK errors become lease-core outcomes and [`StoreError`]s.
//!
//! A `ConditionalCheckFailedException` is an expected outcome
//! ([`StoreResponse::ConditionFailed`], with the old item when DynamoDB returned it); every other
//! failure becomes a [`StoreError`] whose [`StoreErrorKind`] tells whether the request may have
//! been applied. The message names the operation, the AWS error code and AWS's message; the
//! [`SdkError`] itself is attached as the source, unless its text holds an HTTP request the SDK
//! printed into it (it does so when it cannot apply the endpoint to a request) or one of the
//! request's bearer tokens (a server's message quoting a value of the request): then only the
//! text is attached, the request left out and each token replaced by its fingerprint
//! ([`crate::redact`]). The message gets the same treatment. An attached SDK error keeps the
//! raw HTTP response's status and headers but not its body: the SDK's `Debug` prints the body,
//! and an error body may hold items, their tokens in them (a failed condition's old item).
//!
//! Service errors are classified by their error code ([`ProvideErrorMetadata::code`]), which the
//! SDK sets on modelled and unmodelled errors alike (`ValidationException` has no modelled
//! variant), so one rule serves every operation.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::operation::scan::ScanError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_time_to_live::UpdateTimeToLiveError;
use aws_sdk_dynamodb::types::CancellationReason as SdkCancellationReason;
use aws_smithy_types::body::SdkBody;
use lease::{store::StoreError, store::StoreErrorKind, store::StoreResponse};

use crate::convert::{self, SdkItem};
use crate::redact::Secrets;
use crate::transact;

/// The first error of type `E` in `err`'s chain of sources (`err` included).
fn find_source<'a, E: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// The I/O error kind if `err` failed to connect in a way that proves nothing was sent
/// (connection refused, host or network unreachable, no local address).
fn connect_refusal(err: &(dyn StdError + 'static)) -> Option<std::io::ErrorKind> {
    use std::io::ErrorKind::{
        AddrNotAvailable, ConnectionRefused, HostUnreachable, NetworkUnreachable,
    };
    let kind = find_source::<std::io::Error>(err)?.kind();
    matches!(
        kind,
        ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
    )
    .then_some(kind)
}

/// What the SDK puts in an error's text when it prints a whole HTTP request (`Request {` from
/// the request's `Debug`, `SdkBody` for its body).
const PRINTED_REQUEST: [&str; 2] = ["Request {", "SdkBody"];

/// The text of `err` and its sources, joined by `": "`.
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// `text` without the HTTP request printed into it: from the first printed request to the
/// last backtick (the SDK quotes the request in backticks, and what follows it is the SDK's
/// own text) becomes `(request omitted: it holds the lease token)`.
fn without_printed_request(text: &str) -> String {
    let Some(start) = PRINTED_REQUEST.iter().filter_map(|m| text.find(m)).min() else {
        return text.to_owned();
    };
    let before = text[..start].strip_suffix('`').unwrap_or(&text[..start]);
    let after = text[start..]
        .rfind('`')
        .map_or("", |end| &text[start + end + 1..]);
    format!("{before}(request omitted: it holds the lease token){after}")
}

/// An SDK error's text with the printed request left out and the request's bearer tokens
/// hidden: attached as a [`StoreError`]'s source in place of the SDK error.
#[derive(Debug)]
struct Redacted(String);

impl std::fmt::Display for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Redacted {}

/// Error codes of throttling: the request was not applied.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
];

/// Error codes of missing or rejected credentials.
const ACCESS_CODES: &[&str] = &[
    "AccessDeniedException",
    "UnrecognizedClientException",
    "MissingAuthenticationToken",
    "InvalidSignatureException",
];

/// An SDK operation error this module classifies.
pub(crate) trait OperationError:
    ProvideErrorMetadata + StdError + Send + Sync + 'static
{
    /// The DynamoDB operation's name, for messages (`PutItem`).
    const OPERATION: &'static str;

    /// `Some(item)` if this is a `ConditionalCheckFailedException`, with the old item it carries
    /// (present when `ALL_OLD` was asked for and the server supports it).
    fn condition_failed_item(&self) -> Option<Option<&SdkItem>> {
        None
    }

    /// `Some(reasons)` if this is a `TransactionCanceledException`, with its cancellation
    /// reasons (one per item of the transaction, in order).
    fn transaction_canceled_reasons(&self) -> Option<&[SdkCancellationReason]> {
        None
    }
}

/// Implements [`OperationError`] for a conditional write's error type.
macro_rules! conditional_write_error {
    ($error:ty, $operation:literal) => {
        impl OperationError for $error {
            const OPERATION: &'static str = $operation;

            fn condition_failed_item(&self) -> Option<Option<&SdkItem>> {
                match self {
                    Self::ConditionalCheckFailedException(e) => Some(e.item()),
                    _ => None,
                }
            }
        }
    };
}

conditional_write_error!(PutItemError, "PutItem");
conditional_write_error!(UpdateItemError, "UpdateItem");
conditional_write_error!(DeleteItemError, "DeleteItem");

impl OperationError for TransactWriteItemsError {
    const OPERATION: &'static str = "TransactWriteItems";

    fn transaction_canceled_reasons(&self) -> Option<&[SdkCancellationReason]> {
        match self {
            Self::TransactionCanceledException(e) => Some(e.cancellation_reasons()),
            _ => None,
        }
    }
}

impl OperationError for DescribeTimeToLiveError {
    const OPERATION: &'static str = "DescribeTimeToLive";
}

impl OperationError for UpdateTimeToLiveError {
    const OPERATION: &'static str = "UpdateTimeToLive";
}

impl OperationError for GetItemError {
    const OPERATION: &'static str = "GetItem";
}

impl OperationError for QueryError {
    const OPERATION: &'static str = "Query";
}

impl OperationError for ScanError {
    const OPERATION: &'static str = "Scan";
}

impl OperationError for CreateTableError {
    const OPERATION: &'static str = "CreateTable";
}

impl OperationError for DescribeTableError {
    const OPERATION: &'static str = "DescribeTable";
}

/// Classifies a failed item operation or transaction: a failed condition is
/// [`StoreResponse::ConditionFailed`], a cancelled transaction
/// [`StoreResponse::TransactionCanceled`] with its reasons (a `TransactionConflict` among them
/// stays a reason, never a failed condition), anything else a [`StoreError`] (see
/// [`classify_error`]).
///
/// If the old item in a `ConditionalCheckFailedException` holds a value of a type this SDK
/// version does not know, the answer is still `ConditionFailed` (the write was certainly not
/// applied), without the item.
///
/// `secrets` gives the request's bearer tokens (asked for only when a text of the server's goes
/// into the answer or the error): none of those texts shows them (a reason's message, the
/// error's message and source).
///
/// # Errors
/// Every failure other than a failed condition, classified.
pub(crate) fn classify<E: OperationError>(
    err: SdkError<E, HttpResponse>,
    secrets: impl FnOnce() -> Secrets,
) -> Result<StoreResponse, StoreError> {
    if let Some(reasons) = err
        .as_service_error()
        .and_then(E::transaction_canceled_reasons)
    {
        return Ok(StoreResponse::TransactionCanceled {
            reasons: transact::reasons_from_sdk(reasons, &secrets()),
        });
    }
    if let Some(old_item) = err.as_service_error().and_then(E::condition_failed_item) {
        let old_item = match convert::optional_item_from_sdk(old_item.cloned()) {
            Ok(item) => item,
            Err(e) => {
                tracing::warn!(operation = E::OPERATION, error = %e, "old item of a failed condition is unreadable; answering without it");
                None
            }
        };
        return Ok(StoreResponse::ConditionFailed { old_item });
    }
    Err(classify_error_hiding(err, &secrets()))
}

/// Classifies a failure that is not a failed condition:
///
/// | SDK error | kind |
/// |---|---|
/// | `TimeoutError` | [`Timeout`](StoreErrorKind::Timeout) |
/// | `DispatchFailure` | `Timeout` if the connector timed out; [`AccessDenied`](StoreErrorKind::AccessDenied) if no credentials could be loaded; [`Unreachable`](StoreErrorKind::Unreachable) if the connection was refused or the host or network is unreachable (nothing sent); [`Misconfigured`](StoreErrorKind::Misconfigured) if the endpoint could not be applied to the request (nothing sent); else [`Unavailable`](StoreErrorKind::Unavailable) |
/// | `ResponseError` (unreadable response) | `Unavailable` |
/// | `ServiceError` with a throttling code | [`Throttled`](StoreErrorKind::Throttled) |
/// | `ResourceNotFoundException` | [`ResourceNotFound`](StoreErrorKind::ResourceNotFound) |
/// | `ValidationException` | [`Validation`](StoreErrorKind::Validation) |
/// | a credentials code | [`AccessDenied`](StoreErrorKind::AccessDenied) |
/// | `UnknownOperationException` (dynalite: transactions, TTL) | [`Unsupported`](StoreErrorKind::Unsupported) |
/// | `InternalServerError`, or HTTP status 500 or more | `Unavailable` |
/// | any other service error, `ConstructionFailure` | [`Other`](StoreErrorKind::Other) |
pub(crate) fn classify_error<E: OperationError>(err: SdkError<E, HttpResponse>) -> StoreError {
    classify_error_hiding(err, &Secrets::none())
}

/// [`classify_error`] for a request that carried `secrets`, its bearer tokens: they are hidden
/// in the message and the source (see the module's documentation).
fn classify_error_hiding<E: OperationError>(
    err: SdkError<E, HttpResponse>,
    secrets: &Secrets,
) -> StoreError {
    let operation = E::OPERATION;
    let text = chain_text(&err);
    let (kind, message) = match &err {
        SdkError::TimeoutError(_) => (StoreErrorKind::Timeout, format!("{operation} timed out")),
        SdkError::DispatchFailure(failure) => {
            if failure.is_timeout() {
                (
                    StoreErrorKind::Timeout,
                    format!("{operation} timed out while connecting or sending"),
                )
            } else if find_source::<CredentialsError>(&err).is_some() {
                (
                    StoreErrorKind::AccessDenied,
                    format!("{operation} was not sent: no usable AWS credentials"),
                )
            } else if let Some(kind) = connect_refusal(&err) {
                (
                    StoreErrorKind::Unreachable,
                    format!("{operation} was not sent: could not connect ({kind})"),
                )
            } else if text.contains("failed to apply endpoint") {
                (
                    StoreErrorKind::Misconfigured,
                    format!(
                        "{operation} was not sent: the client's endpoint URL cannot be used (see the cause)"
                    ),
                )
            } else {
                let cause = if failure.is_io() {
                    "I/O error"
                } else if failure.is_user() {
                    "client configuration error"
                } else {
                    "connector error"
                };
                (
                    StoreErrorKind::Unavailable,
                    format!("{operation} could not be sent ({cause})"),
                )
            }
        }
        SdkError::ResponseError(response) => (
            StoreErrorKind::Unavailable,
            format!(
                "{operation} response could not be read (HTTP {})",
                response.raw().status().as_u16()
            ),
        ),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let error = service.err();
            let kind = service_error_kind(error.code(), status);
            let code = error.code().unwrap_or("no error code");
            let message = match error.message() {
                Some(text) => format!("{operation} failed: {code} (HTTP {status}): {text}"),
                None => format!("{operation} failed: {code} (HTTP {status})"),
            };
            (kind, message)
        }
        SdkError::ConstructionFailure(_) => (
            StoreErrorKind::Other,
            format!("{operation} request could not be built"),
        ),
        _ => (StoreErrorKind::Other, format!("{operation} failed")),
    };
    let error = StoreError::new(kind, secrets.hide_owned(message));
    let err = without_body(err, secrets);
    if PRINTED_REQUEST.iter().any(|marker| text.contains(marker)) || secrets.appear_in(&text) {
        let text = without_printed_request(&text);
        error.with_source(Redacted(secrets.hide_owned(text)))
    } else {
        error.with_source(err)
    }
}

/// `err` with the body of its raw HTTP response (if it has one) left out, status and headers
/// kept (`secrets` hidden in them): the SDK error's `Debug` prints the body, which may hold
/// items and their tokens.
fn without_body<E: OperationError>(
    err: SdkError<E, HttpResponse>,
    secrets: &Secrets,
) -> SdkError<E, HttpResponse> {
    let bare = |raw: &HttpResponse| {
        let mut bare = HttpResponse::new(raw.status(), SdkBody::empty());
        for (name, value) in raw.headers() {
            // Both came from a valid header: they are valid again (a hidden token is ASCII).
            let _ = bare
                .headers_mut()
                .try_append(name.to_owned(), secrets.hide(value).into_owned());
        }
        bare
    };
    match err {
        SdkError::ServiceError(service) => {
            let raw = bare(service.raw());
            SdkError::service_error(service.into_err(), raw)
        }
        SdkError::ResponseError(_) => {
            let Some(raw) = err.raw_response().map(bare) else {
                return err;
            };
            match err.into_source() {
                Ok(source) => SdkError::response_error(source, raw),
                Err(err) => err,
            }
        }
        other => other,
    }
}

/// The kind of a service error, from its AWS error code and HTTP status.
fn service_error_kind(code: Option<&str>, status: u16) -> StoreErrorKind {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => StoreErrorKind::Throttled,
        Some("ResourceNotFoundException") => StoreErrorKind::ResourceNotFound,
        Some("ValidationException") => StoreErrorKind::Validation,
        Some(c) if ACCESS_CODES.contains(&c) => StoreErrorKind::AccessDenied,
        Some("UnknownOperationException") => StoreErrorKind::Unsupported,
        Some("InternalServerError") => StoreErrorKind::Unavailable,
        _ if status >= 500 => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Other,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use aws_sdk_dynamodb::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use lease::store::AttributeValue;

    use super::*;

    /// An HTTP response with `status` and an empty body.
    pub(crate) fn http(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    /// Error metadata as the SDK's deserializer builds it: code and message.
    pub(crate) fn meta(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    /// A service error of `status` with an unmodelled (generic) error of `code`.
    pub(crate) fn service<E>(
        make: fn(ErrorMetadata) -> E,
        status: u16,
        code: &str,
    ) -> SdkError<E, HttpResponse> {
        SdkError::service_error(make(meta(code, "details from AWS")), http(status))
    }

    /// A `ConditionalCheckFailedException` (HTTP 400) carrying `item`.
    pub(crate) fn condition_failed(item: Option<SdkItem>) -> ConditionalCheckFailedException {
        ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .set_item(item)
            .meta(meta(
                "ConditionalCheckFailedException",
                "The conditional request failed",
            ))
            .build()
    }

    fn kind_of(err: SdkError<PutItemError, HttpResponse>) -> StoreErrorKind {
        classify(err, Secrets::none).unwrap_err().kind()
    }

    #[test]
    fn service_error_codes_map_to_kinds() {
        let cases = [
            (
                400,
                "ProvisionedThroughputExceededException",
                StoreErrorKind::Throttled,
            ),
            (400, "RequestLimitExceeded", StoreErrorKind::Throttled),
            (400, "ThrottlingException", StoreErrorKind::Throttled),
            (
                400,
                "ResourceNotFoundException",
                StoreErrorKind::ResourceNotFound,
            ),
            (400, "ValidationException", StoreErrorKind::Validation),
            (400, "AccessDeniedException", StoreErrorKind::AccessDenied),
            (
                400,
                "UnrecognizedClientException",
                StoreErrorKind::AccessDenied,
            ),
            (
                403,
                "MissingAuthenticationToken",
                StoreErrorKind::AccessDenied,
            ),
            (
                403,
                "InvalidSignatureException",
                StoreErrorKind::AccessDenied,
            ),
            (500, "InternalServerError", StoreErrorKind::Unavailable),
            (503, "ServiceUnavailable", StoreErrorKind::Unavailable),
            (400, "TransactionConflictException", StoreErrorKind::Other),
            (400, "SerializationException", StoreErrorKind::Other),
        ];
        for (status, code, kind) in cases {
            let err =
                classify(service(PutItemError::generic, status, code), Secrets::none).unwrap_err();
            assert_eq!(err.kind(), kind, "{code}");
            assert!(
                err.message().starts_with("PutItem failed: "),
                "{}",
                err.message()
            );
            assert!(err.message().contains(code), "{}", err.message());
            assert!(
                err.message().contains("details from AWS"),
                "{}",
                err.message()
            );
            assert!(err.source().is_some());
        }
    }

    #[test]
    fn a_500_without_an_error_code_is_unavailable() {
        // moto answers some malformed requests this way.
        let err = SdkError::service_error(
            PutItemError::generic(ErrorMetadata::builder().build()),
            http(500),
        );
        let err = classify(err, Secrets::none).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable);
        assert_eq!(err.message(), "PutItem failed: no error code (HTTP 500)");
    }

    #[test]
    fn transport_failures_map_to_kinds() {
        assert_eq!(
            kind_of(SdkError::timeout_error("deadline elapsed")),
            StoreErrorKind::Timeout
        );
        assert_eq!(
            kind_of(SdkError::dispatch_failure(ConnectorError::timeout(
                "connect timeout".into()
            ))),
            StoreErrorKind::Timeout
        );
        assert_eq!(
            kind_of(SdkError::dispatch_failure(ConnectorError::io(
                "connection refused".into()
            ))),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            kind_of(SdkError::response_error("truncated body", http(200))),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            kind_of(SdkError::construction_failure("bad endpoint")),
            StoreErrorKind::Other
        );
    }

    /// The SDK prints the whole request into the error when it cannot apply the endpoint; the
    /// request's body holds the lease token, so the store error's text and source leave it out.
    #[test]
    fn a_printed_request_is_left_out_and_the_endpoint_failure_is_misconfigured() {
        let printed = "failed to apply endpoint `not a url` to request `Request { body: SdkBody { inner: Once(Some(b\"{\\\":tok\\\":{\\\"S\\\":\\\"secret`token\\\"}}\")) }, uri: Uri { as_string: \"/\" } }`: endpoint is not a valid URI: invalid uri character";
        let err: StoreError = classify_error::<PutItemError>(SdkError::dispatch_failure(
            ConnectorError::other(printed.into(), None),
        ));
        assert_eq!(err.kind(), StoreErrorKind::Misconfigured);
        let mut shown = format!("{err} {err:?}");
        let mut next = StdError::source(&err);
        while let Some(e) = next {
            shown.push_str(&format!(" {e} {e:?}"));
            next = e.source();
        }
        assert!(!shown.contains("secret"), "{shown}");
        assert!(!shown.contains("SdkBody"), "{shown}");
        assert!(shown.contains("`not a url`"), "{shown}");
        assert!(
            shown.contains("(request omitted: it holds the lease token)"),
            "{shown}"
        );
        assert!(shown.contains("invalid uri character"), "{shown}");

        // Without a printed request, the SDK error itself stays attached.
        let err = classify_error::<PutItemError>(SdkError::timeout_error("deadline elapsed"));
        let source = StdError::source(&err).expect("attached");
        assert!(
            source
                .downcast_ref::<SdkError<PutItemError, HttpResponse>>()
                .is_some()
        );
    }

    /// The SDK error's `Debug` prints its raw response's body; the attached error has none,
    /// and is still the SDK error (status and headers kept), for a service error and an
    /// unreadable answer alike.
    #[test]
    fn an_attached_sdk_error_keeps_no_response_body() {
        let body = r#"{"Item":{"lease_token":{"S":"9f2d-THEIR-SECRET"}}}"#;
        let raw = || {
            let mut raw =
                HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body));
            raw.headers_mut().insert("x-amzn-requestid", "REQ-1");
            raw
        };
        let service = SdkError::service_error(
            PutItemError::generic(meta("SomeException", "details from AWS")),
            raw(),
        );
        let unreadable =
            SdkError::<PutItemError, HttpResponse>::response_error("cannot parse", raw());
        for err in [service, unreadable] {
            assert!(
                format!("{err:?}").contains("THEIR-SECRET"),
                "the premise: {err:?}"
            );
            let err = classify_error(err);
            let source = StdError::source(&err).expect("attached");
            let sdk = source
                .downcast_ref::<SdkError<PutItemError, HttpResponse>>()
                .expect("the SDK error");
            let shown = format!("{sdk:?}");
            assert!(!shown.contains("THEIR-SECRET"), "{shown}");
            let raw = sdk.raw_response().expect("the raw response");
            assert_eq!(raw.status().as_u16(), 400);
            assert_eq!(raw.headers().get("x-amzn-requestid"), Some("REQ-1"));
        }
    }

    #[test]
    fn condition_failure_is_an_outcome_with_the_old_item() {
        let old: SdkItem = [("lease_token".to_owned(), SdkValue::S("other".into()))].into();
        let err = SdkError::service_error(
            UpdateItemError::ConditionalCheckFailedException(condition_failed(Some(old))),
            http(400),
        );
        let Ok(StoreResponse::ConditionFailed {
            old_item: Some(item),
        }) = classify(err, Secrets::none)
        else {
            panic!("not a condition failure with an item");
        };
        assert_eq!(item["lease_token"], AttributeValue::string("other"));
    }

    #[test]
    fn the_code_of_a_condition_failure_on_get_is_not_an_outcome() {
        // GetItem has no condition: whatever the code says, it is an error.
        let err = service(
            GetItemError::generic,
            400,
            "ConditionalCheckFailedException",
        );
        assert_eq!(
            classify(err, Secrets::none).unwrap_err().kind(),
            StoreErrorKind::Other
        );
    }
}
