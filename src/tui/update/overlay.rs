//! Keys while an overlay (help, confirmation, quit menu, prompt) is open.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::command::{Command, Exit};
use crate::tui::keys::Intent;
use crate::tui::model::{Model, Overlay, PromptKind};
use crate::tui::update::search::{self, Direction};
use crate::tui::update::{actions, scroll};

pub fn on_key(model: &mut Model, key: KeyEvent, intent: Option<Intent>) -> Vec<Command> {
    match std::mem::take(&mut model.overlay) {
        Overlay::None => Vec::new(),
        // Any key closes help and events (they fit what they show; nothing to scroll).
        Overlay::Help | Overlay::Events => {
            let _ = intent;
            Vec::new()
        }
        Overlay::Confirm(action) => match key.code {
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => actions::perform(model, action),
            KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => Vec::new(),
            _ => {
                model.overlay = Overlay::Confirm(action);
                Vec::new()
            }
        },
        Overlay::Quit => match key.code {
            KeyCode::Char('s') | KeyCode::Enter => actions::stop_project(model),
            KeyCode::Char('k' | 'K') => actions::kill_project(model),
            KeyCode::Char('d') => vec![Command::Exit(Exit::Detached)],
            KeyCode::Char('q' | 'n') | KeyCode::Esc => Vec::new(),
            _ => {
                model.overlay = Overlay::Quit;
                Vec::new()
            }
        },
        Overlay::Prompt(mut p) => {
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            match key.code {
                KeyCode::Esc => {
                    if p.kind == PromptKind::Search {
                        let prev = p.previous.unwrap_or_default();
                        let _ = search::apply(model, &prev);
                    }
                    return Vec::new();
                }
                KeyCode::Enter => return submit(model, p.kind, p.input),
                KeyCode::Backspace => {
                    p.input.pop();
                }
                KeyCode::Char('u') if ctrl => p.input.clear(),
                KeyCode::Char('w') if ctrl => {
                    let t = p.input.trim_end().len();
                    let cut = p.input[..t].rfind(' ').map_or(0, |i| i + 1);
                    p.input.truncate(cut);
                }
                KeyCode::Char(c) if !ctrl => p.input.push(c),
                _ => {}
            }
            if p.kind == PromptKind::Search {
                p.error = search::apply(model, &p.input).err();
            }
            model.overlay = Overlay::Prompt(p);
            Vec::new()
        }
    }
}

fn submit(model: &mut Model, kind: PromptKind, input: String) -> Vec<Command> {
    match kind {
        PromptKind::Search => {
            if let Err(e) = search::apply(model, &input) {
                model.status.set(
                    crate::tui::model::Level::Error,
                    format!("Invalid search /{input}/: {e}"),
                    model.now,
                );
                return Vec::new();
            }
            if model.view.search.is_some() {
                search::jump(model, Direction::Older);
            } else {
                scroll::follow(model);
            }
            Vec::new()
        }
        PromptKind::SavePath => {
            let input = input.trim();
            if input.is_empty() {
                return Vec::new();
            }
            let (contents, lines) = crate::tui::view::logs::export(model);
            vec![Command::SaveLogs {
                path: input.into(),
                contents,
                lines,
            }]
        }
    }
}
