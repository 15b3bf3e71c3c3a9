//! Variable substitution and word splitting as BuildKit's `frontend/dockerfile/shell` lexer
//! does it: quotes, the escape token, `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`,
//! `${VAR+x}`, `${VAR:?msg}`, `${VAR#pat}`, `${VAR%pat}`, `${VAR/pat/repl}`.

use std::collections::BTreeSet;

/// An ordered set of variables (later `set` replaces in place, as llb's AddOrReplace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn set(&mut self, key: &str, value: &str) {
        match self.vars.iter_mut().find(|(k, _)| k == key) {
            Some(kv) => kv.1 = value.to_string(),
            None => self.vars.push((key.to_string(), value.to_string())),
        }
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().map(|(k, _)| k.as_str())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    /// `KEY=value` strings.
    pub fn to_list(&self) -> Vec<String> {
        self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
    /// From `KEY=value` strings (a later duplicate replaces).
    pub fn from_list<'a>(list: impl IntoIterator<Item = &'a String>) -> Self {
        let mut e = Env::default();
        for kv in list {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            e.set(k, v);
        }
        e
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process \"{source_text}\": {message}")]
pub struct LexError {
    pub source_text: String,
    pub message: String,
}

/// The result of one substitution, with the variables it used.
#[derive(Debug, Clone, Default)]
pub struct Processed {
    pub result: String,
    pub words: Vec<String>,
    pub matched: BTreeSet<String>,
    pub unmatched: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct Lex {
    pub escape: char,
    pub raw_quotes: bool,
    pub raw_escapes: bool,
    pub skip_process_quotes: bool,
    pub skip_unset_env: bool,
}

impl Lex {
    pub fn new(escape: char) -> Self {
        Self {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// Substitute variables in `word` (no word splitting).
    pub fn process_word(&self, word: &str, env: &Env) -> Result<String, LexError> {
        Ok(self.process(word, env)?.result)
    }

    /// Substitute, then split into words as a shell would (quotes kept together).
    pub fn process_words(&self, word: &str, env: &Env) -> Result<Vec<String>, LexError> {
        Ok(self.process(word, env)?.words)
    }

    pub fn process(&self, word: &str, env: &Env) -> Result<Processed, LexError> {
        let mut sw = ShellWord {
            lex: self,
            chars: word.chars().collect(),
            pos: 0,
            env,
            raw_escapes: self.raw_escapes,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        };
        let (result, words) = sw
            .process_stop_on(None, self.raw_escapes)
            .map_err(|message| LexError {
                source_text: word.to_string(),
                message,
            })?;
        Ok(Processed {
            result,
            words,
            matched: sw.matched,
            unmatched: sw.unmatched,
        })
    }
}

struct ShellWord<'a> {
    lex: &'a Lex,
    chars: Vec<char>,
    pos: usize,
    env: &'a Env,
    raw_escapes: bool,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() && self.in_word {
            if !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else if !ch.is_whitespace() {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for c in s.chars() {
            self.add_char(c);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

impl ShellWord<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), String> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let r = self.process_stop_on_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn process_stop_on_inner(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            let special = ch == '$'
                || ch == '<'
                || (!self.lex.skip_process_quotes && (ch == '\'' || ch == '"'));
            if special {
                let tmp = match ch {
                    '$' => self.process_dollar()?,
                    '<' => self.process_possible_heredoc(),
                    '\'' => self.process_single_quote()?,
                    _ => self.process_double_quote()?,
                };
                result.push_str(&tmp);
                if ch == '$' {
                    words.add_string(&tmp);
                } else {
                    words.add_raw_string(&tmp);
                }
            } else {
                let mut ch = self.next().unwrap_or_default();
                if ch == self.lex.escape {
                    if self.raw_escapes {
                        words.add_raw_char(ch);
                        result.push(ch);
                    }
                    match self.next() {
                        None => break,
                        Some(c) => ch = c,
                    }
                    words.add_raw_char(ch);
                } else {
                    words.add_char(ch);
                }
                result.push(ch);
            }
        }
        if let Some(s) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {s}"
            ));
        }
        Ok((result, words.finish()))
    }

