//! The latency monitor (mirrors latency.c and the parts of sparkline.c
//! that LATENCY GRAPH uses).
//!
//! 1. Code that may block measures itself and calls
//!    `latency_add_sample_if_needed(event, ms)`: with
//!    `latency-monitor-threshold` > 0, a duration at or above it becomes a
//!    sample of that event (`fork`, `aof-write`, `aof-fsync-always`,
//!    `aof-rewrite-diff-write`, `aof-rename`, `aof-fstat`, `command`,
//!    `fast-command`, `expire-cycle`, …).
//! 2. Each event keeps a ring of the last 160 samples, one per second at
//!    most (a second sample in the same second keeps the larger latency),
//!    and its all-time maximum.
//! 3. LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR / HELP read them
//!    with Redis's reply shapes.

use std::collections::BTreeMap;

use crate::client::Client;
use crate::commands::{reply_help, reply_subcommand_syntax_error};
use crate::server::Server;

/// Samples kept per event (`LATENCY_TS_LEN`).
pub const LATENCY_TS_LEN: usize = 160;
/// Width of LATENCY GRAPH (`LATENCY_GRAPH_COLS`).
const LATENCY_GRAPH_COLS: usize = 80;

#[derive(Clone, Copy, Default)]
struct LatencySample {
    /// Unix seconds; 0 = empty slot.
    time: i64,
    latency: u64,
}

/// One event's samples (`latencyTimeSeries`).
pub struct LatencyTimeSeries {
    idx: usize,
    max: u64,
    samples: [LatencySample; LATENCY_TS_LEN],
}

impl LatencyTimeSeries {
    fn new() -> Self {
        LatencyTimeSeries { idx: 0, max: 0, samples: [LatencySample::default(); LATENCY_TS_LEN] }
    }

    /// Samples oldest first.
    fn ordered(&self) -> impl Iterator<Item = &LatencySample> {
        (0..LATENCY_TS_LEN).map(move |j| &self.samples[(self.idx + j) % LATENCY_TS_LEN]).filter(|s| s.time != 0)
    }
}

/// Every event's time series (`server.latency_events`).
#[derive(Default)]
pub struct Latency {
    pub events: BTreeMap<String, LatencyTimeSeries>,
}

