//! The dashboard's update logic: every key, message and rule, without a terminal.

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};
use rcompose::tui::command::{Action, Command, Exit, Target};
use rcompose::tui::model::{Column, Focus, Overlay, Shutdown, Tab};
use rcompose::tui::msg::*;
use support::tui::*;

fn target(service: &str, n: u32) -> Target {
    Target {
        service: service.into(),
        container: format!("app-{service}-{n}"),
    }
}

// ── logs: follow and scrolling ──

#[test]
fn the_log_follows_new_lines_by_default() {
    let mut m = two_services(80, 24, 20);
    assert!(m.view.follow);
    assert_eq!(log_texts(&m).last().unwrap(), "db line 19");
    send(&mut m, logs("web", 1, &[(10, "fresh")]));
    assert_eq!(log_texts(&m).last().unwrap(), "fresh");
}

#[test]
fn lines_of_all_containers_are_merged_in_time_order() {
    let m = two_services(80, 24, 20);
    let shown = log_texts(&m);
    let tail: Vec<&str> = shown.iter().rev().take(4).map(String::as_str).collect();
    assert_eq!(
        tail,
        ["db line 19", "web line 19", "db line 18", "web line 18"]
    );
}

#[test]
fn scrolling_up_stops_following_and_new_lines_do_not_move_the_window() {
    let mut m = two_services(80, 24, 50);
    m.focus = Focus::Logs;
    send(&mut m, code(KeyCode::Up));
    assert!(!m.view.follow);
    assert_eq!(log_texts(&m).last().unwrap(), "web line 49");
    let before = log_texts(&m);
    send(&mut m, logs("web", 1, &[(100, "newer")]));
    assert_eq!(log_texts(&m), before, "window moved while scrolled back");
    let title = screen(&m).into_iter().find(|l| l.contains("Logs")).unwrap();
    assert!(
        title.contains("paused") && title.contains("↓2 newer"),
        "{title}"
    );
}

#[test]
fn scrolling_down_past_the_newest_line_resumes_following() {
    let mut m = two_services(80, 24, 50);
    m.focus = Focus::Logs;
    apply(&mut m, [code(KeyCode::Up), code(KeyCode::Up)]);
    assert!(!m.view.follow);
    apply(&mut m, [code(KeyCode::Down), code(KeyCode::Down)]);
    assert!(m.view.follow);
}

#[test]
fn scrolling_up_stops_at_the_oldest_line_with_a_full_window() {
    let mut m = two_services(80, 24, 50);
    m.focus = Focus::Logs;
    for _ in 0..20 {
        send(&mut m, code(KeyCode::PageUp));
    }
    let shown = log_texts(&m);
    assert_eq!(shown.first().unwrap(), "web line 0");
    let body_rows = shown.len();
    send(&mut m, code(KeyCode::Up));
    assert_eq!(log_texts(&m).len(), body_rows);
    assert_eq!(log_texts(&m).first().unwrap(), "web line 0");
}

#[test]
fn page_up_moves_by_a_window_less_one_line() {
    let mut m = two_services(80, 24, 50);
    let before = log_texts(&m);
    send(&mut m, code(KeyCode::PageUp));
    let after = log_texts(&m);
    // The old top line is now the bottom line.
    assert_eq!(after.last(), before.first());
}

#[test]
fn g_goes_to_the_oldest_line_and_capital_g_follows_again() {
    let mut m = two_services(80, 24, 50);
    send(&mut m, key('g'));
    assert_eq!(log_texts(&m).first().unwrap(), "web line 0");
    assert!(!m.view.follow);
    send(&mut m, key('G'));
    assert!(m.view.follow);
}

#[test]
fn f_toggles_follow_keeping_the_window() {
    let mut m = two_services(80, 24, 50);
    let before = log_texts(&m);
    send(&mut m, key('f'));
    assert!(!m.view.follow);
    send(&mut m, logs("db", 1, &[(50, "later")]));
    assert_eq!(log_texts(&m), before);
    send(&mut m, key('f'));
    assert_eq!(log_texts(&m).last().unwrap(), "later");
}

