//! The built `scimctl` binary against Secrets Manager on moto, as an operator or a script uses
//! it. Needs the moto server: run via `make test`.

use crate::common;
use crate::token_support;

use std::process::{Command, Output};

use serde_json::Value;

use scim_server::auth::token::{self, TokenHash};
use scim_server::auth::{Authenticator, SecretsManagerTokenSource};
use token_support::{moto_client, moto_endpoint, tenant, unique_prefix};

/// `scimctl ARGS` with the moto endpoint and `prefix` (None: no prefix at all).
fn scimctl(prefix: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimctl"));
    cmd.args(args)
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("SCIM_SECRET_PREFIX");
    if let Some(p) = prefix {
        cmd.env("SCIM_SECRET_PREFIX", p);
    }
    cmd.output().expect("scimctl runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[track_caller]
fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    o
}

/// Whether the server-side verification accepts `token` now.
async fn accepted(prefix: &str, token: &str) -> bool {
    let source = SecretsManagerTokenSource::new(moto_client(), prefix).unwrap();
    let auth = Authenticator::new(std::sync::Arc::new(source));
    auth.authenticate(Some(&format!("Bearer {token}")))
        .await
        .is_ok()
}

#[tokio::test]
async fn generate_prints_the_token_alone_and_the_other_commands_manage_it() {
    let prefix = unique_prefix();
    let p = Some(prefix.as_str());

    let g = ok(scimctl(
        p,
        &["token", "generate", "--tenant", "acme", "--label", "okta"],
    ));
    let out = stdout(&g);
    assert_eq!(out.lines().count(), 1, "stdout: {out:?}");
    let first = out.trim_end_matches('\n').to_owned();
    assert_eq!(token::claimed_tenant(&first), Some(tenant("acme")));
    assert!(
        stderr(&g).contains(&token::token_id(&TokenHash::of(&first))),
        "{}",
        stderr(&g)
    );
    assert!(accepted(&prefix, &first).await);

    let g = ok(scimctl(
        p,
        &[
            "token",
            "generate",
            "--tenant",
            "acme",
            "--overlap",
            "10m",
            "--expires",
            "90d",
        ],
    ));
    let second = stdout(&g).trim_end().to_owned();
    assert!(stderr(&g).contains("stays valid until"), "{}", stderr(&g));
    assert!(accepted(&prefix, &first).await && accepted(&prefix, &second).await);

    let s = ok(scimctl(
        p,
        &["--json", "token", "status", "--tenant", "acme"],
    ));
    let text = stdout(&s);
    let v: Value = serde_json::from_str(&text).unwrap();
    let creds = v["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[0]["role"], "current");
    assert!(creds[0]["not_after"].is_i64());
    assert_eq!(creds[1]["role"], "previous");
    assert_eq!(creds[1]["label"], "okta");
    assert!(creds.iter().all(|c| c.get("hash").is_none()));
    for t in [&first, &second] {
        assert!(!text.contains(&TokenHash::of(t).to_hex()) && !text.contains(t.as_str()));
    }
    let s = ok(scimctl(p, &["token", "status", "--tenant", "acme"]));
    assert!(
        stdout(&s).contains("current") && stdout(&s).contains("previous"),
        "{}",
        stdout(&s)
    );

    let g = ok(scimctl(
        p,
        &["--json", "token", "generate", "--tenant", "globex"],
    ));
    let v: Value = serde_json::from_str(&stdout(&g)).unwrap();
    assert_eq!(
        token::claimed_tenant(v["token"].as_str().unwrap()),
        Some(tenant("globex"))
    );

    let l = ok(scimctl(p, &["tenant", "list"]));
    assert_eq!(stdout(&l), "acme\nglobex\n");
    let l = ok(scimctl(p, &["--json", "tenant", "list"]));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&l)).unwrap(),
        serde_json::json!({"tenants": ["acme", "globex"]})
    );

    let r = ok(scimctl(
        p,
        &["--json", "token", "revoke", "--tenant", "acme"],
    ));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&r)).unwrap()["revoked"],
        2
    );
    assert!(!accepted(&prefix, &first).await && !accepted(&prefix, &second).await);
    let s = ok(scimctl(
        p,
        &["--json", "token", "status", "--tenant", "acme"],
    ));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&s)).unwrap()["credentials"],
        serde_json::json!([])
    );
}

