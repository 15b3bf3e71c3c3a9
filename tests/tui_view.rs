//! Snapshots of every panel and state, drawn with ratatui's `TestBackend` from models built
//! with a fixed clock (see `tests/snapshots/`). Review changes with `cargo insta review`.

mod support;

use crossterm::event::KeyCode;
use ratatui::style::{Color, Modifier};
use rcompose::tui::model::{Focus, Tab};
use rcompose::tui::msg::*;
use rcompose::tui::theme::Theme;
use support::tui::*;

fn snapshot(name: &str, m: &rcompose::tui::Model) {
    insta::assert_snapshot!(name, render(m).backend());
}

#[test]
fn dashboard_at_80x24() {
    snapshot("dashboard_80x24", &demo_model(80, 24));
}

#[test]
fn dashboard_at_120x40() {
    snapshot("dashboard_120x40", &demo_model(120, 40));
}

#[test]
fn dashboard_at_200x60_with_details_beside_the_logs() {
    let mut m = demo_model(200, 60);
    send(&mut m, code(KeyCode::Enter));
    snapshot("dashboard_200x60_details", &m);
}

#[test]
fn dashboard_in_a_tiny_terminal() {
    snapshot("dashboard_50x12", &demo_model(50, 12));
}

#[test]
fn dashboard_before_anything_arrived() {
    snapshot("empty_80x24", &model(80, 24));
}

#[test]
fn every_details_tab() {
    for tab in Tab::ALL {
        let mut m = demo_model(100, 30);
        m.containers.selected = Some("shop-web-1".into());
        send(&mut m, code(KeyCode::Enter));
        m.details.tab = tab;
        m.focus = Focus::Details;
        snapshot(&format!("details_{}", tab.title().to_lowercase()), &m);
    }
}

#[test]
fn details_without_a_healthcheck_or_details_yet() {
    let mut m = two_services(100, 24, 3);
    send(&mut m, code(KeyCode::Enter));
    m.details.tab = Tab::Health;
    snapshot("details_no_healthcheck", &m);
    m.details.tab = Tab::Config;
    snapshot("details_loading", &m);
}

#[test]
fn help_overlay() {
    let mut m = demo_model(80, 24);
    send(&mut m, key('?'));
    snapshot("help_80x24", &m);
    let mut m = demo_model(140, 40);
    send(&mut m, key('?'));
    snapshot("help_140x40", &m);
}

#[test]
fn events_overlay_lists_the_status_history() {
    let mut m = demo_model(100, 30);
    for (i, (status, text)) in [
        (ProgressStatus::Done, "Started"),
        (ProgressStatus::Warning, "Unhealthy"),
        (ProgressStatus::Error, "Error"),
    ]
    .into_iter()
    .enumerate()
    {
        send(&mut m, Msg::Tick(at(i as i64)));
        send(
            &mut m,
            Msg::Progress(Progress {
                id: "Container shop-api-1".into(),
                status,
                text: text.into(),
                detail: (status == ProgressStatus::Error).then(|| "exit status 2".into()),
                percent: None,
            }),
        );
    }
    send(&mut m, key('E'));
    snapshot("events_overlay", &m);
    let mut m = model(80, 24);
    send(&mut m, key('E'));
    snapshot("events_empty", &m);
}

#[test]
fn confirm_dialog() {
    let mut m = demo_model(100, 30);
    m.containers.selected = Some("shop-db-1".into());
    send(&mut m, key('s'));
    snapshot("confirm_stop", &m);
}

#[test]
fn quit_menu() {
    let mut m = demo_model(100, 30);
    send(&mut m, key('q'));
    snapshot("quit_menu", &m);
}

#[test]
fn search_prompt_and_results() {
    let mut m = demo_model(120, 30);
    send(&mut m, key('/'));
    apply(&mut m, typed("error|warn"));
    snapshot("search_typing", &m);
    send(&mut m, code(KeyCode::Enter));
    snapshot("search_result", &m);
    send(&mut m, key('/'));
    apply(&mut m, typed("(unclosed"));
    snapshot("search_invalid", &m);
}

#[test]
fn filtered_logs() {
    let mut m = demo_model(120, 30);
    m.containers.selected = Some("shop-worker-1".into());
    send(&mut m, key('o'));
    snapshot("logs_solo_worker", &m);
    send(&mut m, key('a'));
    m.containers.selected = Some("shop-web-1".into());
    send(&mut m, key('x'));
    snapshot("logs_hiding_web", &m);
}

#[test]
fn logs_with_timestamps_and_no_wrap_scrolled_back() {
    let mut m = demo_model(100, 30);
    m.focus = Focus::Logs;
    apply(
        &mut m,
        [
            key('t'),
            key('w'),
            code(KeyCode::PageUp),
            code(KeyCode::Right),
        ],
    );
    snapshot("logs_timestamps_nowrap_paused", &m);
}

#[test]
fn status_line_shows_progress_and_shutdown() {
    let mut m = two_services(100, 20, 5);
    apply(
        &mut m,
        [
            Msg::Progress(Progress {
                id: "Image nginx:1.27".into(),
                status: ProgressStatus::Working,
                text: "Pulling".into(),
                detail: Some("12MB/45MB".into()),
                percent: Some(26),
            }),
            Msg::Progress(Progress {
                id: "Container app-web-2".into(),
                status: ProgressStatus::Working,
                text: "Recreating".into(),
                detail: None,
                percent: None,
            }),
            Msg::Progress(Progress {
                id: "Container app-db-1".into(),
                status: ProgressStatus::Error,
                text: "Error".into(),
                detail: Some("port 5432 is already allocated".into()),
                percent: None,
            }),
        ],
    );
    snapshot("status_progress_and_error", &m);
    let mut m = two_services(100, 20, 5);
    send(&mut m, ctrl('c'));
    snapshot("status_stopping", &m);
}

