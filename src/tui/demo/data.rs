//! The demo project's fixed data: services, their containers, details, log lines and
//! stats, and [`scenario`], the deterministic first minute.

use chrono::{DateTime, Utc};

use crate::tui::msg::*;

pub const PROJECT: &str = "shop";

pub(super) struct ServiceDef {
    pub(super) name: &'static str,
    pub(super) image: &'static str,
    pub(super) replicas: u32,
    pub(super) ports: &'static [(u16, u16)],
    pub(super) health: bool,
    /// Log lines a second per container.
    pub(super) rate: f64,
    pub(super) cpu: f64,
    pub(super) mem_mb: u64,
    pub(super) limit_mb: Option<u64>,
}

pub(super) const SERVICES: &[ServiceDef] = &[
    ServiceDef {
        name: "web",
        image: "nginx:1.27-alpine",
        replicas: 2,
        ports: &[(8080, 80)],
        health: true,
        rate: 3.0,
        cpu: 0.4,
        mem_mb: 9,
        limit_mb: Some(256),
    },
    ServiceDef {
        name: "api",
        image: "shop/api:dev",
        replicas: 1,
        ports: &[(3000, 3000)],
        health: true,
        rate: 4.0,
        cpu: 6.0,
        mem_mb: 148,
        limit_mb: Some(512),
    },
    ServiceDef {
        name: "worker",
        image: "shop/worker:dev",
        replicas: 1,
        ports: &[],
        health: false,
        rate: 5.0,
        cpu: 22.0,
        mem_mb: 310,
        limit_mb: Some(1024),
    },
    ServiceDef {
        name: "db",
        image: "postgres:16",
        replicas: 1,
        ports: &[(5432, 5432)],
        health: true,
        rate: 0.3,
        cpu: 1.5,
        mem_mb: 61,
        limit_mb: None,
    },
    ServiceDef {
        name: "cache",
        image: "redis:7-alpine",
        replicas: 1,
        ports: &[(6379, 6379)],
        health: false,
        rate: 0.2,
        cpu: 0.3,
        mem_mb: 4,
        limit_mb: Some(128),
    },
    ServiceDef {
        name: "migrate",
        image: "shop/api:dev",
        replicas: 1,
        ports: &[],
        health: false,
        rate: 0.0,
        cpu: 0.0,
        mem_mb: 0,
        limit_mb: None,
    },
];

pub(super) fn def(service: &str) -> &'static ServiceDef {
    SERVICES
        .iter()
        .find(|s| s.name == service)
        .unwrap_or(&SERVICES[0])
}

/// A small deterministic PRNG (xorshift64*): the demo needs variety, not quality.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub(super) fn name(service: &str, n: u32) -> String {
    format!("{PROJECT}-{service}-{n}")
}

pub(super) fn snapshot(d: &ServiceDef, n: u32, now: DateTime<Utc>) -> ContainerSnapshot {
    let started =
        now - chrono::Duration::seconds(3600 + 97 * i64::from(n) + d.name.len() as i64 * 600);
    let healthy = Health {
        status: HealthStatus::Healthy,
        failing_streak: 0,
        probes: (0..5)
            .map(|i| {
                let start = now - chrono::Duration::seconds(30 * (5 - i));
                Probe {
                    start,
                    end: start + chrono::Duration::milliseconds(12 + 3 * i),
                    exit_code: 0,
                    output: format!("{} ok", d.name),
                }
            })
            .collect(),
    };
    let mut s = ContainerSnapshot {
        id: format!(
            "{:016x}{:048x}",
            (d.name.len() as u64 * 0x9e37_79b9 + u64::from(n)).wrapping_mul(0x1234_5678_9abc),
            n
        ),
        name: name(d.name, n),
        service: d.name.into(),
        number: n,
        state: ContainerState::Running,
        health: d.health.then_some(healthy),
        started_at: Some(started),
        finished_at: None,
        restart_count: 0,
        image: d.image.into(),
        ports: d
            .ports
            .iter()
            .map(|&(h, c)| Port {
                host_ip: None,
                host_port: Some(h + (n as u16 - 1)),
                container_port: c,
                protocol: "tcp".into(),
            })
            .collect(),
        drift: None,
    };
    match d.name {
        "api" => s.drift = Some("config changed".into()),
        "worker" => s.restart_count = 2,
        // A one-shot job that has done its work.
        "migrate" => {
            s.state = ContainerState::Exited { code: 0 };
            s.finished_at = Some(started + chrono::Duration::seconds(4));
        }
        _ => {}
    }
    s
}

