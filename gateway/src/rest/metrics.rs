//! `GET /metrics`: the gateway's metrics in Prometheus's text format, for a key with the
//! `metrics` scope (or any caller while the gateway has no keys).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use taskgate_modules::tuning::Viewer;
use taskgate_schemas::TrainingState;

use crate::metrics::{write_gauges, write_process};
use crate::rest::caller::Authenticated;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn scrape(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = principal.check_metrics() {
        return error.into_response_with_id(&RequestId::of(&headers));
    }
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], render(&state)).into_response()
}

/// Every family: the call counters, then what is read now from the slots, the models and the
/// training jobs, then the engines', the trace exporter's and the process's.
pub fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(32 * 1024);
    state.metrics().write(&mut out);
    let slots = state.call_slots();
    write_gauges(
        &mut out,
        "taskgate_requests_in_flight",
        "Task calls holding one of the gateway's slots now (being read or run).",
        None,
        [("", slots.in_flight() as f64)],
    );
    write_gauges(
        &mut out,
        "taskgate_requests_in_flight_limit",
        "The gateway's slots (server.max_in_flight_calls).",
        None,
        [("", slots.limit() as f64)],
    );
    let served = state.registry().models();
    let slots: Vec<(String, (usize, usize))> = served
        .iter()
        .map(|m| (m.id().to_string(), m.in_flight()))
        .collect();
    write_gauges(
        &mut out,
        "taskgate_model_requests_in_flight",
        "Calls holding one of a model's slots now (max_concurrent_requests).",
        Some("model"),
        slots
            .iter()
            .map(|(id, (now, _))| (id.as_str(), *now as f64)),
    );
    write_gauges(
        &mut out,
        "taskgate_model_requests_in_flight_limit",
        "Each model's slots (max_concurrent_requests); beyond them calls get 429.",
        Some("model"),
        slots
            .iter()
            .map(|(id, (_, limit))| (id.as_str(), *limit as f64)),
    );
    let models: Vec<_> = served.iter().map(|m| m.info()).collect();
    write_gauges(
        &mut out,
        "taskgate_model_loaded_bytes",
        "Bytes of each loaded model's files (0 for remote models).",
        Some("model"),
        models.iter().map(|m| (m.name.as_str(), m.size as f64)),
    );
    write_gauges(
        &mut out,
        "taskgate_model_healthy",
        "1 while a remote model's runtime answers its health check, else 0.",
        Some("model"),
        models.iter().filter_map(|m| {
            let healthy = m.metadata.get("healthy")?.as_bool()?;
            Some((m.name.as_str(), f64::from(u8::from(healthy))))
        }),
    );
    circuit_states(&mut out, &models);
    lifecycle(&mut out, state.registry());
    {
        let jobs = state
            .training()
            .map(|training| training.list(Viewer::Everyone))
            .unwrap_or_default();
        let states = [
            (TrainingState::Queued, "QUEUED"),
            (TrainingState::Running, "RUNNING"),
            (TrainingState::Completed, "COMPLETED"),
            (TrainingState::Canceled, "CANCELED"),
            (TrainingState::Errored, "ERRORED"),
        ];
        write_gauges(
            &mut out,
            "taskgate_training_jobs",
            "Training jobs this replica knows, by state.",
            Some("state"),
            states.map(|(state, name)| {
                let count = jobs.iter().filter(|job| job.state == state).count();
                (name, count as f64)
            }),
        );
    }
    taskgate_runtime::metrics::engine().write(&mut out);
    crate::otlp::write_metrics(&mut out);
    write_process(&mut out);
    out
}

/// Each model's state as a state set, what each loaded one is charged, and the budget.
fn lifecycle(out: &mut String, registry: &taskgate_modules::ModelRegistry) {
    let statuses = registry.statuses();
    crate::metrics::family::header(
        out,
        "taskgate_model_state",
        "A model's lifecycle state: 1 for the state it is in (REGISTERED, LOADING, LOADED, FAILED, UNLOADING).",
        "gauge",
    );
    for status in &statuses {
        for each in taskgate_modules::ModelState::ALL {
            crate::metrics::family::sample(
                out,
                "taskgate_model_state",
                &["model", "state"],
                &[status.info.name.clone(), each.as_str().to_string()],
                None,
                f64::from(u8::from(status.state == each)),
            );
        }
    }
    let charged = |info: &taskgate_schemas::ModelInfo| {
        info.metadata
            .get("memory")
            .and_then(|m| m.get("charged_bytes"))
            .and_then(serde_json::Value::as_f64)
    };
    write_gauges(
        out,
        "taskgate_model_memory_bytes",
        "What each model in memory is charged against models_memory_bytes: its engine's accounting of its weights, else how much RSS grew while it loaded.",
        Some("model"),
        statuses
            .iter()
            .filter(|s| s.state == taskgate_modules::ModelState::Loaded)
            .filter_map(|s| Some((s.info.name.as_str(), charged(&s.info)?))),
    );
    write_gauges(
        out,
        "taskgate_models_memory_used_bytes",
        "What the models in memory are charged together.",
        None,
        [("", registry.memory_used() as f64)],
    );
    if let Some(budget) = registry.memory_budget() {
        write_gauges(
            out,
            "taskgate_models_memory_budget_bytes",
            "models_memory_bytes: what loaded models may take together.",
            None,
            [("", budget as f64)],
        );
    }
}

/// Each remote model's circuit breaker as a state set: 1 for its state, 0 for the others.
fn circuit_states(out: &mut String, models: &[taskgate_schemas::ModelInfo]) {
    crate::metrics::family::header(
        out,
        "taskgate_model_circuit_state",
        "A remote model's circuit breaker: 1 for the state it is in (closed, open, half-open).",
        "gauge",
    );
    for model in models {
        let Some(current) = model.metadata.get("circuit").and_then(|v| v.as_str()) else {
            continue;
        };
        for state in ["closed", "open", "half-open"] {
            crate::metrics::family::sample(
                out,
                "taskgate_model_circuit_state",
                &["model", "state"],
                &[model.name.clone(), state.to_string()],
                None,
                f64::from(u8::from(current == state)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use taskgate_schemas::ModelInfo;

    fn model(name: &str, metadata: serde_json::Value) -> ModelInfo {
        ModelInfo {
            name: name.into(),
            module: "tei".into(),
            tasks: vec![],
            backend: "remote".into(),
            loaded: true,
            size: 0,
            model_path: None,
            metadata: serde_json::from_value(metadata).unwrap(),
        }
    }

    #[test]
    fn circuits_are_a_state_set_per_remote_model() {
        let mut out = String::new();
        super::circuit_states(
            &mut out,
            &[
                model("a", json!({"circuit": "open"})),
                model("local", json!({})),
            ],
        );
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "taskgate_model_circuit_state{model=\"a\",state=\"closed\"} 0",
                "taskgate_model_circuit_state{model=\"a\",state=\"open\"} 1",
                "taskgate_model_circuit_state{model=\"a\",state=\"half-open\"} 0",
            ]
        );
    }
}
