//! `/api/v1/openapi.json` describes the API that is really served: it is valid JSON OpenAPI 3,
//! lists the paths DESIGN §7 promises, and every path it lists is routed.

mod common;

use common::*;
use reqwest::blocking::Client;
use serde_json::Value;

#[test]
fn the_openapi_document_matches_the_router() {
    let data = tempdir();
    let server = Server::start(data.path(), &[]);
    let client = Client::new();
    let res = client
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .expect("openapi");
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().expect("JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for promised in [
        "/api/v1/accounts",
        "/api/v1/sessions",
        "/api/v1/password-resets",
        "/api/v1/password-resets/{token}",
        "/api/v1/orders",
        "/api/v1/orders/{number}",
        "/api/v1/orders/{number}/agreement.pdf",
        "/api/v1/orders/{number}/documents",
        "/api/v1/orders/{number}/decision",
        "/api/v1/orders/{number}/cancel",
        "/api/v1/orders/{number}/reorder",
        "/api/v1/vetting/queue",
        "/api/v1/pickups/{token}",
        "/api/v1/certificates/{serial}",
        "/api/v1/certificates/{serial}/revoke",
        "/api/v1/certificates/{serial}/reissue",
        "/api/v1/certificates/{serial}/renew",
    ] {
        assert!(paths.contains_key(promised), "{promised} is not documented");
    }
    assert!(
        doc["components"]["schemas"]["NewOrder"].is_object(),
        "request schemas are missing"
    );
    // Every documented operation is routed: the router's own 404 has an empty body, ours never.
    for (path, ops) in paths {
        let concrete = path
            .replace("{number}", "AAAAA-AAAAA")
            .replace("{token}", "x")
            .replace("{serial}", "0A")
            .replace("{id}", "1")
            .replace("{file}", "certificate.pem");
        for method in ops.as_object().expect("operations").keys() {
            let res = client
                .request(
                    method.to_uppercase().parse().expect("method"),
                    server.url(&concrete),
                )
                .send()
                .expect("request");
            let status = res.status();
            let body = res.text().unwrap_or_default();
            assert!(
                !(status == 404 && body.is_empty()) && status != 405,
                "{method} {path} is documented but not routed ({status})"
            );
        }
    }
}
