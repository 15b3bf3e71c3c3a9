//! Hard wrapping of log lines at a column, as a terminal does (no word wrap: logs are data,
//! and a terminal-like wrap keeps row counts O(1) for ASCII lines).

use unicode_width::UnicodeWidthChar;

/// Byte ranges of the rows of `text` wrapped at `cols` cells. `wide` says whether the text has
/// anything but one-cell ASCII (otherwise rows are plain slices of `cols` bytes).
pub fn rows(text: &str, wide: bool, cols: usize) -> Vec<std::ops::Range<usize>> {
    let cols = cols.max(1);
    if text.is_empty() {
        return std::iter::once(0..0).collect();
    }
    if !wide {
        return (0..text.len())
            .step_by(cols)
            .map(|s| s..(s + cols).min(text.len()))
            .collect();
    }
    let mut out = Vec::new();
    let (mut start, mut w) = (0, 0);
    for (i, c) in text.char_indices() {
        let cw = c.width().unwrap_or(0);
        if w + cw > cols && i > start {
            out.push(start..i);
            start = i;
            w = 0;
        }
        w += cw;
    }
    out.push(start..text.len());
    out
}

/// Number of rows `text` (of display width `width`) takes when wrapped at `cols`.
pub fn row_count(text: &str, width: usize, wide: bool, cols: usize) -> usize {
    let cols = cols.max(1);
    if !wide {
        return width.div_ceil(cols).max(1);
    }
    if width <= cols {
        return 1;
    }
    rows(text, true, cols).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_wraps_every_cols_bytes() {
        assert_eq!(rows("abcdefg", false, 3), [0..3, 3..6, 6..7]);
        assert_eq!(row_count("abcdefg", 7, false, 3), 3);
        assert_eq!(row_count("", 0, false, 3), 1);
    }

    #[test]
    fn wide_characters_never_split_across_rows() {
        // 日 and 本 are two cells each: "a日" fits 3, "本b" next.
        let r = rows("a日本b", true, 3);
        assert_eq!(r.len(), 2);
        assert_eq!(&"a日本b"[r[0].clone()], "a日");
        assert_eq!(row_count("a日本b", 6, true, 3), 2);
    }
}