#[test]
fn short_logs_that_fit_keep_following_when_scrolled() {
    let mut m = two_services(80, 40, 3);
    m.focus = Focus::Logs;
    send(&mut m, code(KeyCode::Up));
    assert!(m.view.follow);
}

#[test]
fn wrapped_lines_take_several_rows_and_page_sizes_account_for_them() {
    let mut m = two_services(40, 24, 2);
    let long = "x".repeat(100);
    send(&mut m, logs("web", 1, &[(5, &long)]));
    let rows: Vec<String> = screen(&m).into_iter().filter(|l| l.contains('x')).collect();
    assert_eq!(rows.len(), 4, "{rows:#?}"); // 40 cols - 9 prefix = 31 per row
    assert!(rows[1].contains('┆'));
    send(&mut m, key('w'));
    let rows: Vec<String> = screen(&m).into_iter().filter(|l| l.contains('x')).collect();
    assert_eq!(rows.len(), 1);
}

#[test]
fn without_wrap_the_log_scrolls_sideways() {
    let mut m = two_services(80, 24, 2);
    send(&mut m, logs("web", 1, &[(5, "0123456789abcdefghij")]));
    m.focus = Focus::Logs;
    apply(&mut m, [key('w'), code(KeyCode::Right)]);
    assert_eq!(log_texts(&m).last().unwrap(), "89abcdefghij");
    send(&mut m, code(KeyCode::Left));
    assert_eq!(log_texts(&m).last().unwrap(), "0123456789abcdefghij");
}

#[test]
fn timestamps_toggle_adds_the_time_of_each_line() {
    let mut m = two_services(80, 24, 3);
    send(&mut m, key('t'));
    assert_eq!(log_texts(&m).last().unwrap(), "11:59:59.000 db line 2");
}

// ── logs: filters ──

#[test]
fn solo_shows_only_the_selected_service_and_again_shows_all() {
    let mut m = two_services(80, 24, 5);
    m.containers.selected = Some("app-db-1".into());
    send(&mut m, key('o'));
    assert!(log_texts(&m).iter().all(|l| l.starts_with("db")));
    send(&mut m, key('o'));
    assert!(log_texts(&m).iter().any(|l| l.starts_with("web")));
}

#[test]
fn hide_toggles_the_selected_service_and_a_shows_all() {
    let mut m = two_services(80, 24, 5);
    m.containers.selected = Some("app-web-1".into());
    send(&mut m, key('x'));
    assert!(log_texts(&m).iter().all(|l| l.starts_with("db")));
    assert!(screen(&m).iter().any(|l| l.contains("hiding web")));
    send(&mut m, key('a'));
    assert!(log_texts(&m).iter().any(|l| l.starts_with("web")));
}

#[test]
fn hiding_every_service_says_how_to_get_them_back() {
    let mut m = two_services(80, 24, 5);
    m.containers.selected = Some("app-web-1".into());
    send(&mut m, key('x'));
    m.containers.selected = Some("app-db-1".into());
    send(&mut m, key('x'));
    assert!(
        screen(&m)
            .iter()
            .any(|l| l.contains("press `a` to show all"))
    );
}

// ── logs: search ──

