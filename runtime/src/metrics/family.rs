//! Labelled counters, gauges and histograms, written in Prometheus's text format (0.0.4). Label values
//! come from bounded sets (models in the registry, task names, status classes, key ids from
//! the config); a family still stops adding series at [`MAX_SERIES`] so no caller can grow
//! memory without bound through a label.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Series one family may hold; beyond it new label sets are counted under `overflow`.
pub const MAX_SERIES: usize = 10_000;

const OVERFLOW: &str = "overflow";

/// Request latencies, in seconds: 1 ms to 2 minutes.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The gateway's own time per call, in seconds: 10 µs to 1 s.
pub const OVERHEAD_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1,
    1.0,
];

/// Sequences per forward pass.
pub const BATCH_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Padded tokens per forward pass (longest sequence × sequences).
pub const BATCH_TOKENS_BUCKETS: &[f64] = &[
    16.0, 64.0, 256.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0, 32768.0,
];

/// One decoding step or one training step, in seconds: 1 ms to 1 minute.
pub const STEP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0, 60.0,
];

/// One series: its label values, for writing, and its metric.
type Entry<M> = (Vec<String>, Arc<M>);

/// Series by their label values, in a stable order for the exposition.
struct Series<M> {
    /// Keyed by the values joined with a separator no label value holds in practice.
    by_labels: RwLock<BTreeMap<String, Entry<M>>>,
}

const SEPARATOR: &str = "\u{1f}";

impl<M> Series<M> {
    fn new() -> Self {
        Self {
            by_labels: RwLock::new(BTreeMap::new()),
        }
    }

    fn get(&self, labels: &[&str], make: impl FnOnce() -> M) -> Arc<M> {
        let key = labels.join(SEPARATOR);
        if let Some((_, found)) = self
            .by_labels
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        let mut map = self.by_labels.write().unwrap_or_else(|e| e.into_inner());
        let (key, values) = if map.len() >= MAX_SERIES && !map.contains_key(&key) {
            let values = vec![OVERFLOW.to_string(); labels.len()];
            (values.join(SEPARATOR), values)
        } else {
            (key, labels.iter().map(|l| l.to_string()).collect())
        };
        map.entry(key)
            .or_insert_with(|| (values, Arc::new(make())))
            .1
            .clone()
    }

    fn each(&self, mut f: impl FnMut(&[String], &M)) {
        for (labels, metric) in self
            .by_labels
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            f(labels, metric);
        }
    }
}

/// One 64-bit cell per label set: what a counter and a gauge both are, read differently.
struct Cells64 {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    series: Series<AtomicU64>,
}

impl Cells64 {
    fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Self {
            name,
            help,
            labels,
            series: Series::new(),
        }
    }

    /// The cell of `labels`, made holding `initial` bits.
    fn cell(&self, labels: &[&str], initial: u64) -> Arc<AtomicU64> {
        debug_assert_eq!(labels.len(), self.labels.len(), "{}", self.name);
        self.series.get(labels, || AtomicU64::new(initial))
    }

    fn write(&self, out: &mut String, kind: &str, read: impl Fn(u64) -> f64) {
        header(out, self.name, self.help, kind);
        self.series.each(|values, cell| {
            let value = read(cell.load(Ordering::Relaxed));
            sample(out, self.name, self.labels, values, None, value);
        });
    }
}

/// A monotonically increasing count per label set.
pub struct CounterFamily(Cells64);

impl CounterFamily {
    pub fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Self(Cells64::new(name, help, labels))
    }

    pub fn add(&self, labels: &[&str], by: u64) {
        self.0.cell(labels, 0).fetch_add(by, Ordering::Relaxed);
    }

    pub fn inc(&self, labels: &[&str]) {
        self.add(labels, 1);
    }

    pub fn write(&self, out: &mut String) {
        self.0.write(out, "counter", |count| count as f64);
    }
}

/// A value that goes up and down per label set (f64 bits).
pub struct GaugeFamily(Cells64);

impl GaugeFamily {
    pub fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Self(Cells64::new(name, help, labels))
    }

    fn cell(&self, labels: &[&str]) -> Arc<AtomicU64> {
        self.0.cell(labels, 0f64.to_bits())
    }

    pub fn set(&self, labels: &[&str], value: f64) {
        self.cell(labels).store(value.to_bits(), Ordering::Relaxed);
    }

    pub fn add(&self, labels: &[&str], by: f64) {
        let _ = self
            .cell(labels)
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + by).to_bits())
            });
    }

    pub fn write(&self, out: &mut String) {
        self.0.write(out, "gauge", f64::from_bits);
    }
}

/// Observations in cumulative buckets, with their sum and count, per label set.
pub struct HistogramFamily {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    buckets: &'static [f64],
    series: Series<Cells>,
}

/// One histogram: a count per bucket and one past the last (not yet cumulative), the count
/// and the sum (as f64 bits).
struct Cells {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_bits: AtomicU64,
}

