//! YAML parsing into the position-annotated [`Node`] tree.
//!
//! We use `saphyr-parser` (a maintained, spec-compliant YAML 1.2 event parser that reports a
//! span for every event) and build the tree ourselves, so that we control exactly how scalars
//! are typed. Compose (compose-go) decodes YAML with `gopkg.in/yaml.v3` into `interface{}`,
//! whose resolution rules differ from plain YAML 1.2 in ways users rely on: `0755` is the
//! octal integer 493, `1_000` is 1000, `yes`/`on` stay strings, timestamps stay strings. The
//! rules below follow yaml.v3's `resolve()` function.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::node::{Map, Node, Pos, Tag, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

/// Maximum number of nodes produced by alias expansion, against "billion laughs" documents.
const NODE_BUDGET: usize = 5_000_000;

thread_local! {
    static SEEN_TIMESTAMP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static SEEN_RESET_TAG: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread ever parsed an unquoted timestamp (lets validation skip looking).
pub fn seen_timestamp() -> bool {
    SEEN_TIMESTAMP.with(|c| c.get())
}

/// Whether this thread ever parsed a `!reset` or `!override` tag.
pub fn seen_reset_tag() -> bool {
    SEEN_RESET_TAG.with(|c| c.get())
}

/// Parse all documents of a YAML stream. Empty documents are returned as `Null` nodes.
pub fn parse_documents(src: &str, file: u32) -> Result<Vec<Node>, YamlError> {
    // yaml.v3 (and so Compose) ignores a leading UTF-8 BOM.
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        anchors: HashMap::new(),
        file,
        budget: NODE_BUDGET,
    };
    let mut docs = Vec::new();
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamStart | Event::Nothing => continue,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let (ev, span) = b.next()?;
                let node = if matches!(ev, Event::DocumentEnd) {
                    Node::null(b.pos(&span))
                } else {
                    let n = b.node(ev, span, &mut Vec::new())?;
                    let (end, span) = b.next()?;
                    if !matches!(end, Event::DocumentEnd) {
                        return Err(b.err(&span, "expected end of document"));
                    }
                    n
                };
                docs.push(node);
                b.anchors.clear();
            }
            _ => return Err(b.err(&span, "unexpected YAML event")),
        }
    }
    Ok(docs)
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    file: u32,
    budget: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => {
                let m = e.marker();
                Err(YamlError {
                    pos: Pos {
                        file: self.file,
                        line: m.line() as u32,
                        col: m.col() as u32 + 1,
                    },
                    message: e.info().to_string(),
                })
            }
            None => Err(YamlError {
                pos: Pos::NONE,
                message: "unexpected end of YAML stream".into(),
            }),
        }
    }

    fn pos(&self, span: &Span) -> Pos {
        Pos {
            file: self.file,
            line: span.start.line() as u32,
            col: span.start.col() as u32 + 1,
        }
    }

    fn err(&self, span: &Span, msg: impl Into<String>) -> YamlError {
        YamlError {
            pos: self.pos(span),
            message: msg.into(),
        }
    }

    fn spend(&mut self, n: usize, span: &Span) -> Result<(), YamlError> {
        if self.budget < n {
            return Err(self.err(span, "document is too large (too many alias expansions)"));
        }
        self.budget -= n;
        Ok(())
    }

    /// Build the node starting with `ev`. `path` is the mapping-key path, for error messages.
    fn node(
        &mut self,
        ev: Event<'a>,
        span: Span,
        path: &mut Vec<String>,
    ) -> Result<Node, YamlError> {
        self.spend(1, &span)?;
        let pos = self.pos(&span);
        match ev {
            Event::Alias(id) => {
                let Some(n) = self.anchors.get(&id) else {
                    return Err(self.err(&span, "unknown anchor"));
                };
                let n = n.clone();
                let size = count_nodes(&n);
                self.spend(size, &span)?;
                Ok(n)
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tag_name = tag.as_ref().map(|t| tag_string(&t.handle, &t.suffix));
                let mut node = resolve_scalar(value, style, tag_name.as_deref(), pos)
                    .map_err(|m| self.err(&span, m))?;
                if node.tag.is_none() {
                    node.tag = compose_tag(tag_name.as_deref());
                }
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                Ok(node)
            }
            Event::SequenceStart(anchor, tag) => {
                let tag_name = tag.as_ref().map(|t| tag_string(&t.handle, &t.suffix));
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, span, path)?);
                }
                let mut node = Node::seq(items, pos);
                node.tag = compose_tag(tag_name.as_deref());
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                Ok(node)
            }
            Event::MappingStart(anchor, tag) => {
                let tag_name = tag.as_ref().map(|t| tag_string(&t.handle, &t.suffix));
                let node = self.mapping(pos, path)?;
                let mut node = node;
                node.tag = compose_tag(tag_name.as_deref());
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                Ok(node)
            }
            _ => Err(self.err(&span, "unexpected YAML event")),
        }
    }

    fn mapping(&mut self, pos: Pos, path: &mut Vec<String>) -> Result<Node, YamlError> {
        let mut map = Map::default();
        let mut merges: Vec<(Node, Span)> = Vec::new();
        loop {
            let (kev, kspan) = self.next()?;
            if matches!(kev, Event::MappingEnd) {
                break;
            }
            let kpos = self.pos(&kspan);
            let key = match kev {
                Event::Scalar(v, style, _, tag) => {
                    let tag_name = tag.as_ref().map(|t| tag_string(&t.handle, &t.suffix));
                    if style == ScalarStyle::Plain && v == "<<" && tag_name.is_none() {
                        // merge key: value is a mapping or a list of mappings
                        let (vev, vspan) = self.next()?;
                        let v = self.node(vev, vspan, path)?;
                        merges.push((v, vspan));
                        continue;
                    }
                    let resolved = resolve_scalar(v, style, tag_name.as_deref(), kpos)
                        .map_err(|m| self.err(&kspan, m))?;
                    match resolved.v {
                        Value::Str(s) => s,
                        _ => {
                            let shown = match &resolved.v {
                                Value::Null => "<nil>".to_string(),
                                _ => resolved.go_string(),
                            };
                            let at = if path.is_empty() {
                                "at top level".to_string()
                            } else {
                                format!("in {}", path.join("."))
                            };
                            return Err(self.err(&kspan, format!("non-string key {at}: {shown}")));
                        }
                    }
                }
                Event::Alias(id) => match self.anchors.get(&id).map(|n| n.v.clone()) {
                    Some(Value::Str(s)) => s,
                    _ => return Err(self.err(&kspan, "mapping keys must be strings")),
                },
                _ => return Err(self.err(&kspan, "mapping keys must be strings")),
            };
            if let Some(line) = map.get(&key).map(|n| n.kpos.line) {
                return Err(self.err(
                    &kspan,
                    format!("mapping key {key:?} already defined at line {line}"),
                ));
            }
            let (vev, vspan) = self.next()?;
            path.push(key.clone());
            let mut value = self.node(vev, vspan, path)?;
            path.pop();
            value.kpos = kpos;
            map.insert(key, value);
        }
        // yaml.v3: explicit keys win over merged ones; among merged mappings, the first wins.
        for (m, span) in merges {
            let sources: Vec<Node> = match m.v {
                Value::Map(_) => vec![m],
                Value::Seq(items) => items,
                _ => {
                    return Err(self.err(
                        &span,
                        "map merge requires map or sequence of maps as the value",
                    ));
                }
            };
            for src in sources {
                let Value::Map(entries) = src.v else {
                    return Err(self.err(
                        &span,
                        "map merge requires map or sequence of maps as the value",
                    ));
                };
                for (k, v) in entries {
                    if !map.contains_key(&k) {
                        map.insert(k, v);
                    }
                }
            }
        }
        Ok(Node::map(map, pos))
    }
}

