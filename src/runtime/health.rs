//! Healthchecks and restart back-off: the pure decisions the shim applies.
//!
//! Healthcheck semantics follow moby `daemon/health.go`: the container's healthcheck
//! overrides the image's field by field; `NONE` disables; probes run every `interval`
//! (every `start_interval` while still `starting` inside `start_period`); a failure inside
//! the start period does not count; `retries` consecutive failures make it `unhealthy`; a
//! success makes it `healthy`; the last five results are kept; output is capped at 4096
//! bytes; a probe over `timeout` is killed and recorded as exit code -1.
//!
//! Restart back-off follows moby `restartmanager`: 100 ms doubling to 1 min, reset when the
//! container ran at least 10 s; `on-failure:N` restarts at most N times; a manual stop
//! suppresses every policy.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::config::{ContainerConfig, RestartPolicy};
use super::state::{Health, HealthStatus, ProbeResult};

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_PERIOD: Duration = Duration::ZERO;
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: u32 = 3;
pub const MAX_LOG_ENTRIES: usize = 5;
pub const MAX_OUTPUT: usize = 4096;

/// A resolved healthcheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// The argv to exec in the container.
    pub argv: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: u32,
}

fn ns(n: Option<u64>) -> Option<Duration> {
    n.filter(|n| *n > 0).map(Duration::from_nanos)
}

/// The container's effective healthcheck, or `None` when it has none or it is disabled.
pub fn resolve(config: &ContainerConfig) -> Option<HealthConfig> {
    let image = config.image.healthcheck.clone().unwrap_or_default();
    let (test, interval, timeout, start_period, start_interval, retries) = match &config.healthcheck
    {
        Some(h) if h.disable => return None,
        Some(h) => (
            if h.test.is_empty() {
                image.test.clone().unwrap_or_default()
            } else {
                h.test.clone()
            },
            h.interval.filter(|d| !d.is_zero()).or(ns(image.interval)),
            h.timeout.filter(|d| !d.is_zero()).or(ns(image.timeout)),
            h.start_period
                .filter(|d| !d.is_zero())
                .or(ns(image.start_period)),
            h.start_interval
                .filter(|d| !d.is_zero())
                .or(ns(image.start_interval)),
            h.retries
                .filter(|r| *r > 0)
                .or(image.retries.filter(|r| *r > 0)),
        ),
        None => (
            image.test.clone().unwrap_or_default(),
            ns(image.interval),
            ns(image.timeout),
            ns(image.start_period),
            ns(image.start_interval),
            image.retries.filter(|r| *r > 0),
        ),
    };
    let argv = match test.first().map(String::as_str) {
        None | Some("NONE") => return None,
        Some("CMD") => test[1..].to_vec(),
        Some("CMD-SHELL") => {
            let mut sh = config
                .image
                .shell
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
            sh.push(test[1..].join(" "));
            sh
        }
        // A bare command list is treated as CMD-SHELL by Compose's string form; here it is
        // the argv.
        Some(_) => test.clone(),
    };
    if argv.is_empty() {
        return None;
    }
    Some(HealthConfig {
        argv,
        interval: interval.unwrap_or(DEFAULT_INTERVAL),
        timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        start_period: start_period.unwrap_or(DEFAULT_START_PERIOD),
        start_interval: start_interval.unwrap_or(DEFAULT_START_INTERVAL),
        retries: retries.unwrap_or(DEFAULT_RETRIES),
    })
}

/// Delay before the next probe.
pub fn next_interval(cfg: &HealthConfig, health: &Health, since_start: Duration) -> Duration {
    if since_start >= cfg.start_period {
        return cfg.interval;
    }
    if health.status == HealthStatus::Starting {
        cfg.start_interval
    } else {
        cfg.interval
    }
}

/// Truncate probe output to Docker's limit on a character boundary.
pub fn cap_output(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_OUTPUT)];
    String::from_utf8_lossy(cut).into_owned()
}

/// Apply a probe result (moby `handleProbeResult`).
pub fn record(
    health: &mut Health,
    cfg: &HealthConfig,
    result: ProbeResult,
    started_at: DateTime<Utc>,
) {
    if result.exit_code == 0 {
        health.failing_streak = 0;
        health.status = HealthStatus::Healthy;
    } else {
        let in_start_period = health.status == HealthStatus::Starting
            && (result.start - started_at)
                .to_std()
                .map(|d| d < cfg.start_period)
                .unwrap_or(true);
        if !in_start_period {
            health.failing_streak += 1;
            if health.failing_streak >= cfg.retries {
                health.status = HealthStatus::Unhealthy;
            }
        }
    }
    health.log.push(result);
    if health.log.len() > MAX_LOG_ENTRIES {
        let drop = health.log.len() - MAX_LOG_ENTRIES;
        health.log.drain(..drop);
    }
}

pub const BACKOFF_START: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A container that ran this long resets the back-off.
pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

/// The restart manager's memory between exits.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    timeout: Duration,
}

