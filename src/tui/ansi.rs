//! Turning a raw log line into something safe and cheap to draw, once, when it arrives.
//!
//! Containers print ANSI colours (kept as style ranges, as `docker compose up` passes them
//! through), cursor movement and other escapes (dropped: they would corrupt the screen), tabs
//! (expanded) and stray control characters (shown as `�`). The result is plain text plus
//! style ranges, so search, width and wrapping work on the text alone.

use ansi_to_tui::IntoText as _;
use ratatui::style::{Color, Modifier, Style};
use unicode_width::UnicodeWidthChar;

/// Longest line kept, in bytes; Docker's log drivers split lines at 16 KiB too.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
const TAB_STOP: usize = 8;

/// A style over `start..end` (byte offsets into the cleaned text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StyledRange {
    pub start: u32,
    pub end: u32,
    pub style: Style,
}

/// A cleaned line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cleaned {
    pub text: String,
    pub styles: Vec<StyledRange>,
    /// Display width in cells.
    pub width: usize,
    /// Whether any character is not one-cell ASCII (wrapping must then measure).
    pub wide: bool,
}

/// Clean one raw line.
pub fn clean(raw: &str) -> Cleaned {
    let raw = truncate(raw, MAX_LINE_BYTES);
    if !raw.as_bytes().contains(&0x1b) {
        let mut out = Cleaned::default();
        push_plain(&mut out, raw);
        return out;
    }
    // Only lines with escapes pay for the parser.
    let mut out = Cleaned::default();
    let stripped: String = raw.chars().filter(|&c| c != '\r').collect();
    match stripped.as_bytes().to_text() {
        Ok(text) => {
            for line in text.lines {
                for span in line.spans {
                    let start = out.text.len();
                    push_plain(&mut out, &span.content);
                    let style = visible_style(span.style.patch(line.style));
                    if let Some(style) = style
                        && out.text.len() > start
                    {
                        out.styles.push(StyledRange {
                            start: start as u32,
                            end: out.text.len() as u32,
                            style,
                        });
                    }
                }
            }
        }
        // Unparseable: show it without any escape characters.
        Err(_) => push_plain(&mut out, &stripped),
    }
    out
}

/// A style worth keeping: anything other than "reset to default".
fn visible_style(style: Style) -> Option<Style> {
    let colour = |c: Option<Color>| c.filter(|c| *c != Color::Reset);
    let style = Style {
        fg: colour(style.fg),
        bg: colour(style.bg),
        underline_color: None,
        add_modifier: style.add_modifier - Modifier::HIDDEN,
        sub_modifier: Modifier::empty(),
    };
    (style != Style::default()).then_some(style)
}

fn push_plain(out: &mut Cleaned, s: &str) {
    for c in s.chars() {
        match c {
            '\t' => {
                let n = TAB_STOP - out.width % TAB_STOP;
                out.text.extend(std::iter::repeat_n(' ', n));
                out.width += n;
            }
            '\r' | '\n' => {}
            c if c.is_ascii() && !c.is_ascii_control() => {
                out.text.push(c);
                out.width += 1;
            }
            c if c.is_control() => {
                out.text.push('\u{fffd}');
                out.width += 1;
                out.wide = true;
            }
            c => {
                out.text.push(c);
                out.width += c.width().unwrap_or(0);
                out.wide = true;
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_are_kept_as_is_with_their_width() {
        let c = clean("GET / 200");
        assert_eq!(c.text, "GET / 200");
        assert_eq!(c.width, 9);
        assert!(!c.wide && c.styles.is_empty());
    }

    #[test]
    fn tabs_expand_to_the_next_stop_and_controls_are_replaced() {
        let c = clean("a\tb\u{7}c\r");
        assert_eq!(c.text, "a       b\u{fffd}c");
        assert_eq!(c.width, 11);
    }

    #[test]
    fn sgr_colours_become_style_ranges_and_other_escapes_vanish() {
        let c = clean("\x1b[2K\x1b[31mERROR\x1b[0m done \x1b]0;title\x07");
        assert_eq!(c.text, "ERROR done ");
        assert_eq!(c.styles.len(), 1);
        assert_eq!((c.styles[0].start, c.styles[0].end), (0, 5));
        assert_eq!(c.styles[0].style.fg, Some(Color::Red));
    }

    #[test]
    fn wide_characters_count_two_cells() {
        let c = clean("日本");
        assert_eq!(c.width, 4);
        assert!(c.wide);
    }

    #[test]
    fn very_long_lines_are_cut_at_a_char_boundary() {
        let s = "é".repeat(MAX_LINE_BYTES);
        let c = clean(&s);
        assert!(c.text.len() <= MAX_LINE_BYTES);
    }
}
