//! Helpers for dashboard tests: a fixed clock, message builders, key presses, rendering
//! through ratatui's `TestBackend`.
#![allow(dead_code)]

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rcompose::tui::command::Command;
use rcompose::tui::model::{Limits, Model, Options};
use rcompose::tui::msg::*;
use rcompose::tui::theme::Theme;
use rcompose::tui::update::update;
use rcompose::tui::{demo, view};

/// The fixed "now" of every test: 2026-11-28 12:00:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

pub fn model(w: u16, h: u16) -> Model {
    Model::new(Options {
        now: t0(),
        tz: FixedOffset::east_opt(0).unwrap(),
        theme: Theme::default(),
        limits: Limits::default(),
        mouse: true,
        size: (w, h),
    })
}

/// The demo project at `t0`, as a model of the given size.
pub fn demo_model(w: u16, h: u16) -> Model {
    let mut m = model(w, h);
    apply(&mut m, demo::scenario(t0(), 42));
    m
}

pub fn apply(m: &mut Model, msgs: impl IntoIterator<Item = Msg>) -> Vec<Command> {
    msgs.into_iter().flat_map(|msg| update(m, msg)).collect()
}

pub fn send(m: &mut Model, msg: Msg) -> Vec<Command> {
    update(m, msg)
}

pub fn key(c: char) -> Msg {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Msg::Key(KeyEvent::new(KeyCode::Char(c), mods))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Type a string, one key per character.
pub fn typed(s: &str) -> Vec<Msg> {
    s.chars().map(key).collect()
}

pub fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Msg {
    Msg::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

pub fn click(column: u16, row: u16) -> Msg {
    mouse(MouseEventKind::Down(MouseButton::Left), column, row)
}

pub fn container(service: &str, n: u32, state: ContainerState) -> ContainerSnapshot {
    ContainerSnapshot {
        id: format!("{:064x}", n as u64 + service.len() as u64 * 1000),
        name: format!("app-{service}-{n}"),
        service: service.into(),
        number: n,
        state,
        health: None,
        started_at: Some(at(-300)),
        finished_at: None,
        restart_count: 0,
        image: format!("{service}:latest"),
        ports: vec![],
        drift: None,
    }
}

pub fn snap(c: ContainerSnapshot) -> Msg {
    Msg::Container(Box::new(c))
}

/// Lines of one container: (seconds after t0, text).
pub fn logs(service: &str, n: u32, lines: &[(i64, &str)]) -> Msg {
    Msg::Logs(LogBatch {
        container: format!("app-{service}-{n}"),
        service: service.into(),
        lines: lines
            .iter()
            .map(|(s, t)| LogLine {
                time: at(*s),
                stream: Stream::Stdout,
                text: (*t).into(),
            })
            .collect(),
    })
}

pub fn stats(name: &str, cpu: f64, mem_mb: u64) -> Msg {
    Msg::Stats(StatsSample {
        container: name.into(),
        time: t0(),
        cpu_percent: cpu,
        mem_usage: mem_mb << 20,
        mem_limit: Some(512 << 20),
        pids: 3,
        net_rx: 0,
        net_tx: 0,
        block_read: 0,
        block_write: 0,
    })
}

/// Two services, `web` (2 replicas) and `db`, with interleaved numbered lines:
/// web-1 at even seconds 0..2n, db-1 at odd seconds.
pub fn two_services(w: u16, h: u16, n: i64) -> Model {
    let mut m = model(w, h);
    apply(
        &mut m,
        [
            Msg::Project(ProjectInfo {
                name: "app".into(),
                services: vec!["web".into(), "db".into()],
            }),
            snap(container("web", 1, ContainerState::Running)),
            snap(container("web", 2, ContainerState::Running)),
            snap(container("db", 1, ContainerState::Running)),
        ],
    );
    let web: Vec<(i64, String)> = (0..n)
        .map(|i| (2 * i - 2 * n, format!("web line {i}")))
        .collect();
    let db: Vec<(i64, String)> = (0..n)
        .map(|i| (2 * i + 1 - 2 * n, format!("db line {i}")))
        .collect();
    let w: Vec<(i64, &str)> = web.iter().map(|(s, t)| (*s, t.as_str())).collect();
    let d: Vec<(i64, &str)> = db.iter().map(|(s, t)| (*s, t.as_str())).collect();
    apply(&mut m, [logs("web", 1, &w), logs("db", 1, &d)]);
    m
}

/// Render the whole dashboard at the model's size.
pub fn render(m: &Model) -> Terminal<TestBackend> {
    let (w, h) = m.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(m, f.area(), f.buffer_mut()))
        .unwrap();
    t
}

/// The screen as plain lines (trailing spaces trimmed).
pub fn screen(m: &Model) -> Vec<String> {
    let t = render(m);
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            let mut s = String::new();
            for x in 0..buf.area.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.trim_end().to_owned()
        })
        .collect()
}

/// The log rows on screen (text after the `label | ` prefix), top to bottom.
pub fn log_texts(m: &Model) -> Vec<String> {
    screen(m)
        .into_iter()
        .filter_map(|l| l.split_once(" | ").map(|(_, t)| t.to_owned()))
        .collect()
}
