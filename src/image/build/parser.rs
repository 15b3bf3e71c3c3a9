//! Dockerfile syntax: lines, parser directives, continuations, comments and heredocs into a
//! list of instruction nodes. Follows BuildKit's `frontend/dockerfile/parser` rule by rule
//! (whitespace handling, the continuation regex, `parseWords`, JSON detection), so the same
//! file gives the same nodes.

use super::shell::{Env, Lex};

/// Where an error or warning points in the Dockerfile (1-based lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A heredoc attached to a RUN/COPY/ADD line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub fd: u32,
    /// Expand variables in the content (the delimiter was not quoted).
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the content and the terminator.
    pub chomp: bool,
    pub content: String,
}

impl Heredoc {
    /// The content with leading tabs removed when `<<-` was used.
    pub fn data(&self) -> String {
        if self.chomp {
            chomp_heredoc(&self.content)
        } else {
            self.content.clone()
        }
    }
}

/// One instruction line of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The keyword as written (`RUN`, `run`).
    pub value: String,
    /// Arguments as BuildKit's line parser produced them (for ENV/LABEL: key, value, separator
    /// triples).
    pub args: Vec<String>,
    /// `ONBUILD <instruction>`: the trigger.
    pub child: Option<Box<Node>>,
    pub heredocs: Vec<Heredoc>,
    /// The arguments were a JSON array.
    pub json: bool,
    /// The whole (continuation-joined) line.
    pub original: String,
    /// `--flag[=value]` words before the arguments.
    pub flags: Vec<String>,
    pub span: Span,
    pub comments: Vec<String>,
}

impl Node {
    /// Arguments flattened as BuildKit's `nodeArgs` does (ONBUILD: keyword then its args).
    pub fn flat_args(&self) -> Vec<String> {
        match &self.child {
            Some(c) => {
                let mut v = vec![c.value.clone()];
                v.extend(c.flat_args());
                v
            }
            None => self.args.clone(),
        }
    }

    fn can_contain_heredoc(&self) -> bool {
        let mut node = self;
        if node.value.eq_ignore_ascii_case("onbuild") {
            match &node.child {
                Some(c) => node = c,
                None => return false,
            }
        }
        let v = node.value.to_ascii_lowercase();
        matches!(v.as_str(), "run" | "copy" | "add") && !node.json
    }
}

/// A parser directive (`# escape=`, `# syntax=`, `# check=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub line: usize,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ast {
    pub nodes: Vec<Node>,
    pub escape: char,
    pub directives: Vec<Directive>,
    pub warnings: Vec<Warning>,
}

/// A syntax error with its Dockerfile line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub message: String,
    pub span: Span,
}

impl SyntaxError {
    pub fn new(message: impl Into<String>, start: usize, end: usize) -> Self {
        Self {
            message: message.into(),
            span: Span {
                start,
                end: end.max(start),
            },
        }
    }
}

const VALID_DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

struct Directives {
    escape: char,
    done: bool,
    seen: Vec<String>,
    found: Vec<Directive>,
    line: usize,
}

impl Directives {
    fn new() -> Self {
        Self {
            escape: '\\',
            done: false,
            seen: Vec::new(),
            found: Vec::new(),
            line: 0,
        }
    }

    /// BuildKit's DirectiveParser.ParseLine: only a leading run of `#key=value` lines counts.
    fn parse_line(&mut self, line: &str) -> Result<bool, String> {
        self.line += 1;
        if self.done {
            return Ok(false);
        }
        let Some(rest) = line.strip_prefix('#') else {
            self.done = true;
            return Ok(false);
        };
        let rest = rest.trim_start();
        let Some((key, value)) = match_directive(rest) else {
            self.done = true;
            return Ok(false);
        };
        let k = key.to_ascii_lowercase();
        if !VALID_DIRECTIVES.contains(&k.as_str()) {
            self.done = true;
            return Ok(false);
        }
        if self.seen.contains(&k) {
            return Err(format!("only one {k} parser directive can be used"));
        }
        self.seen.push(k.clone());
        if k == "escape" {
            match value.as_str() {
                "`" => self.escape = '`',
                "\\" => self.escape = '\\',
                v => return Err(format!("invalid escape token '{v}' does not match ` or \\")),
            }
        }
        self.found.push(Directive {
            name: k,
            value,
            line: self.line,
        });
        Ok(true)
    }

