//! The accept loop both servers run: a cap on open connections (beyond it new ones are closed
//! at once, existing ones keep working), TLS with a handshake deadline, a clock per connection
//! so request heads must arrive in time and idle connections close ([`ConnectionClock`]), and
//! hyper with a timer, so HTTP/2 peers that stop answering pings are dropped. On shutdown every
//! connection finishes its calls.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::Version;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::Service;

use crate::auth::PeerCertificate;
use crate::connection_clock::{ClockTimeouts, ConnectionClock, Expired, TrackedBody, Watched};
use crate::server_config::ServerLimits;
use crate::tls::ReloadingTls;

/// What each connection is held to.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub tls_handshake_timeout: Duration,
    pub http2_keepalive_interval: Duration,
    pub http2_keepalive_timeout: Duration,
    pub http2_max_concurrent_streams: u32,
    pub max_connections: usize,
}

impl From<&ServerLimits> for ConnectionLimits {
    fn from(limits: &ServerLimits) -> Self {
        Self {
            header_read_timeout: Duration::from_millis(limits.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(limits.idle_timeout_ms),
            tls_handshake_timeout: Duration::from_millis(limits.tls_handshake_timeout_ms),
            http2_keepalive_interval: Duration::from_millis(limits.http2_keepalive_interval_ms),
            http2_keepalive_timeout: Duration::from_millis(limits.http2_keepalive_timeout_ms),
            http2_max_concurrent_streams: limits.http2_max_concurrent_streams,
            max_connections: limits.max_connections,
        }
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self::from(&ServerLimits::default())
    }
}

fn builder(limits: &ConnectionLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    // The connection clock keeps the header timeout; hyper's would also end keep-alive waits.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.http2_keepalive_interval)
        .keep_alive_timeout(limits.http2_keepalive_timeout)
        .max_concurrent_streams(limits.http2_max_concurrent_streams);
    builder
}

/// Where connections come from: a TCP port, or (for a sidecar in the same pod, such as
/// ModelMesh) a unix socket, whose file permissions are its access control.
pub enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Self::Tcp(listener)
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl Listener {
    async fn accept(&self) -> io::Result<Accepted> {
        match self {
            Self::Tcp(listener) => {
                let (tcp, _peer) = listener.accept().await?;
                let _ = tcp.set_nodelay(true);
                Ok(Accepted::Tcp(tcp))
            }
            #[cfg(unix)]
            Self::Unix(listener) => Ok(Accepted::Unix(listener.accept().await?.0)),
        }
    }

    /// The TCP address; a unix socket has none.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        match self {
            Self::Tcp(listener) => listener.local_addr(),
            #[cfg(unix)]
            Self::Unix(_) => Err(io::Error::other("a unix socket has no TCP address")),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open connections finish
/// the calls they carry (the caller bounds how long with its grace period).
pub async fn serve(
    listener: Listener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<ReloadingTls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let builder = Arc::new(builder(&limits));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut full_logged = false;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin; the connections
                // already open keep being served meanwhile.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if !full_logged {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached; closing new connections until some end"
                );
                full_logged = true;
            }
            drop(accepted);
            continue;
        };
        full_logged = false;
        let (router, builder, tls, closed) =
            (router.clone(), builder.clone(), tls.clone(), closed.clone());
        let handshake = limits.tls_handshake_timeout;
        let timeouts = ClockTimeouts {
            header: limits.header_read_timeout,
            idle: limits.idle_timeout,
        };
        connections.spawn(async move {
            let _slot = slot;
            let connection = Connection {
                router,
                builder: &builder,
                timeouts,
                closed,
            };
            let tcp = match accepted {
                Accepted::Tcp(tcp) => tcp,
                #[cfg(unix)]
                Accepted::Unix(unix) => return connection.serve(unix, None).await,
            };
            match tls {
                None => connection.serve(tcp, None).await,
                Some(tls) => {
                    let accepted =
                        tokio::time::timeout(handshake, tls.acceptor().accept(tcp)).await;
                    let stream = match accepted {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(error)) => {
                            tracing::debug!(%error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake timed out");
                            return;
                        }
                    };
                    let peer = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| PeerCertificate(Arc::new(leaf.to_vec())));
                    connection.serve(stream, peer).await
                }
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Connection<'a> {
    router: Router,
    builder: &'a Builder<TokioExecutor>,
    timeouts: ClockTimeouts,
    closed: watch::Receiver<bool>,
}

impl Connection<'_> {
    async fn serve<S>(self, io: S, peer: Option<PeerCertificate>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            router,
            builder,
            timeouts,
            mut closed,
        } = self;
        let clock = ConnectionClock::new();
        let calls = clock.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let open = calls.call_started(request.version() == Version::HTTP_2);
            let mut request: Request = request.map(axum::body::Body::new);
            if let Some(peer) = &peer {
                request.extensions_mut().insert(peer.clone());
            }
            let answer = router.clone().call(request);
            async move {
                let response = answer.await?;
                Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, open)))
            }
        });
        let io = TokioIo::new(Watched::new(io, clock.clone()));
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let closing = async move {
            // An error means the server is gone, which also means close.
            let _ = closed.wait_for(|closed| *closed).await;
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
            }
            expired = clock.expired(timeouts) => match expired {
                Expired::Header => tracing::debug!("no request head in time; connection closed"),
                Expired::Idle => {
                    // Nothing is in flight; a peer that does not take the close is dropped.
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(timeouts.header, connection).await;
                }
            },
            () = closing => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
    }
}