    /// `<<` keeps the blanks after it in the same word, so `<< EOF` is one heredoc word.
    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        if self.peek() == Some('-') {
            out.push('-');
            self.next();
        }
        while let Some(c @ (' ' | '\t')) = self.peek() {
            out.push(c);
            self.next();
        }
        out
    }

    fn process_single_quote(&mut self) -> Result<String, String> {
        let mut result = String::new();
        let q = self.next().unwrap_or('\'');
        if self.lex.raw_quotes {
            result.push(q);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    );
                }
                Some('\'') => {
                    if self.lex.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, String> {
        let mut result = String::new();
        let q = self.next().unwrap_or('"');
        if self.lex.raw_quotes {
            result.push(q);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    );
                }
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let v = self.process_dollar()?;
                    result.push_str(&v);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.lex.escape => {
                                ch = self.next().unwrap_or_default();
                            }
                            _ => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn get_env(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(v) => {
                self.matched.insert(name.to_string());
                Some(v.to_string())
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }

    fn process_dollar(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".into());
            }
            let v = self.get_env(&name);
            if v.is_none() && self.lex.skip_unset_env {
                return Ok(format!("${name}"));
            }
            return Ok(v.unwrap_or_default());
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            _ => {}
        }
        let name = self.process_name();
        let ch = self.next();
        let mut chs = ch.map(String::from).unwrap_or_default();
        match ch {
            Some('}') => {
                let v = self.get_env(&name);
                if v.is_none() && self.lex.skip_unset_env {
                    return Ok(format!("${{{name}}}"));
                }
                Ok(v.unwrap_or_default())
            }
            Some(c @ (':' | '+' | '-' | '?' | '#' | '%')) => {
                let mut null_is_unset = false;
                let mut modifier = c;
                if c == ':' {
                    null_is_unset = true;
                    match self.next() {
                        Some(m) => {
                            chs.push(m);
                            modifier = m;
                        }
                        None => return Err("syntax error: missing '}'".into()),
                    }
                }
                let raw = modifier == '#' || modifier == '%';
                if null_is_unset && raw {
                    return Err(format!("unsupported modifier ({chs}) in substitution"));
                }
                let word = match self.process_stop_on(Some('}'), raw) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err("syntax error: missing '}'".into());
                        }
                        return Err(e);
                    }
                };
                let value = self.get_env(&name);
                if self.lex.skip_unset_env && value.is_none() {
                    return Ok(format!("${{{name}{chs}{word}}}"));
                }
                let set = value.is_some();
                let value = value.unwrap_or_default();
                match modifier {
                    '-' => Ok(if !set || (null_is_unset && value.is_empty()) {
                        word
                    } else {
                        value
                    }),
                    '+' => Ok(if !set || (null_is_unset && value.is_empty()) {
                        String::new()
                    } else {
                        word
                    }),
                    '?' => {
                        if !set {
                            let m = if word.is_empty() {
                                "is not allowed to be unset".to_string()
                            } else {
                                word
                            };
                            return Err(format!("{name}: {m}"));
                        }
                        if null_is_unset && value.is_empty() {
                            let m = if word.is_empty() {
                                "is not allowed to be empty".to_string()
                            } else {
                                word
                            };
                            return Err(format!("{name}: {m}"));
                        }
                        Ok(value)
                    }
                    '%' | '#' => {
                        let (greedy, pat) = match word.strip_prefix(modifier) {
                            Some(p) => (true, p.to_string()),
                            None => (false, word),
                        };
                        if modifier == '%' {
                            trim_suffix(&pat, &value, greedy)
                        } else {
                            trim_prefix(&pat, &value, greedy)
                        }
                    }
                    _ => Err(format!("unsupported modifier ({chs}) in substitution")),
                }
            }
            Some('/') => {
                let all = self.peek() == Some('/');
                if all {
                    self.next();
                }
                let pattern = match self.process_stop_on(Some('/'), true) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err("syntax error: missing '/' in ${}".into());
                        }
                        return Err(e);
                    }
                };
                let repl = match self.process_stop_on(Some('}'), true) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err("syntax error: missing '}'".into());
                        }
                        return Err(e);
                    }
                };
                let value = self.get_env(&name);
                if self.lex.skip_unset_env && value.is_none() {
                    return Ok(format!("${{{name}/{pattern}/{repl}}}"));
                }
                let value = value.unwrap_or_default();
                let re = shell_pattern_regex(&pattern, true, false)
                    .map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))?;
                if all {
                    Ok(re.replace_all(&value, regex::NoExpand(&repl)).into_owned())
                } else {
                    Ok(re.replace(&value, regex::NoExpand(&repl)).into_owned())
                }
            }
            // BuildKit reports `unsupported modifier (\ufffd)` at the end of input.
            None => Err("syntax error: missing '}'".into()),
            _ => Err(format!("unsupported modifier ({chs}) in substitution")),
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(c) = self.peek() {
                    if !c.is_ascii_digit() {
                        break;
                    }
                    name.push(c);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }
}