#[test]
fn container_states_and_markers() {
    let mut m = model(120, 16);
    let mut states = vec![
        container("api", 1, ContainerState::Running),
        container("api", 2, ContainerState::Restarting),
        container("batch", 1, ContainerState::Exited { code: 0 }),
        container("batch", 2, ContainerState::Exited { code: 137 }),
        container("cache", 1, ContainerState::Paused),
        container("db", 1, ContainerState::Created),
        container("proxy", 1, ContainerState::Dead),
    ];
    states[0].drift = Some("config changed".into());
    states[0].restart_count = 3;
    states[0].health = Some(Health {
        status: HealthStatus::Unhealthy,
        failing_streak: 3,
        probes: vec![],
    });
    states[1].health = Some(Health {
        status: HealthStatus::Starting,
        failing_streak: 0,
        probes: vec![],
    });
    states[0].ports = vec![
        Port {
            host_ip: None,
            host_port: Some(8443),
            container_port: 443,
            protocol: "tcp".into(),
        },
        Port {
            host_ip: None,
            host_port: Some(53),
            container_port: 53,
            protocol: "udp".into(),
        },
    ];
    for s in states {
        send(&mut m, snap(s));
    }
    apply(
        &mut m,
        [
            stats("app-api-1", 145.25, 480),
            stats("app-cache-1", 0.0, 3),
        ],
    );
    snapshot("container_states", &m);
}

#[test]
fn a_long_line_wraps_under_its_prefix() {
    let mut m = two_services(60, 14, 2);
    send(
        &mut m,
        logs(
            "web",
            2,
            &[(
                9,
                "{\"level\":\"info\",\"msg\":\"a rather long structured log line that has to wrap over several rows\",\"took_ms\":12}",
            )],
        ),
    );
    snapshot("wrapped_line", &m);
}

#[test]
fn monochrome_uses_no_colour_at_all() {
    let mut m = demo_model(120, 40);
    m.theme = Theme::monochrome();
    send(&mut m, key('/'));
    apply(&mut m, typed("error"));
    send(&mut m, code(KeyCode::Enter));
    let t = render(&m);
    let buf = t.backend().buffer();
    let mut reversed = 0;
    for c in buf.content() {
        assert!(
            matches!(c.fg, Color::Reset) && matches!(c.bg, Color::Reset),
            "coloured cell {c:?}"
        );
        if c.modifier.contains(Modifier::REVERSED) {
            reversed += 1;
        }
    }
    assert!(reversed > 0, "selection and matches need reverse video");
    snapshot("monochrome_120x40", &m);
}

#[test]
fn container_log_colours_are_kept_in_colour_and_dropped_in_monochrome() {
    let mut m = two_services(80, 12, 1);
    send(&mut m, logs("web", 1, &[(5, "\x1b[31mERROR\x1b[0m boom")]));
    let t = render(&m);
    let buf = t.backend().buffer();
    let row = (0..12)
        .find(|&y| {
            (0..80)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .contains("ERROR boom")
        })
        .unwrap();
    let line: String = (0..80).map(|x| buf[(x, row)].symbol()).collect();
    let x = line.find("ERROR").unwrap() as u16;
    assert_eq!(buf[(x, row)].fg, Color::Red);
    m.theme = Theme::monochrome();
    let t = render(&m);
    assert_eq!(t.backend().buffer()[(x, row)].fg, Color::Reset);
}

#[test]
fn prefixes_use_composes_palette_in_order_of_appearance() {
    let m = demo_model(120, 40);
    let t = render(&m);
    let buf = t.backend().buffer();
    let mut seen = std::collections::BTreeMap::new();
    for y in 0..40 {
        let line: String = (0..120).map(|x| buf[(x, y)].symbol()).collect();
        if let Some((label, _)) = line.split_once(" | ") {
            seen.insert(label.trim().to_owned(), buf[(0, y)].fg);
        }
    }
    // Rings are created in snapshot order: web-1, web-2, api-1, worker-1, db-1, cache-1.
    assert_eq!(seen.get("web-1"), Some(&Color::Cyan));
    assert_eq!(seen.get("web-2"), Some(&Color::Yellow));
    assert_eq!(seen.get("api-1"), Some(&Color::Green));
    assert_eq!(seen.get("worker-1"), Some(&Color::Magenta));
}

#[test]
fn rendering_never_panics_at_any_size_or_state() {
    let base = demo_model(80, 24);
    let sizes = (0..=40u16).flat_map(|w| [0u16, 1, 2, 3, 5, 8, 13].map(move |h| (w * 3, h)));
    for (w, h) in sizes.chain([(1, 1), (300, 100), (80, 4)]) {
        for overlay in ["", "?", "q", "s", "/x(", "S"] {
            for details in [false, true] {
                let mut m = base.clone();
                send(
                    &mut m,
                    Msg::Resize {
                        width: w,
                        height: h,
                    },
                );
                if details {
                    send(&mut m, code(KeyCode::Enter));
                }
                apply(&mut m, typed(overlay));
                let mut t =
                    ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
                t.draw(|f| rcompose::tui::view::render(&m, f.area(), f.buffer_mut()))
                    .unwrap();
            }
        }
    }
}
