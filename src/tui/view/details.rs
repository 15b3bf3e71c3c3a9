//! Details of the selected container, in tabs: overview (with CPU and memory sparklines),
//! effective config, environment, mounts, networks, health probes, processes.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget, Wrap};

use crate::tui::format;
use crate::tui::model::{Entry, Focus, Model, Tab};
use crate::tui::theme::Theme;
use crate::tui::view::{ellipsize, panel, put, title};

pub fn render(model: &Model, area: Rect, buf: &mut Buffer, beside_logs: bool) {
    let t = &model.theme;
    let focused = model.focus == Focus::Details;
    let entry = model.containers.selected();
    let mut ttl = vec![title(t, "Details", focused)];
    if let Some(e) = entry {
        ttl.push(Span::styled(" · ", t.dim()));
        ttl.push(Span::raw(e.snap.name.clone()));
    }
    let inner = panel(t, ttl, focused, beside_logs, area, buf);
    if inner.height < 2 {
        return;
    }
    tabs_line(model, inner).render(Rect { height: 1, ..inner }, buf);
    let body = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    let Some(e) = entry else {
        put(
            buf,
            body.x,
            body.y,
            "No container selected",
            body.width as usize,
            t.dim(),
        );
        return;
    };
    let scroll = model.details.scroll;
    match model.details.tab {
        Tab::Overview => overview(model, e, body, buf),
        Tab::Config => match &e.details {
            Some(d) => text(
                t,
                d.config_yaml.lines().map(Line::raw).collect(),
                scroll,
                body,
                buf,
            ),
            None => loading(t, body, buf),
        },
        Tab::Env => match &e.details {
            Some(d) => {
                let lines = d
                    .env
                    .iter()
                    .map(|(k, v)| {
                        Line::from(vec![
                            Span::styled(k.clone(), t.bold()),
                            Span::raw(format!("={v}")),
                        ])
                    })
                    .collect();
                text(t, lines, scroll, body, buf)
            }
            None => loading(t, body, buf),
        },
        Tab::Mounts => match &e.details {
            Some(d) => {
                let rows = d
                    .mounts
                    .iter()
                    .map(|m| {
                        let mode = if m.read_only { "ro" } else { "rw" };
                        vec![
                            m.kind.clone(),
                            m.source.clone(),
                            m.target.clone(),
                            mode.into(),
                        ]
                    })
                    .collect();
                table(
                    t,
                    &["TYPE", "SOURCE", "TARGET", "MODE"],
                    rows,
                    scroll,
                    body,
                    buf,
                )
            }
            None => loading(t, body, buf),
        },
        Tab::Networks => match &e.details {
            Some(d) => {
                let rows = d
                    .networks
                    .iter()
                    .map(|n| {
                        vec![
                            n.network.clone(),
                            n.ip.clone().unwrap_or_else(|| "-".into()),
                            n.aliases.join(","),
                        ]
                    })
                    .collect();
                table(t, &["NETWORK", "IP", "ALIASES"], rows, scroll, body, buf)
            }
            None => loading(t, body, buf),
        },
        Tab::Health => health(model, e, body, buf),
        Tab::Processes => match &e.details {
            Some(d) => {
                let titles: Vec<&str> = d.processes.titles.iter().map(String::as_str).collect();
                table(t, &titles, d.processes.rows.clone(), scroll, body, buf)
            }
            None => loading(t, body, buf),
        },
    }
}

fn tabs_line(model: &Model, inner: Rect) -> Line<'static> {
    let t = &model.theme;
    let mut spans = Vec::new();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("│", t.dim()));
        }
        let label = format!(" {} ", tab.title());
        let style = if *tab == model.details.tab {
            t.selected_row(model.focus == Focus::Details)
        } else {
            Style::new()
        };
        spans.push(Span::styled(label, style));
    }
    let _ = inner;
    Line::from(spans)
}

/// The tab under a click in the details panel.
pub fn tab_at(model: &Model, details: Rect, pos: Position) -> Option<Tab> {
    let inner = crate::tui::view::layout::body(details);
    // Beside the logs the panel has a left rule.
    let (w, h) = model.size;
    let beside = crate::tui::view::layout::areas(model, Rect::new(0, 0, w, h))
        .logs
        .is_some();
    let x0 = inner.x + u16::from(beside);
    if pos.y != inner.y {
        return None;
    }
    let mut x = x0;
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let w = tab.title().chars().count() as u16 + 2 + u16::from(i > 0);
        if pos.x >= x && pos.x < x + w {
            return Some(*tab);
        }
        x += w;
    }
    None
}