/// A shell wildcard (`*`, `?`, `\x`) as a regex (no bracket expressions, as BuildKit).
fn shell_pattern_regex(
    pattern: &str,
    greedy: bool,
    anchored: bool,
) -> Result<regex::Regex, String> {
    let mut out = String::new();
    if anchored {
        out.push('^');
    }
    let star = if greedy { ".*" } else { ".*?" };
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(star),
            '?' => out.push('.'),
            '\\' => {
                if matches!(chars.get(i), Some('}' | '/')) {
                    continue;
                }
                let n = chars.get(i).copied();
                i += 1;
                match n {
                    Some(t @ ('*' | '?' | '\\')) => {
                        out.push('\\');
                        out.push(t);
                    }
                    Some(t) => return Err(format!("invalid escape '\\{t}'")),
                    None => return Err("invalid escape '\\'".into()),
                }
            }
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    regex::Regex::new(&out).map_err(|e| e.to_string())
}

fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let re = shell_pattern_regex(pattern, greedy, true)
        .map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))?;
    Ok(match re.find(value) {
        Some(m) => value[m.end()..].to_string(),
        None => value.to_string(),
    })
}

fn reverse_pattern(pattern: &str) -> String {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = vec!['\0'; p.len()];
    let last = p.len().saturating_sub(1);
    let mut i = 0;
    while i < p.len() {
        let o = last - i;
        if p[i] == '\\' && i != last {
            out[o - 1] = p[i];
            out[o] = p[i + 1];
            i += 2;
        } else {
            out[o] = p[i];
            i += 1;
        }
    }
    out.into_iter().collect()
}

fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let rp = reverse_pattern(pattern);
    let rv: String = value.chars().rev().collect();
    let s = trim_prefix(&rp, &rv, greedy)?;
    Ok(s.chars().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        let mut e = Env::default();
        e.set("A", "a");
        e.set("EMPTY", "");
        e.set("P", "/usr/local/bin/app.tar.gz");
        e.set("W", "x y");
        e
    }

    fn w(s: &str) -> String {
        Lex::new('\\').process_word(s, &env()).unwrap()
    }

    #[test]
    fn substitutions_follow_buildkit() {
        assert_eq!(w("$A ${A} ${A}b"), "a a ab");
        assert_eq!(w("${U:-d} ${EMPTY:-d} ${EMPTY-d} ${U-d}"), "d d  d");
        assert_eq!(w("${A:+x} ${EMPTY:+x}|${EMPTY+x} ${U+x}|"), "x |x |");
        assert_eq!(
            w("${P#*/} ${P##*/} ${P%.*} ${P%%.*}"),
            "usr/local/bin/app.tar.gz app.tar.gz /usr/local/bin/app.tar /usr/local/bin/app"
        );
        assert_eq!(w("${P/local/opt} ${A//a/b}"), "/usr/opt/bin/app.tar.gz b");
        assert_eq!(w("'$A' \"$A\" \\$A $"), "$A a $A $");
        let err = Lex::new('\\')
            .process_word("${U?must be set}", &env())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to process \"${U?must be set}\": U: must be set"
        );
        assert!(Lex::new('\\').process_word("${A", &env()).is_err());
        assert!(Lex::new('\\').process_word("${:}", &env()).is_err());
    }

    #[test]
    fn words_split_after_expansion_but_not_quotes() {
        let words = Lex::new('\\')
            .process_words("$W \"$W\" 'q r'", &env())
            .unwrap();
        assert_eq!(words, vec!["x", "y", "x y", "q r"]);
    }

    #[test]
    fn backtick_escape() {
        assert_eq!(
            Lex::new('`').process_word("`$A c:\\dir", &env()).unwrap(),
            "$A c:\\dir"
        );
    }
}
