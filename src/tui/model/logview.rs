//! How the merged log is looked at: follow or a fixed position, filter, search, toggles;
//! and the window of lines that position shows.

use crate::tui::model::logs::{Filter, Item, LineKey, LogStore};
use crate::tui::wrap;

/// The search the user typed (the compiled form lives in the store, which flags lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub pattern: String,
    /// The match `n`/`N` last moved to.
    pub current: Option<LineKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogView {
    /// Stick to the newest line.
    pub follow: bool,
    /// When not following: the bottom line of the window.
    pub anchor: Option<LineKey>,
    /// Columns scrolled right (when not wrapping).
    pub hscroll: usize,
    pub timestamps: bool,
    pub wrap: bool,
    pub filter: Filter,
    pub search: Option<Search>,
}

impl Default for LogView {
    fn default() -> Self {
        Self {
            follow: true,
            anchor: None,
            hscroll: 0,
            timestamps: false,
            wrap: true,
            filter: Filter::default(),
            search: None,
        }
    }
}

/// The lines a window shows, oldest first, and how many rows of the first are cut off.
#[derive(Debug)]
pub struct Window<'a> {
    pub lines: Vec<Item<'a>>,
    pub skip_rows: usize,
}

/// Rows a line takes at `cols` text columns.
pub fn line_rows(line: &crate::tui::model::logs::StoredLine, wrap: bool, cols: usize) -> usize {
    if !wrap {
        return 1;
    }
    wrap::row_count(&line.text, line.width as usize, line.is_wide(), cols)
}

impl LogView {
    /// The bottom line of the window: the anchor, or the newest line when following.
    pub fn bottom(&self, store: &LogStore, vis: &[usize]) -> Option<LineKey> {
        if self.follow {
            store.last_key(vis)
        } else {
            self.anchor.or_else(|| store.last_key(vis))
        }
    }

    /// The lines that fill `height` rows of `cols` text columns, ending at the bottom line.
    /// If there are too few lines above it (the top of the log), the window fills downward.
    pub fn window<'a>(
        &self,
        store: &'a LogStore,
        vis: &[usize],
        height: usize,
        cols: usize,
    ) -> Window<'a> {
        let mut lines = Vec::with_capacity(height);
        let mut used = 0;
        let bottom = self.bottom(store, vis);
        if height == 0 || bottom.is_none() {
            return Window {
                lines,
                skip_rows: 0,
            };
        }
        for item in store.backward(vis, bottom) {
            used += line_rows(item.1, self.wrap, cols);
            lines.push(item);
            if used >= height {
                break;
            }
        }
        lines.reverse();
        if used < height
            && let Some(b) = bottom
        {
            for item in store.after(vis, b) {
                let r = line_rows(item.1, self.wrap, cols);
                if used + r > height {
                    break;
                }
                used += r;
                lines.push(item);
            }
        }
        Window {
            lines,
            skip_rows: used.saturating_sub(height),
        }
    }

    /// The lowest anchor that still fills the window from the top: scrolling up stops there.
    pub fn top_anchor(
        &self,
        store: &LogStore,
        vis: &[usize],
        height: usize,
        cols: usize,
    ) -> Option<LineKey> {
        let mut used = 0;
        let mut last = None;
        for (_, l) in store.forward(vis, None) {
            used += line_rows(l, self.wrap, cols);
            last = Some(l.key);
            if used >= height {
                break;
            }
        }
        last
    }
}
