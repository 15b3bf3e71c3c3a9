//! Dashboard cost under a 10,000 lines/s log feed (the benchmark load).
//!
//! At 30 frames a second such a feed brings ~333 lines per frame. The model is first filled
//! to its steady state (every ring at its limit, so each new line also evicts one), then:
//! - `ingest/10k_lines`: applying one second of the feed (100 batches of 100 lines);
//! - `frame/*`: one frame's work: its 333 lines, the clock tick, and a full render, at
//!   several sizes and with follow, search and scrollback;
//! - `search/retype`: re-flagging every held line when the search pattern changes.
//!
//! The whole-process figures (RSS, CPU, frame-time percentiles of the real binary) come from
//! `scripts/bench-tui`.

use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use rcompose::tui::demo::{self, Rng};
use rcompose::tui::model::{Limits, Model, Options};
use rcompose::tui::msg::{LogBatch, LogLine, Msg, Stream};
use rcompose::tui::theme::Theme;
use rcompose::tui::update::update;
use rcompose::tui::view;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

/// A feed of `worker` lines like a busy service prints (one in ten coloured).
struct Feed {
    rng: Rng,
    t: DateTime<Utc>,
}

impl Feed {
    fn batch(&mut self, n: usize) -> Msg {
        let lines = (0..n)
            .map(|i| {
                self.t += Duration::microseconds(100);
                let id = self.rng.below(1_000_000);
                let text = if i % 10 == 0 {
                    format!(
                        "\x1b[33mWARN\x1b[0m  job=resize-image id={id} took {}ms",
                        self.rng.below(3000)
                    )
                } else {
                    format!(
                        "INFO  job=send-email id={id} done in {}ms queue=default attempt=1",
                        self.rng.below(120)
                    )
                };
                LogLine {
                    time: self.t,
                    stream: Stream::Stdout,
                    text,
                }
            })
            .collect();
        Msg::Logs(LogBatch {
            container: "shop-worker-1".into(),
            service: "worker".into(),
            lines,
        })
    }
}

/// The demo project with every ring at its limit.
fn steady(w: u16, h: u16) -> (Model, Feed) {
    let mut m = Model::new(Options {
        now: t0(),
        tz: chrono::FixedOffset::east_opt(0).unwrap(),
        theme: Theme::default(),
        limits: Limits::default(),
        mouse: true,
        size: (w, h),
    });
    for msg in demo::scenario(t0(), 7) {
        update(&mut m, msg);
    }
    let mut feed = Feed {
        rng: Rng::new(9),
        t: t0(),
    };
    let limits = m.logs.limits;
    // Fill the busy ring, and give every other container a full ring of its own.
    for _ in 0..(limits.max_lines / 1000 + 2) {
        update(&mut m, feed.batch(1000));
    }
    let others: Vec<(String, String)> = m
        .logs
        .rings()
        .iter()
        .filter(|r| r.name != "shop-worker-1")
        .map(|r| (r.name.clone(), r.service.clone()))
        .collect();
    for (name, service) in others {
        for _ in 0..(limits.max_lines / 1000 + 1) {
            let Msg::Logs(mut b) = feed.batch(1000) else {
                unreachable!()
            };
            b.container = name.clone();
            b.service = service.clone();
            update(&mut m, Msg::Logs(b));
        }
    }
    (m, feed)
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn search(m: &mut Model, pattern: &str) {
    update(m, key('/'));
    for c in pattern.chars() {
        update(m, key(c));
    }
    update(
        m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
}

fn frame(m: &mut Model, feed: &mut Feed, buf: &mut Buffer) {
    for _ in 0..3 {
        update(m, feed.batch(111));
    }
    update(m, Msg::Tick(feed.t));
    buf.reset();
    view::render(m, buf.area, buf);
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(20);
    let (m, mut feed) = steady(120, 40);
    g.bench_function("10k_lines", |b| {
        b.iter_batched(
            || {
                (
                    m.clone(),
                    (0..100).map(|_| feed.batch(100)).collect::<Vec<_>>(),
                )
            },
            |(mut m, batches)| {
                for msg in batches {
                    update(&mut m, msg);
                }
                black_box(m)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("frame");
    for (name, w, h) in [
        ("80x24", 80u16, 24u16),
        ("120x40", 120, 40),
        ("250x70", 250, 70),
    ] {
        let (mut m, mut feed) = steady(w, h);
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        g.bench_function(format!("follow_{name}"), |b| {
            b.iter(|| frame(&mut m, &mut feed, &mut buf))
        });
    }
    let (mut m, mut feed) = steady(120, 40);
    search(&mut m, "warn|error");
    let mut buf = Buffer::empty(Rect::new(0, 0, 120, 40));
    g.bench_function("search_active_120x40", |b| {
        b.iter(|| frame(&mut m, &mut feed, &mut buf))
    });
    let (mut m, mut feed) = steady(120, 40);
    for _ in 0..200 {
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE)),
        );
    }
    update(&mut m, key('t'));
    let mut buf = Buffer::empty(Rect::new(0, 0, 120, 40));
    g.bench_function("scrolled_back_timestamps_120x40", |b| {
        b.iter(|| frame(&mut m, &mut feed, &mut buf))
    });
    let (mut m, mut feed) = steady(200, 60);
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let mut buf = Buffer::empty(Rect::new(0, 0, 200, 60));
    g.bench_function("details_beside_logs_200x60", |b| {
        b.iter(|| frame(&mut m, &mut feed, &mut buf))
    });
    g.finish();

    let mut g = c.benchmark_group("search");
    g.sample_size(20);
    let (mut m, _) = steady(120, 40);
    let held: usize = m.logs.rings().iter().map(|r| r.lines().len()).sum();
    g.throughput(Throughput::Elements(held as u64));
    let mut flip = false;
    g.bench_function("retype", |b| {
        b.iter(|| {
            flip = !flip;
            let p = if flip { "timeout" } else { "timeou" };
            rcompose::tui::update::search::apply(&mut m, p).unwrap();
        })
    });
    g.finish();
}

criterion_group!(tui, benches);
criterion_main!(tui);
