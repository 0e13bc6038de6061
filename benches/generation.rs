//! Text generation speed of SmolLM2-135M-Instruct (Q4_1 GGUF) with 2 compute threads: prefill
//! of a 42-token ChatML prompt and of a 128-token one, greedy decode, time to first token and
//! peak RSS, for taskgate's `LlamaModel` and for llama.cpp (llama-cpp-python, installed into
//! `.venv-bench` by `scripts/bench-baselines`) in the same run. Each engine runs in its own child
//! process, so its peak RSS is its own; the rounds alternate between the engines so both see the
//! same load, and every cell is the median over the rounds. The taskgate child also decodes 4
//! and 8 sequences together (`forward_batch`) for the aggregate rate of continuous batching.
//!
//!     cargo bench --bench generation        # writes its section of BENCHMARKS.md
//!
//! Under `cargo test` this target only checks that it builds.

mod common;

use common::ROOT;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};
use taskgate_runtime::chat_template::ChatMessage;
use taskgate_runtime::gguf::{GgufTokenizer, read_content};
use taskgate_runtime::llama::{LlamaModel, argmax};

const GGUF: &str = "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
const THREADS: usize = 2;
const ROUNDS: usize = 5;
const DECODE: usize = 64;
const LONG: usize = 128;
/// Sequences decoding together in the batched measurement (`LlamaModel::forward_batch`).
const STREAMS: [usize; 2] = [4, 8];
const CHILD: &str = "--taskgate-child";
const SECTION: &str = "generation";

fn chat_prompt(tok: &GgufTokenizer, user: &str) -> String {
    let template = tok.chat_template().expect("the GGUF has a chat template");
    template
        .expect("the chat template compiles")
        .render(&[ChatMessage::new("user", user)], true)
        .expect("the chat template renders")
}

/// The benchmark's inputs: the 42-token story prompt (as text: each engine tokenises it) and a
/// 128-token prompt (as ids: both engines prefill exactly these).
fn inputs(gguf: &Path) -> Value {
    let tok = GgufTokenizer::from_content(&read_content(gguf).unwrap()).unwrap();
    let prompt = chat_prompt(
        &tok,
        "Write a short story about a robot who learns to paint.",
    );
    let long_text = chat_prompt(
        &tok,
        &"Summarise the following notes about robots, paint, colour and light. ".repeat(12),
    );
    let mut long_ids = tok.encode(&long_text).unwrap();
    assert!(long_ids.len() >= LONG, "the long prompt is too short");
    long_ids.truncate(LONG);
    json!({"prompt": prompt, "long_ids": long_ids, "decode": DECODE})
}

/// The child process that measures taskgate; prints the same JSON as `bench_llama_cpp.py`.
fn taskgate_child(gguf: &Path, spec: &Value) -> Value {
    let tok = GgufTokenizer::from_content(&read_content(gguf).unwrap()).unwrap();
    let model = LlamaModel::load(gguf).unwrap();
    let prompt = spec["prompt"].as_str().unwrap();
    let long_ids: Vec<u32> = serde_json::from_value(spec["long_ids"].clone()).unwrap();
    let generate = |decode: usize| {
        let mut cache = model.new_cache();
        let start = Instant::now();
        let ids = tok.encode(prompt).unwrap();
        let tokenised = Instant::now();
        let mut out = vec![argmax(&model.forward(&ids, &mut cache).unwrap()).unwrap()];
        let first = Instant::now();
        for _ in 0..decode {
            let logits = model.forward(&out[out.len() - 1..], &mut cache).unwrap();
            out.push(argmax(&logits).unwrap());
        }
        let done = Instant::now();
        out.truncate(decode);
        let secs = |a: Instant, b: Instant| (b - a).as_secs_f64();
        (
            ids,
            out,
            secs(start, first),
            secs(tokenised, first),
            secs(first, done),
        )
    };
    let prefill = |ids: &[u32]| {
        let mut cache = model.new_cache();
        let start = Instant::now();
        argmax(&model.forward(ids, &mut cache).unwrap()).unwrap();
        start.elapsed().as_secs_f64()
    };
    // `streams` sequences of the story prompt, each prefilled alone, then DECODE greedy steps
    // of all of them in one forward pass each: the seconds of those steps, and whether every
    // row's tokens are `alone`'s.
    let batched = |streams: usize, alone: &[u32]| {
        let ids = tok.encode(prompt).unwrap();
        let mut caches: Vec<_> = (0..streams).map(|_| model.new_cache()).collect();
        let first = argmax(&model.forward(&ids, &mut caches[0]).unwrap()).unwrap();
        for cache in &mut caches[1..] {
            model.forward(&ids, cache).unwrap();
        }
        let mut rows = vec![vec![first]; streams];
        let start = Instant::now();
        for _ in 1..DECODE {
            let last: Vec<u32> = rows.iter().map(|r| r[r.len() - 1]).collect();
            let mut refs: Vec<_> = caches.iter_mut().collect();
            let logits = model.forward_batch(&last, &mut refs).unwrap();
            for (row, logits) in rows.iter_mut().zip(logits) {
                let best = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b]));
                row.push(best.unwrap() as u32);
            }
        }
        let secs = start.elapsed().as_secs_f64();
        (secs, rows.iter().all(|r| r.as_slice() == alone))
    };
    generate(8);
    prefill(&long_ids);
    let (ids, generated, ttft, pp, decode) = generate(DECODE);
    let long = prefill(&long_ids);
    // Before the batched runs, whose eight KV caches llama.cpp's run has no counterpart of.
    let peak_rss = peak_rss_kib();
    let together: Vec<Value> = STREAMS
        .iter()
        .map(|&n| {
            let (secs, same) = batched(n, &generated);
            json!({"streams": n, "tokens_per_s": (n * (DECODE - 1)) as f64 / secs, "same": same})
        })
        .collect();
    json!({
        "prompt_ids": ids,
        "generated": generated,
        "ttft_s": ttft,
        "prefill_s": pp,
        "decode_s": decode,
        "long_prefill_s": long,
        "peak_rss_kib": peak_rss,
        "batched": together,
    })
}

