//! Connections the server must not let anyone hold: unfinished request heads, more
//! connections than the cap, thousands of idle keep-alive connections; and keep-alive
//! connections that wait between requests as long as the idle timeout says.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{self, BinaryServer};
use crate::pii;

/// Enough descriptors for the test's own sockets and the server it starts (which inherits
/// the limit), whatever the machine's default.
fn raise_file_limit() {
    let _ = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &std::process::id().to_string(),
            "--nofile=16384:16384",
        ])
        .status();
}

fn address(server: &BinaryServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection; `false` when it is still open at `deadline`.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buffer = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// The slowest of `GET /health` answers from `client`, polled until `until`.
async fn slowest_health(
    server: &BinaryServer,
    client: &reqwest::Client,
    until: Instant,
) -> Duration {
    let mut slowest = Duration::ZERO;
    while Instant::now() < until {
        let started = Instant::now();
        let response = client.get(server.url("/health")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        // Read to the end, so the connection goes back to the pool for the next probe.
        response.bytes().await.unwrap();
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    slowest
}

/// The tests that open a thousand connections or more run one at a time, so each measures the
/// server rather than the other.
static CROWDED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn unfinished_request_heads_are_closed_within_the_header_timeout() {
    let _alone = CROWDED.lock().await;
    raise_file_limit();
    let server = common::serve_models(
        "slowloris",
        pii(),
        json!({"server": {"header_read_timeout_ms": 1000}}),
    );
    let addr = address(&server);
    // The probe's connection is open before the heads arrive, so it measures how the server
    // answers while they are pending, not how soon a 1001st connection is accepted.
    let probe = common::client();
    let warm = probe.get(server.url("/health")).send().await.unwrap();
    assert_eq!(warm.status(), 200);
    warm.bytes().await.unwrap();
    let opened = Instant::now();
    let mut held = Vec::new();
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"POST /api/v1/task/token-classification HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push((Instant::now(), stream));
    }
    let health = slowest_health(&server, &probe, opened + Duration::from_millis(1500));
    // Each head is closed within the timeout of its own start (and a margin for a loaded
    // machine), not merely at some point.
    let closes = futures::future::join_all(
        held.iter_mut()
            .map(|(sent, stream)| closed_by(stream, *sent + Duration::from_millis(1000 + 1500))),
    );
    let (slowest, closed) = tokio::join!(health, closes);
    let open = closed.iter().filter(|closed| !**closed).count();
    assert_eq!(
        open, 0,
        "{open} of 1000 unfinished heads still open 2.5 s after they were sent"
    );
    assert!(
        slowest < Duration::from_millis(100),
        "/health took {slowest:?} while 1000 heads were pending"
    );
}

/// Sends `GET /health` on `stream` and reads its answer's status line.
async fn health_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn keep_alive_connections_wait_the_idle_timeout_not_the_header_timeout() {
    let server = common::serve_models(
        "idle-timeout",
        pii(),
        json!({"server": {"header_read_timeout_ms": 500, "idle_timeout_ms": 2500}}),
    );
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    assert_eq!(health_on(&mut stream).await, "HTTP/1.1 200 OK");
    // Well past the header timeout, within the idle timeout: the connection still serves.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(health_on(&mut stream).await, "HTTP/1.1 200 OK");
    let idle = Instant::now();
    assert!(
        closed_by(&mut stream, idle + Duration::from_millis(2500 + 1500)).await,
        "an idle connection was still open 4 s after its last answer"
    );
    assert!(
        idle.elapsed() >= Duration::from_millis(2000),
        "closed after {:?}, before the idle timeout",
        idle.elapsed()
    );

    // A later head, once started, has the header timeout to finish.
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    assert_eq!(health_on(&mut stream).await, "HTTP/1.1 200 OK");
    stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    let started = Instant::now();
    assert!(
        closed_by(&mut stream, started + Duration::from_millis(500 + 1500)).await,
        "a started head was still open 2 s later"
    );
}

#[tokio::test]
async fn beyond_the_connection_cap_new_connections_close_and_open_ones_work() {
    let server = common::serve_models(
        "connection-cap",
        pii(),
        json!({"server": {"max_connections": 20}}),
    );
    let addr = address(&server);
    let mut open = Vec::new();
    for _ in 0..20 {
        open.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Let the server accept them all before the next one arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let refused = closed_by(&mut extra, Instant::now() + Duration::from_secs(2)).await;
    assert!(refused, "the 21st connection was kept open");
    let first = &mut open[0];
    first
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), first.read(&mut answer))
        .await
        .expect("an open connection still answers")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // Once some close, new connections are served again.
    open.truncate(5);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = common::client()
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

#[tokio::test]
async fn two_thousand_keep_alive_connections_stay_bounded_in_memory() {
    let _alone = CROWDED.lock().await;
    raise_file_limit();
    let server = common::serve_models(
        "keep-alive-2000",
        pii(),
        json!({"server": {"header_read_timeout_ms": 60000}}),
    );
    let addr = address(&server);
    let before = rss_kib(server.pid());
    let mut open = Vec::new();
    for chunk in 0..20 {
        let connections = (0..100).map(|_| {
            let addr = addr.clone();
            async move {
                let mut stream = TcpStream::connect(&addr).await.unwrap();
                stream
                    .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                    .await
                    .unwrap();
                let mut answer = vec![0u8; 512];
                let n = stream.read(&mut answer).await.unwrap();
                assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "chunk {chunk}");
                stream
            }
        });
        open.extend(futures::future::join_all(connections).await);
    }
    assert_eq!(open.len(), 2000);
    let during = rss_kib(server.pid());
    let grown_mib = during.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 256,
        "2000 idle keep-alive connections grew the server by {grown_mib} MiB"
    );
    let response = common::client()
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    eprintln!("2000 keep-alive connections: RSS {before} KiB → {during} KiB");
}