#[test]
fn search_jumps_to_the_newest_match_and_n_and_capital_n_move_with_wraparound() {
    let mut m = two_services(80, 24, 50);
    apply(&mut m, [key('/')]);
    apply(&mut m, typed("web line 1[05]"));
    send(&mut m, code(KeyCode::Enter));
    assert_eq!(m.overlay, Overlay::None);
    let search = m.view.search.clone().unwrap();
    let cur = |m: &rcompose::tui::Model| {
        let k = m.view.search.as_ref().unwrap().current.unwrap();
        let vis = m.visible();
        m.logs
            .forward(&vis, Some(k))
            .next()
            .unwrap()
            .1
            .text
            .to_string()
    };
    assert_eq!(search.pattern, "web line 1[05]");
    assert_eq!(cur(&m), "web line 15");
    assert!(!m.view.follow);
    assert!(log_texts(&m).contains(&"web line 15".to_owned()));
    send(&mut m, key('N'));
    assert_eq!(cur(&m), "web line 10");
    send(&mut m, key('N'));
    assert_eq!(cur(&m), "web line 15", "wraps around to the newest");
    assert!(m.status.note.as_ref().unwrap().text.contains("wrapped"));
    send(&mut m, key('n'));
    assert_eq!(cur(&m), "web line 10", "wraps around to the oldest");
    let title = screen(&m).into_iter().find(|l| l.contains("Logs")).unwrap();
    assert!(title.contains("/web line 1[05]/ 1 of 2"), "{title}");
}

#[test]
fn search_is_smart_case() {
    let mut m = two_services(80, 24, 5);
    send(
        &mut m,
        logs("web", 1, &[(10, "ERROR boom"), (11, "error small")]),
    );
    apply(&mut m, [key('/')]);
    apply(&mut m, typed("error"));
    let vis = m.visible();
    assert_eq!(m.logs.matches(&vis), 2);
    apply(&mut m, (0..5).map(|_| code(KeyCode::Backspace)));
    apply(&mut m, typed("ERROR"));
    assert_eq!(m.logs.matches(&vis), 1);
}

#[test]
fn matches_are_highlighted_in_the_shown_lines() {
    let mut m = two_services(80, 24, 5);
    apply(&mut m, [key('/')]);
    apply(&mut m, typed("line 4"));
    send(&mut m, code(KeyCode::Enter));
    let t = render(&m);
    let buf = t.backend().buffer();
    let theme = m.theme;
    let mut highlighted = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            if c.bg == theme.current_match().bg.unwrap() {
                highlighted.push_str(c.symbol());
            }
        }
    }
    // Both `web line 4` and `db line 4` match; the current one (newest) is `db line 4`.
    assert_eq!(highlighted, "line 4");
}

#[test]
fn an_invalid_regex_keeps_the_previous_search_and_says_why() {
    let mut m = two_services(80, 24, 5);
    apply(&mut m, [key('/')]);
    apply(&mut m, typed("line"));
    apply(&mut m, typed("(["));
    let Overlay::Prompt(p) = &m.overlay else {
        panic!("prompt closed")
    };
    assert!(p.error.is_some());
    assert_eq!(m.view.search.as_ref().unwrap().pattern, "line");
    send(&mut m, code(KeyCode::Enter));
    assert_eq!(
        m.status.note.as_ref().unwrap().level,
        rcompose::tui::model::Level::Error
    );
}

#[test]
fn esc_in_the_search_prompt_restores_the_previous_search() {
    let mut m = two_services(80, 24, 5);
    apply(&mut m, [key('/')]);
    apply(&mut m, typed("web"));
    send(&mut m, code(KeyCode::Enter));
    apply(&mut m, [key('/')]);
    apply(&mut m, typed("db"));
    assert_eq!(m.view.search.as_ref().unwrap().pattern, "db");
    send(&mut m, code(KeyCode::Esc));
    assert_eq!(m.view.search.as_ref().unwrap().pattern, "web");
    send(&mut m, code(KeyCode::Esc));
    assert!(m.view.search.is_none(), "Esc clears the search");
}

#[test]
fn searching_new_lines_as_they_arrive_counts_them() {
    let mut m = two_services(80, 24, 5);
    apply(&mut m, [key('/')]);
    apply(&mut m, typed("panic"));
    send(&mut m, code(KeyCode::Enter));
    let vis = m.visible();
    assert_eq!(m.logs.matches(&vis), 0);
    send(&mut m, logs("db", 1, &[(20, "panic: oh no")]));
    assert_eq!(m.logs.matches(&vis), 1);
    send(&mut m, key('N'));
    assert!(m.view.search.as_ref().unwrap().current.is_some());
}