pub(super) fn details(d: &ServiceDef, n: u32) -> Details {
    let ports: String = d
        .ports
        .iter()
        .map(|(h, c)| format!("      - target: {c}\n        published: \"{h}\"\n        protocol: tcp\n        mode: ingress\n"))
        .collect();
    let config_yaml = format!(
        "{}:\n    image: {}\n    networks:\n      default: null\n{}{}    restart: unless-stopped\n",
        d.name,
        d.image,
        if ports.is_empty() {
            String::new()
        } else {
            format!("    ports:\n{ports}")
        },
        if d.health {
            "    healthcheck:\n      test: [\"CMD-SHELL\", \"wget -qO- localhost || exit 1\"]\n      interval: 30s\n"
        } else {
            ""
        },
    );
    Details {
        container: name(d.name, n),
        config_yaml,
        env: vec![
            (
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ),
            ("SERVICE".into(), d.name.into()),
            ("DATABASE_URL".into(), "postgres://shop@db:5432/shop".into()),
        ],
        mounts: match d.name {
            "db" => vec![Mount {
                kind: "volume".into(),
                source: "shop_pgdata".into(),
                target: "/var/lib/postgresql/data".into(),
                read_only: false,
            }],
            "web" => vec![Mount {
                kind: "bind".into(),
                source: "./nginx.conf".into(),
                target: "/etc/nginx/nginx.conf".into(),
                read_only: true,
            }],
            _ => vec![],
        },
        networks: vec![NetworkAttachment {
            network: format!("{PROJECT}_default"),
            ip: Some(format!("172.18.0.{}", 2 + d.name.len() as u32 + n)),
            aliases: vec![name(d.name, n), d.name.into()],
        }],
        processes: Processes {
            titles: ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                [
                    "root",
                    "4012",
                    "3990",
                    "0",
                    "19:02",
                    "?",
                    "00:00:01",
                    &format!("{} main", d.name),
                ]
                .map(String::from)
                .to_vec(),
                [
                    "app",
                    "4055",
                    "4012",
                    "1",
                    "19:02",
                    "?",
                    "00:00:09",
                    &format!("{} worker", d.name),
                ]
                .map(String::from)
                .to_vec(),
            ],
        },
    }
}

const PATHS: [&str; 6] = [
    "/",
    "/api/items",
    "/api/items/42",
    "/api/cart",
    "/static/app.js",
    "/healthz",
];

/// One synthetic log line of a service.
pub(super) fn log_text(service: &str, rng: &mut Rng, t: DateTime<Utc>) -> (Stream, String) {
    let path = PATHS[rng.below(PATHS.len() as u64) as usize];
    match service {
        "web" => {
            let status = [200, 200, 200, 304, 404, 500][rng.below(6) as usize];
            (
                Stream::Stdout,
                format!(
                    "172.18.0.1 - - [{}] \"GET {path} HTTP/1.1\" {status} {} \"-\" \"curl/8.5.0\"",
                    t.format("%d/%b/%Y:%H:%M:%S +0000"),
                    200 + rng.below(4000)
                ),
            )
        }
        "api" => {
            if rng.below(12) == 0 {
                (
                    Stream::Stderr,
                    format!(
                        "WARN slow query duration_ms={} sql=\"SELECT * FROM items WHERE cart_id = $1\"",
                        200 + rng.below(900)
                    ),
                )
            } else {
                (
                    Stream::Stdout,
                    format!(
                        "INFO request_id={:08x} method=GET path={path} status=200 duration_ms={}",
                        rng.next_u64() as u32,
                        1 + rng.below(40)
                    ),
                )
            }
        }
        "worker" => match rng.below(20) {
            0 => (
                Stream::Stderr,
                format!(
                    "\x1b[31mERROR\x1b[0m job=send-email id={} failed: connection refused (smtp:25), retrying in 5s",
                    rng.below(99999)
                ),
            ),
            1 | 2 => (
                Stream::Stdout,
                format!(
                    "\x1b[33mWARN\x1b[0m  job=resize-image id={} took {}ms",
                    rng.below(99999),
                    900 + rng.below(2000)
                ),
            ),
            _ => (
                Stream::Stdout,
                format!(
                    "\x1b[32mINFO\x1b[0m  job={} id={} done in {}ms",
                    ["send-email", "resize-image", "sync-stock"][rng.below(3) as usize],
                    rng.below(99999),
                    rng.below(120)
                ),
            ),
        },
        "db" => (
            Stream::Stderr,
            format!(
                "{} UTC [{}] LOG:  checkpoint complete: wrote {} buffers ({:.1}%)",
                t.format("%Y-%m-%d %H:%M:%S%.3f"),
                50 + rng.below(20),
                rng.below(300),
                rng.unit() * 3.0
            ),
        ),
        "cache" => (
            Stream::Stdout,
            format!(
                "1:M {} * {} changes in 60 seconds. Saving...",
                t.format("%d %b %Y %H:%M:%S%.3f"),
                1 + rng.below(100)
            ),
        ),
        _ => (
            Stream::Stdout,
            "Applying migration 0042_add_cart_index... OK".into(),
        ),
    }
}

