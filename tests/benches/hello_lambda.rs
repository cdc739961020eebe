//! The cold-start baseline: a minimal lambda_http function (same lambda_http and tokio features as
//! `bootstrap`, same profile) that answers every API Gateway request with a fixed JSON body.
//! The `coldstart` bench starts it side by side with `bootstrap` and reports the ratio.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::Text(r#"{"hello":"world"}"#.to_owned()))
            .map_err(Error::from)
    }))
    .await
}
