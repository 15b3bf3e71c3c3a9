//! `.env` / `env_file` parsing, as compose-go's `dotenv` package (a port of godotenv):
//! `KEY=value`, `KEY: value`, `export KEY=value`, `KEY` alone (inherited from the environment),
//! `#` comments, single quotes (literal), double quotes (escapes + interpolation), unquoted
//! values (interpolated, ` #` starts a comment).

use std::path::Path;

use indexmap::IndexMap;

use super::template;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// Parse `src`, adding variables to `out` in order. `lookup` resolves variables used in values
/// (and inherited keys) before `out` itself is consulted.
pub fn parse_into(
    src: &str,
    out: &mut IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), DotenvError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut p = DotenvParser { line: 1 };
    let mut cutset = src;
    loop {
        cutset = p.statement_start(cutset);
        if cutset.is_empty() {
            break;
        }
        let (key, left, inherited) = p.locate_key_name(cutset)?;
        if key.contains(' ') {
            return Err(DotenvError {
                line: p.line,
                message: "key cannot contain a space".into(),
            });
        }
        if inherited {
            if let Some(v) = lookup(&key) {
                out.insert(key, v);
            }
            cutset = left;
            continue;
        }
        let (value, left) = p.extract_value(left, out, lookup)?;
        out.insert(key, value);
        cutset = left;
    }
    Ok(())
}

/// Parse a file; errors name the file as compose does (`failed to read <path>: line N: ...`).
pub fn read_file(
    path: &Path,
    out: &mut IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let data = fs_err::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&data);
    parse_into(&text, out, lookup).map_err(|e| format!("failed to read {}: {e}", path.display()))
}

struct DotenvParser {
    line: usize,
}

fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    )
}

impl DotenvParser {
    fn statement_start<'a>(&mut self, src: &'a str) -> &'a str {
        let mut src = src;
        loop {
            let mut pos = None;
            for (i, c) in src.char_indices() {
                if c == '\n' {
                    self.line += 1;
                }
                if !c.is_whitespace() {
                    pos = Some(i);
                    break;
                }
            }
            let Some(pos) = pos else { return "" };
            src = &src[pos..];
            if !src.starts_with('#') {
                return src;
            }
            match src.find('\n') {
                None => return "",
                Some(p) => src = &src[p..],
            }
        }
    }

    fn locate_key_name<'a>(
        &mut self,
        src: &'a str,
    ) -> Result<(String, &'a str, bool), DotenvError> {
        let mut src = src;
        if let Some(rest) = src.strip_prefix("export")
            && rest.starts_with(|c: char| c.is_whitespace())
        {
            src = rest.trim_start_matches(is_space);
        }
        let mut key = "";
        let mut offset = 0;
        let mut inherited = false;
        let mut found = false;
        for (i, c) in src.char_indices() {
            if is_space(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    key = &src[..i];
                    offset = i + 1;
                    inherited = c == '\n';
                    found = true;
                    break;
                }
                '_' | '.' | '-' | '[' | ']' => {}
                c if c.is_alphanumeric() => {}
                c => {
                    return Err(DotenvError {
                        line: self.line,
                        message: format!(
                            "unexpected character {:?} in variable name {:?}",
                            c.to_string(),
                            src.split('\n').next().unwrap_or("")
                        ),
                    });
                }
            }
        }
        if src.is_empty() {
            return Err(DotenvError {
                line: self.line,
                message: "zero length string".into(),
            });
        }
        if !found {
            // As compose-go: a last line with neither `=` nor newline yields the key "".
            key = "";
            offset = 0;
        }
        if inherited && !key.contains(' ') {
            self.line += 1;
        }
        let key = key.trim_end().to_string();
        let rest = src[offset..].trim_start_matches(is_space);
        Ok((key, rest, inherited))
    }

    fn extract_value<'a>(
        &mut self,
        src: &'a str,
        env: &IndexMap<String, String>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(String, &'a str), DotenvError> {
        let quote = src.as_bytes().first().copied();
        if !matches!(quote, Some(b'"') | Some(b'\'')) {
            let (value, rest) = match src.find('\n') {
                Some(i) => (&src[..i], &src[i + 1..]),
                None => (src, ""),
            };
            self.line += 1;
            let value = match value.find(" #") {
                Some(i) => &value[..i],
                None => value,
            };
            let value = value.trim_end();
            let v = expand(value, env, lookup).map_err(|e| DotenvError {
                line: self.line,
                message: e,
            })?;
            return Ok((v, rest));
        }
        let quote = quote.unwrap();
        let b = src.as_bytes();
        let mut prev_escape = false;
        let mut chars: Vec<u8> = Vec::new();
        let mut i = 1;
        while i < b.len() {
            let c = b[i];
            if c == b'\n' {
                self.line += 1;
            }
            if c != quote {
                if !prev_escape && c == b'\\' {
                    prev_escape = true;
                    i += 1;
                    continue;
                }
                if prev_escape {
                    prev_escape = false;
                    chars.push(b'\\');
                }
                chars.push(c);
                i += 1;
                continue;
            }
            if prev_escape {
                prev_escape = false;
                chars.push(c);
                i += 1;
                continue;
            }
            let mut value = String::from_utf8_lossy(&chars).into_owned();
            if quote == b'"' {
                value = expand(&expand_escapes(&value), env, lookup).map_err(|e| DotenvError {
                    line: self.line,
                    message: e,
                })?;
            }
            return Ok((value, &src[i + 1..]));
        }
        let end = src.find('\n').unwrap_or(src.len());
        Err(DotenvError {
            line: self.line,
            message: format!("unterminated quoted value {}", &src[..end]),
        })
    }
}

