//! TLS to remote runtimes (rustls with the ring provider): the remote's CA, and a client
//! certificate for mutual TLS. Files are read once, at start-up, so a missing or unreadable
//! file fails the configuration, not the first call.

use std::path::Path;
use std::sync::Once;

use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::error::RuntimeError;

/// PEM contents for TLS to one remote. Empty: the system's roots and no client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// Trust only these CA certificates (instead of the system's).
    pub ca: Option<Vec<u8>>,
    /// Client certificate chain and private key, for mutual TLS.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

impl TlsFiles {
    /// Reads the files; the error names the one that failed (`Err((which, reason))`).
    pub fn read(
        ca_file: Option<&Path>,
        cert_file: Option<&Path>,
        key_file: Option<&Path>,
    ) -> Result<Self, (&'static str, String)> {
        let ca = ca_file.map(read).transpose().map_err(|e| ("ca_file", e))?;
        let identity = match (cert_file, key_file) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some((
                read(cert).map_err(|e| ("cert_file", e))?,
                read(key).map_err(|e| ("key_file", e))?,
            )),
            (Some(_), None) => return Err(("key_file", "required with cert_file".into())),
            (None, Some(_)) => return Err(("cert_file", "required with key_file".into())),
        };
        Ok(Self { ca, identity })
    }

    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.identity.is_none()
    }

    /// Applies these settings to an HTTP client.
    pub(crate) fn http(
        &self,
        mut builder: reqwest::ClientBuilder,
        name: &str,
    ) -> Result<reqwest::ClientBuilder, RuntimeError> {
        install_crypto_provider();
        let invalid = |what: &str, e: reqwest::Error| {
            RuntimeError::Unavailable(format!("{name}: invalid TLS {what}: {e}"))
        };
        if let Some(ca) = &self.ca {
            let certs = reqwest::Certificate::from_pem_bundle(ca).map_err(|e| invalid("CA", e))?;
            if certs.is_empty() {
                return Err(RuntimeError::Unavailable(format!(
                    "{name}: invalid TLS CA: no certificate in the file"
                )));
            }
            builder = builder.tls_certs_only(certs);
        }
        if let Some((cert, key)) = &self.identity {
            let pem = [cert.as_slice(), b"\n", key.as_slice()].concat();
            let identity =
                reqwest::Identity::from_pem(&pem).map_err(|e| invalid("client certificate", e))?;
            builder = builder.identity(identity);
        }
        Ok(builder)
    }

    /// These settings for a gRPC channel.
    pub(crate) fn grpc(&self) -> ClientTlsConfig {
        install_crypto_provider();
        let mut config = ClientTlsConfig::new();
        config = match &self.ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_native_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        config
    }
}

/// rustls needs one process-wide crypto provider; ring is the one compiled in. Any HTTP client
/// built in a process that links this crate must come after this (reqwest panics otherwise).
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
