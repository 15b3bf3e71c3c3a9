//! `rcompose dashboard --demo`: a fake project that feeds the dashboard synthetic
//! containers, stats, health probes and logs, and answers actions, so the whole UI can be
//! used (and driven from tmux in tests) without the engine.
//!
//! [`scenario`] is the deterministic start (also used by snapshot tests and the benchmark);
//! [`start`] continues it live from a thread and returns the [`DemoActions`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::tui::app::Feed;
use crate::tui::command::{Action, Actions, Target};
use crate::tui::msg::*;

pub const PROJECT: &str = "shop";

struct ServiceDef {
    name: &'static str,
    image: &'static str,
    replicas: u32,
    ports: &'static [(u16, u16)],
    health: bool,
    /// Log lines a second per container.
    rate: f64,
    cpu: f64,
    mem_mb: u64,
    limit_mb: Option<u64>,
}

const SERVICES: &[ServiceDef] = &[
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

fn def(service: &str) -> &'static ServiceDef {
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

fn name(service: &str, n: u32) -> String {
    format!("{PROJECT}-{service}-{n}")
}

fn snapshot(d: &ServiceDef, n: u32, now: DateTime<Utc>) -> ContainerSnapshot {
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

fn details(d: &ServiceDef, n: u32) -> Details {
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
fn log_text(service: &str, rng: &mut Rng, t: DateTime<Utc>) -> (Stream, String) {
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

fn stats(c: &ContainerSnapshot, cpu: f64, mem: u64, t: DateTime<Utc>, tick: u64) -> StatsSample {
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

type Scheduled = Box<dyn FnOnce(&mut World) + Send>;

struct Live {
    snap: ContainerSnapshot,
    cpu: f64,
    mem: u64,
    /// Fractional lines owed.
    owed: f64,
}

struct World {
    feed: Feed,
    /// Set once the dashboard is gone (a send failed): the thread stops.
    gone: std::sync::atomic::AtomicBool,
    rng: Rng,
    containers: Vec<Live>,
    pending: Vec<(Instant, Scheduled)>,
    watching: Option<String>,
    /// Lines a second for `worker` (the benchmark knob).
    worker_rate: f64,
    tick: u64,
}

impl World {
    fn send(&self, msg: Msg) {
        if !self.feed.send(msg) {
            self.gone.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    fn find(&mut self, name: &str) -> Option<&mut Live> {
        self.containers.iter_mut().find(|c| c.snap.name == name)
    }
    fn send_snap(&self, name: &str) {
        if let Some(c) = self.containers.iter().find(|c| c.snap.name == name) {
            self.send(Msg::Container(Box::new(c.snap.clone())));
        }
    }
    fn progress(&self, id: &str, status: ProgressStatus, text: &str) {
        self.send(Msg::Progress(Progress {
            id: format!("Container {id}"),
            status,
            text: text.into(),
            detail: None,
            percent: None,
        }));
    }
    fn later(&mut self, ms: u64, f: impl FnOnce(&mut World) + Send + 'static) {
        self.pending
            .push((Instant::now() + Duration::from_millis(ms), Box::new(f)));
    }
    fn set_state(&mut self, name: &str, state: ContainerState) {
        let now = Utc::now();
        if let Some(c) = self.find(name) {
            if state == ContainerState::Running && !c.snap.state.is_up() {
                c.snap.started_at = Some(now);
            }
            if !state.is_up() {
                c.snap.finished_at = Some(now);
            }
            c.snap.state = state;
        }
        self.send_snap(name);
    }
    fn say(&mut self, name: &str, text: &str) {
        if let Some(c) = self.containers.iter().find(|c| c.snap.name == name) {
            self.send(Msg::Logs(LogBatch {
                container: name.into(),
                service: c.snap.service.clone(),
                lines: vec![LogLine {
                    time: Utc::now(),
                    stream: Stream::Stdout,
                    text: text.into(),
                }],
            }));
        }
    }

    /// Advance by `dt`: due actions, log lines, and once a second stats and details.
    fn step(&mut self, dt: f64, second: bool) {
        let now = Instant::now();
        let due: Vec<Scheduled> = {
            let (due, rest): (Vec<_>, Vec<_>) =
                self.pending.drain(..).partition(|(t, _)| *t <= now);
            self.pending = rest;
            due.into_iter().map(|(_, f)| f).collect()
        };
        for f in due {
            f(self);
        }
        let t = Utc::now();
        for i in 0..self.containers.len() {
            let c = &mut self.containers[i];
            if c.snap.state != ContainerState::Running {
                continue;
            }
            let rate = if c.snap.service == "worker" {
                self.worker_rate
            } else {
                def(&c.snap.service).rate
            };
            c.owed += rate * dt;
            let n = c.owed as usize;
            if n == 0 {
                continue;
            }
            c.owed -= n as f64;
            let service = c.snap.service.clone();
            let container = c.snap.name.clone();
            let lines = (0..n)
                .map(|_| {
                    let (stream, text) = log_text(&service, &mut self.rng, t);
                    LogLine {
                        time: t,
                        stream,
                        text,
                    }
                })
                .collect();
            self.send(Msg::Logs(LogBatch {
                container,
                service,
                lines,
            }));
        }
        if second {
            self.tick += 1;
            for i in 0..self.containers.len() {
                let wobble = self.rng.unit();
                let c = &mut self.containers[i];
                if !c.snap.state.is_up() {
                    continue;
                }
                let d = def(&c.snap.service);
                let busy = if c.snap.service == "worker" {
                    (self.worker_rate / 50.0).max(1.0)
                } else {
                    1.0
                };
                c.cpu = (c.cpu * 0.7 + d.cpu * busy * (0.6 + 0.8 * wobble) * 0.3).max(0.0);
                c.mem = (((d.mem_mb as f64) * (0.95 + 0.1 * wobble)) as u64) << 20;
                if c.snap.state == ContainerState::Paused {
                    c.cpu = 0.0;
                }
                let s = stats(&c.snap, c.cpu, c.mem, t, self.tick);
                self.send(Msg::Stats(s));
            }
            if self.tick.is_multiple_of(5)
                && let Some(w) = self.watching.clone()
                && let Some(c) = self.containers.iter().find(|c| c.snap.name == w)
            {
                let d = details(def(&c.snap.service), c.snap.number);
                self.send(Msg::Details(Box::new(Details { container: w, ..d })));
            }
        }
    }
}

/// The demo's engine: applies actions to the fake world, with realistic delays.
pub struct DemoActions {
    world: Arc<Mutex<World>>,
    /// Panic on the first action, on the loop's thread (tests that the terminal is restored).
    pub panic_on_action: bool,
}

impl DemoActions {
    fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut w)
    }
}

impl Actions for DemoActions {
    fn perform(&mut self, action: Action) {
        if self.panic_on_action {
            panic!("demo: asked to panic on an action ({action:?})");
        }
        self.with(|w| match action {
            Action::Restart(t) => {
                w.progress(&t.container, ProgressStatus::Working, "Restarting");
                w.set_state(&t.container, ContainerState::Restarting);
                w.say(&t.container, "received SIGTERM, shutting down");
                w.later(900, move |w| {
                    w.set_state(&t.container, ContainerState::Running);
                    w.say(&t.container, "started");
                    w.progress(&t.container, ProgressStatus::Done, "Restarted");
                });
            }
            Action::Stop(t) => {
                w.progress(&t.container, ProgressStatus::Working, "Stopping");
                w.say(&t.container, "received SIGTERM, shutting down");
                w.later(700, move |w| {
                    w.set_state(&t.container, ContainerState::Exited { code: 0 });
                    w.progress(&t.container, ProgressStatus::Done, "Stopped");
                });
            }
            Action::Start(t) => {
                w.progress(&t.container, ProgressStatus::Working, "Starting");
                w.later(500, move |w| {
                    w.set_state(&t.container, ContainerState::Running);
                    w.say(&t.container, "started");
                    w.progress(&t.container, ProgressStatus::Done, "Started");
                });
            }
            Action::Kill(t) => {
                w.set_state(&t.container, ContainerState::Exited { code: 137 });
                w.progress(&t.container, ProgressStatus::Done, "Killed");
            }
            Action::Recreate(t) => {
                let names: Vec<String> = w
                    .containers
                    .iter()
                    .filter(|c| c.snap.service == t.service)
                    .map(|c| c.snap.name.clone())
                    .collect();
                for n in names {
                    w.progress(&n, ProgressStatus::Working, "Recreating");
                    w.later(1200, move |w| {
                        if let Some(c) = w.find(&n) {
                            c.snap.drift = None;
                            c.snap.restart_count = 0;
                            c.snap.state = ContainerState::Created;
                        }
                        w.set_state(&n, ContainerState::Running);
                        w.progress(&n, ProgressStatus::Done, "Recreated");
                    });
                }
            }
            Action::Pause(t) => {
                w.set_state(&t.container, ContainerState::Paused);
                w.progress(&t.container, ProgressStatus::Done, "Paused");
            }
            Action::Unpause(t) => {
                w.set_state(&t.container, ContainerState::Running);
                w.progress(&t.container, ProgressStatus::Done, "Unpaused");
            }
            Action::Scale { service, replicas } => {
                let mut have: Vec<u32> = w
                    .containers
                    .iter()
                    .filter(|c| c.snap.service == service)
                    .map(|c| c.snap.number)
                    .collect();
                have.sort_unstable();
                let d = def(&service);
                while (have.len() as u32) < replicas {
                    let n = have.last().copied().unwrap_or(0) + 1;
                    have.push(n);
                    let mut snap = snapshot(d, n, Utc::now());
                    snap.state = ContainerState::Created;
                    snap.started_at = None;
                    let nm = snap.name.clone();
                    w.send(Msg::Container(Box::new(snap.clone())));
                    w.containers.push(Live {
                        snap,
                        cpu: d.cpu,
                        mem: d.mem_mb << 20,
                        owed: 0.0,
                    });
                    w.progress(&nm, ProgressStatus::Working, "Starting");
                    w.later(600, move |w| {
                        w.set_state(&nm, ContainerState::Running);
                        w.progress(&nm, ProgressStatus::Done, "Started");
                    });
                }
                while (have.len() as u32) > replicas {
                    let n = have.pop().expect("non-empty");
                    let nm = name(&service, n);
                    w.progress(&nm, ProgressStatus::Working, "Stopping");
                    w.later(700, move |w| {
                        w.containers.retain(|c| c.snap.name != nm);
                        w.send(Msg::ContainerRemoved { name: nm.clone() });
                        w.progress(&nm, ProgressStatus::Done, "Removed");
                    });
                }
            }
            Action::StopProject | Action::KillProject => {
                let kill = action == Action::KillProject;
                let names: Vec<String> = w
                    .containers
                    .iter()
                    .filter(|c| c.snap.state.is_up())
                    .map(|c| c.snap.name.clone())
                    .collect();
                for (i, n) in names.iter().enumerate() {
                    let n = n.clone();
                    if !kill {
                        w.progress(&n, ProgressStatus::Working, "Stopping");
                    }
                    let delay = if kill { 50 } else { 400 + 150 * i as u64 };
                    w.later(delay, move |w| {
                        let code = if kill { 137 } else { 0 };
                        w.set_state(&n, ContainerState::Exited { code });
                        w.progress(
                            &n,
                            ProgressStatus::Done,
                            if kill { "Killed" } else { "Stopped" },
                        );
                    });
                }
                let total = if kill {
                    150
                } else {
                    500 + 150 * names.len() as u64
                };
                w.later(total, |w| {
                    w.send(Msg::ShutdownComplete);
                });
            }
        });
    }

    fn exec_command(&mut self, target: &Target) -> Result<std::process::Command, String> {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c").arg(format!(
            "echo 'demo: no container here; this shell on the host stands in for `{}`. Type exit to return.'; exec /bin/sh -i",
            target.container
        ));
        Ok(cmd)
    }

    fn watch_details(&mut self, container: Option<&str>) {
        self.with(|w| {
            w.watching = container.map(str::to_owned);
            if let Some(c) = w
                .containers
                .iter()
                .find(|c| Some(&*c.snap.name) == container)
            {
                let d = details(def(&c.snap.service), c.snap.number);
                w.send(Msg::Details(Box::new(Details {
                    container: c.snap.name.clone(),
                    ..d
                })));
            }
        });
    }
}

/// Send the scenario, then keep the world going on a thread until the dashboard exits.
/// `worker_rate` is the `worker` service's lines per second.
pub fn start(feed: Feed, seed: u64, worker_rate: f64) -> DemoActions {
    let now = Utc::now();
    for m in scenario(now, seed) {
        feed.send(m);
    }
    let containers = SERVICES
        .iter()
        .flat_map(|d| (1..=d.replicas).map(move |n| (d, n)))
        .map(|(d, n)| Live {
            snap: snapshot(d, n, now),
            cpu: d.cpu,
            mem: d.mem_mb << 20,
            owed: 0.0,
        })
        .collect();
    let world = Arc::new(Mutex::new(World {
        feed,
        gone: Default::default(),
        rng: Rng::new(seed ^ 0xdead_beef),
        containers,
        pending: Vec::new(),
        watching: None,
        worker_rate,
        tick: 0,
    }));
    let w = world.clone();
    std::thread::Builder::new()
        .name("demo-feed".into())
        .spawn(move || {
            // Batches every 10 ms, as a log tailer reading a busy file would send them.
            let step = Duration::from_millis(10);
            let mut last = Instant::now();
            let mut last_second = Instant::now();
            loop {
                std::thread::sleep(step);
                let now = Instant::now();
                let dt = (now - last).as_secs_f64();
                last = now;
                let second = now - last_second >= Duration::from_secs(1);
                if second {
                    last_second = now;
                }
                let mut world = w.lock().unwrap_or_else(|e| e.into_inner());
                world.step(dt, second);
                if world.gone.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
            }
        })
        .expect("spawn demo thread");
    DemoActions {
        world,
        panic_on_action: false,
    }
}
