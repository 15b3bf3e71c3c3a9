//! Lifecycle actions on the selected container, and Compose's quit contract.

use crate::tui::command::{Action, Command, Exit, Target};
use crate::tui::keys::Intent;
use crate::tui::model::{Level, Model, Overlay, Shutdown};
use crate::tui::msg::ContainerState;

/// Ctrl-C: as `docker compose up`, the first stops gracefully, the second kills; a third
/// gives up waiting for the engine and leaves.
pub fn interrupt(model: &mut Model) -> Vec<Command> {
    model.overlay = Overlay::None;
    match model.shutdown {
        Shutdown::Running => stop_project(model),
        Shutdown::Stopping => kill_project(model),
        Shutdown::Killing => vec![Command::Exit(Exit::Abandoned)],
    }
}

pub fn stop_project(model: &mut Model) -> Vec<Command> {
    model.shutdown = Shutdown::Stopping;
    model.status.set(
        Level::Warn,
        "Gracefully stopping... (press Ctrl+C again to force)",
        model.now,
    );
    vec![Command::Act(Action::StopProject)]
}

pub fn kill_project(model: &mut Model) -> Vec<Command> {
    model.shutdown = Shutdown::Killing;
    model.status.set(
        Level::Warn,
        "Killing... (press Ctrl+C again to leave without waiting)",
        model.now,
    );
    vec![Command::Act(Action::KillProject)]
}

/// The action a key asks for on the selected container, confirmed first if destructive.
pub fn on_service_key(model: &mut Model, intent: Intent) -> Vec<Command> {
    if model.shutdown != Shutdown::Running {
        model
            .status
            .set(Level::Warn, "The project is shutting down", model.now);
        return Vec::new();
    }
    let Some(entry) = model.containers.selected() else {
        model
            .status
            .set(Level::Info, "No container selected", model.now);
        return Vec::new();
    };
    let target = Target {
        service: entry.snap.service.clone(),
        container: entry.snap.name.clone(),
    };
    let state = entry.snap.state;
    let replicas = model.containers.replicas(&target.service);
    let name = target.container.clone();
    let action = match intent {
        Intent::Restart => Action::Restart(target),
        Intent::StopStart if state.is_up() => Action::Stop(target),
        Intent::StopStart if state.can_start() => Action::Start(target),
        Intent::Kill if state.is_up() => Action::Kill(target),
        Intent::Recreate => Action::Recreate(target),
        Intent::Pause if state == ContainerState::Paused => Action::Unpause(target),
        Intent::Pause if state == ContainerState::Running => Action::Pause(target),
        // Adding a replica interrupts nothing: no confirmation.
        Intent::ScaleUp => {
            let up = Action::Scale {
                service: target.service,
                replicas: replicas + 1,
            };
            return perform(model, up);
        }
        Intent::ScaleDown if replicas > 0 => Action::Scale {
            service: target.service,
            replicas: replicas - 1,
        },
        Intent::Shell if state == ContainerState::Running => return vec![Command::Exec(target)],
        _ => {
            let why = format!("`{name}` is {}", state.label());
            model.status.set(Level::Info, why, model.now);
            return Vec::new();
        }
    };
    request(model, action)
}

/// Ask first if the action is destructive, else do it.
pub fn request(model: &mut Model, action: Action) -> Vec<Command> {
    if action.is_destructive() {
        model.overlay = Overlay::Confirm(action);
        Vec::new()
    } else {
        perform(model, action)
    }
}

pub fn perform(model: &mut Model, action: Action) -> Vec<Command> {
    model.status.set(
        Level::Info,
        format!("{} requested", action.describe()),
        model.now,
    );
    vec![Command::Act(action)]
}