impl Latency {
    /// Records `latency` ms for `event` at unix second `now`
    /// (`latencyAddSample`).
    pub fn add_sample(&mut self, event: &str, latency: u64, now: i64) {
        if !self.events.contains_key(event) {
            self.events.insert(event.to_string(), LatencyTimeSeries::new());
        }
        let Some(ts) = self.events.get_mut(event) else { return };
        if latency > ts.max {
            ts.max = latency;
        }
        let prev = (ts.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        if ts.samples[prev].time == now {
            if latency > ts.samples[prev].latency {
                ts.samples[prev].latency = latency;
            }
            return;
        }
        ts.samples[ts.idx] = LatencySample { time: now, latency };
        ts.idx = (ts.idx + 1) % LATENCY_TS_LEN;
    }

    /// Forgets one event, or all with `None`; returns how many were reset
    /// (`latencyResetEvent`).
    pub fn reset_event(&mut self, event: Option<&str>) -> usize {
        match event {
            None => {
                let n = self.events.len();
                self.events.clear();
                n
            }
            Some(e) => self.events.remove(e).is_some() as usize,
        }
    }
}

/// Statistics of one event for LATENCY DOCTOR (`latencyStats`).
struct LatencyStats {
    all_time_high: u64,
    avg: u64,
    mad: u64,
    samples: u64,
    /// Seconds from the oldest sample to now.
    period: i64,
}

/// `analyzeLatencyForEvent`.
fn analyze(ts: &LatencyTimeSeries, now: i64) -> LatencyStats {
    let mut ls = LatencyStats { all_time_high: ts.max, avg: 0, mad: 0, samples: 0, period: 0 };
    let mut sum = 0u64;
    let mut oldest = 0i64;
    for s in ts.samples.iter().filter(|s| s.time != 0) {
        ls.samples += 1;
        sum += s.latency;
        if oldest == 0 || s.time < oldest {
            oldest = s.time;
        }
    }
    if ls.samples > 0 {
        ls.avg = sum / ls.samples;
        ls.period = (now - oldest).max(1);
        let dev: u64 = ts.samples.iter().filter(|s| s.time != 0).map(|s| (ls.avg as i64 - s.latency as i64).unsigned_abs()).sum();
        ls.mad = dev / ls.samples;
    }
    ls
}

/// The vertical sparkline of LATENCY GRAPH (sparkline.c's
/// `sparklineRender` with 4 rows and the fill charset): one column per
/// sample, rows of `_o#` (a full lower row shows `|`), then each sample's
/// "time ago" label written downwards.
fn render_sparkline(out: &mut String, samples: &[(u64, String)], min: u64, max: u64) {
    const CHARSET_FILL: [u8; 3] = [b'_', b'o', b'#'];
    const ROWS: usize = 4;
    const LABEL_MARGIN_TOP: usize = 1;
    let steps = (CHARSET_FILL.len() * ROWS) as f64;
    let relmax = if max == min { 1.0 } else { (max - min) as f64 };
    for (chunk_idx, chunk) in samples.chunks(LATENCY_GRAPH_COLS).enumerate() {
        if chunk_idx > 0 {
            out.push('\n');
        }
        let mut row = 0;
        loop {
            let mut line = vec![b' '; chunk.len()];
            let mut more = false;
            for (j, (v, label)) in chunk.iter().enumerate() {
                let relval = (*v - min) as f64;
                let step = ((relval * steps / relmax) as i64).clamp(0, steps as i64 - 1);
                if row < ROWS {
                    more = true;
                    let charidx = step - ((ROWS - row - 1) * CHARSET_FILL.len()) as i64;
                    if charidx >= 0 && (charidx as usize) < CHARSET_FILL.len() {
                        line[j] = CHARSET_FILL[charidx as usize];
                    } else if charidx >= CHARSET_FILL.len() as i64 {
                        line[j] = b'|';
                    }
                } else {
                    if row - ROWS < LABEL_MARGIN_TOP {
                        more = true;
                        break;
                    }
                    let label_char = row - ROWS - LABEL_MARGIN_TOP;
                    if let Some(&ch) = label.as_bytes().get(label_char) {
                        more = true;
                        line[j] = ch;
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&line));
            out.push('\n');
        }
    }
}

/// `latencyCommandGenSparkeline`.
fn gen_sparkline(event: &str, ts: &LatencyTimeSeries, now: i64) -> String {
    let mut samples = Vec::new();
    let (mut min, mut max) = (0u64, 0u64);
    for s in ts.ordered() {
        if samples.is_empty() {
            min = s.latency;
            max = s.latency;
        } else {
            min = min.min(s.latency);
            max = max.max(s.latency);
        }
        let elapsed = now - s.time;
        let label = if elapsed < 60 {
            format!("{}s", elapsed)
        } else if elapsed < 3600 {
            format!("{}m", elapsed / 60)
        } else if elapsed < 3600 * 24 {
            format!("{}h", elapsed / 3600)
        } else {
            format!("{}d", elapsed / (3600 * 24))
        };
        samples.push((s.latency, label));
    }
    let mut out = format!("{} - high {} ms, low {} ms (all time high {} ms)\n", event, max, min, ts.max);
    out.push_str(&"-".repeat(LATENCY_GRAPH_COLS));
    out.push('\n');
    render_sparkline(&mut out, &samples, min, max);
    out
}

impl Server {
    /// Records a sample when the monitor is on and `ms` reaches the
    /// threshold (`latencyAddSampleIfNeeded`).
    #[inline]
    pub fn latency_add_sample_if_needed(&mut self, event: &str, ms: u64) {
        let threshold = self.config.latency_monitor_threshold;
        if threshold > 0 && ms >= threshold as u64 {
            let now = crate::util::ustime() / 1_000_000;
            self.latency.add_sample(event, ms, now);
        }
    }

    /// LATENCY DOCTOR's text (`createLatencyReport`): Redis's per-event
    /// analysis; the advice section is reduced to its generic closing line.
    fn create_latency_report(&self) -> String {
        let now = crate::util::ustime() / 1_000_000;
        if self.latency.events.is_empty() && self.config.latency_monitor_threshold == 0 {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string();
        }
        let mut report = String::new();
        let mut eventnum = 0;
        for (event, ts) in &self.latency.events {
            let ls = analyze(ts, now);
            if ls.samples == 0 {
                continue;
            }
            eventnum += 1;
            if eventnum == 1 {
                report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            }
            report.push_str(&format!(
                "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
                eventnum,
                event,
                ls.samples,
                ls.avg,
                ls.mad,
                ls.period as f64 / ls.samples as f64,
                ls.all_time_high
            ));
            if event == "fork" {
                let rate = self.child.stat_fork_rate;
                let quality = if rate < 10.0 {
                    "terrible"
                } else if rate < 25.0 {
                    "poor"
                } else if rate < 100.0 {
                    "good"
                } else {
                    "excellent"
                };
                report.push_str(&format!(" Fork rate is {:.2} GB/sec ({}).", rate, quality));
            }
            report.push('\n');
        }
        if eventnum == 0 {
            report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        } else {
            report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        }
        report
    }
}

const LATENCY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
];

/// LATENCY LATEST | HISTORY <event> | RESET [<event> ...] | GRAPH <event>
/// | DOCTOR | HELP
///
/// ```text
/// LATEST  -> *N of [event, unix time of the last sample, its ms, max ms]
/// HISTORY -> *N of [unix time, ms], oldest first (*0 for no such event)
/// RESET   -> :number of events reset
/// ```
pub fn latency_command(s: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let sub = c.argv.get(1).to_ascii_lowercase();
    match (sub.as_slice(), argc) {
        (b"history", 3) => {
            let event = c.argv.get_str(2).to_string();
            match s.latency.events.get(&event) {
                None => c.add_reply_array_len(0),
                Some(ts) => {
                    let samples: Vec<LatencySample> = ts.ordered().copied().collect();
                    c.add_reply_array_len(samples.len());
                    for smp in samples {
                        c.add_reply_array_len(2);
                        c.add_reply_long_long(smp.time);
                        c.add_reply_long_long(smp.latency as i64);
                    }
                }
            }
        }
        (b"graph", 3) => {
            let event = c.argv.get_str(2).to_string();
            match s.latency.events.get(&event) {
                None => c.add_reply_error(&format!("No samples available for event '{}'", event)),
                Some(ts) => {
                    let g = gen_sparkline(&event, ts, crate::util::ustime() / 1_000_000);
                    c.add_reply_verbatim(g.as_bytes(), "txt");
                }
            }
        }
        (b"latest", 2) => {
            c.add_reply_array_len(s.latency.events.len());
            for (event, ts) in &s.latency.events {
                let last = ts.samples[(ts.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
                c.add_reply_array_len(4);
                c.add_reply_bulk(event.as_bytes());
                c.add_reply_long_long(last.time);
                c.add_reply_long_long(last.latency as i64);
                c.add_reply_long_long(ts.max as i64);
            }
        }
        (b"doctor", 2) => {
            let report = s.create_latency_report();
            c.add_reply_verbatim(report.as_bytes(), "txt");
        }
        (b"reset", _) => {
            if argc == 2 {
                let n = s.latency.reset_event(None);
                c.add_reply_long_long(n as i64);
            } else {
                let mut n = 0;
                for j in 2..argc {
                    let e = c.argv.get_str(j).to_string();
                    n += s.latency.reset_event(Some(&e));
                }
                c.add_reply_long_long(n as i64);
            }
        }
        (b"help", 2) => reply_help(c, LATENCY_HELP),
        _ => reply_subcommand_syntax_error(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_second_keeps_the_max_and_ring_wraps() {
        let mut l = Latency::default();
        l.add_sample("fork", 5, 100);
        l.add_sample("fork", 3, 100);
        l.add_sample("fork", 9, 100);
        let ts = &l.events["fork"];
        assert_eq!(ts.ordered().count(), 1);
        assert_eq!(ts.ordered().next().map(|s| s.latency), Some(9));
        for t in 0..200 {
            l.add_sample("fork", t as u64, 1000 + t);
        }
        let ts = &l.events["fork"];
        assert_eq!(ts.ordered().count(), LATENCY_TS_LEN);
        assert_eq!(ts.ordered().next().map(|s| s.time), Some(1000 + 200 - LATENCY_TS_LEN as i64));
        assert_eq!(ts.max, 199);
        assert_eq!(l.reset_event(Some("nope")), 0);
        assert_eq!(l.reset_event(None), 1);
    }

    #[test]
    fn graph_shape_matches_redis() {
        // Samples 6, 100, 300 ms taken 8, 1 and 0 s ago render as Redis's
        // LATENCY GRAPH does.
        let mut l = Latency::default();
        l.add_sample("command", 6, 992);
        l.add_sample("command", 100, 999);
        l.add_sample("command", 300, 1000);
        let g = gen_sparkline("command", &l.events["command"], 1000);
        let expect = format!(
            "command - high 300 ms, low 6 ms (all time high 300 ms)\n{}\n  #\n  |\n _|\n_||\n   \n810\nsss\n",
            "-".repeat(80)
        );
        assert_eq!(g, expect);
    }
}
