//! The gateway against nginx on the same machine, driven by the same `wrk` command: the rules
//! model over REST against nginx answering the rules model's own answer as a fixed body (what
//! routing, validation, the front door and the model cost beyond HTTP itself), then a unary
//! completion that taskgate's `openai` backend proxies to that nginx against calling nginx
//! directly, at one connection: the latency taskgate adds and its CPU per request.
//!
//!     cargo bench --bench versus_nginx    # writes its section of BENCHMARKS.md
//!
//! Needs `wrk` and `nginx-light` (Debian packages; `scripts/bench-baselines` installs them).
//! Under `cargo test` this target only checks that it builds.

mod common;

use common::{Killed, cpu_time, free_port};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECTION: &str = "versus-nginx";
const ROUND_SECONDS: u64 = 5;
const ROUNDS: usize = 5;
const CONNECTIONS: usize = 64;
const RULES_PATH: &str = "/api/v1/task/token-classification";
const COMPLETION_PROMPT: &str = "The capital of France is";

fn rules_body() -> Value {
    json!({"model_id": "pii-rules", "inputs": "Mail ana@example.com or call +1 415 555 0100"})
}

/// What nginx answers for `/v1/completions`: one token, as an OpenAI server does.
fn completion_answer() -> Value {
    json!({"id": "cmpl-fixed", "object": "text_completion", "created": 0, "model": "fixed",
        "choices": [{"text": " Paris", "index": 0, "finish_reason": "length", "logprobs": null}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})
}

/// A body for nginx's `return` directive: single-quoted, where `\` and `'` are escaped and `$`
/// would start a variable.
fn nginx_literal(body: &str) -> String {
    assert!(!body.contains('$'), "nginx would expand `$` in {body}");
    format!("'{}'", body.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// nginx on 127.0.0.1 with the fixed answers (and a model list for health checks); its workers are as many as the cores, its
/// keep-alive connections unlimited, so it runs as well as it can here.
fn start_nginx(dir: &Path, rules_answer: &str) -> (Killed, u16) {
    let port = free_port();
    let conf = format!(
        "worker_processes auto;\ndaemon off;\npid {dir}/nginx.pid;\n\
         error_log {dir}/error.log warn;\nevents {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  keepalive_requests 100000000;\n\
         client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n\
         fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n\
         scgi_temp_path {dir}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port};\n    default_type application/json;\n\
         location = {RULES_PATH} {{ return 200 {rules}; }}\n\
         location = /v1/completions {{ return 200 {completion}; }}\n\
         location = /v1/models {{ return 200 {models}; }}\n  }}\n}}\n",
        dir = dir.display(),
        rules = nginx_literal(rules_answer),
        completion = nginx_literal(&completion_answer().to_string()),
        // What taskgate's health check of the proxied model asks for.
        models = nginx_literal(r#"{"object":"list","data":[{"id":"fixed","object":"model"}]}"#),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("nginx")
        .args(["-p", &dir.to_string_lossy(), "-c", &path.to_string_lossy()])
        .stdout(Stdio::null())
        .spawn()
        .expect("nginx starts (Debian's nginx-light; scripts/bench-baselines installs it)");
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "nginx did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Killed(child), port)
}

/// One `wrk` run's results.
struct Wrk {
    requests: u64,
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn parse_duration(text: &str) -> Duration {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().unwrap();
    let seconds = match unit {
        "us" => value * 1e-6,
        "ms" => value * 1e-3,
        "s" => value,
        "m" => value * 60.0,
        other => panic!("wrk duration unit {other}"),
    };
    Duration::from_secs_f64(seconds)
}

/// `wrk -t1 -cN -d5s --latency`, POSTing `body` as JSON to `url`: the one load command every
/// server here gets. Every answer must be a 2xx.
fn wrk(dir: &Path, url: &str, connections: usize, body: &Value) -> Wrk {
    let script = dir.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.body = [==[{body}]==]\n"
        ),
    )
    .unwrap();
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}")])
        .args([&format!("-d{ROUND_SECONDS}s"), "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk runs (Debian's wrk; scripts/bench-baselines installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "{url} answered errors:\n{text}"
    );
    let field = |prefix: &str| -> String {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in wrk's output:\n{text}"))
            .trim()
            .to_string()
    };
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    Wrk {
        requests,
        rps: field("Requests/sec:").parse().unwrap(),
        p50: parse_duration(&field("50%")),
        p99: parse_duration(&field("99%")),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Per path: requests/s, p50 and p99 (µs) of each round, and the proxy's CPU per request.
#[derive(Default)]
struct Rounds {
    rps: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    cpu_us: Vec<f64>,
}

impl Rounds {
    fn add(&mut self, run: &Wrk, cpu: Option<Duration>) {
        self.rps.push(run.rps);
        self.p50.push(us(run.p50));
        self.p99.push(us(run.p99));
        if let Some(cpu) = cpu {
            self.cpu_us.push(us(cpu) / run.requests as f64);
        }
    }
}

/// `wrk` against `url`, with taskgate's CPU time over the run when `pid` is given.
fn measured(
    dir: &Path,
    url: &str,
    connections: usize,
    body: &Value,
    pid: Option<u32>,
    into: &mut Rounds,
) {
    let before = pid.map(cpu_time);
    let run = wrk(dir, url, connections, body);
    let cpu = pid.zip(before).map(|(pid, before)| cpu_time(pid) - before);
    into.add(&run, cpu);
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn run() -> String {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("taskgate-bench-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let load_before = common::load_average();

    // The rules model's answer first, so nginx sends exactly the bytes taskgate does.
    let rules_only = json!({"models_dir": "none", "log": {"level": "warn"},
        "grpc": {"enabled": false}, "models": [{"id": "pii-rules", "module": "pii-rules"}]});
    let rules_answer = {
        let (_probe, base) = common::serve_taskgate("nginx-probe", &rules_only, &[]);
        common::client_runtime().block_on(async {
            let answer = reqwest::Client::new()
                .post(format!("{base}{RULES_PATH}"))
                .json(&rules_body())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            answer.text().await.unwrap()
        })
    };
    let (_nginx, nginx_port) = start_nginx(&dir, &rules_answer);
    let nginx = format!("http://127.0.0.1:{nginx_port}");
    let config = json!({"models_dir": "none", "log": {"level": "warn"},
        "grpc": {"enabled": false}, "max_concurrent_requests": 1024,
        "models": [{"id": "pii-rules", "module": "pii-rules"},
            {"id": "proxied", "backend": {"kind": "openai", "endpoint": nginx,
                "model_name": "fixed", "retries": 0}}]});
    let (taskgate, base) = common::serve_taskgate("nginx", &config, &["--host", "127.0.0.1"]);
    let pid = taskgate.0.id();

    let completion = json!({"model": "fixed", "prompt": COMPLETION_PROMPT, "max_tokens": 1});
    let task_call = json!({"model_id": "proxied", "inputs": COMPLETION_PROMPT,
        "parameters": {"max_new_tokens": 1}});
    let openai_call = json!({"model": "proxied", "prompt": COMPLETION_PROMPT, "max_tokens": 1});
    // Every path answers before anything is timed (and warms connections and allocators).
    for (url, body) in [
        (format!("{base}{RULES_PATH}"), &rules_body()),
        (format!("{nginx}{RULES_PATH}"), &rules_body()),
        (format!("{nginx}/v1/completions"), &completion),
        (format!("{base}/api/v1/task/text-generation"), &task_call),
        (format!("{base}/v1/completions"), &openai_call),
    ] {
        wrk(&dir, &url, 4, body);
    }

    let (mut gateway, mut fixed) = (Rounds::default(), Rounds::default());
    let (mut direct, mut task, mut openai) =
        (Rounds::default(), Rounds::default(), Rounds::default());
    for _ in 0..ROUNDS {
        let rules = rules_body();
        measured(
            &dir,
            &format!("{base}{RULES_PATH}"),
            CONNECTIONS,
            &rules,
            Some(pid),
            &mut gateway,
        );
        measured(
            &dir,
            &format!("{nginx}{RULES_PATH}"),
            CONNECTIONS,
            &rules,
            None,
            &mut fixed,
        );
        measured(
            &dir,
            &format!("{nginx}/v1/completions"),
            1,
            &completion,
            None,
            &mut direct,
        );
        measured(
            &dir,
            &format!("{base}/api/v1/task/text-generation"),
            1,
            &task_call,
            Some(pid),
            &mut task,
        );
        measured(
            &dir,
            &format!("{base}/v1/completions"),
            1,
            &openai_call,
            Some(pid),
            &mut openai,
        );
    }
    let load_after = common::load_average();
    drop(taskgate);
    let _ = std::fs::remove_dir_all(&dir);

    let ratio = median(gateway.rps.clone()) / median(fixed.rps.clone());
    let gateway_p99 = median(gateway.p99.clone());
    let direct_p50 = median(direct.p50.clone());
    let row = |name: &str, r: &Rounds, baseline: bool| {
        let p50 = median(r.p50.clone());
        let cpu = if r.cpu_us.is_empty() {
            String::new()
        } else {
            format!("{:.0}", median(r.cpu_us.clone()))
        };
        let added = if baseline {
            String::new()
        } else {
            format!("{:.0}", p50 - direct_p50)
        };
        format!(
            "| {name} | {:.0} | {p50:.0} | {:.0} | {added} | {cpu} |\n",
            median(r.rps.clone()),
            median(r.p99.clone()),
        )
    };
    let task_cpu = median(task.cpu_us.clone());
    let task_added = median(task.p50.clone()) - direct_p50;
    format!(
        "## Gateway against nginx: the same wrk command on both\n\n\
         `cargo bench --bench versus_nginx`: the release binary and Debian's nginx-light \
         (`worker_processes auto`, unlimited keep-alive, no access log) on 127.0.0.1, both \
         driven by `wrk -t1 -cN -d{ROUND_SECONDS}s --latency` POSTing the same JSON; {ROUNDS} \
         alternating rounds, medians. Load average before / after: {load_before} / \
         {load_after}.\n\n\
         **Rules model at {CONNECTIONS} connections**: taskgate runs `pii-rules` on \
         `{RULES_PATH}`; nginx answers the same path with taskgate's own answer as a fixed \
         body.\n\n\
         | server | requests/s | p50 (µs) | p99 (µs) | vs nginx | taskgate CPU per request (µs) |\n\
         |---|---|---|---|---|---|\n\
         | nginx, fixed body | {:.0} | {:.0} | {:.0} | 1.00 | |\n\
         | taskgate, rules model | {:.0} | {:.0} | {gateway_p99:.0} | {ratio:.2} | {:.1} |\n\n\
         Target ≥ 0.8× nginx: {}; p99 < 2 ms: {}.\n\n\
         **A unary completion proxied to nginx, one connection**: nginx answers \
         `/v1/completions` with a fixed one-token completion; taskgate serves it as model \
         `proxied` (`openai` backend), called through its task API and through its own \
         `/v1/completions`.\n\n\
         | path | requests/s | p50 (µs) | p99 (µs) | p50 added (µs) | taskgate CPU per request (µs) |\n\
         |---|---|---|---|---|---|\n{}{}{}\n\
         Target ≤ 60 µs of taskgate CPU per proxied call: {} ({task_cpu:.0} µs through the \
         task API); ≤ 100 µs added at p50: {} ({task_added:.0} µs). CPU time is the taskgate \
         process's own (procfs, 10 ms ticks summed over each run), kernel loopback work \
         included; at one connection the process also pays for waking up per request, which \
         a loaded server shares across requests.\n\n",
        median(fixed.rps.clone()),
        median(fixed.p50.clone()),
        median(fixed.p99.clone()),
        median(gateway.rps.clone()),
        median(gateway.p50.clone()),
        median(gateway.cpu_us.clone()),
        verdict(ratio >= 0.8),
        verdict(gateway_p99 < 2000.0),
        row("nginx directly", &direct, true),
        row("taskgate task API → nginx", &task, false),
        row("taskgate `/v1/completions` → nginx", &openai, false),
        verdict(task_cpu <= 60.0),
        verdict(task_added <= 100.0),
    )
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench versus_nginx`");
        return;
    }
    let section = run();
    print!("{section}");
    common::write_section(SECTION, &section);
}
