//! Log search: a regex (smart case: all-lowercase patterns ignore case, as ripgrep), applied
//! as it is typed, and `n`/`N` to move between matching lines (wrapping around).

use regex::{Regex, RegexBuilder};

use crate::tui::model::{Level, LineKey, Model, Search};
use crate::tui::update::scroll;

/// Compile a pattern the way the dashboard searches.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(!pattern.chars().any(char::is_uppercase))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) => s.lines().last().unwrap_or("invalid regex").trim().into(),
            other => other.to_string(),
        })
}

/// Make `pattern` the search (empty clears it). On error the previous search stays.
pub fn apply(model: &mut Model, pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        clear(model);
        return Ok(());
    }
    if model
        .view
        .search
        .as_ref()
        .is_some_and(|s| s.pattern == pattern)
    {
        return Ok(());
    }
    let re = compile(pattern)?;
    model.logs.set_search(Some(re));
    model.view.search = Some(Search {
        pattern: pattern.to_owned(),
        current: None,
    });
    Ok(())
}

pub fn clear(model: &mut Model) {
    if model.view.search.take().is_some() {
        model.logs.set_search(None);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Toward newer lines (`n`).
    Newer,
    /// Toward older lines (`N`).
    Older,
}

/// Move to the next match in `dir`, wrapping around; without a current match, go to the
/// newest match at or above the bottom of the window.
pub fn jump(model: &mut Model, dir: Direction) {
    let Some(search) = &model.view.search else {
        model.status.set(
            Level::Info,
            "No search: press / to search the logs",
            model.now,
        );
        return;
    };
    let pattern = search.pattern.clone();
    let current = search.current;
    let vis = model.visible();
    let logs = &model.logs;
    let is_match = |(_, l): &(usize, &crate::tui::model::logs::StoredLine)| l.is_match();
    let key =
        |item: Option<(usize, &crate::tui::model::logs::StoredLine)>| item.map(|(_, l)| l.key);
    let mut wrapped = false;
    let found: Option<LineKey> = match (current, dir) {
        (None, _) => {
            let bottom = model.view.bottom(logs, &vis);
            key(logs.backward(&vis, bottom).find(is_match))
                .or_else(|| key(logs.backward(&vis, None).find(is_match)))
        }
        (Some(c), Direction::Newer) => key(logs.after(&vis, c).find(is_match)).or_else(|| {
            wrapped = true;
            key(logs.forward(&vis, None).find(is_match))
        }),
        (Some(c), Direction::Older) => key(logs.before(&vis, c).find(is_match)).or_else(|| {
            wrapped = true;
            key(logs.backward(&vis, None).find(is_match))
        }),
    };
    match found {
        Some(k) => {
            if let Some(s) = &mut model.view.search {
                s.current = Some(k);
            }
            scroll::reveal(model, k);
            if wrapped && Some(k) != current {
                let end = if dir == Direction::Newer {
                    "top"
                } else {
                    "bottom"
                };
                model.status.set(
                    Level::Info,
                    format!("Search wrapped to the {end}"),
                    model.now,
                );
            }
        }
        None => model
            .status
            .set(Level::Warn, format!("No match for /{pattern}/"), model.now),
    }
}
