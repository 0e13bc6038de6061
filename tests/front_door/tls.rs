//! The servers' own TLS: HTTPS and gRPC over TLS with certificates the test makes, a client
//! certificate standing for a key (mutual TLS), required client certificates on gRPC, and a
//! certificate reloaded on SIGHUP without a restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use taskgate_gateway::auth::api_keys::digest_hex;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_service_client::NlpServiceClient;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::common::tls::{Certificates, certificates};
use crate::common::{self, BinaryServer};
use crate::{APP, pii};

fn https_client(certs: &Certificates, identity: bool) -> reqwest::Client {
    taskgate_runtime::remote::tls::install_crypto_provider();
    let ca = std::fs::read(certs.file("ca.pem")).unwrap();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
        .timeout(Duration::from_secs(30));
    if identity {
        let pem = [
            std::fs::read(certs.file("client.pem")).unwrap(),
            b"\n".to_vec(),
            std::fs::read(certs.file("client.key")).unwrap(),
        ]
        .concat();
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

fn start(test: &str, certs: &Certificates) -> BinaryServer {
    let tls = |client_auth: &str| {
        json!({"cert_file": certs.path("server.pem"), "key_file": certs.path("server.key"),
            "client_ca_file": certs.path("ca.pem"), "client_auth": client_auth})
    };
    let keys = json!({"keys": [
        {"id": "app", "sha256": digest_hex(APP), "scopes": {"tasks": ["*"], "models": ["*"]}},
        {"id": "service", "client_certificate": "client.taskgate.test",
            "scopes": {"tasks": ["token-classification"], "models": ["pii-rules"]}},
    ]});
    common::serve_models(
        test,
        pii(),
        json!({"auth": keys, "http": {"tls": tls("optional")}, "grpc": {"tls": tls("required")}}),
    )
}

async fn classify(client: &reqwest::Client, server: &BinaryServer, key: Option<&str>) -> u16 {
    let mut request = client
        .post(server.url("/api/v1/task/token-classification"))
        .json(&json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"}));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn https_with_keys_or_a_client_certificate() {
    let certs = certificates("front-door-https");
    let server = start("front-door-https", &certs);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let plain = https_client(&certs, false);
    assert_eq!(classify(&plain, &server, None).await, 401);
    assert_eq!(classify(&plain, &server, Some(APP)).await, 200);
    // The client certificate stands for the `service` key: no secret needed.
    let mutual = https_client(&certs, true);
    assert_eq!(classify(&mutual, &server, None).await, 200);
    let info = mutual.get(server.url("/info/models")).send().await.unwrap();
    assert_eq!(info.status(), 200);
    // Plain HTTP on the TLS port is not served.
    let cleartext = server.base.replace("https://", "http://");
    let answer = common::client()
        .get(format!("{cleartext}/health"))
        .send()
        .await;
    assert!(answer.is_err() || !answer.unwrap().status().is_success());
}

fn grpc_tls(certs: &Certificates, identity: bool) -> ClientTlsConfig {
    taskgate_runtime::remote::tls::install_crypto_provider();
    let ca = std::fs::read(certs.file("ca.pem")).unwrap();
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    if identity {
        config = config.identity(Identity::from_pem(
            std::fs::read(certs.file("client.pem")).unwrap(),
            std::fs::read(certs.file("client.key")).unwrap(),
        ));
    }
    config
}

async fn grpc_channel(
    endpoint: &str,
    tls: ClientTlsConfig,
) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(endpoint.to_string())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
}

#[tokio::test]
async fn grpc_over_mutual_tls_requires_the_client_certificate() {
    let certs = certificates("front-door-grpc-tls");
    let server = start("front-door-grpc-tls", &certs);
    let endpoint = server.grpc.clone().unwrap().replace("http://", "https://");
    let channel = grpc_channel(&endpoint, grpc_tls(&certs, true))
        .await
        .unwrap();
    let mut nlp = NlpServiceClient::new(channel);
    let mut request = tonic::Request::new(TokenClassificationTaskRequest {
        text: "mail ana@example.com".into(),
        threshold: None,
    });
    request
        .metadata_mut()
        .insert("mm-model-id", "pii-rules".parse().unwrap());
    let answer = nlp
        .token_classification_task_predict(request)
        .await
        .unwrap();
    assert_eq!(answer.into_inner().results.len(), 1);
    // Without a client certificate the handshake (or the first call) fails.
    let refused = match grpc_channel(&endpoint, grpc_tls(&certs, false)).await {
        Err(_) => true,
        Ok(channel) => {
            let mut nlp = NlpServiceClient::new(channel);
            let mut request = tonic::Request::new(TokenClassificationTaskRequest {
                text: "x".into(),
                threshold: None,
            });
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {APP}").parse().unwrap());
            request
                .metadata_mut()
                .insert("mm-model-id", "pii-rules".parse().unwrap());
            nlp.token_classification_task_predict(request)
                .await
                .is_err()
        }
    };
    assert!(refused, "gRPC served a client without a certificate");
}

/// The leaf certificate the server presents to a new connection.
async fn served_leaf(address: &str, roots: &[&Certificates]) -> Vec<u8> {
    let mut store = RootCertStore::empty();
    for certs in roots {
        for cert in CertificateDer::pem_file_iter(certs.file("ca.pem")).unwrap() {
            store.add(cert.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn leaf_of(certs: &Certificates) -> Vec<u8> {
    CertificateDer::from_pem_file(certs.file("server.pem"))
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_renewed_certificate_is_served_after_sighup_without_a_restart() {
    let certs = certificates("front-door-reload");
    let renewed = certificates("front-door-reload-renewed");
    let server = start("front-door-reload", &certs);
    let address = server.base.trim_start_matches("https://").to_string();
    assert_eq!(served_leaf(&address, &[&certs]).await, leaf_of(&certs));
    // A damaged file does not replace the certificate in force.
    std::fs::write(certs.file("server.pem"), "not a certificate").unwrap();
    let hangup = |pid: u32| {
        std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
    };
    hangup(server.pid());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = https_client(&certs, false);
    assert_eq!(classify(&client, &server, Some(APP)).await, 200);
    // The renewed pair (from another CA) is served once reloaded.
    for name in ["server.pem", "server.key"] {
        std::fs::copy(renewed.file(name), certs.file(name)).unwrap();
    }
    hangup(server.pid());
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let leaf = served_leaf(&address, &[&certs, &renewed]).await;
        if leaf == leaf_of(&renewed) {
            break;
        }
        assert!(
            Instant::now() < until,
            "the renewed certificate was not served within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
