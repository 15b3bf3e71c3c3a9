//! The real terminal: raw mode, alternate screen, mouse capture; an input thread and a
//! signal thread feeding the loop; and restoring the terminal on every exit path.
//!
//! Restoring happens in `Drop` (normal return, `?` errors, unwinding) and, for panics, in a
//! panic hook that runs *before* the message is printed, so the message lands on a sane
//! screen (as ratatui's `init`/`restore` and gitui do).

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::tui::app::{Feed, Screen};
use crate::tui::msg::Msg;

/// Whether the terminal is currently in dashboard mode (so restoring is done once).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Put the terminal back: cooked mode, main screen, no mouse, visible cursor. Idempotent.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let mut out = io::stdout();
        let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
        let _ = out.flush();
    }
}

fn enter(mouse: bool) -> io::Result<()> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, cursor::Hide)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// The dashboard's terminal.
pub struct CrosstermScreen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    input: Input,
    signals: Signals,
    mouse: bool,
}

impl CrosstermScreen {
    /// Take over the terminal and start feeding input and signals to `feed`.
    pub fn enter(feed: Feed, mouse: bool) -> io::Result<Self> {
        enter(mouse)?;
        let terminal = match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e);
            }
        };
        let signals = Signals::start(feed.clone())?;
        Ok(Self {
            terminal,
            input: Input::start(feed),
            signals,
            mouse,
        })
    }
}

impl Drop for CrosstermScreen {
    fn drop(&mut self) {
        self.input.stop();
        self.signals.stop();
        restore();
    }
}

impl Screen for CrosstermScreen {
    type Backend = CrosstermBackend<Stdout>;

    fn terminal(&mut self) -> &mut Terminal<Self::Backend> {
        &mut self.terminal
    }

    fn suspend(&mut self) -> io::Result<()> {
        self.input.pause();
        restore();
        Ok(())
    }

    fn resume(&mut self) -> io::Result<()> {
        enter(self.mouse)?;
        self.input.resume();
        Ok(())
    }

    fn set_mouse_capture(&mut self, on: bool) -> io::Result<()> {
        self.mouse = on;
        if on {
            execute!(io::stdout(), EnableMouseCapture)
        } else {
            execute!(io::stdout(), DisableMouseCapture)
        }
    }

    fn set_child_running(&mut self, running: bool) {
        self.signals.child_running.store(running, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputState {
    Run,
    /// Asked to pause; the thread answers by moving to `Paused`.
    Pause,
    Paused,
    /// Asked to stop; the thread answers by moving to `Stopped` as it exits.
    Stop,
    Stopped,
}

/// How long to wait for the input thread to answer a pause or stop (it polls every 50 ms).
const ANSWER_WITHIN: Duration = Duration::from_millis(500);

/// Reads terminal events on its own thread (crossterm's `poll`/`read` block) and sends them
/// as messages. It can be paused so an interactive child gets every keystroke (as gitui
/// does around its external editor).
///
/// The thread is never joined: once the terminal hangs up, crossterm's reader spins inside
/// `poll` on the dead tty and never returns, so stopping waits a bounded time for an answer
/// and then leaves the thread to end with the process.
struct Input {
    state: Arc<(Mutex<InputState>, Condvar)>,
}

impl Input {
    fn start(feed: Feed) -> Self {
        let state = Arc::new((Mutex::new(InputState::Run), Condvar::new()));
        let st = state.clone();
        std::thread::Builder::new()
            .name("tui-input".into())
            .spawn(move || {
                input_loop(&st, &feed);
                let (m, cv) = &*st;
                *m.lock().unwrap_or_else(|e| e.into_inner()) = InputState::Stopped;
                cv.notify_all();
            })
            .expect("spawn input thread");
        Self { state }
    }

    /// Ask for `to`, then wait (bounded) until the thread reaches `done` or has stopped.
    fn request(&self, to: InputState, done: InputState) {
        let (m, cv) = &*self.state;
        let mut s = m.lock().unwrap_or_else(|e| e.into_inner());
        if *s == InputState::Stopped {
            return;
        }
        *s = to;
        cv.notify_all();
        if to == done {
            return;
        }
        let _ = cv
            .wait_timeout_while(s, ANSWER_WITHIN, |s| {
                *s != done && *s != InputState::Stopped
            })
            .unwrap_or_else(|e| e.into_inner());
    }

    /// Returns once the thread no longer reads the terminal.
    fn pause(&self) {
        self.request(InputState::Pause, InputState::Paused);
    }

    fn resume(&self) {
        self.request(InputState::Run, InputState::Run);
    }

    fn stop(&mut self) {
        self.request(InputState::Stop, InputState::Stopped);
    }
}

fn input_loop(state: &(Mutex<InputState>, Condvar), feed: &Feed) {
    let (m, cv) = state;
    loop {
        {
            let mut s = m.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                match *s {
                    InputState::Run => break,
                    InputState::Stop | InputState::Stopped => return,
                    InputState::Pause => {
                        *s = InputState::Paused;
                        cv.notify_all();
                    }
                    InputState::Paused => s = cv.wait(s).unwrap_or_else(|e| e.into_inner()),
                }
            }
        }
        // Short polls so pause and stop are answered within 50 ms.
        match event::poll(Duration::from_millis(50)) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(_) => return,
        }
        let msg = match event::read() {
            Ok(Event::Key(k)) => Msg::Key(k),
            Ok(Event::Mouse(m)) => Msg::Mouse(m),
            Ok(Event::Resize(width, height)) => Msg::Resize { width, height },
            Ok(_) => continue,
            Err(_) => return,
        };
        if !feed.send(msg) {
            return;
        }
    }
}

/// SIGINT and SIGTERM (from `kill`; in raw mode the terminal sends Ctrl-C as a key) become
/// [`Msg::Interrupt`]; SIGHUP becomes [`Msg::Hangup`]. While an interactive child runs, the
/// terminal's Ctrl-C reaches our process group too: it is the child's, so it is ignored.
///
/// Installing handlers (not `SIG_IGN`) matters: an exec'd child gets default dispositions
/// back, so Ctrl-C still works in the shell.
struct Signals {
    handle: signal_hook::iterator::Handle,
    thread: Option<JoinHandle<()>>,
    child_running: Arc<AtomicBool>,
}

impl Signals {
    fn start(feed: Feed) -> io::Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let handle = signals.handle();
        let child_running = Arc::new(AtomicBool::new(false));
        let child = child_running.clone();
        let thread = std::thread::Builder::new()
            .name("tui-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    let msg = match sig {
                        SIGHUP => Msg::Hangup,
                        SIGINT if child.load(Ordering::SeqCst) => continue,
                        _ => Msg::Interrupt,
                    };
                    if !feed.send(msg) {
                        return;
                    }
                }
            })?;
        Ok(Self {
            handle,
            thread: Some(thread),
            child_running,
        })
    }

    fn stop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
