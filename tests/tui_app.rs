//! The whole loop, driven through its channel with a `TestBackend` screen and the recording
//! `Actions` fake: messages in, actions and frames out.

mod support;

use std::io;
use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rcompose::tui::app::{self, Feed, LoopOptions, Report, Screen};
use rcompose::tui::command::{Action, Exit, RecordingActions, Target};
use rcompose::tui::model::Model;
use rcompose::tui::msg::Msg;
use support::tui::*;

struct TestScreen {
    term: Terminal<TestBackend>,
    suspended: u32,
    resumed: u32,
    mouse: Vec<bool>,
}

impl TestScreen {
    fn new(w: u16, h: u16) -> Self {
        Self {
            term: Terminal::new(TestBackend::new(w, h)).unwrap(),
            suspended: 0,
            resumed: 0,
            mouse: Vec::new(),
        }
    }
    fn text(&self) -> String {
        let buf = self.term.backend().buffer();
        let mut s = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }
}

impl Screen for TestScreen {
    type Backend = TestBackend;
    fn terminal(&mut self) -> &mut Terminal<TestBackend> {
        &mut self.term
    }
    fn suspend(&mut self) -> io::Result<()> {
        self.suspended += 1;
        Ok(())
    }
    fn resume(&mut self) -> io::Result<()> {
        self.resumed += 1;
        Ok(())
    }
    fn set_mouse_capture(&mut self, on: bool) -> io::Result<()> {
        self.mouse.push(on);
        Ok(())
    }
}

fn opts() -> LoopOptions {
    LoopOptions {
        frame: Duration::from_millis(10),
        idle: Duration::from_millis(50),
        clock: t0,
    }
}

/// Run the loop on `m` while `script` feeds it from another thread.
fn drive(
    m: &mut Model,
    screen: &mut TestScreen,
    actions: &mut RecordingActions,
    script: impl FnOnce(Feed) + Send + 'static,
) -> Report {
    let (feed, inbox) = app::channel();
    let t = std::thread::spawn(move || script(feed));
    let report = app::run(screen, m, &inbox, actions, &opts()).unwrap();
    t.join().unwrap();
    report
}

fn pause() {
    std::thread::sleep(Duration::from_millis(60));
}

#[test]
fn the_loop_applies_feed_and_keys_performs_actions_and_detaches() {
    let mut m = two_services(100, 30, 3);
    let mut screen = TestScreen::new(100, 30);
    let mut actions = RecordingActions::default();
    let report = drive(&mut m, &mut screen, &mut actions, |feed| {
        feed.send(logs("db", 1, &[(30, "hello from the feed")]));
        feed.send(key('r'));
        pause();
        feed.send(key('d'));
    });
    assert_eq!(report.exit, Exit::Detached);
    assert_eq!(
        actions.performed,
        [Action::Restart(Target {
            service: "web".into(),
            container: "app-web-1".into()
        })]
    );
    assert!(screen.text().contains("db-1  | hello from the feed"));
    assert!(!report.stats.frame_us.is_empty());
}

#[test]
fn bursts_are_coalesced_into_few_frames() {
    let mut m = two_services(100, 30, 3);
    let mut screen = TestScreen::new(100, 30);
    let mut actions = RecordingActions::default();
    let (feed, inbox) = app::channel();
    // Everything is queued before the loop starts: it must apply it all, drawing rarely.
    for b in 0..200 {
        let lines: Vec<(i64, String)> = (0..10)
            .map(|i| (b * 10 + i, format!("line {b}.{i}")))
            .collect();
        let refs: Vec<(i64, &str)> = lines.iter().map(|(s, t)| (*s, t.as_str())).collect();
        feed.send(logs("web", 1, &refs));
    }
    feed.send(key('d'));
    let report = app::run(&mut screen, &mut m, &inbox, &mut actions, &opts()).unwrap();
    assert_eq!(report.exit, Exit::Detached);
    assert_eq!(report.stats.messages, 201);
    assert!(
        report.stats.frame_us.len() < 20,
        "{} frames for 201 messages",
        report.stats.frame_us.len()
    );
    let ring = m.logs.ring(m.logs.ring_of("app-web-1").unwrap());
    assert_eq!(ring.received, 2003);
}