fn loading(t: &Theme, area: Rect, buf: &mut Buffer) {
    put(
        buf,
        area.x,
        area.y,
        "Loading…",
        area.width as usize,
        t.dim(),
    );
}

fn text(t: &Theme, lines: Vec<Line<'_>>, scroll: usize, area: Rect, buf: &mut Buffer) {
    if lines.is_empty() {
        put(buf, area.x, area.y, "(none)", area.width as usize, t.dim());
        return;
    }
    let max = lines.len().saturating_sub(area.height as usize);
    Paragraph::new(lines)
        .scroll((scroll.min(max) as u16, 0))
        .render(area, buf);
}

fn table(
    t: &Theme,
    titles: &[&str],
    rows: Vec<Vec<String>>,
    scroll: usize,
    area: Rect,
    buf: &mut Buffer,
) {
    if area.height == 0 {
        return;
    }
    // Widths: natural, the last column takes what is left.
    let n = titles.len();
    let mut widths: Vec<usize> = titles.iter().map(|s| s.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut x = area.x;
    let mut xs = Vec::new();
    for (i, w) in widths.iter().enumerate() {
        xs.push(x);
        let room = area.right().saturating_sub(x) as usize;
        let w = if i + 1 == n { room } else { (*w).min(room) };
        x = x.saturating_add(w as u16 + 2).min(area.right());
    }
    let cell_w = |i: usize| -> usize {
        let end = xs
            .get(i + 1)
            .map_or(area.right(), |nx| nx.saturating_sub(2));
        end.saturating_sub(xs[i]) as usize
    };
    for (i, title) in titles.iter().enumerate() {
        put(buf, xs[i], area.y, title, cell_w(i), t.table_header());
    }
    if rows.is_empty() {
        if area.height > 1 {
            put(
                buf,
                area.x,
                area.y + 1,
                "(none)",
                area.width as usize,
                t.dim(),
            );
        }
        return;
    }
    let body_h = area.height as usize - 1;
    let skip = scroll.min(rows.len().saturating_sub(body_h));
    for (j, r) in rows.iter().skip(skip).take(body_h).enumerate() {
        let y = area.y + 1 + j as u16;
        for (i, c) in r.iter().enumerate().take(n) {
            let w = cell_w(i);
            put(buf, xs[i], y, &ellipsize(c, w), w, Style::new());
        }
    }
}

fn overview(model: &Model, e: &Entry, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let s = &e.snap;
    let kv = |k: &'static str, v: Span<'static>| {
        Line::from(vec![Span::styled(format!("{k:<9}"), t.dim()), v])
    };
    let mut lines = vec![
        kv("Service", Span::raw(s.service.clone())),
        kv("Image", Span::raw(s.image.clone())),
        kv("State", Span::styled(s.state.label(), t.state(s.state))),
    ];
    if let Some(h) = &s.health {
        let mut v = h.status.label().to_owned();
        if h.failing_streak > 0 {
            v.push_str(&format!(" ({} failing)", h.failing_streak));
        }
        lines.push(kv("Health", Span::styled(v, t.health(h.status))));
    }
    let started = match (s.started_at, e.uptime(model.now)) {
        (Some(at), Some(up)) => format!(
            "{} (up {})",
            format::clock(at, model.tz),
            format::duration(up)
        ),
        (Some(at), None) => format::clock(at, model.tz),
        _ => "-".into(),
    };
    lines.push(kv("Started", Span::raw(started)));
    lines.push(kv("Restarts", Span::raw(s.restart_count.to_string())));
    if let Some(r) = model.logs.ring_of(&s.name).map(|i| model.logs.ring(i)) {
        // What the dashboard holds; the shim's log file has everything (`rcompose logs`).
        let mut v = format!(
            "{} lines held ({})",
            format::thousands(r.lines().len() as u64),
            format::bytes(r.bytes() as u64)
        );
        if r.evicted > 0 {
            v.push_str(&format!(", {} older dropped", format::thousands(r.evicted)));
        }
        lines.push(kv("Logs", Span::raw(v)));
    }
    let ports: Vec<String> = s.ports.iter().map(format::port_long).collect();
    lines.push(kv(
        "Ports",
        Span::raw(if ports.is_empty() {
            "-".into()
        } else {
            ports.join(", ")
        }),
    ));
    if let Some(st) = &e.stats {
        lines.push(kv("PIDs", Span::raw(st.pids.to_string())));
        lines.push(kv(
            "Net I/O",
            Span::raw(format!(
                "{} / {}",
                format::bytes(st.net_rx),
                format::bytes(st.net_tx)
            )),
        ));
        lines.push(kv(
            "Block IO",
            Span::raw(format!(
                "{} / {}",
                format::bytes(st.block_read),
                format::bytes(st.block_write)
            )),
        ));
    }
    lines.push(kv(
        "Id",
        Span::styled(s.id.chars().take(12).collect::<String>(), t.dim()),
    ));
    if let Some(d) = &s.drift {
        lines.push(Line::from(vec![
            Span::styled("Changed  ", t.drift()),
            Span::styled(format!("{d}: press R to recreate"), t.drift()),
        ]));
    }
    // Beside the facts when there is room, else below them if there is room.
    let (info, sparks) = if area.width >= 72 {
        let [i, s] = Layout::horizontal([Constraint::Length(44), Constraint::Fill(1)]).areas(area);
        (
            i,
            Some(Rect {
                x: s.x + 1,
                width: s.width.saturating_sub(1),
                ..s
            }),
        )
    } else if area.height as usize >= lines.len() + 6 {
        let [i, s] = Layout::vertical([Constraint::Fill(1), Constraint::Length(6)]).areas(area);
        (i, Some(s))
    } else {
        (area, None)
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(info, buf);
    if let Some(s) = sparks {
        sparklines(model, e, s, buf);
    }
}

fn sparklines(model: &Model, e: &Entry, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let half = (area.height / 2).max(2);
    let [cpu_a, mem_a] =
        Layout::vertical([Constraint::Length(half), Constraint::Length(half)]).areas(area);
    let width = area.width as usize;
    let take = |v: Vec<u64>| -> Vec<u64> { v[v.len().saturating_sub(width)..].to_vec() };
    let cpu: Vec<u64> = take(e.history.iter().map(|(c, _)| (c * 10.0) as u64).collect());
    let mem: Vec<u64> = take(e.history.iter().map(|(_, m)| *m).collect());
    let (cur_cpu, max_cpu) = (
        e.history.back().map_or(0.0, |h| h.0),
        e.history.iter().map(|h| h.0).fold(0.0, f64::max),
    );
    let mem_limit = e.stats.as_ref().and_then(|s| s.mem_limit);
    let cur_mem = e.history.back().map_or(0, |h| h.1);
    let cpu_title = format!("CPU {cur_cpu:.1}%  (max {max_cpu:.1}%)");
    let mem_title = match mem_limit {
        Some(l) => format!("Memory {} / {}", format::bytes(cur_mem), format::bytes(l)),
        None => format!("Memory {}", format::bytes(cur_mem)),
    };
    let spark = |title: String,
                 data: &[u64],
                 max: Option<u64>,
                 area: Rect,
                 buf: &mut Buffer,
                 style: Style| {
        put(buf, area.x, area.y, &title, area.width as usize, t.dim());
        let r = Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(1),
            ..area
        };
        let mut s = Sparkline::default().data(data).style(style);
        if let Some(m) = max {
            s = s.max(m);
        }
        s.render(r, buf);
    };
    let cpu_style = if t.colour {
        Style::new().fg(ratatui::style::Color::Cyan)
    } else {
        Style::new()
    };
    let mem_style = if t.colour {
        Style::new().fg(ratatui::style::Color::Magenta)
    } else {
        Style::new()
    };
    // Scaled to the data (the shape matters; the titles carry the numbers), with a floor
    // so an idle container does not look busy: 1% CPU; memory bars at most 80% high.
    let cpu_max = cpu.iter().copied().max().unwrap_or(0).max(10);
    let mem_max = (mem.iter().copied().max().unwrap_or(0) * 5 / 4).max(1);
    spark(cpu_title, &cpu, Some(cpu_max), cpu_a, buf, cpu_style);
    spark(mem_title, &mem, Some(mem_max), mem_a, buf, mem_style);
}

fn health(model: &Model, e: &Entry, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let Some(h) = &e.snap.health else {
        put(
            buf,
            area.x,
            area.y,
            "No healthcheck",
            area.width as usize,
            t.dim(),
        );
        return;
    };
    let head = Line::from(vec![
        Span::styled(h.status.label(), t.health(h.status)),
        Span::styled(format!("  failing streak {}", h.failing_streak), t.dim()),
    ]);
    head.render(Rect { height: 1, ..area }, buf);
    let rows = h
        .probes
        .iter()
        .rev()
        .map(|p| {
            let ms = (p.end - p.start).num_milliseconds();
            vec![
                format::clock(p.start, model.tz),
                format!("{ms}ms"),
                p.exit_code.to_string(),
                p.output.lines().next().unwrap_or("").to_owned(),
            ]
        })
        .collect();
    let rest = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    table(
        t,
        &["TIME", "TOOK", "EXIT", "OUTPUT"],
        rows,
        model.details.scroll,
        rest,
        buf,
    );
}
