//! The top line: project, counts by state, log rate, mouse mode, clock.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::tui::format;
use crate::tui::model::Model;
use crate::tui::msg::{ContainerState, HealthStatus};

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let mut running = 0;
    let mut stopped = 0;
    let mut failed = 0;
    let mut restarting = 0;
    let mut paused = 0;
    let mut created = 0;
    let mut unhealthy = 0;
    let mut drift = 0;
    let all = model.containers.sorted();
    for e in &all {
        match e.snap.state {
            ContainerState::Running => running += 1,
            ContainerState::Exited { code: 0 } => stopped += 1,
            ContainerState::Exited { .. } | ContainerState::Dead => failed += 1,
            ContainerState::Restarting => restarting += 1,
            ContainerState::Paused => paused += 1,
            ContainerState::Created => created += 1,
        }
        if e.snap.health.as_ref().map(|h| h.status) == Some(HealthStatus::Unhealthy) {
            unhealthy += 1;
        }
        if e.snap.drift.is_some() {
            drift += 1;
        }
    }
    let name = if model.project.name.is_empty() {
        "…"
    } else {
        &model.project.name
    };
    let mut left = vec![
        Span::styled(" rcompose ", t.key()),
        Span::styled(name.to_owned(), t.bold()),
        Span::raw("  "),
        Span::raw(format!("{running} running")),
    ];
    let mut chip = |n: usize, what: &str, style| {
        if n > 0 {
            left.push(Span::styled(" · ", t.dim()));
            left.push(Span::styled(format!("{n} {what}"), style));
        }
    };
    chip(restarting, "restarting", t.warn());
    chip(paused, "paused", t.state(ContainerState::Paused));
    chip(created, "created", t.dim());
    chip(failed, "failed", t.error());
    chip(stopped, "exited", t.dim());
    chip(unhealthy, "unhealthy", t.error());
    chip(drift, "changed", t.drift());

    let mut right = vec![Span::raw(" ")];
    if !model.mouse {
        right.push(Span::styled("mouse off ", t.warn()));
    }
    right.push(Span::styled(
        format!("{}/s ", format::rate(model.rate.per_sec)),
        t.dim(),
    ));
    right.push(Span::raw(format::clock(model.now, model.tz)));
    right.push(Span::raw(" "));

    let right = Line::from(right);
    let w = (right.width() as u16).min(area.width);
    let [l, r] = ratatui::layout::Layout::horizontal([
        ratatui::layout::Constraint::Fill(1),
        ratatui::layout::Constraint::Length(w),
    ])
    .areas(area);
    Line::from(left).render(l, buf);
    right.render(r, buf);
}
