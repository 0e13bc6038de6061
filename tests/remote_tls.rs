//! TLS and mutual TLS to remote runtimes, over gRPC (TGIS) and HTTP (OpenAI-compatible): the
//! remotes sit behind a TLS relay that requires a client certificate from the test CA. With the
//! CA and the client certificate configured, calls go through; without the certificate, or
//! trusting another CA, they fail as unreachable (503) naming the backend; bad TLS settings
//! stop the configuration naming the key.

mod common;

use axum::Json;
use axum::routing::post;
use common::tgis_fake::FakeTgis;
use common::tls::{Certificates, certificates, relay};
use serde_json::{Value, json};
use taskgate_gateway::serve::Server;

/// A minimal OpenAI-compatible completions server: echoes the prompt, upper-cased.
async fn openai_fake() -> String {
    let router = axum::Router::new().route(
        "/v1/completions",
        post(|Json(body): Json<Value>| async move {
            let text = body["prompt"].as_str().unwrap_or_default().to_uppercase();
            Json(
                json!({"choices": [{"index": 0, "text": text, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 2, "completion_tokens": 1}}),
            )
        }),
    );
    let server = Server::bind("127.0.0.1:0", router).await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    tokio::spawn(server.run(std::future::pending()));
    url
}

fn tls(certs: &Certificates, ca: &str, client_cert: bool) -> Value {
    let mut tls = json!({"ca_file": certs.path(ca)});
    if client_cert {
        tls["cert_file"] = certs.path("client.pem").into();
        tls["key_file"] = certs.path("client.key").into();
    }
    tls
}

#[tokio::test]
async fn remotes_are_reached_over_mutual_tls_and_refused_without_it() {
    let certs = certificates("remote-tls");
    let tgis = FakeTgis::default().start(0).await;
    let tgis_tls = relay(&certs, &tgis.url, true).await;
    let openai_tls = relay(&certs, &openai_fake().await, true).await;
    let backend = |kind: &str, url: &str, tls: Value| {
        json!({"kind": kind, "endpoint": url, "tls": tls, "retries": 0,
            "request_timeout_ms": 5000})
    };
    let server = common::serve_models(
        "remote-tls",
        json!([
            {"id": "tgis-mtls", "backend": backend("tgis", &tgis_tls, tls(&certs, "ca.pem", true))},
            {"id": "tgis-no-cert", "backend": backend("tgis", &tgis_tls, tls(&certs, "ca.pem", false))},
            {"id": "tgis-other-ca", "backend": backend("tgis", &tgis_tls, tls(&certs, "other-ca.pem", true))},
            {"id": "openai-mtls", "backend": backend("openai", &openai_tls, tls(&certs, "ca.pem", true))},
            {"id": "openai-no-cert", "backend": backend("openai", &openai_tls, tls(&certs, "ca.pem", false))},
            {"id": "openai-other-ca", "backend": backend("openai", &openai_tls, tls(&certs, "other-ca.pem", true))},
        ]),
        json!({}),
    );
    let generate = |model: &str| json!({"model_id": model, "inputs": "one two three", "parameters": {"max_new_tokens": 5}});
    let answer = server
        .call_ok("text-generation", generate("tgis-mtls"))
        .await;
    assert_eq!(answer["generated_text"], " three two one");
    let answer = server
        .call_ok("text-generation", generate("openai-mtls"))
        .await;
    assert_eq!(answer["generated_text"], "ONE TWO THREE");

    for (model, backend) in [
        ("tgis-no-cert", format!("TGIS at {tgis_tls}")),
        ("tgis-other-ca", format!("TGIS at {tgis_tls}")),
        (
            "openai-no-cert",
            format!("OpenAI-compatible server at {openai_tls}"),
        ),
        (
            "openai-other-ca",
            format!("OpenAI-compatible server at {openai_tls}"),
        ),
    ] {
        let (status, answer) = server.call("text-generation", generate(model)).await;
        assert!(status == 503 || status == 502, "{model}: {status} {answer}");
        let details = answer["details"].as_str().unwrap();
        assert!(details.contains(&backend), "{model}: {details}");
    }
    // Trusting another CA fails on the server's certificate, before any request is sent.
    let (_, answer) = server
        .call("text-generation", generate("openai-other-ca"))
        .await;
    let details = answer["details"].as_str().unwrap().to_lowercase();
    assert!(details.contains("certificate"), "{details}");
}

#[test]
fn bad_tls_settings_stop_the_configuration_naming_the_key() {
    let certs = certificates("remote-tls-config");
    let cases = [
        (
            json!({"ca_file": certs.path("ca.pem"), "cert_file": certs.path("client.pem")}),
            "tls.key_file",
        ),
        (json!({"ca_file": certs.path("missing.pem")}), "tls.ca_file"),
        (
            json!({"ca_file": certs.path("client.ext")}),
            "invalid TLS CA",
        ),
        (
            json!({"cert_file": certs.path("client.pem"), "key_file": certs.path("ca.pem")}),
            "client certificate",
        ),
    ];
    for (tls, expected) in cases {
        let file = certs.dir.join("taskgate.yaml");
        let config = json!({"models_dir": certs.dir.join("none"), "models": [{"id": "m",
            "backend": {"kind": "openai", "endpoint": "https://127.0.0.1:9", "tls": tls}}]});
        std::fs::write(&file, config.to_string()).unwrap();
        let output = common::taskgate_command("check-config")
            .arg("check-config")
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{tls}: accepted");
        assert!(stderr.contains(expected), "{tls}: {stderr}");
    }
}
