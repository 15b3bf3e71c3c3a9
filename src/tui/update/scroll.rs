//! Moving the log window: by lines, by pages, to either end, to a given line.
//!
//! The position is the key of the window's bottom line, so it stays put while lines arrive
//! (and while older ones are evicted); following means "the newest line is the bottom".

use crate::tui::model::{LineKey, Model};
use crate::tui::view::layout::log_geometry;

/// Window height and text columns (a sensible default when the logs are off screen).
fn geometry(model: &Model, vis: &[usize]) -> (usize, usize) {
    log_geometry(model, vis).unwrap_or((20, 80))
}

pub fn page(model: &Model) -> usize {
    let vis = model.visible();
    geometry(model, &vis).0.saturating_sub(1).max(1)
}

/// Scroll toward older lines.
pub fn up(model: &mut Model, n: usize) {
    let vis = model.visible();
    let Some(bottom) = model.view.bottom(&model.logs, &vis) else {
        return;
    };
    let (h, cols) = geometry(model, &vis);
    let Some(mut target) = model
        .logs
        .backward(&vis, Some(bottom))
        .take(n + 1)
        .last()
        .map(|(_, l)| l.key)
    else {
        return;
    };
    if let Some(top) = model.view.top_anchor(&model.logs, &vis, h, cols) {
        target = target.max(top);
    }
    if target == bottom && model.view.follow {
        // Everything fits on screen: nothing to scroll, keep following.
        return;
    }
    model.view.follow = false;
    model.view.anchor = Some(target);
}

/// Scroll toward newer lines; reaching the newest line resumes following.
pub fn down(model: &mut Model, n: usize) {
    if model.view.follow {
        return;
    }
    let vis = model.visible();
    let Some(anchor) = model.view.anchor else {
        return follow(model);
    };
    let mut it = model.logs.after(&vis, anchor).skip(n.saturating_sub(1));
    match (it.next(), it.next()) {
        (Some((_, l)), Some(_)) => model.view.anchor = Some(l.key),
        _ => follow(model),
    }
}

pub fn follow(model: &mut Model) {
    model.view.follow = true;
    model.view.anchor = None;
}

/// Stop following, keeping the current window.
pub fn freeze(model: &mut Model) {
    let vis = model.visible();
    model.view.anchor = model.view.bottom(&model.logs, &vis);
    model.view.follow = false;
}

pub fn top(model: &mut Model) {
    let vis = model.visible();
    let (h, cols) = geometry(model, &vis);
    if let Some(t) = model.view.top_anchor(&model.logs, &vis, h, cols) {
        model.view.follow = false;
        model.view.anchor = Some(t);
        if model.logs.count_gt(&vis, t) == 0 {
            follow(model);
        }
    }
}

/// Put `key` in the middle of the window (or as low as the log allows).
pub fn reveal(model: &mut Model, key: LineKey) {
    let vis = model.visible();
    let (h, cols) = geometry(model, &vis);
    let mut anchor = key;
    let mut rows = 0;
    for (_, l) in model.logs.after(&vis, key) {
        rows += crate::tui::model::logview::line_rows(l, model.view.wrap, cols);
        if rows > h / 2 {
            break;
        }
        anchor = l.key;
    }
    if let Some(top) = model.view.top_anchor(&model.logs, &vis, h, cols) {
        anchor = anchor.max(top);
    }
    model.view.follow = false;
    model.view.anchor = Some(anchor);
}