/// VmHWM of this process.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs one engine's child with the spec on stdin; its JSON result, or why it failed.
fn run_child(mut command: Command, spec: &Value) -> Result<Value, String> {
    let mut child = command
        .env("RAYON_NUM_THREADS", THREADS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// The per-engine numbers: medians over the rounds.
struct Summary {
    prefill: f64,
    long_prefill: f64,
    decode: f64,
    ttft_ms: f64,
    rss_mib: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn summarise(runs: &[Value], spec: &Value) -> Summary {
    let each = |f: &dyn Fn(&Value) -> f64| median(runs.iter().map(f).collect());
    let prompt_len = |r: &Value| r["prompt_ids"].as_array().unwrap().len() as f64;
    Summary {
        prefill: each(&|r| prompt_len(r) / r["prefill_s"].as_f64().unwrap()),
        long_prefill: each(&|r| LONG as f64 / r["long_prefill_s"].as_f64().unwrap()),
        decode: each(&|r| spec["decode"].as_f64().unwrap() / r["decode_s"].as_f64().unwrap()),
        ttft_ms: each(&|r| 1e3 * r["ttft_s"].as_f64().unwrap()),
        rss_mib: runs
            .iter()
            .map(|r| r["peak_rss_kib"].as_f64().unwrap() / 1024.0)
            .fold(0.0, f64::max),
    }
}

/// Where the two engines' greedy tokens part, if they do.
fn agreement(ours: &Value, theirs: &Value) -> String {
    let ids = |r: &Value, key: &str| -> Vec<u64> {
        r[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    if ids(ours, "prompt_ids") != ids(theirs, "prompt_ids") {
        return "**no**: the two tokenisers give different prompt ids".into();
    }
    let (a, b) = (ids(ours, "generated"), ids(theirs, "generated"));
    match a.iter().zip(&b).position(|(x, y)| x != y) {
        None => format!(
            "yes: the prompt ids and all {} greedy tokens are identical",
            a.len()
        ),
        Some(i) => format!("**no**: the greedy tokens differ from token {i} on"),
    }
}

fn table(ours: &Summary, theirs: Option<&Summary>, prompt_len: usize) -> String {
    let cells = |s: &Summary| [s.prefill, s.long_prefill, s.decode, s.ttft_ms, s.rss_mib];
    let names = [
        format!("prefill, {prompt_len}-token prompt (tok/s)"),
        format!("prefill, {LONG}-token prompt (tok/s)"),
        format!("decode, {DECODE} greedy tokens (tok/s)"),
        format!("time to first token, {prompt_len}-token prompt (ms, lower is better)"),
        "peak RSS (MiB, lower is better)".into(),
    ];
    let base = theirs.map(cells);
    let mut md = String::from(
        "| measure | taskgate | llama.cpp | taskgate / llama.cpp |\n|---|---|---|---|\n",
    );
    for (i, (name, a)) in names.iter().zip(cells(ours)).enumerate() {
        let b = base.map(|b| b[i]);
        md.push_str(&format!(
            "| {name} | {a:.1} | {} | {} |\n",
            b.map_or("—".into(), |b| format!("{b:.1}")),
            b.map_or("—".into(), |b| format!("{:.2}", a / b)),
        ));
    }
    md
}

/// Aggregate decode rate of sequences stepped together, against one sequence alone (medians).
fn batched_table(ours: &[Value], single: f64) -> String {
    let mut md = String::from(
        "\nDecoding several sequences together (continuous batching: one `forward_batch` per step \
         for all of them, each prefilled alone first), in process, the same prompt in every \
         sequence, greedy:\n\n| sequences | aggregate decode (tok/s) | vs one sequence | every \
         sequence's tokens equal the solo run |\n|---|---|---|---|\n",
    );
    md.push_str(&format!("| 1 | {single:.1} | 1.00 | — |\n"));
    for (i, n) in STREAMS.iter().enumerate() {
        let rate = median(
            ours.iter()
                .map(|r| r["batched"][i]["tokens_per_s"].as_f64().unwrap())
                .collect(),
        );
        let same = ours.iter().all(|r| r["batched"][i]["same"] == true);
        md.push_str(&format!(
            "| {n} | {rate:.1} | {:.2} | {} |\n",
            rate / single,
            if same { "yes" } else { "**no**" }
        ));
    }
    md
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let gguf: PathBuf = Path::new(ROOT).join(GGUF);
    if args.iter().any(|a| a == CHILD) {
        let spec: Value = serde_json::from_reader(std::io::stdin()).unwrap();
        println!("{}", taskgate_child(&gguf, &spec));
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench generation`");
        return;
    }
    assert!(gguf.exists(), "run scripts/fetch-models first");
    let python = Path::new(ROOT).join(".venv-bench/bin/python");
    let spec = inputs(&gguf);
    let load_before = common::load_average();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut baseline_error = None;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child.arg(CHILD);
        ours.push(run_child(child, &spec).expect("the taskgate child runs"));
        if python.exists() && baseline_error.is_none() {
            let mut child = Command::new(&python);
            child
                .arg(Path::new(ROOT).join("scripts/bench_llama_cpp.py"))
                .arg(&gguf)
                .arg(THREADS.to_string());
            match run_child(child, &spec) {
                Ok(r) => theirs.push(r),
                Err(e) => baseline_error = Some(e),
            }
        }
        eprintln!("round {} of {ROUNDS} done", round + 1);
    }
    let load_after = common::load_average();
    if let Some(e) = &baseline_error {
        eprintln!("llama.cpp baseline failed (scripts/bench-baselines installs it):\n{e}");
    }
    let prompt_len = ours[0]["prompt_ids"].as_array().unwrap().len();
    let mine = summarise(&ours, &spec);
    let base = (!theirs.is_empty()).then(|| summarise(&theirs, &spec));
    let mut md = String::from("## SmolLM2-135M-Instruct Q4_1 text generation\n\n");
    md.push_str(&format!(
        "`cargo bench --bench generation`: {THREADS} compute threads, the file's own Q4_1 weights; \
         the {prompt_len}-token ChatML story prompt (default system prompt + \"Write a short story \
         about a robot who learns to paint.\"), then {DECODE} greedy tokens, and a separate \
         {LONG}-token prompt. Prefill = one forward over the prompt + the first argmax; time to \
         first token adds the tokenisation. Each engine runs in its own process (peak RSS = VmHWM / \
         getrusage, after a warm-up); {ROUNDS} rounds alternate the engines and each cell is the \
         median. llama.cpp = llama-cpp-python ({}), `Llama(n_ctx=1024, n_batch=512, \
         n_threads={THREADS}, n_threads_batch={THREADS})`, measured by `scripts/bench_llama_cpp.py`. \
         Load average before / after the run: {load_before} / {load_after} (the machine is shared; \
         compare ratios).\n\n",
        if base.is_some() { "AVX2 build from source" } else { "not installed" }
    ));
    md.push_str(&table(&mine, base.as_ref(), prompt_len));
    if let Some(theirs) = theirs.first() {
        md.push_str(&format!(
            "\nSame greedy output as llama.cpp on the {prompt_len}-token prompt: {}.\n",
            agreement(&ours[0], theirs)
        ));
    } else {
        md.push_str("\nllama.cpp was not installed for this run (`scripts/bench-baselines`).\n");
    }
    md.push_str(&batched_table(&ours, mine.decode));
    common::write_section(SECTION, &md);
    print!("{md}");
}
