//! SmolLM2-135M Q4_1 generation as served over HTTP: the real taskgate binary
//! (`POST /api/v1/task/text-generation`, unary and streamed) against llama-cpp-python's
//! OpenAI server (`/v1/completions`) on the same file with the same 2 threads, driven by the
//! same client in the same run, the two alternating round by round. Measured: one greedy
//! 64-token story end to end, time to first token at one client (and against taskgate's own
//! in-process prefill of the same prompt), the aggregate rate of 8 concurrent streams, and the
//! first token of a request that arrives while 8 streams decode.
//!
//!     cargo bench --bench served_generation    # writes its section of BENCHMARKS.md
//!
//! Needs `.venv-llama` (installed by `scripts/test`) and the fetched models. Under `cargo test`
//! this target only checks that it builds.

mod common;

use common::{Killed, ROOT, free_port};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use taskgate_runtime::gguf::{GgufTokenizer, read_content};
use taskgate_runtime::llama::{LlamaModel, argmax};

const GGUF: &str = "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
const SECTION: &str = "served-generation";
const THREADS: usize = 2;
const ROUNDS: usize = 5;
const TOKENS: usize = 64;
const STREAMS: usize = 8;
/// The background streams' length while a late request's first token is timed: long enough
/// that all of them still decode when it arrives.
const BACKGROUND_TOKENS: usize = 160;
const PROMPT: &str = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained \
    by Hugging Face<|im_end|>\n<|im_start|>user\nWrite a short story about a robot who learns to \
    paint.<|im_end|>\n<|im_start|>assistant\n";

fn start_llama() -> (Killed, String) {
    let port = free_port();
    let child = Command::new(Path::new(ROOT).join(".venv-llama/bin/python"))
        .arg(Path::new(ROOT).join("tests/python/llama_server.py"))
        .args(["--model", &Path::new(ROOT).join(GGUF).to_string_lossy()])
        .args(["--model_alias", "smollm2", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string(), "--n_ctx", "2048"])
        .args(["--n_threads", &THREADS.to_string()])
        .args(["--n_threads_batch", &THREADS.to_string()])
        .args(["--verbose", "false", "--interrupt_requests", "false"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the llama-cpp-python server starts (.venv-llama)");
    (Killed(child), format!("http://127.0.0.1:{port}"))
}

async fn wait_ready(client: &reqwest::Client, url: &str) {
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < until, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Server {
    Taskgate,
    Llama,
}

/// One server's URLs and bodies for a greedy generation of exactly `tokens` tokens.
struct Target {
    server: Server,
    url: String,
}

impl Target {
    fn body(&self, tokens: usize, stream: bool) -> Value {
        match self.server {
            Server::Taskgate => json!({"model_id": "smollm2", "inputs": PROMPT,
                "parameters": {"max_new_tokens": tokens, "min_new_tokens": tokens}}),
            Server::Llama => json!({"model": "smollm2", "prompt": PROMPT, "max_tokens": tokens,
                "min_tokens": tokens, "temperature": 0.0, "top_k": 0, "top_p": 1.0,
                "min_p": 0.0, "repeat_penalty": 1.0, "stream": stream}),
        }
    }

    fn endpoint(&self, stream: bool) -> String {
        match (self.server, stream) {
            (Server::Taskgate, false) => format!("{}/api/v1/task/text-generation", self.url),
            (Server::Taskgate, true) => {
                format!("{}/api/v1/task/server-streaming-text-generation", self.url)
            }
            (Server::Llama, _) => format!("{}/v1/completions", self.url),
        }
    }

    /// The text of one unary call, and how long it took.
    async fn unary(&self, client: &reqwest::Client, tokens: usize) -> (String, Duration) {
        let start = Instant::now();
        let response = client
            .post(self.endpoint(false))
            .json(&self.body(tokens, false))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let answer: Value = response.json().await.unwrap();
        let took = start.elapsed();
        let text = match self.server {
            Server::Taskgate => {
                assert_eq!(answer["generated_tokens"], tokens, "{answer}");
                answer["generated_text"].as_str().unwrap().to_string()
            }
            Server::Llama => {
                assert_eq!(answer["usage"]["completion_tokens"], tokens, "{answer}");
                answer["choices"][0]["text"].as_str().unwrap().to_string()
            }
        };
        (text, took)
    }

    /// One stream: its text, when its first token arrived and when it ended (from `start`),
    /// and a signal once `signal_after` tokens arrived.
    async fn stream(
        &self,
        client: &reqwest::Client,
        tokens: usize,
        signal_after: Option<(usize, tokio::sync::mpsc::Sender<()>)>,
    ) -> Streamed {
        let start = Instant::now();
        let response = client
            .post(self.endpoint(true))
            .json(&self.body(tokens, true))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let mut bytes = response.bytes_stream();
        let (mut buffer, mut text, mut first, mut count) = (String::new(), String::new(), None, 0);
        while let Some(chunk) = bytes.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    continue;
                }
                let event: Value = serde_json::from_str(data).unwrap();
                let (piece, token) = self.read(&event);
                text.push_str(piece);
                if !token {
                    continue;
                }
                first.get_or_insert_with(Instant::now);
                count += 1;
                if let Some((after, signal)) = &signal_after
                    && count == *after
                {
                    let _ = signal.send(()).await;
                }
            }
        }
        let first_at = first.expect("the stream carried tokens");
        Streamed {
            text,
            first: first_at - start,
            first_at,
            done: Instant::now(),
        }
    }

    /// An event's text, and whether it carries a token: taskgate's opening and closing events
    /// carry `details` instead (the closing one may still release held-back text).
    fn read<'a>(&self, event: &'a Value) -> (&'a str, bool) {
        match self.server {
            Server::Taskgate => (
                event["generated_text"].as_str().unwrap_or_default(),
                event.get("details").is_none(),
            ),
            Server::Llama => match event["choices"][0]["text"].as_str() {
                Some(text) => (text, true),
                None => ("", false),
            },
        }
    }
}

