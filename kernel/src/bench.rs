//! Timing and reporting, shared by the project's benchmarks: each result
//! is printed as a line and appended as one JSON object per line to
//! `target/bench/results.jsonl`, with the fields `bench`, `subject`,
//! `reference`, `unit` and `ratio` (subject / reference), plus the names
//! of what was measured.
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::string::{String, ToString};
use std::time::Instant;

/// Nanoseconds per call of `f` over `calls` calls, after a tenth as many
/// to warm up.
pub fn ns_per_call(calls: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..calls / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

/// Nanoseconds per call of each of `subjects`, measured in turn `rounds`
/// times over (so that a slow spell of the machine hits them all alike),
/// each the median of its rounds.
pub fn ns_per_call_interleaved(
    rounds: usize,
    calls: u32,
    subjects: &mut [&mut dyn FnMut()],
) -> std::vec::Vec<f64> {
    let mut samples = std::vec![std::vec::Vec::with_capacity(rounds); subjects.len()];
    for _ in 0..rounds {
        for (f, times) in subjects.iter_mut().zip(&mut samples) {
            times.push(ns_per_call(calls, f));
        }
    }
    samples.into_iter().map(median).collect()
}

/// The median of `values` (the upper one of an even count); NaN if none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: std::vec::Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub struct Measurement<'a> {
    pub bench: &'a str,
    /// What was measured, and what it is compared with.
    pub subject_name: &'a str,
    pub reference_name: &'a str,
    pub subject: f64,
    pub reference: Option<f64>,
    pub unit: &'a str,
}

fn number(v: Option<f64>) -> String {
    v.map_or("null".to_string(), |v| std::format!("{v:.4}"))
}

impl Measurement<'_> {
    /// Prints the result and appends it to `<target>/bench/results.jsonl`.
    pub fn report(&self, target_dir: &Path) {
        let ratio = self.reference.map(|r| self.subject / r);
        std::println!(
            "{:<16} {:<12} {:>10.4} {:<3} {:<10} {:>10} ratio {}",
            self.bench,
            self.subject_name,
            self.subject,
            self.unit,
            self.reference_name,
            number(self.reference),
            number(ratio)
        );
        let dir = target_dir.join("bench");
        std::fs::create_dir_all(&dir).unwrap();
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("results.jsonl"))
            .unwrap();
        std::writeln!(
            out,
            "{{\"bench\":\"{}\",\"subject_name\":\"{}\",\"reference_name\":\"{}\",\"subject\":{},\"reference\":{},\"unit\":\"{}\",\"ratio\":{}}}",
            self.bench,
            self.subject_name,
            self.reference_name,
            self.subject,
            number(self.reference),
            self.unit,
            number(ratio)
        )
        .unwrap();
    }
}
