//! Messages from the engine and from the loop's own effects.

use crate::tui::command::{Command, Exit};
use crate::tui::model::{Level, Model};
use crate::tui::msg::Msg;

pub fn on_feed(model: &mut Model, msg: Msg) -> Vec<Command> {
    let now = model.now;
    match msg {
        Msg::Project(p) => model.project = p,
        Msg::Container(snap) => {
            model.logs.ensure_ring(&snap.name, &snap.service);
            model.containers.upsert(*snap);
        }
        Msg::ContainerRemoved { name } => model.containers.remove(&name),
        Msg::Stats(s) => model.containers.record_stats(s),
        Msg::Logs(batch) => {
            let n = model
                .logs
                .push(&batch.container, &batch.service, &batch.lines);
            model.rate.add(n, now);
        }
        Msg::Progress(p) => model.status.progress(p, now),
        Msg::Details(d) => model.containers.set_details(*d),
        Msg::ShutdownComplete => return vec![Command::Exit(Exit::Shutdown)],
        Msg::ExecFinished { container, result } => match result {
            Ok(0) => model
                .status
                .set(Level::Info, format!("Shell in `{container}` exited"), now),
            Ok(code) => model.status.set(
                Level::Warn,
                format!("Shell in `{container}` exited with code {code}"),
                now,
            ),
            Err(e) => model.status.set(
                Level::Error,
                format!("Cannot open a shell in `{container}`: {e}"),
                now,
            ),
        },
        Msg::LogsSaved {
            path,
            lines,
            result,
        } => match result {
            Ok(()) => model
                .status
                .set(Level::Ok, format!("Saved {lines} lines to `{path}`"), now),
            Err(e) => model
                .status
                .set(Level::Error, format!("Cannot save to `{path}`: {e}"), now),
        },
        Msg::Key(_)
        | Msg::Mouse(_)
        | Msg::Resize { .. }
        | Msg::Tick(_)
        | Msg::Interrupt
        | Msg::Hangup => {}
    }
    Vec::new()
}
