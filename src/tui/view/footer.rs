//! The footer: the keys that matter in the current panel, as many as fit, `?` always last.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::tui::keys::{Intent, binding};
use crate::tui::model::{Focus, Model, Overlay};

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let items: Vec<(&str, &str)> = match &model.overlay {
        Overlay::Confirm(_) => vec![("y", "yes"), ("n", "no")],
        Overlay::Quit => vec![
            ("s", "stop"),
            ("k", "kill"),
            ("d", "detach"),
            ("Esc", "cancel"),
        ],
        Overlay::Help | Overlay::Events => vec![("any key", "close")],
        Overlay::Prompt(_) => vec![("Enter", "ok"), ("Esc", "cancel"), ("^U", "clear")],
        Overlay::None => {
            let arrows = match model.focus {
                Focus::Services => "select",
                Focus::Logs | Focus::Details => "scroll",
            };
            let mut v = vec![("↑↓", arrows)];
            v.extend(intents(model).into_iter().map(|i| {
                let b = binding(i);
                (b.label, b.short)
            }));
            v
        }
    };
    let help = ("?", "help");
    let mut spans = Vec::new();
    let mut used = 0;
    let width = area.width as usize;
    let help_w = 2 + help.0.chars().count() + help.1.chars().count();
    let fits = |used: usize, k: &str, v: &str, reserve: usize| {
        used + 1 + k.chars().count() + 1 + v.chars().count() + 1 + reserve <= width
    };
    for (k, v) in &items {
        if !fits(used, k, v, help_w) {
            break;
        }
        spans.push(Span::raw(" "));
        spans.push(Span::styled(k.to_string(), t.key()));
        spans.push(Span::styled(format!(" {v} "), t.dim()));
        used += k.chars().count() + v.chars().count() + 3;
    }
    if matches!(model.overlay, Overlay::None) && fits(used, help.0, help.1, 0) {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(help.0, t.key()));
        spans.push(Span::styled(format!(" {}", help.1), t.dim()));
    }
    Line::from(spans).render(area, buf);
}

fn intents(model: &Model) -> Vec<Intent> {
    use Intent::*;
    match model.focus {
        Focus::Services => vec![
            Details, Restart, StopStart, Shell, Search, Solo, FocusNext, Quit, Kill, Recreate,
            Pause, ScaleUp, ScaleDown, Sort, Events, Mouse,
        ],
        Focus::Logs => {
            let mut v = vec![Search];
            if model.view.search.is_some() {
                v.extend([NextMatch, PrevMatch]);
            }
            v.extend([
                Follow, Solo, Hide, ShowAll, Timestamps, Wrap, Save, FocusNext, Quit, Mouse,
            ]);
            v
        }
        Focus::Details => vec![Right, Details, FocusNext, Quit],
    }
}