#[test]
fn exec_suspends_the_screen_runs_the_command_and_resumes() {
    let mut m = two_services(100, 30, 3);
    let mut screen = TestScreen::new(100, 30);
    let mut actions = RecordingActions::default();
    let report = drive(&mut m, &mut screen, &mut actions, |feed| {
        feed.send(key('e'));
        // Lines arriving while the command runs are kept.
        feed.send(logs("db", 1, &[(40, "during exec")]));
        std::thread::sleep(Duration::from_millis(300));
        feed.send(key('d'));
    });
    assert_eq!(report.exit, Exit::Detached);
    assert_eq!((screen.suspended, screen.resumed), (1, 1));
    assert_eq!(actions.execs.len(), 1);
    assert!(
        m.status
            .history
            .iter()
            .any(|n| n.text == "Shell in `app-web-1` exited")
    );
    assert!(screen.text().contains("during exec"));
}

#[test]
fn saving_logs_writes_the_file_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.log");
    let p = path.display().to_string();
    let mut m = two_services(100, 30, 2);
    let mut screen = TestScreen::new(100, 30);
    let mut actions = RecordingActions::default();
    drive(&mut m, &mut screen, &mut actions, move |feed| {
        feed.send(key('S'));
        feed.send(ctrl('u'));
        for msg in typed(&p) {
            feed.send(msg);
        }
        feed.send(code(KeyCode::Enter));
        pause();
        feed.send(key('d'));
    });
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        saved,
        "web-1 | web line 0\ndb-1  | db line 0\nweb-1 | web line 1\ndb-1  | db line 1\n"
    );
    assert!(screen.text().contains("✔ Saved 4 lines to"));
}

#[test]
fn a_failed_save_is_an_error_in_the_status_line_not_a_crash() {
    let mut m = two_services(100, 30, 2);
    let mut screen = TestScreen::new(100, 30);
    let mut actions = RecordingActions::default();
    drive(&mut m, &mut screen, &mut actions, |feed| {
        feed.send(key('S'));
        feed.send(ctrl('u'));
        for msg in typed("/nonexistent-dir/x.log") {
            feed.send(msg);
        }
        feed.send(code(KeyCode::Enter));
        pause();
        feed.send(key('d'));
    });
    assert!(
        screen
            .text()
            .contains("✘ Cannot save to `/nonexistent-dir/x.log`")
    );
}

#[test]
fn ctrl_c_stops_the_project_and_the_loop_ends_when_the_engine_is_done() {
    let mut m = two_services(100, 30, 2);
    let mut screen = TestScreen::new(100, 30);
    let mut actions = RecordingActions::default();
    let report = drive(&mut m, &mut screen, &mut actions, |feed| {
        feed.send(ctrl('c'));
        pause();
        feed.send(Msg::ShutdownComplete);
    });
    assert_eq!(report.exit, Exit::Shutdown);
    assert_eq!(actions.performed, [Action::StopProject]);
}

#[test]
fn mouse_capture_toggles_reach_the_terminal_and_details_reach_the_engine() {
    let mut m = two_services(100, 30, 2);
    let mut screen = TestScreen::new(100, 30);
    let mut actions = RecordingActions::default();
    drive(&mut m, &mut screen, &mut actions, |feed| {
        feed.send(key('m'));
        feed.send(code(KeyCode::Enter));
        feed.send(code(KeyCode::Enter));
        pause();
        feed.send(key('d'));
    });
    assert_eq!(screen.mouse, [false]);
    assert_eq!(actions.watched, [Some("app-web-1".into()), None]);
}
