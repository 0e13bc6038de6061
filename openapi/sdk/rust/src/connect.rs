//! A [`Client`] fit for every route, streams included.
//!
//! progenitor's own `Client::new` gives every call a 15-second total timeout, which cuts off a
//! long generation or a training's event stream; and reqwest's TLS (rustls here, with ring:
//! aws-lc would need a C toolchain with cmake) needs a process-wide crypto provider before any
//! client is built. [`connect`] does both.

use std::sync::Once;
use std::time::Duration;

use crate::Client;

/// How long a connection may take to open; a call itself is bounded by the server's deadlines.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A client for the taskgate at `base_url` (`http://` or `https://`, verified against the
/// system's roots), without a total timeout. For API keys, TLS settings of your own or other
/// timeouts, build a `reqwest::Client` after [`install_crypto_provider`] and pass it to
/// `Client::new_with_client`.
pub fn connect(base_url: &str) -> Result<Client, reqwest::Error> {
    install_crypto_provider();
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()?;
    Ok(Client::new_with_client(base_url, http))
}

/// Installs rustls's ring provider for the process, unless one is installed already.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Another part of the process may have installed one; either serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
