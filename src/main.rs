//! The `taskgate` binary.

mod train_cli;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use taskgate_gateway::config::{Config, ConfigSources, CpuKernels};
use taskgate_gateway::grpc;
use taskgate_gateway::models::check_models;
use taskgate_gateway::serve::Servers;
use taskgate_gateway::{TaskRoutes, json_schemas, logging, openapi, otlp, shutdown};
use taskgate_runtime::cpu_kernels;

/// Stable, typed AI task APIs over in-process and remote model runtimes.
#[derive(Parser)]
#[command(name = "taskgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the configured models over HTTP.
    Serve(ServeArgs),
    /// Print the OpenAPI document (the checked-in `openapi/openapi.json`).
    Openapi,
    /// Write the gRPC contract (the `.proto` files, as checked in under `schemas/proto`) into a
    /// directory.
    Protos {
        /// Output directory.
        dir: PathBuf,
    },
    /// Write the JSON Schemas of every request and of the config into a directory.
    JsonSchemas {
        /// Output directory (the checked-in copy is `schemas/json`).
        dir: PathBuf,
    },
    /// Train a model on a running server from a local data file, following its progress.
    Train(train_cli::TrainArgs),
    /// Print the SHA-256 digest of an API key read from standard input (one line), for
    /// `auth.keys[].sha256`; with `--generate`, make a new random key and print it and its digest.
    HashKey {
        /// Make a new key instead of reading one.
        #[arg(long)]
        generate: bool,
    },
    /// Validate a config file and build its models without serving.
    CheckConfig {
        /// The YAML config file.
        file: PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// YAML config file; without one the defaults apply (127.0.0.1:8080, the `pii-rules` model,
    /// and every model found in `models/`).
    #[arg(long, env = "TASKGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides `http.host`).
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on, 0 for any free port (overrides `http.port`).
    #[arg(long)]
    port: Option<u16>,
    /// gRPC port, 0 for any free port (overrides `grpc.port`).
    #[arg(long)]
    grpc_port: Option<u16>,
    /// Directory scanned for model directories (overrides `models_dir`).
    #[arg(long)]
    models_dir: Option<String>,
    /// Log format (overrides `log.format`).
    #[arg(long, value_enum)]
    log_format: Option<LogFormatArg>,
}

/// How long a stopping server waits for its last spans to reach the collector.
const TRACE_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::Train(args) => tokio::runtime::Runtime::new()?.block_on(train_cli::train(args)),
        Command::Openapi => {
            let json = openapi::document_json(&TaskRoutes::standard());
            std::io::stdout().write_all(json.as_bytes())?;
            Ok(())
        }
        Command::Protos { dir } => {
            let written = grpc::protos::write_all(&dir)
                .with_context(|| format!("writing protos into {}", dir.display()))?;
            println!("wrote {written} proto files into {}", dir.display());
            Ok(())
        }
        Command::JsonSchemas { dir } => {
            let written = json_schemas::write_all(&dir)
                .with_context(|| format!("writing JSON Schemas into {}", dir.display()))?;
            println!("wrote {written} schemas into {}", dir.display());
            Ok(())
        }
        Command::HashKey { generate } => hash_key(generate),
        Command::CheckConfig { file } => {
            let config = load_config(Some(file.clone()), Vec::new())?;
            let models = check_models(&config).with_context(|| {
                format!("config {} is valid but its models fail", file.display())
            })?;
            println!("{}: ok, serves {}", file.display(), models.join(", "));
            Ok(())
        }
    }
}

