//! `/api/v1/openapi.json` describes the API that is really served: it is valid JSON OpenAPI 3,
//! lists the paths design §7 promises, and every path it lists is routed.

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
    // Errors, also those answered before a handler runs, are problem documents.
    for (method, path, body) in [
        ("POST", "/api/v1/sessions", "not json"),
        ("POST", "/api/v1/sessions", r#"{"email":"a@b.c"}"#),
        ("TRACE", "/api/v1/sessions", ""),
        ("GET", "/api/v1/no-such-thing", ""),
        ("GET", "/api/v1/vetting/queue?min_age_hours=x", ""),
    ] {
        let res = client
            .request(method.parse().expect("method"), server.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("request");
        assert!(res.status().is_client_error(), "{method} {path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let problem: Value = res.json().expect("problem");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // Every path parameter is declared, and every operation documents its errors.
    for (path, item) in paths {
        if path.contains('{') {
            assert!(
                item["parameters"].is_array(),
                "{path} declares no parameters"
            );
        }
        for (method, op) in item.as_object().expect("item") {
            if method == "parameters" {
                continue;
            }
            assert!(
                op["responses"]["default"]["content"]["application/problem+json"].is_object(),
                "{method} {path} documents no problem response"
            );
        }
    }
    // Every documented operation is routed: the router's own 404 says there is no such path.
    for (path, ops) in paths {
        let concrete = path
            .replace("{number}", "AAAAA-AAAAA")
            .replace("{token}", "x")
            .replace("{serial}", "0A")
            .replace("{id}", "1")
            .replace("{file}", "certificate.pem");
        for method in ops
            .as_object()
            .expect("operations")
            .keys()
            .filter(|m| *m != "parameters")
        {
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
                !(status == 404 && body.contains("no such API path")) && status != 405,
                "{method} {path} is documented but not routed ({status})"
            );
        }
    }
}
