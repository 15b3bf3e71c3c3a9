//! The loop: one thread owns the model, takes messages from one channel (terminal input,
//! signals and every background feed send into it), applies them with `update`, carries
//! out the commands, and draws at a fixed frame rate.
//!
//! Bursts are coalesced: all messages that arrive between two frames are applied, then one
//! frame is drawn. Drawing is capped at [`LoopOptions::frame`] and happens at least every
//! [`LoopOptions::idle`] (clock, uptimes, spinners).

use std::collections::VecDeque;
use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::tui::command::{Actions, Command, Exit};
use crate::tui::model::Model;
use crate::tui::msg::Msg;
use crate::tui::update::update;
use crate::tui::view;

/// A handle to send messages to the dashboard. Cheap to clone; usable from any thread and
/// from async code (sending never blocks).
#[derive(Debug, Clone)]
pub struct Feed(Sender<Msg>);

impl Feed {
    /// Send a message; `false` once the dashboard has exited (stop producing then).
    pub fn send(&self, msg: Msg) -> bool {
        self.0.send(msg).is_ok()
    }
}

/// The dashboard's end of the channel.
#[derive(Debug)]
pub struct Inbox {
    rx: Receiver<Msg>,
    tx: Sender<Msg>,
}

impl Inbox {
    pub fn feed(&self) -> Feed {
        Feed(self.tx.clone())
    }
}

/// A new message channel: give the [`Feed`] (or clones) to producers, the [`Inbox`] to
/// [`run`].
pub fn channel() -> (Feed, Inbox) {
    let (tx, rx) = mpsc::channel();
    (Feed(tx.clone()), Inbox { rx, tx })
}

/// What the loop needs from the terminal beyond drawing. The real one is
/// [`crate::tui::terminal::CrosstermScreen`]; tests use a `TestBackend` with no-ops.
pub trait Screen {
    type Backend: Backend;
    fn terminal(&mut self) -> &mut Terminal<Self::Backend>;
    /// Give the terminal back to the user (cooked mode, main screen, no mouse, no input
    /// thread reading it) for an interactive command.
    fn suspend(&mut self) -> io::Result<()>;
    /// Take it again after [`Screen::suspend`].
    fn resume(&mut self) -> io::Result<()>;
    fn set_mouse_capture(&mut self, on: bool) -> io::Result<()>;
    /// While an interactive command runs, Ctrl-C belongs to it, not to the dashboard.
    fn set_child_running(&mut self, _running: bool) {}
}

#[derive(Debug, Clone)]
pub struct LoopOptions {
    /// Minimum time between frames (the frame budget): 30 per second.
    pub frame: Duration,
    /// Maximum time between frames when nothing happens.
    pub idle: Duration,
    pub clock: fn() -> DateTime<Utc>,
}

impl Default for LoopOptions {
    fn default() -> Self {
        Self {
            frame: Duration::from_millis(33),
            idle: Duration::from_millis(250),
            clock: Utc::now,
        }
    }
}

/// Frame timings: for each frame, the time spent applying the messages of that frame plus
/// drawing it.
#[derive(Debug, Clone, Default)]
pub struct FrameStats {
    pub frame_us: Vec<u32>,
    pub draw_us: Vec<u32>,
    pub messages: u64,
}

impl FrameStats {
    pub fn percentile(v: &[u32], p: f64) -> u32 {
        if v.is_empty() {
            return 0;
        }
        let mut s = v.to_vec();
        s.sort_unstable();
        let i = ((s.len() as f64 - 1.0) * p).round() as usize;
        s[i.min(s.len() - 1)]
    }
    /// A one-line JSON summary (for the benchmark script).
    pub fn summary_json(&self) -> String {
        let f = &self.frame_us;
        let d = &self.draw_us;
        format!(
            "{{\"frames\":{},\"messages\":{},\"frame_p50_us\":{},\"frame_p99_us\":{},\"frame_max_us\":{},\"draw_p50_us\":{},\"draw_p99_us\":{}}}",
            f.len(),
            self.messages,
            Self::percentile(f, 0.5),
            Self::percentile(f, 0.99),
            f.iter().max().copied().unwrap_or(0),
            Self::percentile(d, 0.5),
            Self::percentile(d, 0.99),
        )
    }
}

#[derive(Debug)]
pub struct Report {
    pub exit: Exit,
    pub stats: FrameStats,
}

