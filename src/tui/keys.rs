//! The key map: one table that both `update` (key → intent) and the help overlay and footer
//! (intent → description) read, so what is shown is what works.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key means, independent of the panel (update interprets it per focus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    Help,
    Quit,
    Detach,
    Interrupt,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Details,
    Escape,
    Restart,
    StopStart,
    Kill,
    Recreate,
    Pause,
    ScaleUp,
    ScaleDown,
    Shell,
    Search,
    NextMatch,
    PrevMatch,
    Follow,
    Timestamps,
    Wrap,
    Hide,
    Solo,
    ShowAll,
    Save,
    /// `1`..`9`; the column comes from the digit.
    Sort,
    Mouse,
    Events,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    General,
    Navigate,
    Service,
    Logs,
}

impl Group {
    pub const ALL: [Group; 4] = [Group::General, Group::Navigate, Group::Service, Group::Logs];
    pub fn title(self) -> &'static str {
        match self {
            Group::General => "General",
            Group::Navigate => "Navigate",
            Group::Service => "Selected container",
            Group::Logs => "Logs",
        }
    }
}

pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub intent: Intent,
    /// How the keys are written in help and footer.
    pub label: &'static str,
    pub help: &'static str,
    /// The footer's short form.
    pub short: &'static str,
    pub group: Group,
}

const N: KeyModifiers = KeyModifiers::NONE;
const C: KeyModifiers = KeyModifiers::CONTROL;
const fn ch(c: char) -> (KeyCode, KeyModifiers) {
    (KeyCode::Char(c), N)
}

macro_rules! bind {
    ($intent:ident, $label:literal, $help:literal, $short:expr, $group:ident, [$($k:expr),+]) => {
        Binding {
            keys: &[$($k),+],
            intent: Intent::$intent,
            label: $label,
            help: $help,
            short: $short,
            group: Group::$group,
        }
    };
}

#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    bind!(Help, "?", "show or hide this help", "help", General, [ch('?')]),
    bind!(Quit, "q", "quit: stop, kill or detach", "quit", General, [ch('q')]),
    bind!(Detach, "d", "detach, leave it running", "detach", General, [ch('d')]),
    bind!(Interrupt, "^C", "stop project (twice: kill)", "stop all", General, [(KeyCode::Char('c'), C)]),
    bind!(Events, "E", "recent events and errors", "events", General, [ch('E')]),
    bind!(Mouse, "m", "mouse on/off (select text)", "mouse", General, [ch('m')]),
    bind!(Escape, "Esc", "close / clear / dismiss", "back", General, [(KeyCode::Esc, N)]),
    bind!(FocusNext, "Tab", "next panel", "panel", Navigate, [(KeyCode::Tab, N)]),
    bind!(FocusPrev, "S-Tab", "previous panel", "panel", Navigate,
        [(KeyCode::BackTab, N), (KeyCode::BackTab, KeyModifiers::SHIFT)]),
    bind!(Up, "↑ k", "select or scroll up", "up", Navigate, [(KeyCode::Up, N), ch('k')]),
    bind!(Down, "↓ j", "select or scroll down", "down", Navigate, [(KeyCode::Down, N), ch('j')]),
    bind!(Left, "← h", "previous tab, scroll left", "tab", Navigate, [(KeyCode::Left, N), ch('h')]),
    bind!(Right, "→ l", "next tab, scroll right", "tab", Navigate, [(KeyCode::Right, N), ch('l')]),
    bind!(PageUp, "PgUp", "page up", "page", Navigate, [(KeyCode::PageUp, N), (KeyCode::Char('b'), C)]),
    bind!(PageDown, "PgDn", "page down", "page", Navigate, [(KeyCode::PageDown, N), (KeyCode::Char('f'), C)]),
    bind!(Top, "g Home", "oldest line", "top", Navigate, [ch('g'), (KeyCode::Home, N)]),
    bind!(Bottom, "G End", "newest line, follow", "end", Navigate, [ch('G'), (KeyCode::End, N)]),
    bind!(Details, "Enter", "details on/off", "details", Navigate, [(KeyCode::Enter, N)]),
    bind!(Sort, "1-9", "sort by column (again: ⇅)", "sort", Navigate,
        [ch('1'), ch('2'), ch('3'), ch('4'), ch('5'), ch('6'), ch('7'), ch('8'), ch('9')]),
    bind!(Restart, "r", "restart", "restart", Service, [ch('r')]),
    bind!(StopStart, "s", "stop / start", "stop/start", Service, [ch('s')]),
    bind!(Kill, "K", "kill", "kill", Service, [ch('K')]),
    bind!(Recreate, "R", "recreate (apply compose file)", "recreate", Service, [ch('R')]),
    bind!(Pause, "p", "pause / unpause", "pause", Service, [ch('p')]),
    bind!(ScaleUp, "+", "scale service up by one", "scale+", Service, [ch('+'), ch('=')]),
    bind!(ScaleDown, "-", "scale service down by one", "scale-", Service, [ch('-')]),
    bind!(Shell, "e", "exec a shell inside", "shell", Service, [ch('e')]),
    bind!(Search, "/", "search regex (smart case)", "search", Logs, [ch('/')]),
    bind!(NextMatch, "n", "next (newer) match", "next", Logs, [ch('n')]),
    bind!(PrevMatch, "N", "previous (older) match", "prev", Logs, [ch('N')]),
    bind!(Follow, "f", "follow on/off", "follow", Logs, [ch('f')]),
    bind!(Timestamps, "t", "timestamps on/off", "time", Logs, [ch('t')]),
    bind!(Wrap, "w", "wrap lines on/off", "wrap", Logs, [ch('w')]),
    bind!(Hide, "x", "hide/show selected service", "hide", Logs, [ch('x')]),
    bind!(Solo, "o", "only selected service", "solo", Logs, [ch('o')]),
    bind!(ShowAll, "a", "show all services", "all", Logs, [ch('a')]),
    bind!(Save, "S", "save shown lines to a file", "save", Logs, [ch('S')]),
];

/// The intent of a key press, if any.
pub fn intent(key: &KeyEvent) -> Option<Intent> {
    // Shift is implied by the character itself ('K', '?', '+').
    let mods = match key.code {
        KeyCode::Char(_) => key.modifiers - KeyModifiers::SHIFT,
        _ => key.modifiers,
    };
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|&(c, m)| c == key.code && m == mods))
        .map(|b| b.intent)
}

/// The binding of an intent (for footer and help).
pub fn binding(intent: Intent) -> &'static Binding {
    BINDINGS
        .iter()
        .find(|b| b.intent == intent)
        .expect("every intent has a binding")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_maps_to_one_intent() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(seen.insert(*k), "{k:?} bound twice");
            }
        }
    }

    #[test]
    fn shifted_characters_match_without_the_shift_modifier() {
        let k = KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT);
        assert_eq!(intent(&k), Some(Intent::Kill));
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(intent(&c), Some(Intent::Interrupt));
    }
}
