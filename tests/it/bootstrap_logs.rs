//! The real `bootstrap` binary, at the most verbose level template.yaml allows (`LogLevel`
//! `trace`, passed as `RUST_LOG`), serves every event in `events/` through a minimal Lambda
//! Runtime API on 127.0.0.1, and its output holds no token, no token hash and no `userName`.

use crate::event_support;

use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::{mpsc, Notify};

use event_support::{event_text, EXPECTED};
use scim_server::auth::token;
use scim_server::tenant::TenantId;
use secrecy::ExposeSecret;

/// The two Runtime API calls the runtime makes per invocation: `next` hands out the queued
/// event (waiting while there is none), `response` reports the function's answer.
#[derive(Clone)]
struct RuntimeApi {
    queue: Arc<Mutex<VecDeque<(String, String)>>>,
    queued: Arc<Notify>,
    answers: mpsc::UnboundedSender<(String, String)>,
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    loop {
        let waiting = api.queued.notified();
        if let Some((id, event)) = api.queue.lock().unwrap().pop_front() {
            let mut h = HeaderMap::new();
            h.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
            h.insert(
                "lambda-runtime-deadline-ms",
                "4102444800000".parse().unwrap(),
            );
            h.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:scim"
                    .parse()
                    .unwrap(),
            );
            h.insert(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000001".parse().unwrap(),
            );
            return (h, event);
        }
        waiting.await;
    }
}

async fn response(
    State(api): State<RuntimeApi>,
    UrlPath(id): UrlPath<String>,
    body: String,
) -> StatusCode {
    let _ = api.answers.send((id, body));
    StatusCode::ACCEPTED
}

async fn error(
    State(api): State<RuntimeApi>,
    UrlPath(id): UrlPath<String>,
    body: String,
) -> StatusCode {
    let _ = api.answers.send((id, format!("ERROR {body}")));
    StatusCode::ACCEPTED
}

/// Every `userName` value sent in an event body.
fn user_names() -> Vec<String> {
    let mut names = Vec::new();
    for (name, _) in EXPECTED {
        let event: Value = serde_json::from_str(&event_text(name, "t", "u")).unwrap();
        if let Some(body) = event["body"].as_str() {
            if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(body) {
                if let Some(u) = o.get("userName").and_then(Value::as_str) {
                    names.push(u.to_owned());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    assert!(!names.is_empty());
    names
}

#[tokio::test]
async fn bootstrap_at_trace_logs_no_token_hash_or_user_name() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut answers) = mpsc::unbounded_channel();
    let api = RuntimeApi {
        queue: Arc::default(),
        queued: Arc::default(),
        answers: tx,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .with_state(api.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let tenant = TenantId::parse("logcheck").unwrap();
    let generated = token::generate(&tenant).unwrap();
    let tok = generated.token.expose_secret().to_owned();
    let hash = generated.hash.to_hex();

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out_path = dir.join(format!("bootstrap-logs-{}.txt", std::process::id()));
    let out = File::create(&out_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "scim")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "group")
        .env("AWS_REGION", "us-east-1")
        // template.yaml's most verbose LogLevel, as the template passes it.
        .env("RUST_LOG", "trace")
        .env("SCIM_LOG_FORMAT", "json")
        .env("SCIM_LOCAL_TENANT", tenant.as_str())
        .env("SCIM_LOCAL_TOKEN", &tok)
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("start bootstrap");

    let mut user_id = String::from("none");
    for (i, (name, status)) in EXPECTED.iter().enumerate() {
        let id = format!("req-{i}");
        api.queue
            .lock()
            .unwrap()
            .push_back((id.clone(), event_text(name, &tok, &user_id)));
        api.queued.notify_waiters();
        let (got_id, body) = tokio::time::timeout(Duration::from_secs(30), answers.recv())
            .await
            .unwrap_or_else(|_| panic!("no answer to {name}"))
            .unwrap();
        assert_eq!(got_id, id);
        let answer: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{name}: not a response: {e}: {body}"));
        assert_eq!(answer["statusCode"], *status, "{name}: {answer}");
        if *name == "post-user.json" {
            let created: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            user_id = created["id"].as_str().unwrap().to_owned();
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    let output = std::fs::read_to_string(&out_path).unwrap();
    let _ = std::fs::remove_file(&out_path);
    assert!(
        output.contains("scim function initialised"),
        "no log output: {output}"
    );
    assert!(
        output.contains("\"level\":\"DEBUG\""),
        "not at debug or beyond"
    );
    // Everything after `scim_<tenant>_` (the secret itself may contain '_').
    let secret = tok.splitn(3, '_').nth(2).unwrap();
    assert!(secret.len() >= 43);
    assert!(!output.contains(secret), "the token is in the output");
    assert!(!output.contains(&hash), "the token hash is in the output");
    assert!(
        !output.to_ascii_lowercase().contains("bearer"),
        "an Authorization header is in the output"
    );
    for name in user_names() {
        assert!(!output.contains(&name), "userName {name} is in the output");
        let local_part = name.split('@').next().unwrap();
        assert!(
            !output.contains(local_part),
            "userName {name} (or its local part) is in the output"
        );
    }
}
