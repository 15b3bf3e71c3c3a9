//! The real binary in a real terminal (tmux): `rcompose dashboard --demo` driven by keys,
//! checked by what the pane shows. Later extended to a real `up`.

mod support;

use support::tmux::Tmux;

fn dashboard(extra: &str) -> String {
    format!(
        "{} dashboard --demo {extra}",
        env!("CARGO_BIN_EXE_rcompose")
    )
}

#[test]
fn navigate_search_act_exec_and_detach_in_a_real_terminal() {
    let t = Tmux::start(120, 40, &[], &dashboard(""));
    t.wait_for("Services 7");
    t.wait_for("Logs · following");
    assert!(t.alternate_on());

    // Navigate: the initial selection is web-1 (5th by name); two down is worker-1.
    t.keys(&["j", "j", "Enter"]);
    t.wait_for("Details · shop-worker-1");
    t.keys(&["Right"]);
    t.wait_for("image: shop/worker:dev");
    t.keys(&["Enter"]);
    t.wait_for("Logs · following");

    // Search the logs: the view jumps to the newest match, which is highlighted and counted.
    t.keys(&["/"]);
    t.type_text("ERROR");
    t.wait_for("/ERROR");
    t.keys(&["Enter"]);
    let s = t.wait_until("a search result", |s| {
        s.contains("paused") && s.contains("/ERROR/") && s.contains(" of ")
    });
    assert!(s.contains("worker-1  | ERROR job=send-email"), "{s}");
    t.keys(&["N"]);
    // Esc clears the search (sent alone: Esc then a key is Alt+key to a terminal).
    t.keys(&["Escape"]);
    t.wait_gone("/ERROR/");
    t.keys(&["G"]);
    t.wait_for("Logs · following");

    // An action: restart web-1 (two up), with its progress in the status line.
    t.keys(&["k", "k", "r"]);
    t.wait_for("Container shop-web-1 Restarted");

    // A destructive one asks first.
    t.keys(&["s"]);
    t.wait_for("Stop `shop-web-1`?");
    t.keys(&["y"]);
    t.wait_until("web-1 to exit", |s| {
        s.lines()
            .any(|l| l.starts_with("shop-web-1") && l.contains("exited (0)"))
    });

    // Exec: the dashboard steps aside for an interactive shell, then comes back.
    t.keys(&["j", "e"]);
    t.wait_for("this shell on the host stands in for `shop-web-2`");
    assert!(!t.alternate_on(), "the shell runs on the main screen");
    t.type_text("echo from-the-shell $((6*7))");
    t.keys(&["Enter"]);
    t.wait_for("from-the-shell 42");
    // Ctrl-C inside the shell interrupts the shell's command, not the dashboard.
    t.type_text("sleep 30");
    t.keys(&["Enter"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.keys(&["C-c"]);
    t.type_text("echo still-$((40+2))");
    t.keys(&["Enter"]);
    t.wait_for("still-42");
    t.type_text("exit");
    t.keys(&["Enter"]);
    let s = t.wait_for("Shell in `shop-web-2` exited");
    assert!(!s.contains("Gracefully stopping"), "{s}");
    assert!(t.alternate_on());

    // Resizing: at 80 columns the table drops the image column, and nothing is garbled.
    assert!(t.capture().contains("IMAGE"));
    t.resize(80, 24);
    // Redrawn for 80 columns: the footer fits and ends with its help key, long log lines
    // wrap, and the table has no room for images.
    let s = t.wait_until("a redraw at 80x24", |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.trim_end().ends_with("? help"))
            && s.contains(" ┆ ")
    });
    assert!(!s.contains("IMAGE"), "{s}");
    assert!(s.contains("Services 7"), "{s}");
    assert_eq!(s.lines().count(), 24, "{s}");
    t.resize(120, 40);
    t.wait_for("IMAGE");

    // Quit: q asks; d detaches, the terminal is restored, and the process exits 0.
    t.keys(&["q"]);
    t.wait_for("Leave the dashboard and");
    t.keys(&["d"]);
    let s = t.wait_for("EXIT=0");
    assert!(s.contains("Detached: the project keeps running"), "{s}");
    assert!(!t.alternate_on());
}

#[test]
fn ctrl_c_stops_gracefully_and_exits_when_stopped() {
    let t = Tmux::start(100, 30, &[], &dashboard(""));
    t.wait_for("Services 7");
    t.keys(&["C-c"]);
    t.wait_for("Gracefully stopping... (press Ctrl+C again to force)");
    t.wait_for("EXIT=0");
    assert!(!t.alternate_on());
}

#[test]
fn a_second_ctrl_c_kills() {
    let t = Tmux::start(100, 30, &[], &dashboard(""));
    t.wait_for("Services 7");
    t.keys(&["C-c", "C-c"]);
    t.wait_for("EXIT=0");
    assert!(!t.alternate_on());
}

#[test]
fn sigterm_stops_like_ctrl_c() {
    let t = Tmux::start(100, 30, &[], &dashboard(""));
    t.wait_for("Services 7");
    let shell = t.pane_pid();
    let out = std::process::Command::new("pkill")
        .args(["-TERM", "-P", &shell.to_string(), "rcompose"])
        .status()
        .unwrap();
    assert!(out.success());
    t.wait_for("EXIT=0");
}

#[test]
fn a_panic_restores_the_terminal_and_shows_the_message() {
    let t = Tmux::start(100, 30, &[], &dashboard("--demo-panic-on-action"));
    t.wait_for("Services 7");
    t.keys(&["r"]);
    let s = t.wait_for("EXIT=101");
    assert!(s.contains("demo: asked to panic on an action"), "{s}");
    assert!(!t.alternate_on());
}

#[test]
fn no_color_draws_without_colour_codes() {
    let t = Tmux::start(100, 30, &[("NO_COLOR", "1")], &dashboard(""));
    t.wait_for("Services 7");
    t.keys(&["/"]);
    t.type_text("GET");
    t.keys(&["Enter"]);
    t.wait_for("/GET/");
    let styled = t.capture_styled();
    let colour_codes = ["[3", "[4", "[9", ";3", ";4", "38;", "48;"];
    for (i, _) in styled.match_indices('\x1b') {
        let seq: String = styled[i..].chars().take(12).collect();
        assert!(
            !colour_codes
                .iter()
                .any(|c| seq.starts_with(&format!("\x1b{c}"))
                    && !seq.starts_with("\x1b[39m")
                    && !seq.starts_with("\x1b[49m")),
            "colour escape in NO_COLOR output: {seq:?}"
        );
    }
    assert!(
        styled.contains("\x1b[7m"),
        "reverse video marks the selection"
    );
    t.keys(&["d"]);
    t.wait_for("EXIT=0");
}

#[test]
fn a_closed_terminal_detaches_and_the_process_exits() {
    let t = Tmux::start(100, 30, &[], &dashboard(""));
    t.wait_for("Services 7");
    let pids = t.children();
    assert!(!pids.is_empty());
    t.kill_server();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let alive = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
            && std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.contains("dashboard"))
    };
    while pids.iter().any(alive) {
        assert!(
            std::time::Instant::now() < deadline,
            "the dashboard is still running after its terminal closed"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
