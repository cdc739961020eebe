//! Seeding large tenants on DynamoDB (moto) fast: users written with BatchWriteItem in the
//! store's own item format.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::json;
use tokio::task::JoinSet;

use super::moto::{raw_put, DynamoFixture};
use super::requests::resource;
use scim_server::scim::emails::indexed_emails;
use scim_server::scim::resource::Resource;
use scim_server::store::dynamo::item::{item_size, Item};
use scim_server::store::dynamo::keys;
use scim_server::store::dynamo::user_item::{guard_item, user_item, GuardKind};
use scim_server::tenant::TenantId;

/// A user the size of a typical Entra ID user item (~600 bytes).
pub fn entra_like(i: usize) -> Resource {
    resource(json!({
        "userName": format!("user{i:06}@contoso.example.com"),
        "externalId": format!("{:08x}-5a2c-4f7e-9d7b-{i:012}", i * 7919),
        "displayName": format!("Adele Vance {i}"),
        "name": {"givenName": "Adele", "familyName": format!("Vance {i}"), "formatted": format!("Adele Vance {i}")},
        "emails": [{"value": format!("user{i:06}@contoso.example.com"), "type": "work", "primary": true}],
        "title": "Retail Manager",
        "preferredLanguage": "en-US",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Retail", "employeeNumber": format!("{i:06}"), "costCenter": "CC-1020",
        },
    }))
}

/// Write `n` users to `t` with BatchWriteItem (25 a call, 8 calls in flight), past the
/// transactions (seeding speed only: what is read back is the store's own item format), and one
/// counter shard holding `n`. Returns the ids in list order and the mean item size.
pub async fn seed(fx: &DynamoFixture, t: &TenantId, n: usize) -> (Vec<String>, usize) {
    seed_users(fx, t, n, false).await
}

/// [`seed`], with each user's email look-up entry as the store's own transactions write it.
pub async fn seed_with_email_entries(
    fx: &DynamoFixture,
    t: &TenantId,
    n: usize,
) -> (Vec<String>, usize) {
    seed_users(fx, t, n, true).await
}

async fn seed_users(
    fx: &DynamoFixture,
    t: &TenantId,
    n: usize,
    email_entries: bool,
) -> (Vec<String>, usize) {
    let users: Vec<Resource> = (0..n).map(entra_like).collect();
    let mut items: Vec<Item> = users.iter().map(|u| user_item(t, u).unwrap()).collect();
    let mean_size = items.iter().map(item_size).sum::<usize>() / n.max(1);
    if email_entries {
        for u in &users {
            for email in indexed_emails(&u.attributes) {
                let key = keys::email_entry(t, &email, &u.id);
                items.push(guard_item(GuardKind::EmailEntry, &key, &u.id).unwrap());
            }
        }
    }
    batch_put(fx, &items).await;
    let mut shard = keys::counter_shard(t, 0).to_attrs();
    shard.insert("users".to_owned(), AttributeValue::N(n.to_string()));
    raw_put(fx, shard).await;
    let mut ids: Vec<String> = users.into_iter().map(|u| u.id).collect();
    ids.sort();
    (ids, mean_size)
}

/// Put `items` with BatchWriteItem, 25 a call, 8 calls in flight.
async fn batch_put(fx: &DynamoFixture, items: &[Item]) {
    let mut set = JoinSet::new();
    for chunk in items.chunks(25) {
        let (client, table) = (fx.client.clone(), fx.table.clone());
        let writes: Vec<WriteRequest> = chunk
            .iter()
            .map(|i| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(i.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        set.spawn(async move {
            let out = client
                .batch_write_item()
                .request_items(table, writes)
                .send()
                .await
                .unwrap();
            assert!(out.unprocessed_items.unwrap_or_default().is_empty());
        });
        while set.len() >= 8 {
            set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}
