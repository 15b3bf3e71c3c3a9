//! Details of the selected container, in tabs: overview (with CPU and memory sparklines),
//! effective config, environment, mounts, networks, health probes, processes.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::tui::format;
use crate::tui::model::{Entry, Focus, Model, Tab};
use crate::tui::theme::Theme;
use crate::tui::view::{ellipsize, overview, panel, put, title};

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
        Tab::Overview => overview::render(model, e, body, buf),
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
