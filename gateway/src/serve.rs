//! Binding and serving, with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use taskgate_modules::ModuleCatalog;
use tokio::net::TcpListener;

use crate::GatewayBuilder;
use crate::config::{Config, ConfigError};
use crate::models::build_registry;

/// The router the configuration describes.
pub fn router_from_config(config: &Config) -> Result<Router, ConfigError> {
    let registry = build_registry(config, &ModuleCatalog::standard())?;
    Ok(GatewayBuilder::new(registry)
        .max_body_bytes(config.http.max_body_bytes)
        .build())
}

/// A bound, not yet running, HTTP server.
pub struct Server {
    listener: TcpListener,
    router: Router,
}

impl Server {
    pub async fn bind(address: &str, router: Router) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        Ok(Self { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