// ── logs: memory ──

#[test]
fn log_memory_is_bounded_per_container_under_a_burst() {
    let mut m = two_services(120, 40, 5);
    let limits = m.logs.limits;
    let line = "x".repeat(120);
    for batch in 0..200 {
        let lines: Vec<(i64, &str)> = (0..500).map(|i| (batch * 500 + i, line.as_str())).collect();
        send(&mut m, logs("web", 2, &lines));
    }
    let ring = m.logs.ring(m.logs.ring_of("app-web-2").unwrap());
    assert_eq!(ring.received, 100_000);
    assert!(ring.lines().len() <= limits.max_lines);
    assert!(ring.bytes() <= limits.max_bytes);
    assert_eq!(ring.received - ring.evicted, ring.lines().len() as u64);
    // The quiet containers kept their lines.
    let db = m.logs.ring(m.logs.ring_of("app-db-1").unwrap());
    assert_eq!(db.lines().len(), 5);
}

#[test]
fn a_paused_window_stays_full_while_its_lines_are_evicted() {
    let mut m = rcompose::tui::Model::new(rcompose::tui::Options {
        now: t0(),
        tz: chrono::FixedOffset::east_opt(0).unwrap(),
        size: (80, 24),
        limits: rcompose::tui::model::Limits {
            max_lines: 40,
            max_bytes: usize::MAX,
        },
        ..Default::default()
    });
    let lines: Vec<(i64, String)> = (0..40).map(|i| (i, format!("old {i}"))).collect();
    let refs: Vec<(i64, &str)> = lines.iter().map(|(s, t)| (*s, t.as_str())).collect();
    send(&mut m, logs("web", 1, &refs));
    let full = log_texts(&m).len();
    m.focus = Focus::Logs;
    apply(&mut m, (0..5).map(|_| code(KeyCode::Up)));
    let lines: Vec<(i64, String)> = (40..75).map(|i| (i, format!("new {i}"))).collect();
    let refs: Vec<(i64, &str)> = lines.iter().map(|(s, t)| (*s, t.as_str())).collect();
    send(&mut m, logs("web", 1, &refs));
    let shown = log_texts(&m);
    assert_eq!(shown.len(), full, "{shown:#?}");
    assert_eq!(shown[0], "old 35", "the oldest line still held comes first");
    apply(&mut m, (0..40).map(|_| code(KeyCode::Down)));
    assert!(m.view.follow);
    assert_eq!(log_texts(&m).last().unwrap(), "new 74");
}

#[test]
fn saving_writes_the_shown_stream_with_compose_prefixes() {
    let mut m = two_services(80, 24, 3);
    m.containers.selected = Some("app-db-1".into());
    send(&mut m, key('o'));
    send(&mut m, key('S'));
    let Overlay::Prompt(p) = &m.overlay else {
        panic!("no prompt")
    };
    assert_eq!(p.input, "app-logs-20261128-120000.log");
    apply(&mut m, [ctrl('u')]);
    apply(&mut m, typed("/tmp/x.log"));
    let cmds = send(&mut m, code(KeyCode::Enter));
    assert_eq!(
        cmds,
        [Command::SaveLogs {
            path: "/tmp/x.log".into(),
            contents: "db-1 | db line 0\ndb-1 | db line 1\ndb-1 | db line 2\n".into(),
            lines: 3,
        }]
    );
}

// ── services table ──

#[test]
fn sorting_by_cpu_puts_the_busiest_first_and_again_reverses() {
    let mut m = two_services(120, 30, 1);
    apply(
        &mut m,
        [
            stats("app-web-1", 5.0, 10),
            stats("app-web-2", 50.0, 10),
            stats("app-db-1", 20.0, 10),
        ],
    );
    send(&mut m, key('6'));
    assert_eq!(m.containers.sort.column, Column::Cpu);
    assert_eq!(
        m.containers.sorted_names(),
        ["app-web-2", "app-db-1", "app-web-1"]
    );
    send(&mut m, key('6'));
    assert_eq!(
        m.containers.sorted_names(),
        ["app-web-1", "app-db-1", "app-web-2"]
    );
}