fn hash_key(generate: bool) -> anyhow::Result<()> {
    use taskgate_gateway::auth::api_keys::{digest_hex, generate_key};
    if generate {
        let key = generate_key().map_err(|_| anyhow::anyhow!("the system random source failed"))?;
        println!("key:    {key}");
        println!("sha256: {}", digest_hex(&key));
        return Ok(());
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the key from standard input")?;
    let key = line.trim_end_matches(['\n', '\r']);
    anyhow::ensure!(
        !key.is_empty(),
        "no key on standard input: echo -n \"$KEY\" | taskgate hash-key"
    );
    println!("{}", digest_hex(key));
    Ok(())
}

fn config_sources(file: Option<PathBuf>, overrides: Vec<(String, Value)>) -> ConfigSources {
    ConfigSources {
        file,
        env: std::env::vars().collect(),
        overrides,
    }
}

fn load_config(file: Option<PathBuf>, overrides: Vec<(String, Value)>) -> anyhow::Result<Config> {
    Ok(Config::load(&config_sources(file, overrides))?)
}

/// candle and its GEMM size their thread pools from `RAYON_NUM_THREADS`; an explicit environment
/// value wins over the config.
fn pin_compute_threads(threads: Option<usize>) {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return;
    }
    let threads = threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1);
    // SAFETY: called from `main` before the async runtime or any other thread starts, so no
    // other thread can read the environment concurrently.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
}

/// Before any model loads, so every matmul runs the chosen kernels; logged because fleets mix
/// CPUs and a replica's speed depends on what it found.
fn choose_cpu_kernels(kernels: CpuKernels) {
    cpu_kernels::choose(kernels.into());
    tracing::info!(
        requested = ?kernels,
        kernels = cpu_kernels::active(),
        cpu_features = %cpu_kernels::cpu_features().join(" "),
        "cpu kernels chosen"
    );
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut overrides = Vec::new();
    if let Some(host) = args.host {
        overrides.push(("http.host".to_string(), Value::from(host)));
    }
    if let Some(port) = args.port {
        overrides.push(("http.port".to_string(), Value::from(port)));
    }
    if let Some(port) = args.grpc_port {
        overrides.push(("grpc.port".to_string(), Value::from(port)));
    }
    if let Some(dir) = args.models_dir {
        overrides.push(("models_dir".to_string(), Value::from(dir)));
    }
    if let Some(format) = args.log_format {
        let name = match format {
            LogFormatArg::Text => "text",
            LogFormatArg::Json => "json",
        };
        overrides.push(("log.format".to_string(), Value::from(name)));
    }
    let sources = config_sources(args.config, overrides);
    let config = Config::load(&sources)?;
    pin_compute_threads(config.compute_threads);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // The exporter's task and channel live on the runtime, so it starts inside it.
    let traces = {
        let _inside = runtime.enter();
        otlp::start(&config.tracing)?
    };
    logging::init(&config.log, traces.as_ref().map(|t| t.tracer()));
    choose_cpu_kernels(config.cpu_kernels);
    runtime.block_on(async {
        let servers = Servers::bind_reloading(&config, sources).await?;
        // Tests and scripts read these lines to find the ports when port 0 is used; the HTTP
        // line comes last, so once it is printed every server is bound.
        if let Some(grpc) = servers.grpc_addr() {
            let grpc = grpc?;
            println!("taskgate gRPC listening on {grpc}");
            tracing::info!(%grpc, "gRPC listening");
        }
        if let Some(model_mesh) = servers.model_mesh_endpoint() {
            println!("taskgate ModelMesh runtime listening on {model_mesh}");
            tracing::info!(%model_mesh, "ModelMesh runtime SPI listening");
        }
        if let Some(metrics) = servers.metrics_addr() {
            let metrics = metrics?;
            println!("taskgate metrics listening on http://{metrics}");
            tracing::info!(%metrics, "metrics listening");
        }
        let local = servers.http_addr()?;
        let scheme = if config.http.tls.is_some() {
            "https"
        } else {
            "http"
        };
        println!("taskgate listening on {scheme}://{local}");
        tracing::info!(%local, "listening");
        servers.run(shutdown::shutdown_signal()).await?;
        if let Some(traces) = traces {
            traces.flush(TRACE_FLUSH).await;
        }
        tracing::info!("stopped");
        Ok(())
    })
}