fn count_nodes(n: &Node) -> usize {
    match &n.v {
        Value::Seq(s) => 1 + s.iter().map(count_nodes).sum::<usize>(),
        Value::Map(m) => 1 + m.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

fn tag_string(handle: &str, suffix: &str) -> String {
    match handle {
        "!!" | "tag:yaml.org,2002:" => format!("!!{suffix}"),
        _ => format!("{handle}{suffix}"),
    }
}

fn compose_tag(tag: Option<&str>) -> Option<Tag> {
    let t = match tag {
        Some("!reset") => Some(Tag::Reset),
        Some("!override") => Some(Tag::Override),
        _ => None,
    };
    if t.is_some() {
        SEEN_RESET_TAG.with(|c| c.set(true));
    }
    t
}

/// Resolve a scalar like yaml.v3 does when decoding into `interface{}`.
fn resolve_scalar(
    v: std::borrow::Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&str>,
    pos: Pos,
) -> Result<Node, String> {
    let resolvable = matches!(
        tag,
        None | Some("!!str")
            | Some("!!bool")
            | Some("!!int")
            | Some("!!float")
            | Some("!!null")
            | Some("!!timestamp")
            | Some("!")
    );
    if !resolvable || tag == Some("!!str") || tag == Some("!") {
        return Ok(Node::str(v.into_owned(), pos));
    }
    let plain = style == ScalarStyle::Plain;
    if !plain && tag.is_none() {
        return Ok(Node::str(v.into_owned(), pos));
    }
    if matches!(tag, None | Some("!!timestamp")) && is_timestamp(&v) {
        let mut n = Node::str(v.into_owned(), pos);
        n.tag = Some(Tag::Timestamp);
        SEEN_TIMESTAMP.with(|c| c.set(true));
        return Ok(n);
    }
    let resolved = resolve_plain_typed(&v);
    if let Some(t) = tag {
        let ok = match (t, &resolved) {
            ("!!bool", Some(Value::Bool(_)))
            | ("!!int", Some(Value::Int(_)))
            | ("!!null", Some(Value::Null)) => true,
            ("!!float", Some(Value::Float(_))) => true,
            ("!!float", Some(Value::Int(i))) => return Ok(Node::new(Value::Float(*i as f64), pos)),
            ("!!timestamp", _) => return Ok(Node::str(v.into_owned(), pos)),
            _ => false,
        };
        if !ok {
            return Err(format!("cannot decode {t} `{v}`"));
        }
    }
    Ok(match resolved {
        Some(val) => Node::new(val, pos),
        None => Node::str(v.into_owned(), pos),
    })
}

/// yaml.v3 `resolve("", in)` for a plain scalar.
pub fn resolve_plain(s: &str) -> Value {
    resolve_plain_typed(s).unwrap_or_else(|| Value::Str(s.to_string()))
}

/// The non-string value a plain scalar resolves to, `None` for a string.
fn resolve_plain_typed(s: &str) -> Option<Value> {
    let Some(&first) = s.as_bytes().first() else {
        return Some(Value::Null);
    };
    // Fast path: only these first characters can start a non-string.
    if !matches!(
        first,
        b'0'..=b'9' | b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F'
    ) {
        return None;
    }
    match resolve_plain_slow(s) {
        Value::Str(_) => None,
        v => Some(v),
    }
}

fn resolve_plain_slow(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = s.as_bytes()[0];
    match first {
        b'.' => {
            if let Some(f) = super::units::go_parse_float(s) {
                return Value::Float(f);
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            let plain: String = s.chars().filter(|c| *c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return Value::Int(i);
            }
            if let Some(u) = go_parse_uint(&plain) {
                // Beyond i64: keep the digits (Go prints a uint64 the same way).
                return Value::Str(u.to_string());
            }
            if is_yaml_style_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return Value::Float(f);
            }
            if let Some(rest) = plain.strip_prefix("0b")
                && let Ok(i) = i64::from_str_radix(rest, 2)
            {
                return Value::Int(i);
            }
            if let Some(rest) = plain.strip_prefix("-0b")
                && let Ok(i) = i64::from_str_radix(rest, 2)
            {
                return Value::Int(-i);
            }
            if let Some(rest) = plain.strip_prefix("0o")
                && let Ok(i) = i64::from_str_radix(rest, 8)
            {
                return Value::Int(i);
            }
            if let Some(rest) = plain.strip_prefix("-0o")
                && let Ok(i) = i64::from_str_radix(rest, 8)
            {
                return Value::Int(-i);
            }
        }
        _ => {}
    }
    Value::Str(s.to_string())
}

/// yaml.v3's `parseTimestamp`: `2006-1-2`, optionally with a time (`T`, `t` or space).
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i != 4 || i == b.len() || b[i] != b'-' {
        return false;
    }
    let num = |i: &mut usize, max: usize| -> Option<u32> {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - st < max {
            *i += 1;
        }
        if *i == st {
            None
        } else {
            s[st..*i].parse().ok()
        }
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    i += 1;
    let Some(month) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else {
        return false;
    };
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day == 0 || day > days[(month - 1) as usize] {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if !matches!(sep, b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    let Some(h) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(m) = num(&mut i, 2) else {
        return false;
    };
    if i >= b.len() || b[i] != b':' {
        return false;
    }
    i += 1;
    let Some(sec) = num(&mut i, 2) else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if num(&mut i, 9).is_none() {
            return false;
        }
    }
    if i == b.len() {
        return true;
    }
    if sep == b' ' {
        return false;
    }
    match b[i] {
        b'Z' => i + 1 == b.len(),
        b'+' | b'-' => {
            i += 1;
            if num(&mut i, 2).is_none() || i >= b.len() || b[i] != b':' {
                return false;
            }
            i += 1;
            num(&mut i, 2).is_some() && i == b.len()
        }
        _ => false,
    }
}

/// Whether yaml.v3 would read `s` back as the same string when written plain (used by the
/// YAML renderer to decide quoting): not null/bool/number, not a timestamp.
pub fn resolve_plain_for_emit(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    if !matches!(resolve_plain(s), Value::Str(_)) {
        return false;
    }
    // timestamps (`2001-12-14`, `2001-12-14T21:59:43Z`...) are tagged !!timestamp
    !is_timestamp(s)
}

fn is_yaml_style_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)` (no underscores: yaml.v3 strips them first).
pub fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mag = parse_uint_base0(body)?;
    if neg {
        if mag <= (i64::MAX as u64) + 1 {
            Some(-(mag as i128) as i64)
        } else {
            None
        }
    } else if mag <= i64::MAX as u64 {
        Some(mag as i64)
    } else {
        None
    }
}

fn go_parse_uint(s: &str) -> Option<u64> {
    parse_uint_base0(s)
}

fn parse_uint_base0(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (2, r)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Node {
        parse_documents(src, 0).unwrap().remove(0)
    }

    #[test]
    fn scalars_resolve_like_yaml_v3() {
        let n = one(
            "a: 0755\nb: yes\nc: 1_000\nd: '1'\ne: 1.50\nf: ~\ng: 0x1F\nh: 08\ni: 2001-12-14\nj: True\n",
        );
        let m = n.as_map().unwrap();
        assert_eq!(m["a"].v, Value::Int(493));
        assert_eq!(m["b"].v, Value::Str("yes".into()));
        assert_eq!(m["c"].v, Value::Int(1000));
        assert_eq!(m["d"].v, Value::Str("1".into()));
        assert_eq!(m["e"].v, Value::Float(1.5));
        assert_eq!(m["f"].v, Value::Null);
        assert_eq!(m["g"].v, Value::Int(31));
        assert_eq!(m["h"].v, Value::Float(8.0));
        assert_eq!(m["i"].v, Value::Str("2001-12-14".into()));
        assert_eq!(m["j"].v, Value::Bool(true));
    }

    #[test]
    fn positions_are_one_based() {
        let n = one("services:\n  web:\n    image: x\n");
        let web = n.get("services").unwrap().get("web").unwrap();
        assert_eq!((web.kpos.line, web.kpos.col), (2, 3));
        let img = web.get("image").unwrap();
        assert_eq!((img.pos.line, img.pos.col), (3, 12));
    }

    #[test]
    fn merge_keys_and_anchors() {
        let n = one("x: &b {a: 1, b: 2}\ny:\n  <<: *b\n  b: 3\n");
        let y = n.get("y").unwrap().as_map().unwrap();
        assert_eq!(y["a"].v, Value::Int(1));
        assert_eq!(y["b"].v, Value::Int(3));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_documents("a: 1\na: 2\n", 0).unwrap_err();
        assert_eq!(e.message, "mapping key \"a\" already defined at line 1");
        assert_eq!(e.pos.line, 2);
    }

    #[test]
    fn non_string_keys_are_errors() {
        let e = parse_documents("services:\n  web:\n    80: x\n", 0).unwrap_err();
        assert_eq!(e.message, "non-string key in services.web: 80");
    }

    #[test]
    fn tags_are_kept() {
        let n = one("a: !reset []\nb: !override {x: 1}\n");
        assert_eq!(n.get("a").unwrap().tag, Some(Tag::Reset));
        assert_eq!(n.get("b").unwrap().tag, Some(Tag::Override));
    }
}
