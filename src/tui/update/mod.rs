//! `update`: the only function that changes the model. Pure: no I/O, no clock, no locks;
//! effects come back as [`Command`]s.

mod actions;
mod feed;
mod input;
mod mouse;
mod overlay;
pub mod scroll;
pub mod search;

use crate::tui::command::Command;
use crate::tui::model::Model;
use crate::tui::msg::Msg;

/// Apply one message.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Command> {
    let mut cmds = match msg {
        Msg::Key(key) => {
            // Key repeat and release events only arrive with the kitty protocol, which we
            // do not enable; ignore them anyway so a press is never handled twice.
            if key.kind != crossterm::event::KeyEventKind::Press {
                return Vec::new();
            }
            input::on_key(model, key)
        }
        Msg::Mouse(m) => mouse::on_mouse(model, m),
        Msg::Resize { width, height } => {
            model.size = (width, height);
            Vec::new()
        }
        Msg::Tick(now) => {
            model.now = now;
            model.status.tick(now);
            model.rate.roll(now);
            Vec::new()
        }
        Msg::Interrupt => actions::interrupt(model),
        Msg::Hangup => vec![crate::tui::command::Command::Exit(
            crate::tui::command::Exit::Detached,
        )],
        other => feed::on_feed(model, other),
    };
    cmds.extend(watch_details(model));
    cmds
}

/// Ask the engine for the details of the selected container while the panel is open.
fn watch_details(model: &mut Model) -> Option<Command> {
    let want = model
        .details
        .open
        .then(|| model.containers.selected.clone())
        .flatten();
    if want == model.watching {
        return None;
    }
    model.watching = want.clone();
    Some(Command::WatchDetails(want))
}