pub(super) fn stats(
    c: &ContainerSnapshot,
    cpu: f64,
    mem: u64,
    t: DateTime<Utc>,
    tick: u64,
) -> StatsSample {
    let d = def(&c.service);
    StatsSample {
        container: c.name.clone(),
        time: t,
        cpu_percent: cpu,
        mem_usage: mem,
        mem_limit: d.limit_mb.map(|m| m << 20),
        pids: 2 + (tick % 3),
        net_rx: (tick + 1) * 31_337,
        net_tx: (tick + 1) * 12_345,
        block_read: 4 << 20,
        block_write: (tick + 1) * 8192,
    }
}

/// The demo project at `now`: project info, containers, a minute of stats and logs, and
/// details for every container. Deterministic for a given `now` and `seed`.
pub fn scenario(now: DateTime<Utc>, seed: u64) -> Vec<Msg> {
    let mut rng = Rng::new(seed);
    let mut out = vec![Msg::Project(ProjectInfo {
        name: PROJECT.into(),
        services: SERVICES.iter().map(|s| s.name.to_owned()).collect(),
    })];
    let mut snaps = Vec::new();
    for d in SERVICES {
        for n in 1..=d.replicas {
            let s = snapshot(d, n, now);
            out.push(Msg::Container(Box::new(s.clone())));
            snaps.push(s);
        }
    }
    // A minute of stats, one a second.
    for tick in 0..60u64 {
        let t = now - chrono::Duration::seconds(60 - tick as i64);
        for s in snaps.iter().filter(|s| s.state.is_up()) {
            let d = def(&s.service);
            let cpu = (d.cpu * (0.6 + 0.8 * rng.unit())).max(0.0);
            let mem = ((d.mem_mb as f64 * (0.95 + 0.1 * rng.unit())) as u64) << 20;
            out.push(Msg::Stats(stats(s, cpu, mem, t, tick)));
        }
    }
    // The migration's output, then a minute of everyone's logs, in order per container.
    let mig = &snaps
        .iter()
        .find(|s| s.service == "migrate")
        .expect("migrate")
        .clone();
    out.push(Msg::Logs(LogBatch {
        container: mig.name.clone(),
        service: mig.service.clone(),
        lines: [
            "Connecting to db:5432",
            "Applying migration 0041_create_carts... OK",
            "Applying migration 0042_add_cart_index... OK",
            "Done: 2 migrations applied",
        ]
        .iter()
        .enumerate()
        .map(|(i, l)| LogLine {
            time: mig.started_at.expect("started") + chrono::Duration::milliseconds(300 * i as i64),
            stream: Stream::Stdout,
            text: (*l).into(),
        })
        .collect(),
    }));
    for s in snaps.iter().filter(|s| s.state.is_up()) {
        let d = def(&s.service);
        let count = (d.rate * 60.0).round() as i64;
        let lines = (0..count)
            .map(|i| {
                let t = now
                    - chrono::Duration::milliseconds(
                        60_000 - i * 60_000 / count.max(1) - rng.below(50) as i64,
                    );
                let (stream, text) = log_text(&s.service, &mut rng, t);
                LogLine {
                    time: t,
                    stream,
                    text,
                }
            })
            .collect();
        out.push(Msg::Logs(LogBatch {
            container: s.name.clone(),
            service: s.service.clone(),
            lines,
        }));
    }
    for d in SERVICES {
        for n in 1..=d.replicas {
            out.push(Msg::Details(Box::new(details(d, n))));
        }
    }
    out
}
