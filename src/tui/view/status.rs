//! The status line: an open prompt, else engine work in progress, else the last outcome.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::tui::model::status::describe;
use crate::tui::model::{Level, Model, Overlay, PromptKind};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    if let Overlay::Prompt(p) = &model.overlay {
        let (lead, hint) = match p.kind {
            PromptKind::Search => ("/", "  Enter: go · Esc: cancel"),
            PromptKind::SavePath => ("Save shown lines to: ", "  Enter: save · Esc: cancel"),
        };
        let mut spans = vec![
            Span::styled(lead, t.key()),
            Span::raw(p.input.clone()),
            Span::styled("█", t.dim()),
        ];
        match &p.error {
            Some(e) => spans.push(Span::styled(format!("  {e}"), t.error())),
            None => spans.push(Span::styled(hint, t.dim())),
        }
        Line::from(spans).render(area, buf);
        return;
    }
    let mut spans = Vec::new();
    if let Some(first) = model.status.working.first() {
        // Spinner frames follow the model's clock, so snapshots are stable.
        let frame = (model.now.timestamp_subsec_millis() / 100) as usize % SPINNER.len();
        spans.push(Span::styled(
            format!("{} ", SPINNER[frame]),
            t.progress(first.status),
        ));
        spans.push(Span::raw(describe(first)));
        let more = model.status.working.len() - 1;
        if more > 0 {
            spans.push(Span::styled(format!("  (+{more} more)"), t.dim()));
        }
        if model.status.note.is_some() {
            spans.push(Span::styled("  │ ", t.dim()));
        }
    }
    if let Some(n) = &model.status.note {
        let (icon, style) = match n.level {
            Level::Info => ("•", t.dim()),
            Level::Ok => ("✔", t.ok()),
            Level::Warn => ("!", t.warn()),
            Level::Error => ("✘", t.error()),
        };
        spans.push(Span::styled(format!("{icon} "), style));
        let text_style = if n.level == Level::Error {
            t.error()
        } else {
            ratatui::style::Style::new()
        };
        spans.push(Span::styled(n.text.clone(), text_style));
    }
    Line::from(spans).render(area, buf);
}