impl Backoff {
    /// After an exit: `Some(delay)` to restart after `delay`, `None` to stay stopped.
    /// `restarts_so_far` counts restarts already done (for `on-failure:N`).
    pub fn next(
        &mut self,
        policy: RestartPolicy,
        exit_code: i32,
        manually_stopped: bool,
        restarts_so_far: u32,
        ran_for: Duration,
    ) -> Option<Duration> {
        if ran_for >= BACKOFF_RESET_AFTER {
            self.timeout = Duration::ZERO;
        }
        if self.timeout.is_zero() {
            self.timeout = BACKOFF_START;
        } else if self.timeout < BACKOFF_MAX {
            self.timeout *= 2;
        }
        self.timeout = self.timeout.min(BACKOFF_MAX);
        if manually_stopped {
            return None;
        }
        let restart = match policy {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure { max_retries } => {
                exit_code != 0 && max_retries.is_none_or(|m| m == 0 || restarts_so_far < m)
            }
        };
        restart.then_some(self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::config::{Healthcheck, ImageConfig, ImageHealthcheck};

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn probe(start: i64, code: i32) -> ProbeResult {
        ProbeResult {
            start: t(start),
            end: t(start),
            exit_code: code,
            output: String::new(),
        }
    }

    #[test]
    fn container_healthcheck_overrides_the_image_field_by_field() {
        let mut c = ContainerConfig {
            image: ImageConfig {
                healthcheck: Some(ImageHealthcheck {
                    test: Some(vec!["CMD-SHELL".into(), "true".into()]),
                    interval: Some(2_000_000_000),
                    retries: Some(7),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let h = resolve(&c).unwrap();
        assert_eq!(h.argv, vec!["/bin/sh", "-c", "true"]);
        assert_eq!(
            (h.interval, h.retries, h.timeout),
            (Duration::from_secs(2), 7, DEFAULT_TIMEOUT)
        );
        c.healthcheck = Some(Healthcheck {
            test: vec!["CMD".into(), "ls".into(), "/".into()],
            timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        });
        let h = resolve(&c).unwrap();
        assert_eq!(h.argv, vec!["ls", "/"]);
        assert_eq!(
            (h.interval, h.timeout, h.retries),
            (Duration::from_secs(2), Duration::from_secs(1), 7)
        );
        c.healthcheck = Some(Healthcheck {
            test: vec!["NONE".into()],
            ..Default::default()
        });
        assert!(resolve(&c).is_none());
        c.healthcheck = Some(Healthcheck {
            disable: true,
            ..Default::default()
        });
        assert!(resolve(&c).is_none());
    }

    #[test]
    fn transitions_follow_docker() {
        let cfg = HealthConfig {
            argv: vec!["x".into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            start_period: Duration::from_secs(10),
            start_interval: Duration::from_millis(200),
            retries: 2,
        };
        let mut h = Health {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: vec![],
        };
        // Failures inside the start period do not count.
        record(&mut h, &cfg, probe(1, 1), t(0));
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        assert_eq!(
            next_interval(&cfg, &h, Duration::from_secs(1)),
            Duration::from_millis(200)
        );
        record(&mut h, &cfg, probe(2, 0), t(0));
        assert_eq!(h.status, HealthStatus::Healthy);
        assert_eq!(
            next_interval(&cfg, &h, Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        record(&mut h, &cfg, probe(3, 1), t(0));
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 1));
        record(&mut h, &cfg, probe(4, 1), t(0));
        assert_eq!(h.status, HealthStatus::Unhealthy);
        for i in 5..12 {
            record(&mut h, &cfg, probe(i, 0), t(0));
        }
        assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
        assert_eq!(h.log[0].start, t(7));
        assert_eq!(h.status, HealthStatus::Healthy);
    }

    #[test]
    fn backoff_doubles_caps_and_resets_like_moby() {
        let mut b = Backoff::default();
        let quick = Duration::from_secs(1);
        let delays: Vec<u64> = (0..12)
            .map(|i| {
                b.next(RestartPolicy::Always, 1, false, i, quick)
                    .unwrap()
                    .as_millis() as u64
            })
            .collect();
        assert_eq!(&delays[..5], &[100, 200, 400, 800, 1600]);
        assert_eq!(delays[11], 60_000);
        assert_eq!(
            b.next(RestartPolicy::Always, 0, false, 0, Duration::from_secs(10)),
            Some(BACKOFF_START)
        );
    }

    #[test]
    fn policies_decide_like_moby() {
        let q = Duration::ZERO;
        let mut b = Backoff::default();
        assert_eq!(b.next(RestartPolicy::No, 1, false, 0, q), None);
        assert!(
            b.next(RestartPolicy::UnlessStopped, 0, false, 0, q)
                .is_some()
        );
        assert_eq!(
            b.next(RestartPolicy::Always, 0, true, 0, q),
            None,
            "manual stop wins"
        );
        let of = RestartPolicy::OnFailure {
            max_retries: Some(2),
        };
        assert_eq!(b.next(of, 0, false, 0, q), None, "success is not a failure");
        assert!(b.next(of, 3, false, 1, q).is_some());
        assert_eq!(b.next(of, 3, false, 2, q), None, "at most 2 restarts");
        assert!(
            b.next(
                RestartPolicy::OnFailure { max_retries: None },
                1,
                false,
                99,
                q
            )
            .is_some()
        );
    }
}