#[test]
fn the_selection_follows_the_container_through_a_resort() {
    let mut m = two_services(120, 30, 1);
    m.containers.selected = Some("app-web-2".into());
    apply(&mut m, [stats("app-web-2", 90.0, 1), key('6')]);
    assert_eq!(m.containers.selected.as_deref(), Some("app-web-2"));
    assert_eq!(m.containers.selected_index(), Some(0));
}

#[test]
fn arrows_move_the_selection_within_bounds() {
    let mut m = two_services(120, 30, 1);
    assert_eq!(m.containers.selected.as_deref(), Some("app-web-1"));
    apply(&mut m, [key('k'), key('k')]);
    assert_eq!(m.containers.selected.as_deref(), Some("app-db-1"));
    apply(&mut m, [key('j'), key('j'), key('j'), key('j')]);
    assert_eq!(m.containers.selected.as_deref(), Some("app-web-2"));
}

#[test]
fn a_removed_container_hands_the_selection_to_its_neighbour() {
    let mut m = two_services(120, 30, 1);
    m.containers.selected = Some("app-web-1".into());
    send(
        &mut m,
        Msg::ContainerRemoved {
            name: "app-web-1".into(),
        },
    );
    assert_eq!(m.containers.selected.as_deref(), Some("app-web-2"));
    assert_eq!(m.containers.len(), 2);
}

#[test]
fn snapshots_replace_the_previous_state_of_a_container() {
    let mut m = two_services(120, 30, 1);
    let mut c = container("db", 1, ContainerState::Exited { code: 3 });
    c.restart_count = 4;
    send(&mut m, snap(c));
    let e = m.containers.get("app-db-1").unwrap();
    assert_eq!(e.snap.state, ContainerState::Exited { code: 3 });
    assert_eq!(m.containers.len(), 3);
}

// ── actions ──

#[test]
fn restart_acts_at_once() {
    let mut m = two_services(120, 30, 1);
    let cmds = send(&mut m, key('r'));
    assert_eq!(cmds, [Command::Act(Action::Restart(target("web", 1)))]);
}

#[test]
fn destructive_actions_ask_first_and_y_confirms() {
    let mut m = two_services(120, 30, 1);
    for (k, action) in [
        ('s', Action::Stop(target("web", 1))),
        ('K', Action::Kill(target("web", 1))),
        ('R', Action::Recreate(target("web", 1))),
        (
            '-',
            Action::Scale {
                service: "web".into(),
                replicas: 1,
            },
        ),
    ] {
        assert!(send(&mut m, key(k)).is_empty(), "{k} acted without asking");
        assert_eq!(m.overlay, Overlay::Confirm(action.clone()));
        assert_eq!(send(&mut m, key('y')), [Command::Act(action)]);
        assert_eq!(m.overlay, Overlay::None);
    }
}

#[test]
fn n_or_esc_cancels_a_confirmation() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, key('K'));
    assert!(send(&mut m, key('n')).is_empty());
    assert_eq!(m.overlay, Overlay::None);
    send(&mut m, key('K'));
    assert!(send(&mut m, code(KeyCode::Esc)).is_empty());
    assert_eq!(m.overlay, Overlay::None);
    send(&mut m, key('K'));
    assert!(send(&mut m, key('z')).is_empty(), "other keys do nothing");
    assert!(matches!(m.overlay, Overlay::Confirm(_)));
}

