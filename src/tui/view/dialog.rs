//! Modal dialogs: confirming a destructive action, and the quit menu.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

use crate::tui::command::Action;
use crate::tui::model::Model;
use crate::tui::view::centered;

pub fn confirm(model: &Model, action: &Action, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let mut lines = vec![Line::raw(format!("{}?", action.describe()))];
    let consequence = match action {
        Action::Stop(_) => "It gets SIGTERM, then SIGKILL after its grace period.",
        Action::Kill(_) => "It gets SIGKILL now: no clean shutdown.",
        Action::Recreate(_) => "Its containers are replaced from the compose file.",
        Action::Scale { .. } => "The highest-numbered container is stopped and removed.",
        _ => "",
    };
    if !consequence.is_empty() {
        lines.push(Line::styled(consequence, t.dim()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("y", t.key()),
        Span::raw(" yes   "),
        Span::styled("n", t.key()),
        Span::raw(" no"),
    ]));
    dialog(model, " Confirm ", lines, area, buf);
}

pub fn quit(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let row = |k: &'static str, what: &'static str| {
        Line::from(vec![
            Span::styled(format!("{k:<4}"), t.key()),
            Span::raw(what),
        ])
    };
    let lines = vec![
        Line::raw("Leave the dashboard and…"),
        Line::raw(""),
        row("s", "stop the project (as Ctrl-C)"),
        row("k", "kill the project"),
        row("d", "detach: leave it running"),
        row("Esc", "stay"),
    ];
    dialog(model, " Quit ", lines, area, buf);
}

/// The status line's history, newest last, as many as fit.
pub fn events(model: &Model, area: Rect, buf: &mut Buffer) {
    use crate::tui::model::Level;
    let t = &model.theme;
    let room = area.height.saturating_sub(4).max(1) as usize;
    let width = area.width.saturating_sub(8).clamp(20, 100) as usize;
    let mut lines: Vec<Line<'_>> = model
        .status
        .history
        .iter()
        .rev()
        .take(room)
        .rev()
        .map(|n| {
            let (icon, style) = match n.level {
                Level::Info => ("•", t.dim()),
                Level::Ok => ("✔", t.ok()),
                Level::Warn => ("!", t.warn()),
                Level::Error => ("✘", t.error()),
            };
            let time = crate::tui::format::clock(n.at, model.tz);
            let text = crate::tui::view::ellipsize(&n.text, width.saturating_sub(12));
            Line::from(vec![
                Span::styled(format!("{time} "), t.dim()),
                Span::styled(format!("{icon} "), style),
                Span::raw(text),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled("Nothing happened yet", t.dim()));
    }
    let w = (width as u16 + 4).min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    Clear.render(r, buf);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border(true))
        .title(Span::styled(" Events ", t.title(true)))
        .padding(ratatui::widgets::Padding::horizontal(1));
    Paragraph::new(lines).block(block).render(r, buf);
}

fn dialog(model: &Model, title: &'static str, lines: Vec<Line<'_>>, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let w = lines
        .iter()
        .map(|l| l.width())
        .max()
        .unwrap_or(0)
        .clamp(30, 60) as u16
        + 4;
    let h = lines.len() as u16 + 2;
    let r = centered(area, w, h);
    Clear.render(r, buf);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border(true))
        .title(Span::styled(title, t.title(true)));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(block.padding(ratatui::widgets::Padding::horizontal(1)))
        .render(r, buf);
}