    /// `([^E])E[ \t]*$|^E[ \t]*$` replaced by `$1`.
    fn trim_continuation<'a>(&self, line: &'a str) -> (&'a str, bool) {
        let t = line.trim_end_matches([' ', '\t']);
        if let Some(before) = t.strip_suffix(self.escape) {
            match before.chars().last() {
                None => return ("", false),
                Some(c) if c != self.escape => return (before, false),
                _ => {}
            }
        }
        (line, true)
    }
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn match_directive(s: &str) -> Option<(String, String)> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let mut end = s.len();
    for (i, c) in chars {
        if !c.is_ascii_alphanumeric() {
            end = i;
            break;
        }
    }
    let key = &s[..end];
    let rest = s[end..].trim_start_matches(is_go_space_ascii);
    let rest = rest.strip_prefix('=')?;
    let value = rest.trim_matches(is_go_space_ascii);
    if value.is_empty() {
        return None;
    }
    Some((key.to_string(), value.to_string()))
}

/// RE2's `\s`: `[\t\n\f\r ]`.
fn is_go_space_ascii(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// `[\t\v\f\r ]+` (BuildKit's reWhitespace).
fn is_re_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

fn split_re_whitespace(s: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        if limit > 0 && out.len() + 1 == limit {
            out.push(rest.to_string());
            break;
        }
        match rest.find(is_re_whitespace) {
            Some(i) => {
                out.push(rest[..i].to_string());
                let after = rest[i..].trim_start_matches(is_re_whitespace);
                rest = after;
            }
            None => {
                out.push(rest.to_string());
                break;
            }
        }
    }
    out
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Strip leading tabs from every line (for `<<-`).
pub fn chomp_heredoc(src: &str) -> String {
    src.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

/// Parse a Dockerfile's text.
pub fn parse(text: &str) -> Result<Ast, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut d = Directives::new();
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut current = 0usize;
    let mut i = 0usize;

    while i < lines.len() {
        let raw = lines[i];
        i += 1;
        if is_comment(raw) {
            let c = trim_newline(raw).trim_start()[1..].trim().to_string();
            if c.is_empty() {
                comments.clear();
            } else {
                comments.push(c);
            }
        }
        let token = trim_newline(raw).trim_start();
        let directive = d
            .parse_line(token)
            .map_err(|m| SyntaxError::new(m, current + 1, 0))?;
        if directive {
            comments.pop();
        }
        let processed = if is_comment(token) { "" } else { token };
        current += 1;
        let start = current;
        let (first, mut eol) = d.trim_continuation(processed);
        if eol && first.is_empty() {
            continue;
        }
        let mut buf = first.to_string();
        let mut empty_continuation = false;
        while !eol && i < lines.len() {
            let raw = lines[i];
            i += 1;
            let token = trim_newline(raw);
            d.parse_line(token)
                .map_err(|m| SyntaxError::new(m, current + 1, 0))?;
            current += 1;
            if is_comment(raw) {
                continue;
            }
            if token.trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            let (part, end) = d.trim_continuation(token);
            eol = end;
            buf.push_str(part);
        }
        if empty_continuation {
            warnings.push(Warning {
                message: format!("Empty continuation line found in: {buf}"),
                line: current,
            });
        }

        let mut node = node_from_line(&buf, &d, std::mem::take(&mut comments))
            .map_err(|m| SyntaxError::new(m, start, current))?;

        if node.can_contain_heredoc() && buf.contains("<<") {
            let docs = heredocs_from_line(&buf).map_err(|m| SyntaxError::new(m, start, current))?;
            for mut doc in docs {
                let mut terminated = false;
                while i < lines.len() {
                    let raw = lines[i];
                    i += 1;
                    current += 1;
                    let mut term = trim_newline(raw);
                    if doc.chomp {
                        term = term.trim_start_matches('\t');
                    }
                    if term == doc.name {
                        terminated = true;
                        break;
                    }
                    doc.content.push_str(raw);
                }
                if !terminated {
                    return Err(SyntaxError::new("unterminated heredoc", start, current));
                }
                node.heredocs.push(doc);
            }
        }
        node.span = Span {
            start,
            end: current,
        };
        nodes.push(node);
    }

    if nodes.is_empty() {
        return Err(SyntaxError::new(
            "file with no instructions",
            current.max(1),
            0,
        ));
    }
    Ok(Ast {
        nodes,
        escape: d.escape,
        directives: d.found,
        warnings,
    })
}

fn node_from_line(line: &str, d: &Directives, comments: Vec<String>) -> Result<Node, String> {
    let trimmed = line.trim();
    let parts = split_re_whitespace(trimmed, 2);
    let cmd = parts[0].clone();
    let (flags, args_str) = if parts.len() == 2 {
        let (rest, flags) = extract_builder_flags(&parts[1], d.escape);
        (flags, rest.trim().to_string())
    } else {
        (Vec::new(), String::new())
    };
    let mut node = Node {
        value: cmd.clone(),
        args: Vec::new(),
        child: None,
        heredocs: Vec::new(),
        json: false,
        original: line.to_string(),
        flags,
        span: Span::default(),
        comments,
    };
    match cmd.to_ascii_lowercase().as_str() {
        "add" | "copy" | "volume" => {
            let (args, json) = parse_maybe_json_to_list(&args_str)?;
            node.args = args;
            node.json = json;
        }
        "arg" => node.args = parse_words(&args_str, d.escape),
        "cmd" | "entrypoint" | "run" | "shell" => {
            let (args, json) = parse_maybe_json(&args_str)?;
            node.args = args;
            node.json = json;
        }
        "env" => node.args = parse_name_val(&args_str, "ENV", d.escape)?,
        "label" => node.args = parse_name_val(&args_str, "LABEL", d.escape)?,
        "expose" | "from" => node.args = parse_whitespace_delimited(&args_str),
        "healthcheck" => {
            let (args, json) = parse_health_config(&args_str)?;
            node.args = args;
            node.json = json;
        }
        "maintainer" | "stopsignal" | "user" | "workdir" if !args_str.is_empty() => {
            node.args = vec![args_str];
        }
        "onbuild" if !args_str.is_empty() => {
            node.child = Some(Box::new(node_from_line(&args_str, d, Vec::new())?));
        }
        _ => {}
    }
    Ok(node)
}

/// Leading `--flag` words (BuildKit's extractBuilderFlags), returning the rest of the line.
fn extract_builder_flags(line: &str, escape: char) -> (String, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0usize;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let ch = if at_end { '\0' } else { chars[pos].1 };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            let next_dash = chars.get(pos + 1).map(|c| c.1) == Some('-');
            if ch != '-' || !next_dash {
                return (line[chars[pos].0..].to_string(), words);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if word == "--" {
                    return (line[chars[pos].0..].to_string(), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = chars[pos].1;
            }
            word.push(c);
            pos += 1;
            continue;
        }
        // in quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut c = ch;
        if ch == escape {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = chars[pos].1;
        }
        word.push(c);
        pos += 1;
    }
    (String::new(), words)
}

/// BuildKit's parseWords: split on whitespace, keeping quotes (they are removed later by the
/// shell lexer during expansion).
fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut sb = String::new();
    let mut pos = 0usize;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = if at_end { '\0' } else { chars[pos] };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if (phase == Phase::Word || phase == Phase::Quote) && at_end {
            if blank_ok || !sb.is_empty() {
                words.push(sb.clone());
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !sb.is_empty() {
                    words.push(sb.clone());
                }
                sb.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                sb.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            sb.push(ch);
            pos += 1;
            continue;
        }
        // Quote
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            sb.push(ch);
            ch = chars[pos];
        }
        sb.push(ch);
        pos += 1;
    }
    words
}

fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<Vec<String>, String> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    if !words[0].contains('=') {
        let parts = split_re_whitespace(rest, 2);
        if parts.len() < 2 {
            return Err(format!("{key} must have two arguments"));
        }
        return Ok(vec![parts[0].clone(), parts[1].clone(), String::new()]);
    }
    let mut out = Vec::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                super::gofmt::quote(&w)
            ));
        };
        out.extend([k.to_string(), v.to_string(), "=".to_string()]);
    }
    Ok(out)
}

fn parse_whitespace_delimited(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    split_re_whitespace(rest, 0)
}

enum JsonErr {
    NotJson,
    NotStringArray,
}

const ERR_NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

fn parse_json(rest: &str) -> Result<Vec<String>, JsonErr> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Err(JsonErr::NotJson);
    }
    let values: Vec<serde_json::Value> =
        serde_json::from_str(rest).map_err(|_| JsonErr::NotJson)?;
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(JsonErr::NotStringArray),
        })
        .collect()
}

fn parse_maybe_json(rest: &str) -> Result<(Vec<String>, bool), String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    match parse_json(rest) {
        Ok(v) => Ok((v, true)),
        Err(JsonErr::NotStringArray) => Err(ERR_NOT_STRING_ARRAY.to_string()),
        Err(JsonErr::NotJson) => Ok((vec![rest.to_string()], false)),
    }
}