#[test]
fn a_missing_secret_prefix_is_a_clear_error() {
    let o = scimctl(None, &["token", "generate", "--tenant", "acme"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let e = stderr(&o);
    assert!(
        e.contains("--secret-prefix") && e.contains("SCIM_SECRET_PREFIX"),
        "{e}"
    );
}

#[test]
fn bad_arguments_and_unknown_tenants_are_non_zero_with_a_message() {
    let prefix = unique_prefix();
    let p = Some(prefix.as_str());
    let cases: [(&[&str], i32, &str); 5] = [
        (&["token", "generate", "--tenant", "Acme_1"], 2, "tenant id"),
        (
            &[
                "token",
                "generate",
                "--tenant",
                "acme",
                "--overlap",
                "8days",
            ],
            2,
            "7 days",
        ),
        (
            &["token", "generate", "--tenant", "acme", "--expires", "soon"],
            2,
            "--expires",
        ),
        (
            &["token", "status", "--tenant", "nobody"],
            1,
            "no token secret",
        ),
        (
            &[
                "token",
                "generate",
                "--tenant",
                "acme",
                "--secret-prefix",
                "bad prefix",
            ],
            2,
            "secret prefix",
        ),
    ];
    for (args, code, msg) in cases {
        let o = scimctl(p, args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["token", "--help"],
        &["token", "generate", "--help"],
        &["token", "revoke", "--help"],
        &["token", "status", "--help"],
        &["tenant", "list", "--help"],
        &["table", "create", "--help"],
        &["table", "cleanup", "--help"],
    ] {
        let o = ok(scimctl(None, args));
        assert!(stdout(&o).contains("Usage"), "{args:?}");
    }
    let o = scimctl(None, &["token", "generate", "--help"]);
    assert!(stdout(&o).contains("--overlap") && stdout(&o).contains("SCIM_SECRET_PREFIX"));
}

#[tokio::test]
async fn table_cleanup_finishes_an_interrupted_membership_clean_up() {
    use scim_server::scim::members::{Member, MemberKind};
    use scim_server::scim::resource::{now_rfc3339, Resource};
    use scim_server::store::dynamo::group_item::{member_item, member_of_item};
    use scim_server::store::{Deletion, GroupStore, UserStore};

    let fx = common::moto::dynamo_fixture().await;
    let t = tenant("acme");
    let resource = |attrs: Value| Resource {
        id: uuid::Uuid::new_v4().to_string(),
        version: scim_server::scim::resource::Version::FIRST,
        created: now_rfc3339(),
        last_modified: now_rfc3339(),
        attributes: attrs.as_object().cloned().unwrap(),
    };
    let user = resource(serde_json::json!({"userName": "alice"}));
    fx.store
        .create_user(&t, &user, &common::sys_audit())
        .await
        .unwrap();
    let member = Member {
        value: user.id.clone(),
        kind: MemberKind::User,
        display: None,
    };
    let group = resource(serde_json::json!({"displayName": "Team"}));
    fx.store
        .create_group(
            &t,
            &group,
            std::slice::from_ref(&member),
            &common::sys_audit(),
        )
        .await
        .unwrap();
    let deletion = Deletion {
        request_id: "r1".into(),
        deleted_at: now_rfc3339(),
    };
    fx.store
        .delete_group(&t, &group, &common::deleting(&deletion))
        .await
        .unwrap();
    // What a Lambda stopped right after the delete's transaction leaves behind.
    for item in [
        member_item(&t, &group.id, &member).unwrap(),
        member_of_item(&t, &group.id, &member).unwrap(),
    ] {
        common::moto::raw_put(&fx, item).await;
    }
    let o = ok(scimctl(
        None,
        &[
            "--json", "table", "cleanup", "--table", &fx.table, "--tenant", "acme",
        ],
    ));
    let out: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(out["deletions"], 1, "{out}");
    let left = fx
        .client
        .query()
        .table_name(&fx.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("T#acme#MEMBEROF#{}", user.id)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(left.count(), 0);
    let o = scimctl(
        None,
        &[
            "table",
            "cleanup",
            "--table",
            &fx.table,
            "--tenant",
            "Not A Tenant",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
