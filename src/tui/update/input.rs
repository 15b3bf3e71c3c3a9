//! Keys on the panels (no overlay open).

use crossterm::event::{KeyCode, KeyEvent};

use crate::tui::command::{Command, Exit};
use crate::tui::keys::{self, Intent};
use crate::tui::model::{Column, Focus, Level, Model, Overlay, Prompt, PromptKind, Shutdown};
use crate::tui::update::search::{self, Direction};
use crate::tui::update::{actions, overlay, scroll};
use crate::tui::view::layout;

pub fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Command> {
    let intent = keys::intent(&key);
    if intent == Some(Intent::Interrupt) {
        return actions::interrupt(model);
    }
    if model.overlay != Overlay::None {
        return overlay::on_key(model, key, intent);
    }
    let Some(intent) = intent else {
        return Vec::new();
    };
    match intent {
        Intent::Help => model.overlay = Overlay::Help,
        Intent::Events => model.overlay = Overlay::Events,
        Intent::Detach | Intent::Quit if model.shutdown != Shutdown::Running => {
            // Leaving now would abandon the stop half-way; Ctrl-C escalates instead.
            model.status.set(
                Level::Warn,
                "The project is stopping: press Ctrl+C to force it",
                model.now,
            );
        }
        Intent::Quit => model.overlay = Overlay::Quit,
        Intent::Detach => return vec![Command::Exit(Exit::Detached)],
        Intent::Interrupt => unreachable!("handled above"),
        Intent::Mouse => {
            model.mouse = !model.mouse;
            return vec![Command::SetMouseCapture(model.mouse)];
        }
        Intent::Escape => escape(model),
        Intent::FocusNext => cycle_focus(model, 1),
        Intent::FocusPrev => cycle_focus(model, -1),
        Intent::Up => vertical(model, -1),
        Intent::Down => vertical(model, 1),
        Intent::PageUp | Intent::PageDown => {
            let sign = if intent == Intent::PageUp { -1 } else { 1 };
            if model.focus == Focus::Details {
                let page = model.size.1.saturating_sub(8).max(1) as isize;
                details_scroll(model, sign * page);
            } else {
                let page = scroll::page(model);
                if sign < 0 {
                    scroll::up(model, page)
                } else {
                    scroll::down(model, page)
                }
            }
        }
        Intent::Top if model.focus == Focus::Details => model.details.scroll = 0,
        Intent::Bottom if model.focus == Focus::Details => model.details.scroll = usize::MAX / 2,
        Intent::Top => scroll::top(model),
        Intent::Bottom => scroll::follow(model),
        Intent::Left | Intent::Right => {
            let d = if intent == Intent::Left { -1 } else { 1 };
            horizontal(model, d);
        }
        Intent::Details => toggle_details(model),
        Intent::Sort => {
            if let KeyCode::Char(c) = key.code
                && let Some(d) = c.to_digit(10)
                && (1..=9).contains(&d)
            {
                model.containers.sort_by(Column::ALL[d as usize - 1]);
            }
        }
        Intent::Restart
        | Intent::StopStart
        | Intent::Kill
        | Intent::Recreate
        | Intent::Pause
        | Intent::ScaleUp
        | Intent::ScaleDown
        | Intent::Shell => return actions::on_service_key(model, intent),
        Intent::Search => {
            let previous = model.view.search.as_ref().map(|s| s.pattern.clone());
            model.overlay = Overlay::Prompt(Prompt {
                kind: PromptKind::Search,
                input: String::new(),
                error: None,
                previous,
            });
        }
        Intent::NextMatch => search::jump(model, Direction::Newer),
        Intent::PrevMatch => search::jump(model, Direction::Older),
        Intent::Follow => {
            if model.view.follow {
                scroll::freeze(model)
            } else {
                scroll::follow(model)
            }
        }
        Intent::Timestamps => model.view.timestamps = !model.view.timestamps,
        Intent::Wrap => {
            model.view.wrap = !model.view.wrap;
            model.view.hscroll = 0;
        }
        Intent::Hide => toggle_hidden(model),
        Intent::Solo => toggle_solo(model),
        Intent::ShowAll => {
            model.view.filter.hidden.clear();
            model.view.filter.solo = None;
        }
        Intent::Save => {
            let stamp = model.now.with_timezone(&model.tz).format("%Y%m%d-%H%M%S");
            let project = if model.project.name.is_empty() {
                "project"
            } else {
                &model.project.name
            };
            model.overlay = Overlay::Prompt(Prompt {
                kind: PromptKind::SavePath,
                input: format!("{project}-logs-{stamp}.log"),
                error: None,
                previous: None,
            });
        }
    }
    Vec::new()
}

/// `Esc` undoes the most recent kind of thing: a search, then the details, then a message.
fn escape(model: &mut Model) {
    if model.view.search.is_some() {
        search::clear(model);
    } else if model.details.open {
        toggle_details(model);
    } else if !model.status.dismiss() && !model.view.filter.is_all() {
        model.view.filter = Default::default();
    }
}

fn toggle_details(model: &mut Model) {
    model.details.open = !model.details.open;
    model.details.scroll = 0;
    if !model.details.open && model.focus == Focus::Details {
        model.focus = Focus::Services;
    }
}

/// The panels on screen, in tab order.
fn panels(model: &Model) -> Vec<Focus> {
    let (w, h) = model.size;
    let a = layout::areas(model, ratatui::layout::Rect::new(0, 0, w, h));
    let mut v = vec![Focus::Services];
    if a.logs.is_some() {
        v.push(Focus::Logs);
    }
    if a.details.is_some() {
        v.push(Focus::Details);
    }
    v
}

fn cycle_focus(model: &mut Model, d: isize) {
    let p = panels(model);
    let i = p.iter().position(|f| *f == model.focus).unwrap_or(0) as isize;
    model.focus = p[(i + d).rem_euclid(p.len() as isize) as usize];
}

fn vertical(model: &mut Model, d: isize) {
    match model.focus {
        Focus::Services => {
            model.containers.move_selection(d);
            model.details.scroll = 0;
        }
        Focus::Logs if d < 0 => scroll::up(model, 1),
        Focus::Logs => scroll::down(model, 1),
        Focus::Details => details_scroll(model, d),
    }
}

fn horizontal(model: &mut Model, d: isize) {
    if model.focus == Focus::Logs && !model.view.wrap {
        let step = 8isize * d;
        model.view.hscroll = (model.view.hscroll as isize + step).max(0) as usize;
    } else if model.details.open {
        model.details.tab = model.details.tab.cycle(d);
        model.details.scroll = 0;
    }
}

fn details_scroll(model: &mut Model, d: isize) {
    model.details.scroll = (model.details.scroll as isize + d).max(0) as usize;
}

fn selected_service(model: &Model) -> Option<String> {
    model.containers.selected().map(|e| e.snap.service.clone())
}

fn toggle_hidden(model: &mut Model) {
    let Some(svc) = selected_service(model) else {
        return;
    };
    let f = &mut model.view.filter;
    f.solo = None;
    if !f.hidden.remove(&svc) {
        f.hidden.insert(svc);
    }
}

fn toggle_solo(model: &mut Model) {
    let Some(svc) = selected_service(model) else {
        return;
    };
    let f = &mut model.view.filter;
    f.solo = if f.solo.as_deref() == Some(&*svc) {
        None
    } else {
        Some(svc)
    };
}