struct Streamed {
    text: String,
    /// From sending the request to its first token.
    first: Duration,
    first_at: Instant,
    done: Instant,
}

/// What one round measures on one server.
#[derive(Default)]
struct Round {
    unary_tps: f64,
    ttft_ms: f64,
    aggregate_tps: f64,
    loaded_ttft_ms: f64,
    /// Whether the late request's first token came while every background stream still ran.
    overlapped: bool,
}

async fn round(client: &reqwest::Client, target: &Target, solo: &str) -> Round {
    let (text, took) = target.unary(client, TOKENS).await;
    assert_eq!(text, solo, "greedy output changed between runs");
    let single = target.stream(client, TOKENS, None).await;
    assert_eq!(
        single.text, solo,
        "the stream differs from the unary answer"
    );

    let start = Instant::now();
    let streams =
        futures::future::join_all((0..STREAMS).map(|_| target.stream(client, TOKENS, None))).await;
    let all = start.elapsed();
    for s in &streams {
        assert_eq!(
            s.text, solo,
            "a concurrent stream differs from its solo output"
        );
    }

    // A request arriving while every background stream decodes.
    let (signal, mut started) = tokio::sync::mpsc::channel(STREAMS);
    let background = futures::future::join_all(
        (0..STREAMS).map(|_| target.stream(client, BACKGROUND_TOKENS, Some((4, signal.clone())))),
    );
    let late = async {
        for _ in 0..STREAMS {
            started.recv().await;
        }
        target.stream(client, TOKENS, None).await
    };
    let (background, late) = tokio::join!(background, late);
    for b in &background {
        assert_eq!(b.text[..solo.len()], *solo, "a background stream differs");
    }
    let overlapped = background.iter().all(|b| b.done > late.first_at);
    Round {
        unary_tps: TOKENS as f64 / took.as_secs_f64(),
        ttft_ms: single.first.as_secs_f64() * 1e3,
        aggregate_tps: (STREAMS * TOKENS) as f64 / all.as_secs_f64(),
        loaded_ttft_ms: late.first.as_secs_f64() * 1e3,
        overlapped,
    }
}

