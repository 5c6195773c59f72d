//! Prometheus metrics of the decision service, kept in atomics (no lock, no
//! allocation on the decision path) and rendered as text exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use portcullis_core::Decision;

const OUTCOMES: [Decision; 6] = [
    Decision::Allow,
    Decision::Deny,
    Decision::Bypass,
    Decision::NonIdentity,
    Decision::LoginRequired,
    Decision::MfaRequired,
];

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.1,
    1.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    decisions: [AtomicU64; 6],
    buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_sum_nanos: AtomicU64,
    external_failures: AtomicU64,
    rejected_tokens: AtomicU64,
}

fn slot(decision: Decision) -> usize {
    match decision {
        Decision::Allow => 0,
        Decision::Deny => 1,
        Decision::Bypass => 2,
        Decision::NonIdentity => 3,
        Decision::LoginRequired => 4,
        Decision::MfaRequired => 5,
    }
}

/// What `/metrics` reports besides the counters kept here.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotGauges {
    pub sequence: u64,
    pub built_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub degraded: bool,
    pub source_errors: u64,
}

impl Metrics {
    pub fn record_decision(&self, decision: Decision, latency: Duration) {
        self.decisions[slot(decision)].fetch_add(1, Ordering::Relaxed);
        // One counter per decision: the first bucket it falls in (slower than
        // the last bound: only the count). Rendering sums them up.
        let secs = latency.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|bound| secs <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_nanos
            .fetch_add(latency.as_nanos() as u64, Ordering::Relaxed);
    }

    pub fn record_external_failures(&self, n: usize) {
        self.external_failures
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn record_rejected_token(&self) {
        self.rejected_tokens.fetch_add(1, Ordering::Relaxed);
    }

    pub fn decisions(&self, decision: Decision) -> u64 {
        self.decisions[slot(decision)].load(Ordering::Relaxed)
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self, gauges: SnapshotGauges) -> String {
        let mut out = String::with_capacity(2048);
        let _ = self.render_into(&mut out, gauges);
        out
    }

    fn render_into(&self, out: &mut String, g: SnapshotGauges) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP portcullis_decisions_total Decisions made, by outcome."
        )?;
        writeln!(out, "# TYPE portcullis_decisions_total counter")?;
        for d in OUTCOMES {
            writeln!(
                out,
                "portcullis_decisions_total{{decision=\"{}\"}} {}",
                d.as_str(),
                self.decisions(d)
            )?;
        }
        writeln!(
            out,
            "# HELP portcullis_decision_duration_seconds Time to decide one request, server side."
        )?;
        writeln!(out, "# TYPE portcullis_decision_duration_seconds histogram")?;
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            writeln!(
                out,
                "portcullis_decision_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            )?;
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        writeln!(
            out,
            "portcullis_decision_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        )?;
        let sum = self.latency_sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        writeln!(out, "portcullis_decision_duration_seconds_sum {sum}")?;
        writeln!(out, "portcullis_decision_duration_seconds_count {count}")?;
        writeln!(
            out,
            "# HELP portcullis_snapshot_sequence Change sequence the serving snapshot reflects."
        )?;
        writeln!(out, "# TYPE portcullis_snapshot_sequence gauge")?;
        writeln!(out, "portcullis_snapshot_sequence {}", g.sequence)?;
        writeln!(
            out,
            "# HELP portcullis_snapshot_age_seconds Seconds since the serving snapshot was built."
        )?;
        writeln!(out, "# TYPE portcullis_snapshot_age_seconds gauge")?;
        let age = (g.now - g.built_at).num_milliseconds().max(0) as f64 / 1000.0;
        writeln!(out, "portcullis_snapshot_age_seconds {age}")?;
        writeln!(out, "# HELP portcullis_snapshot_degraded 1 when the last refresh failed and an older snapshot serves.")?;
        writeln!(out, "# TYPE portcullis_snapshot_degraded gauge")?;
        writeln!(out, "portcullis_snapshot_degraded {}", u8::from(g.degraded))?;
        writeln!(
            out,
            "# HELP portcullis_store_errors_total Failed snapshot refreshes."
        )?;
        writeln!(out, "# TYPE portcullis_store_errors_total counter")?;
        writeln!(out, "portcullis_store_errors_total {}", g.source_errors)?;
        writeln!(out, "# HELP portcullis_external_evaluation_failures_total External evaluations that failed (treated as no match).")?;
        writeln!(
            out,
            "# TYPE portcullis_external_evaluation_failures_total counter"
        )?;
        writeln!(
            out,
            "portcullis_external_evaluation_failures_total {}",
            self.external_failures.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP portcullis_rejected_tokens_total Application tokens refused by forward-auth."
        )?;
        writeln!(out, "# TYPE portcullis_rejected_tokens_total counter")?;
        writeln!(
            out,
            "portcullis_rejected_tokens_total {}",
            self.rejected_tokens.load(Ordering::Relaxed)
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_histogram_is_cumulative() {
        let m = Metrics::default();
        m.record_decision(Decision::Allow, Duration::from_micros(5));
        m.record_decision(Decision::Deny, Duration::from_micros(300));
        m.record_decision(Decision::Allow, Duration::from_secs(2));
        let now = Utc::now();
        let text = m.render(SnapshotGauges {
            sequence: 1,
            built_at: now,
            now,
            degraded: false,
            source_errors: 0,
        });
        let bucket = |le: &str| {
            let prefix = format!("portcullis_decision_duration_seconds_bucket{{le=\"{le}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .map(str::to_string)
        };
        assert_eq!(bucket("0.00001").as_deref(), Some("1"));
        assert_eq!(bucket("0.00025").as_deref(), Some("1"));
        assert_eq!(bucket("0.0005").as_deref(), Some("2"));
        assert_eq!(bucket("1").as_deref(), Some("2"));
        assert_eq!(bucket("+Inf").as_deref(), Some("3"));
        assert!(text.contains("portcullis_decision_duration_seconds_count 3\n"));
        assert!(text.contains("portcullis_decisions_total{decision=\"allow\"} 2\n"));
    }
}