#[test]
fn s_starts_a_stopped_container_and_p_pauses_or_unpauses() {
    let mut m = two_services(120, 30, 1);
    send(
        &mut m,
        snap(container("web", 1, ContainerState::Exited { code: 0 })),
    );
    assert_eq!(
        send(&mut m, key('s')),
        [Command::Act(Action::Start(target("web", 1)))]
    );
    send(&mut m, snap(container("web", 1, ContainerState::Running)));
    assert_eq!(
        send(&mut m, key('p')),
        [Command::Act(Action::Pause(target("web", 1)))]
    );
    send(&mut m, snap(container("web", 1, ContainerState::Paused)));
    assert_eq!(
        send(&mut m, key('p')),
        [Command::Act(Action::Unpause(target("web", 1)))]
    );
}

#[test]
fn scale_up_adds_one_replica_without_asking() {
    let mut m = two_services(120, 30, 1);
    assert_eq!(
        send(&mut m, key('+')),
        [Command::Act(Action::Scale {
            service: "web".into(),
            replicas: 3
        })]
    );
}

#[test]
fn a_shell_opens_only_in_a_running_container() {
    let mut m = two_services(120, 30, 1);
    assert_eq!(send(&mut m, key('e')), [Command::Exec(target("web", 1))]);
    send(
        &mut m,
        snap(container("web", 1, ContainerState::Exited { code: 1 })),
    );
    assert!(send(&mut m, key('e')).is_empty());
    assert!(
        m.status
            .note
            .as_ref()
            .unwrap()
            .text
            .contains("is exited (1)")
    );
}

#[test]
fn kill_is_refused_for_a_container_that_is_not_running() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, snap(container("web", 1, ContainerState::Created)));
    assert!(send(&mut m, key('K')).is_empty());
    assert_eq!(m.overlay, Overlay::None);
}

#[test]
fn actions_report_their_outcome_in_the_status_line_and_successes_fade() {
    let mut m = two_services(120, 30, 1);
    send(
        &mut m,
        Msg::Progress(Progress {
            id: "Container app-web-1".into(),
            status: ProgressStatus::Working,
            text: "Restarting".into(),
            detail: None,
            percent: None,
        }),
    );
    assert!(screen(&m)[28].contains("Container app-web-1 Restarting"));
    send(
        &mut m,
        Msg::Progress(Progress {
            id: "Container app-web-1".into(),
            status: ProgressStatus::Done,
            text: "Restarted".into(),
            detail: None,
            percent: None,
        }),
    );
    assert!(screen(&m)[28].contains("✔ Container app-web-1 Restarted"));
    send(&mut m, Msg::Tick(at(10)));
    assert!(!screen(&m)[28].contains("Restarted"));
}

#[test]
fn errors_stay_in_the_status_line_until_dismissed() {
    let mut m = two_services(120, 30, 1);
    send(
        &mut m,
        Msg::Progress(Progress {
            id: "Container app-web-1".into(),
            status: ProgressStatus::Error,
            text: "Error".into(),
            detail: Some("exec format error".into()),
            percent: None,
        }),
    );
    send(&mut m, Msg::Tick(at(600)));
    assert!(screen(&m)[28].contains("✘ Container app-web-1 Error: exec format error"));
    send(&mut m, code(KeyCode::Esc));
    assert!(m.status.note.is_none());
}

// ── Compose's quit contract ──

#[test]
fn ctrl_c_stops_gracefully_then_kills_then_leaves() {
    let mut m = two_services(120, 30, 1);
    assert_eq!(send(&mut m, ctrl('c')), [Command::Act(Action::StopProject)]);
    assert_eq!(m.shutdown, Shutdown::Stopping);
    assert!(screen(&m)[28].contains("Gracefully stopping... (press Ctrl+C again to force)"));
    assert_eq!(send(&mut m, ctrl('c')), [Command::Act(Action::KillProject)]);
    assert_eq!(m.shutdown, Shutdown::Killing);
    assert_eq!(send(&mut m, ctrl('c')), [Command::Exit(Exit::Abandoned)]);
}

#[test]
fn a_signal_interrupt_counts_as_ctrl_c_and_hangup_detaches() {
    let mut m = two_services(120, 30, 1);
    assert_eq!(
        send(&mut m, Msg::Interrupt),
        [Command::Act(Action::StopProject)]
    );
    assert_eq!(send(&mut m, Msg::Hangup), [Command::Exit(Exit::Detached)]);
}

