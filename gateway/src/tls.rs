//! The servers' own TLS: certificates and keys from PEM files, optional client certificates
//! checked against a CA (mutual TLS), reloaded on SIGHUP or when a file changes, so a renewed
//! certificate takes effect without a restart and a bad one never replaces a good one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

use crate::file_watch;
use crate::server_config::{ClientAuth, TlsConfig};

/// How often the files are checked for changes (SIGHUP reloads at once).
const CHANGE_CHECK: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what} {path}: {message}")]
    File {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("TLS setup: {0}")]
    Setup(String),
}

fn file_error(what: &'static str, path: &Path, message: impl ToString) -> TlsError {
    TlsError::File {
        what,
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a server config from the files; `alpn` lists the protocols offered, preferred first.
fn load(config: &TlsConfig, alpn: &[&[u8]]) -> Result<ServerConfig, TlsError> {
    let cert_path = Path::new(&config.cert_file);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| file_error("certificate file", cert_path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error("certificate file", cert_path, e))?;
    if certs.is_empty() {
        return Err(file_error(
            "certificate file",
            cert_path,
            "holds no certificate",
        ));
    }
    let key_path = Path::new(&config.key_file);
    let key =
        PrivateKeyDer::from_pem_file(key_path).map_err(|e| file_error("key file", key_path, e))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let builder = match &config.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let ca_path = Path::new(ca_file);
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca_path)
                .map_err(|e| file_error("client CA file", ca_path, e))?
            {
                let cert = cert.map_err(|e| file_error("client CA file", ca_path, e))?;
                roots
                    .add(cert)
                    .map_err(|e| file_error("client CA file", ca_path, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let verifier = match config.client_auth {
                ClientAuth::Required => verifier,
                ClientAuth::Optional => verifier.allow_unauthenticated(),
            };
            let verifier = verifier
                .build()
                .map_err(|e| file_error("client CA file", ca_path, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| file_error("certificate and key", cert_path, e))?;
    server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(server)
}

/// The acceptor in force, swapped whole on reload.
#[derive(Clone)]
pub struct ReloadingTls {
    config: Arc<TlsConfig>,
    alpn: &'static [&'static [u8]],
    current: Arc<RwLock<TlsAcceptor>>,
}

/// HTTP/2 first (gRPC needs it), then HTTP/1.1.
pub const HTTP_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];
pub const GRPC_ALPN: &[&[u8]] = &[b"h2"];

impl ReloadingTls {
    /// Loads the files now; a failure here stops the start.
    pub fn new(config: &TlsConfig, alpn: &'static [&'static [u8]]) -> Result<Self, TlsError> {
        let acceptor = TlsAcceptor::from(Arc::new(load(config, alpn)?));
        Ok(Self {
            config: Arc::new(config.clone()),
            alpn,
            current: Arc::new(RwLock::new(acceptor)),
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the files again; on failure the certificate in force stays and the error is
    /// returned (and logged by the watcher).
    pub fn reload(&self) -> Result<(), TlsError> {
        let acceptor = TlsAcceptor::from(Arc::new(load(&self.config, self.alpn)?));
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = acceptor;
        Ok(())
    }

    fn files(&self) -> Vec<PathBuf> {
        [
            Some(&self.config.cert_file),
            Some(&self.config.key_file),
            self.config.client_ca_file.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .collect()
    }

    /// Reloads on SIGHUP and whenever a file's modification time changes, until dropped
    /// with the server.
    pub fn watch(self) -> tokio::task::JoinHandle<()> {
        file_watch::on_change(self.files(), CHANGE_CHECK, move |why| {
            let outcome = self.reload();
            let cert = self.config.cert_file.clone();
            async move {
                let why = why.as_str();
                match outcome {
                    Ok(()) => tracing::info!(%cert, "TLS certificate reloaded after {why}"),
                    Err(error) => {
                        tracing::error!(%error, "TLS reload after {why} failed; the certificate in force stays")
                    }
                }
            }
        })
    }
}
