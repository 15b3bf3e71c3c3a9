//! Colours and emphasis, in one place, with a monochrome variant.
//!
//! Monochrome (`NO_COLOR`, `--no-color`, `--ansi never`) uses only bold, dim, underline and
//! reverse, so every state stays readable without colour (see <https://no-color.org>).

use ratatui::style::{Color, Modifier, Style};

use crate::tui::msg::{ContainerState, HealthStatus, ProgressStatus};

/// The per-container prefix colours, in Compose's order (`cmd/formatter/colors.go`:
/// cyan, yellow, green, magenta, blue, then the same five bold).
const RAINBOW: [Color; 5] = [
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Blue,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub colour: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Self { colour: true }
    }
}

impl Theme {
    pub fn monochrome() -> Self {
        Self { colour: false }
    }

    /// Colours unless `NO_COLOR` is set to a non-empty value or `no_color` is asked for.
    pub fn from_env(no_color: bool) -> Self {
        let env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            colour: !(no_color || env),
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.colour {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// The `web-1 |` prefix of the container with colour index `i`.
    pub fn container(&self, i: usize) -> Style {
        if !self.colour {
            return Style::new().add_modifier(Modifier::BOLD);
        }
        let s = Style::new().fg(RAINBOW[i % RAINBOW.len()]);
        if (i / RAINBOW.len()) % 2 == 1 {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        }
    }

    pub fn state(&self, state: ContainerState) -> Style {
        match state {
            ContainerState::Running => self.fg(Color::Green),
            ContainerState::Restarting => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ContainerState::Paused => self.fg(Color::Blue),
            ContainerState::Created => self.dim(),
            ContainerState::Exited { code: 0 } => self.dim(),
            ContainerState::Exited { .. } | ContainerState::Dead => self.error(),
        }
    }

    pub fn health(&self, health: HealthStatus) -> Style {
        match health {
            HealthStatus::Healthy => self.fg(Color::Green),
            HealthStatus::Starting => self.fg(Color::Yellow),
            HealthStatus::Unhealthy => self.error(),
        }
    }

    pub fn progress(&self, status: ProgressStatus) -> Style {
        match status {
            ProgressStatus::Working => self.fg(Color::Cyan),
            ProgressStatus::Done => self.ok(),
            ProgressStatus::Warning => self.warn(),
            ProgressStatus::Error => self.error(),
        }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        if self.colour {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    /// A key name in the footer and help.
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    /// The drift marker.
    pub fn drift(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.colour) {
            (true, true) => Style::new().fg(Color::Cyan),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, true) => Style::new().fg(Color::DarkGray),
            (false, false) => Style::new(),
        }
    }
    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.bold()
        }
    }
    pub fn table_header(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn selected_row(&self, focused: bool) -> Style {
        match (focused, self.colour) {
            (true, true) => Style::new().bg(Color::Blue).fg(Color::White),
            (false, true) => Style::new().bg(Color::DarkGray),
            (_, false) => Style::new().add_modifier(Modifier::REVERSED),
        }
    }
    /// A search match inside a log line.
    pub fn search_match(&self) -> Style {
        if self.colour {
            Style::new().bg(Color::Yellow).fg(Color::Black)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
    /// The match `n`/`N` moved to.
    pub fn current_match(&self) -> Style {
        if self.colour {
            Style::new()
                .bg(Color::LightRed)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD | Modifier::UNDERLINED)
        }
    }
    /// Lines on stderr get their text tinted (Compose does not distinguish; we hint).
    pub fn stderr(&self) -> Style {
        Style::new()
    }
    pub fn popup(&self) -> Style {
        Style::new()
    }
}