#[test]
fn ctrl_c_works_even_with_a_dialog_open() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, key('?'));
    assert_eq!(send(&mut m, ctrl('c')), [Command::Act(Action::StopProject)]);
    assert_eq!(m.overlay, Overlay::None);
}

#[test]
fn the_dashboard_exits_when_the_engine_reports_the_shutdown_complete() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, ctrl('c'));
    assert_eq!(
        send(&mut m, Msg::ShutdownComplete),
        [Command::Exit(Exit::Shutdown)]
    );
}

#[test]
fn actions_are_refused_while_the_project_stops() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, ctrl('c'));
    assert!(send(&mut m, key('r')).is_empty());
    assert!(
        m.status
            .note
            .as_ref()
            .unwrap()
            .text
            .contains("shutting down")
    );
}

#[test]
fn d_detaches_at_once() {
    let mut m = two_services(120, 30, 1);
    assert_eq!(send(&mut m, key('d')), [Command::Exit(Exit::Detached)]);
}

#[test]
fn d_does_not_abandon_a_stop_in_progress() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, ctrl('c'));
    assert!(send(&mut m, key('d')).is_empty());
    assert!(
        m.status
            .note
            .as_ref()
            .unwrap()
            .text
            .contains("Ctrl+C to force")
    );
    assert!(send(&mut m, key('q')).is_empty());
    assert_eq!(m.overlay, Overlay::None);
}

#[test]
fn q_asks_whether_to_stop_kill_or_detach() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, key('q'));
    assert_eq!(m.overlay, Overlay::Quit);
    assert!(send(&mut m, code(KeyCode::Esc)).is_empty());
    assert_eq!(m.overlay, Overlay::None);

    send(&mut m, key('q'));
    assert_eq!(send(&mut m, key('d')), [Command::Exit(Exit::Detached)]);

    let mut m = two_services(120, 30, 1);
    send(&mut m, key('q'));
    assert_eq!(send(&mut m, key('s')), [Command::Act(Action::StopProject)]);
    assert_eq!(m.shutdown, Shutdown::Stopping);

    let mut m = two_services(120, 30, 1);
    send(&mut m, key('q'));
    assert_eq!(send(&mut m, key('k')), [Command::Act(Action::KillProject)]);
    assert_eq!(m.shutdown, Shutdown::Killing);
}

// ── details, focus, help, mouse ──

#[test]
fn opening_details_asks_the_engine_for_them_and_closing_stops() {
    let mut m = two_services(120, 30, 1);
    assert_eq!(
        send(&mut m, code(KeyCode::Enter)),
        [Command::WatchDetails(Some("app-web-1".into()))]
    );
    assert_eq!(
        send(&mut m, key('j')),
        [Command::WatchDetails(Some("app-web-2".into()))]
    );
    assert!(send(&mut m, key('l')).is_empty());
    assert_eq!(m.details.tab, Tab::Config);
    assert_eq!(
        send(&mut m, code(KeyCode::Enter)),
        [Command::WatchDetails(None)]
    );
}

#[test]
fn tab_cycles_through_the_panels_on_screen() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, code(KeyCode::Tab));
    assert_eq!(m.focus, Focus::Logs);
    send(&mut m, code(KeyCode::Tab));
    assert_eq!(m.focus, Focus::Services);
    // Narrow: details replace the logs.
    send(&mut m, code(KeyCode::Enter));
    send(&mut m, code(KeyCode::Tab));
    assert_eq!(m.focus, Focus::Details);
    send(&mut m, code(KeyCode::Tab));
    assert_eq!(m.focus, Focus::Services);
    // Wide: details beside the logs.
    send(
        &mut m,
        Msg::Resize {
            width: 200,
            height: 50,
        },
    );
    apply(&mut m, [code(KeyCode::Tab), code(KeyCode::Tab)]);
    assert_eq!(m.focus, Focus::Details);
}

