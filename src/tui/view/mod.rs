//! `render`: draws the model. Pure: reads `&Model`, writes a buffer; no I/O, no clock.
//! One file per panel.

pub mod details;
pub mod dialog;
pub mod footer;
pub mod header;
pub mod help;
pub mod layout;
pub mod logs;
pub mod overview;
pub mod services;
pub mod status;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use crate::tui::model::{Model, Overlay};
use crate::tui::theme::Theme;

/// Draw the whole dashboard.
pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let a = layout::areas(model, area);
    header::render(model, a.header, buf);
    services::render(model, a.table, buf);
    if let Some(r) = a.logs {
        logs::render(model, r, buf);
    }
    if let Some(r) = a.details {
        details::render(model, r, buf, a.logs.is_some());
    }
    status::render(model, a.status, buf);
    footer::render(model, a.footer, buf);
    match &model.overlay {
        Overlay::Help => help::render(model, area, buf),
        Overlay::Events => dialog::events(model, area, buf),
        Overlay::Confirm(action) => dialog::confirm(model, action, area, buf),
        Overlay::Quit => dialog::quit(model, area, buf),
        Overlay::None | Overlay::Prompt(_) => {}
    }
}

/// A panel: a title rule on top (and a rule on the left when `left`), returns the inside.
pub fn panel(
    theme: &Theme,
    title: Vec<Span<'_>>,
    focused: bool,
    left: bool,
    area: Rect,
    buf: &mut Buffer,
) -> Rect {
    let borders = if left {
        Borders::TOP | Borders::LEFT
    } else {
        Borders::TOP
    };
    let mut spans = vec![Span::raw(" ")];
    spans.extend(title);
    spans.push(Span::raw(" "));
    let block = Block::new()
        .borders(borders)
        .border_style(theme.border(focused))
        .title(Line::from(spans));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// The title's name part, styled for focus.
pub fn title<'a>(
    theme: &Theme,
    text: impl Into<std::borrow::Cow<'a, str>>,
    focused: bool,
) -> Span<'a> {
    Span::styled(text, theme.title(focused))
}

/// Write `s` at (x, y), at most `w` cells; returns the cells used.
pub fn put(buf: &mut Buffer, x: u16, y: u16, s: &str, w: usize, style: Style) -> usize {
    if w == 0 {
        return 0;
    }
    let (end, _) = buf.set_stringn(x, y, s, w, style);
    (end - x) as usize
}

/// A rectangle of `w` x `h` centred in `area` (clamped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Cut `s` to `w` display cells, ending with `…` when cut.
pub fn ellipsize(s: &str, w: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    if s.width() <= w {
        return s.to_owned();
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw > w - 1 {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}
