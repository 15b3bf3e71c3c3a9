//! The details panel's overview tab: the container's facts, with CPU and memory
//! sparklines beside them (or below, when narrow).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget, Wrap};

use crate::tui::format;
use crate::tui::model::{Entry, Model};
use crate::tui::view::put;

pub fn render(model: &Model, e: &Entry, area: Rect, buf: &mut Buffer) {
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