#[test]
fn question_mark_opens_help_and_any_key_closes_it() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, key('?'));
    assert_eq!(m.overlay, Overlay::Help);
    assert!(
        send(&mut m, key('r')).is_empty(),
        "keys do not act behind help"
    );
    assert_eq!(m.overlay, Overlay::None);
}

#[test]
fn capital_e_shows_the_event_history_and_any_key_closes_it() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, key('r'));
    send(&mut m, key('E'));
    assert_eq!(m.overlay, Overlay::Events);
    assert!(
        screen(&m)
            .iter()
            .any(|l| l.contains("Restart `app-web-1` requested"))
    );
    assert!(
        send(&mut m, key('r')).is_empty(),
        "keys do not act behind events"
    );
    assert_eq!(m.overlay, Overlay::None);
}

#[test]
fn m_toggles_mouse_capture() {
    let mut m = two_services(120, 30, 1);
    assert_eq!(send(&mut m, key('m')), [Command::SetMouseCapture(false)]);
    assert!(screen(&m)[0].contains("mouse off"));
    assert_eq!(send(&mut m, key('m')), [Command::SetMouseCapture(true)]);
}

#[test]
fn clicking_a_row_selects_it_and_clicking_a_column_title_sorts() {
    let mut m = two_services(120, 30, 1);
    // Row 0 header, 1 services rule, 2 column titles, 3.. rows (sorted: db-1, web-1, web-2).
    send(&mut m, click(5, 3));
    assert_eq!(m.containers.selected.as_deref(), Some("app-db-1"));
    send(&mut m, click(5, 5));
    assert_eq!(m.containers.selected.as_deref(), Some("app-web-2"));
    let titles = &screen(&m)[2];
    let state_x = titles[..titles.find("STATE").unwrap()].chars().count() as u16;
    send(&mut m, click(state_x, 2));
    assert_eq!(m.containers.sort.column, Column::State);
}

#[test]
fn the_wheel_scrolls_the_logs_under_the_pointer() {
    let mut m = two_services(120, 30, 50);
    send(&mut m, mouse(MouseEventKind::ScrollUp, 10, 20));
    assert!(!m.view.follow);
    send(&mut m, mouse(MouseEventKind::ScrollDown, 10, 20));
    assert!(m.view.follow);
    send(&mut m, mouse(MouseEventKind::ScrollDown, 10, 3));
    assert_eq!(m.containers.selected.as_deref(), Some("app-web-2"));
}

#[test]
fn clicking_a_details_tab_selects_it() {
    let mut m = two_services(120, 30, 1);
    send(&mut m, code(KeyCode::Enter));
    let tabs_row = screen(&m)
        .iter()
        .position(|l| l.contains("Overview │ Config"))
        .unwrap();
    let line = &screen(&m)[tabs_row];
    let x = line[..line.find("Health").unwrap()].chars().count() as u16;
    send(&mut m, click(x, tabs_row as u16));
    assert_eq!(m.details.tab, Tab::Health);
    assert_eq!(m.focus, Focus::Details);
}

#[test]
fn key_releases_are_ignored() {
    let mut m = two_services(120, 30, 1);
    let mut k = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE);
    k.kind = KeyEventKind::Release;
    assert!(send(&mut m, Msg::Key(k)).is_empty());
}

#[test]
fn exec_and_save_outcomes_are_reported() {
    let mut m = two_services(120, 30, 1);
    send(
        &mut m,
        Msg::ExecFinished {
            container: "app-web-1".into(),
            result: Ok(130),
        },
    );
    assert!(
        m.status
            .note
            .as_ref()
            .unwrap()
            .text
            .contains("exited with code 130")
    );
    send(
        &mut m,
        Msg::LogsSaved {
            path: "/nope/x.log".into(),
            lines: 3,
            result: Err("No such file or directory".into()),
        },
    );
    assert!(screen(&m)[28].contains("Cannot save to `/nope/x.log`"));
}
