//! What routing through taskgate adds to a remote model: the client calls llama-cpp-python's
//! OpenAI-compatible server directly, and through taskgate's `openai` backend (the real
//! binary, REST), alternating in the same run. Reported: added p50/p99 latency of a short
//! unary completion (one token from a cached prompt, so the server's own time is small), the
//! delay added to each streamed token, and taskgate's CPU time per request and per token.
//!
//!     cargo bench --bench remote_overhead    # writes its section of BENCHMARKS.md
//!
//! Needs `.venv-llama` (installed by `scripts/test`) and the fetched models. Under
//! `cargo test` this target only checks that it builds.

mod common;

use common::Killed;

use common::{ROOT, cpu_time, free_port};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

const GGUF: &str = "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
const SECTION: &str = "remote-overhead";
const UNARY_ROUNDS: usize = 200;
const STREAM_ROUNDS: usize = 15;
const STREAM_TOKENS: usize = 64;
const UNARY_PROMPT: &str = "The capital of France is";
const FORWARD_FLAG: &str = "--forward-to";
const STREAM_PROMPT: &str =
    "<|im_start|>user\nTell me a long story.<|im_end|>\n<|im_start|>assistant\n";

fn start_llama(port: u16) -> Killed {
    let child = Command::new(Path::new(ROOT).join(".venv-llama/bin/python"))
        .arg(Path::new(ROOT).join("tests/python/llama_server.py"))
        .args(["--model", &Path::new(ROOT).join(GGUF).to_string_lossy()])
        .args(["--model_alias", "smollm2", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args([
            "--n_ctx",
            "2048",
            "--n_threads",
            "1",
            "--n_threads_batch",
            "1",
        ])
        .args(["--verbose", "false"])
        // Otherwise a health check arriving mid-stream ends that stream early.
        .args(["--interrupt_requests", "false"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the llama-cpp-python server starts (.venv-llama)");
    Killed(child)
}

/// The taskgate binary serving the llama server as `remote`, and through `tap` as `tapped`;
/// its base URL.
fn start_taskgate(llama: &str, tap: &str) -> (Killed, String) {
    let config = json!({"models_dir": "none", "log": {"level": "warn"},
        "models": [{"id": "remote", "backend": {"kind": "openai", "endpoint": llama,
            "model_name": "smollm2", "dialect": "llama-cpp"}},
            {"id": "tapped", "backend": {"kind": "openai", "endpoint": tap,
            "model_name": "smollm2", "dialect": "llama-cpp"}}]});
    common::serve_taskgate(
        "remote",
        &config,
        &["--host", "127.0.0.1", "--grpc-port", "0"],
    )
}

/// What taskgate's `openai` backend sends for greedy decoding in the llama-cpp dialect, so
/// both paths ask the server for the same work.
fn direct_body(prompt: &str, tokens: usize, stream: bool) -> Value {
    json!({"model": "smollm2", "prompt": prompt, "max_tokens": tokens, "temperature": 0.0,
        "top_p": 1.0, "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0, "min_tokens": tokens,
        "stream": stream})
}

fn gateway_body(prompt: &str, tokens: usize) -> Value {
    json!({"model_id": "remote", "inputs": prompt,
        "parameters": {"max_new_tokens": tokens, "min_new_tokens": tokens}})
}

async fn timed_post(client: &reqwest::Client, url: &str, body: &Value) -> Duration {
    let start = Instant::now();
    let response = client.post(url).json(body).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.bytes().await.unwrap();
    start.elapsed()
}

/// When each `data:` event of a stream arrived.
async fn timed_stream(client: &reqwest::Client, url: &str, body: &Value) -> Vec<Instant> {
    let response = client.post(url).json(body).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let mut arrivals = Vec::new();
    let mut bytes = response.bytes_stream();
    while let Some(chunk) = bytes.next().await {
        let events = String::from_utf8_lossy(&chunk.unwrap())
            .matches("data:")
            .count();
        arrivals.extend(std::iter::repeat_n(Instant::now(), events));
    }
    arrivals
}

/// A TCP relay between taskgate and the llama server that notes when it passes on each SSE
/// event, so a token's delay through taskgate is measured on one stream with one clock: from
/// the relay handing it to taskgate to the client receiving it.
struct Tap {
    url: String,
    forwarded: Arc<Mutex<Vec<Instant>>>,
}

async fn relay(from: &TcpStream, to: &TcpStream, forwarded: Option<&Mutex<Vec<Instant>>>) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if from.readable().await.is_err() {
            return;
        }
        let n = match from.try_read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        if let Some(forwarded) = forwarded {
            let events = String::from_utf8_lossy(&buffer[..n])
                .matches("data:")
                .count();
            let now = Instant::now();
            forwarded
                .lock()
                .unwrap()
                .extend(std::iter::repeat_n(now, events));
        }
        let mut sent = 0;
        while sent < n {
            if to.writable().await.is_err() {
                return;
            }
            match to.try_write(&buffer[sent..n]) {
                Ok(k) => sent += k,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

async fn start_tap(upstream: std::net::SocketAddr) -> Tap {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let forwarded = Arc::new(Mutex::new(Vec::new()));
    let events = forwarded.clone();
    tokio::spawn(async move {
        while let Ok((downstream, _)) = listener.accept().await {
            let upstream = TcpStream::connect(upstream).await.unwrap();
            let _ = (downstream.set_nodelay(true), upstream.set_nodelay(true));
            let (down, up) = (Arc::new(downstream), Arc::new(upstream));
            let events = events.clone();
            tokio::spawn({
                let (down, up) = (down.clone(), up.clone());
                async move { relay(&down, &up, None).await }
            });
            tokio::spawn(async move { relay(&up, &down, Some(&events)).await });
        }
    });
    Tap { url, forwarded }
}

/// The floor for any proxy: this binary re-run as a plain TCP forwarder (tokio's default
/// runtime, bytes copied both ways, nothing parsed) in front of `upstream`, a process of its
/// own as taskgate is. Returns it and its address.
fn start_forwarder(upstream: &str) -> (Killed, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([FORWARD_FLAG, upstream])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the forwarder starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Killed(child), format!("http://{}", line.trim()))
}

fn forward(upstream: &str) {
    let upstream: std::net::SocketAddr = upstream.parse().unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("{}", listener.local_addr().unwrap());
            while let Ok((mut downstream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut upstream = TcpStream::connect(upstream).await.unwrap();
                    let _ = (downstream.set_nodelay(true), upstream.set_nodelay(true));
                    let _ = tokio::io::copy_bidirectional(&mut downstream, &mut upstream).await;
                });
            }
        });
}

/// CPU time (user + system) a process has used so far, from procfs.
fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let rank = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[rank]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn run() -> String {
    let load_before = common::load_average();
    let port = free_port();
    let llama_url = format!("http://127.0.0.1:{port}");
    let _llama = start_llama(port);
    taskgate_runtime::remote::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("{llama_url}/v1/models"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "llama server not ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tap = start_tap(format!("127.0.0.1:{port}").parse().unwrap()).await;
    let (taskgate, base) = start_taskgate(&llama_url, &tap.url);
    let pid = taskgate.0.id();
    let direct = format!("{llama_url}/v1/completions");
    let unary = format!("{base}/api/v1/task/text-generation");
    let streamed = format!("{base}/api/v1/task/server-streaming-text-generation");

    let (direct_unary, gateway_unary) = (
        direct_body(UNARY_PROMPT, 1, false),
        gateway_body(UNARY_PROMPT, 1),
    );
    for _ in 0..10 {
        timed_post(&client, &direct, &direct_unary).await;
        timed_post(&client, &unary, &gateway_unary).await;
    }
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    let cpu_before = cpu_time(pid);
    for _ in 0..UNARY_ROUNDS {
        theirs.push(timed_post(&client, &direct, &direct_unary).await);
        ours.push(timed_post(&client, &unary, &gateway_unary).await);
    }
    let cpu_per_request = (cpu_time(pid) - cpu_before) / UNARY_ROUNDS as u32;
    let (direct_p50, direct_p99) = (percentile(&mut theirs, 0.5), percentile(&mut theirs, 0.99));
    let (ours_p50, ours_p99) = (percentile(&mut ours, 0.5), percentile(&mut ours, 0.99));

    let direct_stream = direct_body(STREAM_PROMPT, STREAM_TOKENS, true);
    let mut gateway_stream = gateway_body(STREAM_PROMPT, STREAM_TOKENS);
    gateway_stream["model_id"] = "tapped".into();
    // Every path's streams go through the tap, so its own hop is in all the delays.
    let (forwarder, forwarder_url) = start_forwarder(tap.url.trim_start_matches("http://"));
    let paths = [
        StreamPath::new(
            format!("{}/v1/completions", tap.url),
            &direct_stream,
            0,
            None,
        ),
        StreamPath::new(
            format!("{forwarder_url}/v1/completions"),
            &direct_stream,
            0,
            Some(forwarder.0.id()),
        ),
        // taskgate's first event (input token count) comes before the first token.
        StreamPath::new(streamed, &gateway_stream, 1, Some(pid)),
    ];
    let mut measured: Vec<Measured> = paths.iter().map(|_| Measured::default()).collect();
    for _ in 0..STREAM_ROUNDS {
        for (path, measured) in paths.iter().zip(&mut measured) {
            path.measure(&client, &tap, measured).await;
        }
    }
    let [direct, forwarded, ours] = &mut measured[..] else {
        unreachable!()
    };
    let load_after = common::load_average();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let added_p50 = ms(ours_p50) - ms(direct_p50);
    let added_per_token_us = ours.delay_us(0.5) - direct.delay_us(0.5);
    format!(
        "## Remote overhead: taskgate → llama.cpp server vs calling it directly\n\n\
`cargo bench --bench remote_overhead`: llama-cpp-python's OpenAI server (`--n_threads 1`) on SmolLM2-135M Q4_1, \
the real `taskgate` binary with an `openai` backend (llama-cpp dialect) on the same machine, one client over \
HTTP/1.1 keep-alive; the paths alternate so all see the same load. Load average before / after: \
{load_before} / {load_after}.\n\n\
| measure | direct | through a plain TCP forwarder | through taskgate | taskgate adds | target |\n\
|---|---|---|---|---|---|\n\
| unary, 1 token from a cached prompt, p50 (ms) | {:.2} | | {:.2} | {:.2} | ≤ 1 ms: {} |\n\
| unary, 1 token from a cached prompt, p99 (ms) | {:.2} | | {:.2} | {:.2} | |\n\
| stream of {STREAM_TOKENS} tokens, end to end, median of {STREAM_ROUNDS} (ms) | {:.1} | {:.1} | {:.1} | {:.1} | |\n\
| delay from tap to client per streamed token, p50 (µs) | {:.0} | {:.0} | {:.0} | {:.0} | ≤ 100 µs: {} |\n\
| delay from tap to client per streamed token, p99 (µs) | {:.0} | {:.0} | {:.0} | {:.0} | |\n\
| proxy CPU time per streamed token (µs) | | {:.0} | {:.0} | | |\n\
| taskgate CPU time per unary request (µs) | | | {:.0} | | |\n\n\
Per streamed token, a process that only copies bytes adds {:.0} µs here (p50); taskgate's parsing, mapping and \
re-encoding add {:.0} µs beyond that floor.\n\n\
{UNARY_ROUNDS} unary rounds, {STREAM_ROUNDS} streams per path. Tokens arrive in a pipeline, so what taskgate adds to \
a stream is a delay on each token, not a sum: every path's streams go through a TCP tap in the benchmark process \
that notes when it passes on each server event, and the delay is from there to the client receiving the same token \
({STREAM_ROUNDS} × {STREAM_TOKENS} tokens per path; one clock, no generation noise). The plain TCP forwarder (this \
benchmark re-run as a separate process: tokio, bytes copied, nothing parsed) is the floor for any proxy on this \
machine: one more process to wake and one more loopback hop per token. \
CPU time is the proxy process's own (procfs, 10 ms ticks summed over every streamed token) and includes the kernel's \
loopback TCP work charged to it. Unary latencies include the server's own run-to-run noise.\n",
        ms(direct_p50),
        ms(ours_p50),
        added_p50,
        verdict(added_p50 <= 1.0),
        ms(direct_p99),
        ms(ours_p99),
        ms(ours_p99) - ms(direct_p99),
        direct.total_ms(),
        forwarded.total_ms(),
        ours.total_ms(),
        ours.total_ms() - direct.total_ms(),
        direct.delay_us(0.5),
        forwarded.delay_us(0.5),
        ours.delay_us(0.5),
        added_per_token_us,
        verdict(added_per_token_us <= 100.0),
        direct.delay_us(0.99),
        forwarded.delay_us(0.99),
        ours.delay_us(0.99),
        ours.delay_us(0.99) - direct.delay_us(0.99),
        forwarded.cpu_per_token_us(),
        ours.cpu_per_token_us(),
        cpu_per_request.as_secs_f64() * 1e6,
        forwarded.delay_us(0.5) - direct.delay_us(0.5),
        ours.delay_us(0.5) - forwarded.delay_us(0.5),
    )
}

/// One way of streaming the same completion: where to, what to send, how many events come
/// before the first token, and the proxy process whose CPU time to count.
struct StreamPath {
    url: String,
    body: Value,
    opening_events: usize,
    proxy: Option<u32>,
}

#[derive(Default)]
struct Measured {
    delays: Vec<Duration>,
    totals: Vec<Duration>,
    cpu: Duration,
}

impl StreamPath {
    fn new(url: String, body: &Value, opening_events: usize, proxy: Option<u32>) -> Self {
        let body = body.clone();
        Self {
            url,
            body,
            opening_events,
            proxy,
        }
    }

    async fn measure(&self, client: &reqwest::Client, tap: &Tap, into: &mut Measured) {
        tap.forwarded.lock().unwrap().clear();
        let cpu_before = self.proxy.map(cpu_time);
        let start = Instant::now();
        let arrivals = timed_stream(client, &self.url, &self.body).await;
        if let (Some(pid), Some(before)) = (self.proxy, cpu_before) {
            into.cpu += cpu_time(pid) - before;
        }
        into.totals.push(*arrivals.last().unwrap() - start);
        let forwarded = tap.forwarded.lock().unwrap().clone();
        assert!(
            forwarded.len() >= STREAM_TOKENS
                && arrivals.len() >= STREAM_TOKENS + self.opening_events,
            "{}: {} events forwarded, {} arrived",
            self.url,
            forwarded.len(),
            arrivals.len()
        );
        for (i, forwarded) in forwarded.iter().take(STREAM_TOKENS).enumerate() {
            into.delays
                .push(arrivals[i + self.opening_events] - *forwarded);
        }
    }
}

impl Measured {
    fn delay_us(&mut self, p: f64) -> f64 {
        percentile(&mut self.delays, p).as_secs_f64() * 1e6
    }

    fn total_ms(&mut self) -> f64 {
        ms(percentile(&mut self.totals, 0.5))
    }

    fn cpu_per_token_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / (STREAM_ROUNDS * STREAM_TOKENS) as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, upstream] = &args[..]
        && flag == FORWARD_FLAG
    {
        forward(upstream);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench remote_overhead`");
        return;
    }
    assert!(
        Path::new(ROOT).join(GGUF).exists(),
        "run scripts/fetch-models first"
    );
    let runtime = common::client_runtime();
    let body = runtime.block_on(run());
    print!("{body}");
    common::write_section(SECTION, &body);
}