/// Run the dashboard until it exits. The model is borrowed so callers (and tests) can look
/// at it afterwards.
pub fn run<S: Screen>(
    screen: &mut S,
    model: &mut Model,
    inbox: &Inbox,
    actions: &mut dyn Actions,
    opts: &LoopOptions,
) -> io::Result<Report> {
    let mut lp = Loop {
        stats: FrameStats::default(),
        busy: Duration::ZERO,
        queue: VecDeque::new(),
    };
    let size = screen.terminal().size().map_err(other)?;
    update(
        model,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    loop {
        let due = match last_draw {
            None => Instant::now(),
            Some(t) => t + if dirty { opts.frame } else { opts.idle },
        };
        let wait = due.saturating_duration_since(Instant::now());
        let msg = match lp.queue.pop_front() {
            Some(m) => Some(m),
            None => match inbox.rx.recv_timeout(wait) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => unreachable!("the inbox holds a sender"),
            },
        };
        if let Some(msg) = msg {
            dirty = true;
            if let Some(exit) = lp.apply(screen, model, inbox, actions, opts, msg)? {
                return Ok(Report {
                    exit,
                    stats: lp.stats,
                });
            }
            if Instant::now() < due {
                continue;
            }
        }
        // Frame time: the clock, then the draw.
        let t0 = Instant::now();
        update(model, Msg::Tick((opts.clock)()));
        screen
            .terminal()
            .draw(|f| view::render(model, f.area(), f.buffer_mut()))
            .map_err(other)?;
        let draw = t0.elapsed();
        lp.stats.draw_us.push(micros(draw));
        lp.stats.frame_us.push(micros(draw + lp.busy));
        lp.busy = Duration::ZERO;
        last_draw = Some(Instant::now());
        dirty = false;
    }
}

struct Loop {
    stats: FrameStats,
    /// Time spent applying messages since the last frame.
    busy: Duration,
    /// Messages the loop sends itself (effects' results), handled before the channel.
    queue: VecDeque<Msg>,
}

impl Loop {
    fn apply<S: Screen>(
        &mut self,
        screen: &mut S,
        model: &mut Model,
        inbox: &Inbox,
        actions: &mut dyn Actions,
        opts: &LoopOptions,
        msg: Msg,
    ) -> io::Result<Option<Exit>> {
        let t0 = Instant::now();
        self.stats.messages += 1;
        let cmds = update(model, msg);
        self.busy += t0.elapsed();
        for cmd in cmds {
            if let Some(exit) = self.perform(screen, model, inbox, actions, opts, cmd)? {
                return Ok(Some(exit));
            }
        }
        Ok(None)
    }

    fn perform<S: Screen>(
        &mut self,
        screen: &mut S,
        model: &mut Model,
        inbox: &Inbox,
        actions: &mut dyn Actions,
        opts: &LoopOptions,
        cmd: Command,
    ) -> io::Result<Option<Exit>> {
        match cmd {
            Command::Act(a) => actions.perform(a),
            Command::WatchDetails(c) => actions.watch_details(c.as_deref()),
            Command::SetMouseCapture(on) => screen.set_mouse_capture(on)?,
            Command::Exit(e) => return Ok(Some(e)),
            Command::SaveLogs {
                path,
                contents,
                lines,
            } => {
                let result = fs_err::write(&path, contents).map_err(|e| e.to_string());
                self.queue.push_back(Msg::LogsSaved {
                    path: path.display().to_string(),
                    lines,
                    result,
                });
            }
            Command::Exec(target) => {
                let result = match actions.exec_command(&target) {
                    Err(e) => Err(e),
                    Ok(cmd) => self.exec(screen, model, inbox, opts, cmd)?,
                };
                self.queue.push_back(Msg::ExecFinished {
                    container: target.container,
                    result,
                });
            }
        }
        Ok(None)
    }

    /// Run an interactive command with the dashboard suspended. Messages keep being applied
    /// meanwhile (so log buffers stay bounded and nothing is lost); their effects wait.
    fn exec<S: Screen>(
        &mut self,
        screen: &mut S,
        model: &mut Model,
        inbox: &Inbox,
        opts: &LoopOptions,
        mut cmd: std::process::Command,
    ) -> io::Result<Result<i32, String>> {
        screen.suspend()?;
        screen.set_child_running(true);
        let result = match cmd.spawn() {
            Err(e) => Err(format!(
                "cannot run `{}`: {e}",
                cmd.get_program().to_string_lossy()
            )),
            Ok(mut child) => loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Ok(status.code().unwrap_or(128)),
                    Ok(None) => {}
                    Err(e) => break Err(e.to_string()),
                }
                if let Ok(msg) = inbox.rx.recv_timeout(Duration::from_millis(20)) {
                    self.stats.messages += 1;
                    for c in update(model, msg) {
                        self.deferred(c);
                    }
                }
            },
        };
        screen.set_child_running(false);
        screen.resume()?;
        screen.terminal().clear().map_err(other)?;
        update(model, Msg::Tick((opts.clock)()));
        Ok(result)
    }

    /// An effect produced while an interactive command ran: exits and actions still count,
    /// replayed through the queue as the messages that caused them cannot be re-run.
    fn deferred(&mut self, cmd: Command) {
        // Only `ShutdownComplete` (→ Exit) and detail requests can arise from feed messages;
        // input is paused during exec. Keep the exit; the rest is re-derived next frame.
        if let Command::Exit(Exit::Shutdown) = cmd {
            self.queue.push_back(Msg::ShutdownComplete);
        }
    }
}

/// A backend's error as an `io::Error` (the crossterm backend's already is one).
fn other<E: std::error::Error>(e: E) -> io::Error {
    io::Error::other(e.to_string())
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}