impl Cells {
    fn new(bounds: usize) -> Self {
        Self {
            buckets: (0..=bounds).map(|_| AtomicU64::default()).collect(),
            count: AtomicU64::default(),
            sum_bits: AtomicU64::new(0f64.to_bits()),
        }
    }
}

impl HistogramFamily {
    pub fn new(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        buckets: &'static [f64],
    ) -> Self {
        Self {
            name,
            help,
            labels,
            buckets,
            series: Series::new(),
        }
    }

    pub fn observe(&self, labels: &[&str], value: f64) {
        debug_assert_eq!(labels.len(), self.labels.len(), "{}", self.name);
        let bounds = self.buckets.len();
        let cells = self.series.get(labels, || Cells::new(bounds));
        let index = self
            .buckets
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(bounds);
        cells.buckets[index].fetch_add(1, Ordering::Relaxed);
        cells.count.fetch_add(1, Ordering::Relaxed);
        let _ = cells
            .sum_bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }

    pub fn write(&self, out: &mut String) {
        header(out, self.name, self.help, "histogram");
        let bucket_name = format!("{}_bucket", self.name);
        self.series.each(|values, cells| {
            let mut cumulative = 0;
            for (i, bound) in self.buckets.iter().enumerate() {
                cumulative += cells.buckets[i].load(Ordering::Relaxed);
                let le = bound.to_string();
                sample(
                    out,
                    &bucket_name,
                    self.labels,
                    values,
                    Some(&le),
                    cumulative as f64,
                );
            }
            let count = cells.count.load(Ordering::Relaxed);
            sample(
                out,
                &bucket_name,
                self.labels,
                values,
                Some("+Inf"),
                count as f64,
            );
            let sum = f64::from_bits(cells.sum_bits.load(Ordering::Relaxed));
            sample(
                out,
                &format!("{}_sum", self.name),
                self.labels,
                values,
                None,
                sum,
            );
            sample(
                out,
                &format!("{}_count", self.name),
                self.labels,
                values,
                None,
                count as f64,
            );
        });
    }
}

pub fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample line; `le` is the bucket bound of a histogram bucket.
pub fn sample(
    out: &mut String,
    name: &str,
    label_names: &[&str],
    values: &[String],
    le: Option<&str>,
    value: f64,
) {
    out.push_str(name);
    let mut pairs = label_names
        .iter()
        .zip(values)
        .map(|(n, v)| (*n, v.as_str()))
        .chain(le.map(|le| ("le", le)))
        .peekable();
    if pairs.peek().is_some() {
        out.push('{');
        for (i, (name, value)) in pairs.enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{name}=\"{}\"", escape_label(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", format_value(value));
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_write_one_line_per_label_set() {
        let family = CounterFamily::new("t_calls_total", "Calls.", &["model", "status"]);
        family.inc(&["a", "2xx"]);
        family.add(&["a", "2xx"], 2);
        family.inc(&["b\"q", "5xx"]);
        let mut out = String::new();
        family.write(&mut out);
        assert_eq!(
            out,
            "# HELP t_calls_total Calls.\n# TYPE t_calls_total counter\n\
             t_calls_total{model=\"a\",status=\"2xx\"} 3\n\
             t_calls_total{model=\"b\\\"q\",status=\"5xx\"} 1\n"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let family = HistogramFamily::new("t_seconds", "Time.", &["wire"], &[0.1, 1.0]);
        for value in [0.05, 0.5, 0.7, 3.0] {
            family.observe(&["rest"], value);
        }
        let mut out = String::new();
        family.write(&mut out);
        let lines: Vec<&str> = out.lines().skip(2).collect();
        assert_eq!(
            lines,
            [
                "t_seconds_bucket{wire=\"rest\",le=\"0.1\"} 1",
                "t_seconds_bucket{wire=\"rest\",le=\"1\"} 3",
                "t_seconds_bucket{wire=\"rest\",le=\"+Inf\"} 4",
                "t_seconds_sum{wire=\"rest\"} 4.25",
                "t_seconds_count{wire=\"rest\"} 4",
            ]
        );
    }

    #[test]
    fn gauges_go_up_and_down() {
        let family = GaugeFamily::new("t_depth", "Depth.", &["model"]);
        family.add(&["a"], 3.0);
        family.add(&["a"], -1.0);
        family.set(&["b"], 0.25);
        let mut out = String::new();
        family.write(&mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "# TYPE t_depth gauge");
        assert_eq!(
            &lines[2..],
            ["t_depth{model=\"a\"} 2", "t_depth{model=\"b\"} 0.25"]
        );
    }

    #[test]
    fn label_sets_past_the_cap_share_one_overflow_series() {
        let family = CounterFamily::new("t_total", "T.", &["model"]);
        for i in 0..MAX_SERIES + 5 {
            family.inc(&[i.to_string().as_str()]);
        }
        let mut out = String::new();
        family.write(&mut out);
        assert!(
            out.contains("t_total{model=\"overflow\"} 5"),
            "{}",
            &out[..200]
        );
        assert_eq!(out.lines().count(), 2 + MAX_SERIES + 1);
    }
}