fn parse_maybe_json_to_list(rest: &str) -> Result<(Vec<String>, bool), String> {
    match parse_json(rest) {
        Ok(v) => Ok((v, true)),
        Err(JsonErr::NotStringArray) => Err(ERR_NOT_STRING_ARRAY.to_string()),
        Err(JsonErr::NotJson) => Ok((parse_whitespace_delimited(rest), false)),
    }
}

fn parse_health_config(rest: &str) -> Result<(Vec<String>, bool), String> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let typ = rest[..sep].to_string();
    let next = rest[sep..].trim_start();
    let (cmd, json) = parse_maybe_json(next)?;
    let mut args = vec![typ];
    args.extend(cmd);
    Ok((args, json))
}

/// `^(\d*)<<(-?)\s*([^<]*)$` and the quoting rules of BuildKit's ParseHeredoc.
pub fn parse_heredoc(src: &str) -> Result<Option<Heredoc>, String> {
    let digits = src.len() - src.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(after) = src[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match after.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, after),
    };
    let rest = rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let fd = src[..digits].parse::<u32>().unwrap_or(0);
    let env = Env::default();
    let mut lex = Lex::new('\\');
    lex.skip_unset_env = true;
    let words = lex.process_words(rest, &env).map_err(|e| e.to_string())?;
    if words.len() != 1 {
        return Ok(None);
    }
    lex.raw_quotes = true;
    let raw = lex.process_words(rest, &env).map_err(|e| e.to_string())?;
    if raw.len() != words.len() {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let count = |s: &str| s.matches(['\'', '"']).count();
    let expand = count(&words[0]) == count(&raw[0]);
    Ok(Some(Heredoc {
        name: words[0].clone(),
        fd,
        expand,
        chomp,
        content: String::new(),
    }))
}

fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let mut lex = Lex::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset_env = true;
    let words = lex.process_words(line, &Env::default()).unwrap_or_default();
    let mut docs = Vec::new();
    for w in words {
        if let Some(h) = parse_heredoc(&w)? {
            docs.push(h);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(text: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
        parse(text)
            .unwrap()
            .nodes
            .into_iter()
            .map(|n| (n.value.clone(), n.flags.clone(), n.flat_args()))
            .collect()
    }

    #[test]
    fn continuation_and_comment_lines_join() {
        let n = dump("RUN echo a \\\n# comment inside\n  && echo b\n");
        assert_eq!(n[0].2, vec!["echo a   && echo b"]);
    }

    #[test]
    fn backtick_escape_directive_changes_continuation() {
        let ast = parse("# escape=`\nRUN dir c:\\ `\n  foo\n").unwrap();
        assert_eq!(ast.escape, '`');
        assert_eq!(ast.nodes[0].args, vec!["dir c:\\   foo"]);
    }

    #[test]
    fn escaped_escape_is_not_a_continuation() {
        let n = dump("RUN echo \\\\\nRUN b\n");
        assert_eq!(n.len(), 2);
    }

    #[test]
    fn env_forms_become_triples() {
        let n = dump("ENV A b c\nENV X=\"1 2\" Y=3\n");
        assert_eq!(n[0].2, vec!["A", "b c", ""]);
        assert_eq!(n[1].2, vec!["X", "\"1 2\"", "=", "Y", "3", "="]);
    }

    #[test]
    fn flags_are_split_off() {
        let n = dump("COPY --from=build --chown=\"a b\" src dst\n");
        assert_eq!(n[0].1, vec!["--from=build", "--chown=a b"]);
        assert_eq!(n[0].2, vec!["src", "dst"]);
    }

    #[test]
    fn heredocs_are_read() {
        let ast =
            parse("RUN <<EOF\necho hi\nEOF\nCOPY <<-\"A\" <<B /x/\n\tone\n\tA\ntwo\nB\n").unwrap();
        assert_eq!(ast.nodes[0].heredocs[0].content, "echo hi\n");
        assert!(ast.nodes[0].heredocs[0].expand);
        let c = &ast.nodes[1].heredocs;
        assert_eq!(
            (c[0].name.as_str(), c[0].expand, c[0].chomp),
            ("A", false, true)
        );
        assert_eq!(c[0].data(), "one\n");
        assert_eq!(c[1].content, "two\n");
        assert_eq!(ast.nodes[1].span, Span { start: 4, end: 8 });
    }
}

/// BuildKit's `parser_heredoc_test.go`, ported.
#[cfg(test)]
mod heredoc_tests {
    use super::*;

    #[test]
    fn parse_extracts_heredocs_like_buildkit() {
        let df = "\nFROM alpine:3.6\n\nENV NAME=me\n\nRUN ls\n\nUSER <<INVALID\nINVALID\n\nRUN <<EMPTY\nEMPTY\n\nRUN 3<<EMPTY2\nEMPTY2\n\nRUN \"<<NOHEREDOC\"\n\nRUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\nRUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\n\nRUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\nRUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\nRUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\nRUN <<COPY\necho hello world\necho foo bar\nCOPY\n\nRUN <<COMMENT\n# internal comment\necho hello world\necho foo bar # trailing comment\nCOMMENT\n\nRUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\nCOPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n\nCOPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n\nCOPY <<X <<Y /dest\nY\nX\nX\nY\n\nRUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n\nCOPY <<file.txt /dest\nhello world\nfile.txt\n\nRUN <<eo'f'\necho foo\neof\n\nRUN <<eo\\'f\necho foo\neo'f\n\nRUN <<'e'o\\'f\necho foo\neo'f\n\nRUN <<'one two'\necho bar\none two\n\nRUN <<$EOF\n$EOF\n\nRUN <<  EOF\nEOF\n\nRUN <<  EOF  > foo\nEOF\n\t";
        let h = |name: &str, content: &str, expand: bool, chomp: bool, fd: u32| Heredoc {
            name: name.into(),
            fd,
            expand,
            chomp,
            content: content.into(),
        };
        let want: Vec<Vec<Heredoc>> = vec![
            vec![],
            vec![],
            vec![],
            vec![],
            vec![h("EMPTY", "", true, false, 0)],
            vec![h("EMPTY2", "", true, false, 3)],
            vec![],
            vec![h("INDENT", "\tfoo\n\tbar\n", true, false, 0)],
            vec![h("UNINDENT", "\tbaz\n\tquux\n", true, true, 0)],
            vec![h("UNINDENT2", "\tbaz\n\tquux\n", true, true, 0)],
            vec![h("EXPAND", "\texpand $NAME\n", true, true, 0)],
            vec![h("NOEXPAND", "\tdon't expand $NAME\n", false, true, 0)],
            vec![h(
                "COPY",
                "echo hello world\necho foo bar\n",
                true,
                false,
                0,
            )],
            vec![h(
                "COMMENT",
                "# internal comment\necho hello world\necho foo bar # trailing comment\n",
                true,
                false,
                0,
            )],
            vec![h("MOUNT", "echo hello\n", true, false, 0)],
            vec![
                h("FILE1", "content 1\n", true, false, 0),
                h("FILE2", "content 2\n", true, false, 0),
            ],
            vec![h("EOF", "\"foo\"\n'bar'\n", true, false, 0)],
            vec![h("X", "Y\n", true, false, 0), h("Y", "X\n", true, false, 0)],
            vec![h("COMPLEX", "print('hello world')\n", true, false, 0)],
            vec![h("file.txt", "hello world\n", true, false, 0)],
            vec![h("eof", "echo foo\n", false, false, 0)],
            vec![h("eo'f", "echo foo\n", true, false, 0)],
            vec![h("eo'f", "echo foo\n", false, false, 0)],
            vec![h("one two", "echo bar\n", false, false, 0)],
            vec![h("$EOF", "", true, false, 0)],
            vec![h("EOF", "", true, false, 0)],
            vec![h("EOF", "", true, false, 0)],
        ];
        let ast = parse(df).unwrap();
        for (i, w) in want.iter().enumerate() {
            assert_eq!(
                &ast.nodes[i + 1].heredocs,
                w,
                "node {} ({})",
                i + 1,
                ast.nodes[i + 1].original
            );
        }
    }

    #[test]
    fn json_form_has_no_heredocs() {
        let ast =
            parse("FROM alpine\nRUN [\"whoami\"]\nRUN [\"<<EOF\"]\nRUN [\"<<'EOF'\"]\n").unwrap();
        assert!(ast.nodes[1..].iter().all(|n| n.heredocs.is_empty()));
    }

    #[test]
    fn heredoc_word_helpers() {
        for src in [
            "<<EOF",
            "<<'EOF'",
            "<<\"EOF\"",
            "<<-EOF",
            "<<-'EOF'",
            "<<-\"EOF\"",
            "<<EO\"F\"",
            "<< EOF",
            "<<- EOF",
        ] {
            assert_eq!(parse_heredoc(src).unwrap().unwrap().name, "EOF", "{src}");
        }
        for src in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            assert!(parse_heredoc(src).is_err(), "{src}");
        }
        for src in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
            assert_eq!(parse_heredoc(src).unwrap(), None, "{src}");
        }
        assert_eq!(chomp_heredoc("\thello\n\tworld\n"), "hello\nworld\n");
        for (line, names) in [
            ("RUN <<EOF", vec!["EOF"]),
            ("RUN <<-EOF", vec!["EOF"]),
            ("RUN <<- EOF", vec!["EOF"]),
            ("RUN << -EOF", vec!["-EOF"]),
            ("RUN <<'EOF'", vec!["EOF"]),
            ("RUN 4<<EOF", vec!["EOF"]),
            ("RUN <<EOF <<EOF2", vec!["EOF", "EOF2"]),
            ("RUN '<<EOF'", vec![]),
            ("RUN \"<<EOF\"", vec![]),
        ] {
            let got: Vec<String> = heredocs_from_line(line)
                .unwrap()
                .into_iter()
                .map(|h| h.name)
                .collect();
            assert_eq!(got, names, "{line}");
        }
    }
}