fn expand(
    value: &str,
    env: &IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let f = |k: &str| lookup(k).or_else(|| env.get(k).cloned());
    template::substitute(value, &f).map_err(|e| e.to_string())
}

/// `\n`, `\t`, `\\`, `\"`, `\$` (-> `$$`), `\0NNN` octal... as compose-go's `expandEscapes`.
fn expand_escapes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let c = b[i + 1];
            let simple = match c {
                b'a' => Some(7u8),
                b'b' => Some(8),
                b'c' => None,
                b'f' => Some(12),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'v' => Some(11),
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                _ => None,
            };
            if let Some(v) = simple {
                out.push(v);
                i += 2;
                continue;
            }
            if c == b'$' {
                out.extend_from_slice(b"$$");
                i += 2;
                continue;
            }
            if c == b'0' {
                // \0 followed by up to 3 digits: octal (Go's UnquoteChar on `\NNN` needs
                // exactly 3 octal digits, else the match is kept as is)
                let mut j = i + 2;
                while j < b.len() && j < i + 5 && b[j].is_ascii_digit() {
                    j += 1;
                }
                let digits = &s[i + 2..j];
                if digits.len() == 3
                    && let Ok(v) = u8::from_str_radix(digits, 8)
                {
                    out.push(v);
                    i = j;
                    continue;
                }
                out.extend_from_slice(&b[i..j]);
                i = j;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> IndexMap<String, String> {
        let mut out = IndexMap::new();
        let lookup = |k: &str| {
            if k == "SHELL_VAR" {
                Some("shell".to_string())
            } else {
                None
            }
        };
        parse_into(src, &mut out, &lookup).unwrap();
        out
    }

    #[test]
    fn quoting_comments_and_interpolation() {
        let m = parse(
            "# comment\nA=1\nexport B = two # trailing\nC='lit $A'\nD=\"x\\ny $A\"\nE: colon\nSHELL_VAR\nF=${A}-${SHELL_VAR}\nG=\"a\\$b\"\n",
        );
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two");
        assert_eq!(m["C"], "lit $A");
        assert_eq!(m["D"], "x\ny 1");
        assert_eq!(m["E"], "colon");
        assert_eq!(m["SHELL_VAR"], "shell");
        assert_eq!(m["F"], "1-shell");
        assert_eq!(m["G"], "a$b");
    }

    #[test]
    fn key_with_space_is_an_error() {
        let mut out = IndexMap::new();
        let e = parse_into("A=1\nB C=2\n", &mut out, &|_| None).unwrap_err();
        assert_eq!(e.to_string(), "line 2: key cannot contain a space");
    }
}
