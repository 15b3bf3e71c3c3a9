//! `rcompose dashboard --demo`: a fake project that feeds the dashboard synthetic
//! containers, stats, health probes and logs, and answers actions, so the whole UI can be
//! used (and driven from tmux in tests) without the engine.
//!
//! [`scenario`] is the deterministic start (also used by snapshot tests and the benchmark);
//! [`start`] continues it live from a thread and returns the [`DemoActions`].

mod data;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::tui::app::Feed;
use crate::tui::command::{Action, Actions, Target};
use crate::tui::msg::*;

pub use data::{PROJECT, Rng, scenario};
use data::{SERVICES, def, details, log_text, name, snapshot, stats};

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
