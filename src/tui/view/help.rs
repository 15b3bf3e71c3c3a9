//! The `?` overlay: every binding, grouped, flowed into as many columns as fit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use crate::tui::keys::{BINDINGS, Group};
use crate::tui::model::Model;
use crate::tui::view::{centered, put};

const KEY_W: usize = 7;
const COL_W: usize = KEY_W + 30;

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    // Rows: a title per group, its bindings, a blank line between groups.
    let mut rows: Vec<Option<(&str, &str, bool)>> = Vec::new();
    for g in Group::ALL {
        if !rows.is_empty() {
            rows.push(None);
        }
        rows.push(Some((g.title(), "", true)));
        for b in BINDINGS.iter().filter(|b| b.group == g) {
            rows.push(Some((b.label, b.help, false)));
        }
    }
    let max_cols = ((area.width as usize).saturating_sub(4) / (COL_W + 1)).max(1);
    let avail_h = (area.height as usize).saturating_sub(2).max(1);
    let ncols = rows.len().div_ceil(avail_h).clamp(1, max_cols);
    let per_col = rows.len().div_ceil(ncols);
    let w = (ncols * (COL_W + 1) + 3).min(area.width as usize) as u16;
    let h = (per_col + 2).min(area.height as usize) as u16;
    let r = centered(area, w, h);
    Clear.render(r, buf);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border(true))
        .title(Span::styled(" Keys ", t.title(true)))
        .title_bottom(Span::styled(" any key closes ", t.dim()));
    let inner = block.inner(r);
    block.render(r, buf);
    for (i, row) in rows.iter().enumerate() {
        let col = i / per_col;
        let y = inner.y + (i % per_col) as u16;
        if y >= inner.bottom() || col >= ncols {
            continue;
        }
        let x = inner.x + 1 + (col * (COL_W + 1)) as u16;
        let room = inner.right().saturating_sub(x) as usize;
        match row {
            None => {}
            Some((title, _, true)) => {
                put(buf, x, y, title, room.min(COL_W), t.table_header());
            }
            Some((key, what, false)) => {
                put(buf, x, y, key, KEY_W.min(room), t.key());
                let x2 = x + KEY_W as u16;
                put(
                    buf,
                    x2,
                    y,
                    what,
                    room.saturating_sub(KEY_W).min(COL_W - KEY_W),
                    ratatui::style::Style::new(),
                );
            }
        }
    }
}
