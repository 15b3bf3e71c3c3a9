//! Mouse: click to select a row, a column header (sort) or a tab; wheel to scroll the panel
//! under the pointer.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::tui::command::Command;
use crate::tui::model::{Focus, Model, Overlay};
use crate::tui::update::scroll;
use crate::tui::view::{details, layout, services};

const WHEEL_LINES: usize = 3;

pub fn on_mouse(model: &mut Model, ev: MouseEvent) -> Vec<Command> {
    if model.overlay != Overlay::None {
        // A click outside a dialog does not act behind it.
        return Vec::new();
    }
    let (w, h) = model.size;
    let a = layout::areas(model, Rect::new(0, 0, w, h));
    let pos = Position::new(ev.column, ev.row);
    let on = |r: Option<Rect>| r.is_some_and(|r| r.contains(pos));
    match ev.kind {
        MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
            let up = ev.kind == MouseEventKind::ScrollUp;
            if on(a.logs) {
                if up {
                    scroll::up(model, WHEEL_LINES)
                } else {
                    scroll::down(model, WHEEL_LINES)
                }
            } else if on(Some(a.table)) {
                model.containers.move_selection(if up { -1 } else { 1 });
            } else if on(a.details) {
                let s = &mut model.details.scroll;
                *s = if up {
                    s.saturating_sub(WHEEL_LINES)
                } else {
                    *s + WHEEL_LINES
                };
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if on(Some(a.table)) {
                model.focus = Focus::Services;
                click_table(model, a, pos);
            } else if on(a.logs) {
                model.focus = Focus::Logs;
            } else if let Some(d) = a.details.filter(|d| d.contains(pos)) {
                model.focus = Focus::Details;
                if let Some(tab) = details::tab_at(model, d, pos) {
                    model.details.tab = tab;
                    model.details.scroll = 0;
                }
            }
        }
        _ => {}
    }
    Vec::new()
}

fn click_table(model: &mut Model, a: layout::Areas, pos: Position) {
    let body = a.table_body();
    let header_row = body.y.saturating_sub(1);
    if pos.y == header_row {
        if let Some(col) = services::column_at(model, a.table, pos.x) {
            model.containers.sort_by(col);
        }
        return;
    }
    if body.contains(pos) {
        let offset = services::offset(model, body.height as usize);
        model
            .containers
            .select_index(offset + (pos.y - body.y) as usize);
    }
}