/// taskgate's own prefill of the prompt (with the first token's argmax), in this process with
/// the same threads (`RAYON_NUM_THREADS`), median of `ROUNDS`: what the served time to first token is held to.
fn in_process_prefill_ms() -> f64 {
    let file = Path::new(ROOT).join(GGUF);
    let tok = GgufTokenizer::from_content(&read_content(&file).unwrap()).unwrap();
    let model = LlamaModel::load(&file).unwrap();
    let times: Vec<f64> = (0..=ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let ids = tok.encode(PROMPT).unwrap();
            let mut cache = model.new_cache();
            argmax(&model.forward(&ids, &mut cache).unwrap()).unwrap();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    // The first pass warms the caches and the allocator.
    median(times[1..].to_vec())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

async fn run() -> String {
    let load_before = common::load_average();
    let prefill_ms = in_process_prefill_ms();
    let config = json!({"models_dir": "none", "log": {"level": "warn"},
        "grpc": {"enabled": false}, "compute_threads": THREADS,
        "models": [{"id": "smollm2", "module": "text-generation",
            "config": {"path": Path::new(ROOT).join(GGUF), "max_sequences": 2 * STREAMS}}]});
    let (_taskgate, base) = common::serve_taskgate("served-generation", &config, &[]);
    let (_llama, llama) = start_llama();
    let client = reqwest::Client::new();
    wait_ready(&client, &format!("{llama}/v1/models")).await;
    let targets = [
        Target {
            server: Server::Taskgate,
            url: base,
        },
        Target {
            server: Server::Llama,
            url: llama,
        },
    ];
    // Each server's greedy story, which every later answer must repeat; the call also warms.
    let mut solos = Vec::new();
    for target in &targets {
        solos.push(target.unary(&client, TOKENS).await.0);
    }
    let agree = solos[0] == solos[1];
    let mut rounds: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (i, target) in targets.iter().enumerate() {
            rounds[i].push(round(&client, target, &solos[i]).await);
        }
    }
    let load_after = common::load_average();
    let overlapped = |i: usize| rounds[i].iter().filter(|r| r.overlapped).count();
    let overlapped = (overlapped(0), overlapped(1));
    let stat = |i: usize, f: fn(&Round) -> f64| median(rounds[i].iter().map(f).collect());
    let (ours, theirs) = (0, 1);
    let unary = (stat(ours, |r| r.unary_tps), stat(theirs, |r| r.unary_tps));
    let ttft = (stat(ours, |r| r.ttft_ms), stat(theirs, |r| r.ttft_ms));
    let aggregate = (
        stat(ours, |r| r.aggregate_tps),
        stat(theirs, |r| r.aggregate_tps),
    );
    let loaded = (
        stat(ours, |r| r.loaded_ttft_ms),
        stat(theirs, |r| r.loaded_ttft_ms),
    );
    format!(
        "## Served generation: taskgate over HTTP against llama-cpp-python's server\n\n\
         `cargo bench --bench served_generation`: SmolLM2-135M-Instruct Q4_1, the release \
         `taskgate` binary (`text-generation` module, `compute_threads: {THREADS}`, \
         `max_sequences: {}`) and llama-cpp-python's OpenAI server (`--n_threads {THREADS}`) on \
         the same file, one reqwest client over HTTP/1.1, greedy, exactly {TOKENS} tokens of \
         the 42-token story prompt per request; {ROUNDS} rounds alternating between the \
         servers, medians. Load average before / after: {load_before} / {load_after}. \
         Greedy outputs of the two servers {}; every stream and every concurrent stream \
         repeated its server's solo output.\n\n\
         | measure | taskgate | llama-cpp-python server | taskgate vs server | target |\n\
         |---|---|---|---|---|\n\
         | one request, {TOKENS} tokens end to end (tok/s) | {:.1} | {:.1} | {:.2}× | ≥ 1.2×: {} |\n\
         | time to first token, one client (ms) | {:.1} | {:.1} | {:.2}× | |\n\
         | {STREAMS} concurrent streams, aggregate (tok/s) | {:.1} | {:.1} | {:.2}× | ≥ 3×: {} |\n\
         | first token while {STREAMS} streams decode (ms) | {:.1} | {:.1} | {:.2}× | |\n\n\
         The late request's first token came while all {STREAMS} background streams \
         ({BACKGROUND_TOKENS} tokens each) still ran in {}/{ROUNDS} rounds on taskgate and \
         {}/{ROUNDS} on the server. taskgate's in-process prefill of the same prompt (tokenizing, one forward pass, the \
         first argmax; {THREADS} threads, this process): {prefill_ms:.1} ms. Served time to \
         first token at one client is {:.2}× that (target ≤ 1.1×: {}); under {STREAMS} \
         decoding streams it is {:.2}× the idle one (target ≤ 2×: {}). {STREAMS} streams give \
         {:.2}× taskgate's own single request (target ≥ 2.5×: {}).\n\n",
        2 * STREAMS,
        if agree { "agree" } else { "differ" },
        unary.0,
        unary.1,
        unary.0 / unary.1,
        verdict(unary.0 >= 1.2 * unary.1),
        ttft.0,
        ttft.1,
        ttft.0 / ttft.1,
        aggregate.0,
        aggregate.1,
        aggregate.0 / aggregate.1,
        verdict(aggregate.0 >= 3.0 * aggregate.1),
        loaded.0,
        loaded.1,
        loaded.0 / loaded.1,
        overlapped.0,
        overlapped.1,
        ttft.0 / prefill_ms,
        verdict(ttft.0 <= 1.1 * prefill_ms),
        loaded.0 / ttft.0,
        verdict(loaded.0 <= 2.0 * ttft.0),
        aggregate.0 / unary.0,
        verdict(aggregate.0 >= 2.5 * unary.0),
    )
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench served_generation`");
        return;
    }
    // candle sizes its pool from this; set before any thread starts, as the binary does.
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", THREADS.to_string()) };
    let section = common::client_runtime().block_on(run());
    print!("{section}");
    common::write_section(SECTION, &section);
}
