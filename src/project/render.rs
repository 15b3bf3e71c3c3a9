//! Rendering the model as Docker Compose prints it: JSON as Go's `json.MarshalIndent` (two
//! spaces, HTML-safe escapes, Go float formatting), YAML as `gopkg.in/yaml.v3` with indent 2
//! (quoting only what would not read back as the same string).

use serde_json::Value;

use super::types::{Project, with_yaml_mode};
use super::units::go_json_float;

/// The project as JSON (`config --format json`), without the `$` escaping.
pub fn project_json(p: &Project) -> String {
    to_go_json(p, true)
}

/// Serialize straight to Go-style JSON text (no intermediate value).
pub fn to_go_json<T: serde::Serialize + ?Sized>(v: &T, pretty: bool) -> String {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, GoFormatter::new(pretty));
    v.serialize(&mut ser).expect("model serializes");
    String::from_utf8(buf).expect("JSON is UTF-8")
}

/// `encoding/json` output details: `MarshalIndent(v, "", "  ")` layout, `<>&` and
/// U+2028/U+2029 escaped, `\b`/`\f` as `\u0008`/`\u000c`, Go float formatting.
struct GoFormatter {
    pretty: bool,
    level: usize,
    has_value: bool,
}

impl GoFormatter {
    fn new(pretty: bool) -> GoFormatter {
        GoFormatter {
            pretty,
            level: 0,
            has_value: false,
        }
    }
    fn newline<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        if self.pretty {
            w.write_all(b"\n")?;
            for _ in 0..self.level {
                w.write_all(b"  ")?;
            }
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for GoFormatter {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        w.write_all(go_json_float(v, 64).as_bytes())
    }
    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        w.write_all(go_json_float(v as f64, 32).as_bytes())
    }
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if !fragment
            .bytes()
            .any(|b| matches!(b, b'<' | b'>' | b'&' | 0xE2))
        {
            return w.write_all(fragment.as_bytes());
        }
        let mut last = 0;
        for (i, c) in fragment.char_indices() {
            let esc: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[last..i])?;
            w.write_all(esc)?;
            last = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[last..])
    }
    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        e: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape::*;
        let s: String = match e {
            Quote => "\\\"".into(),
            ReverseSolidus => "\\\\".into(),
            Solidus => "/".into(),
            Backspace => "\\u0008".into(),
            FormFeed => "\\u000c".into(),
            LineFeed => "\\n".into(),
            CarriageReturn => "\\r".into(),
            Tab => "\\t".into(),
            AsciiControl(b) => format!("\\u{b:04x}"),
        };
        w.write_all(s.as_bytes())
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.pretty { b": " } else { b":" })
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// The project as YAML (`config`), without the `$` escaping.
pub fn project_yaml(p: &Project) -> String {
    let v = with_yaml_mode(|| serde_json::to_value(p).expect("model serializes"));
    to_yaml(&v)
}

/// Compose escapes every `$` of the rendered model (interpolation already happened), so the
/// output reads back the same.
pub fn escape_dollars(s: &str) -> String {
    s.replace('$', "$$")
}

/// Compact Go-style JSON of any value (used for hashing).
pub fn compact_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, 0, &mut out, false);
    out
}

/// Indented Go-style JSON of any value.
pub fn pretty_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, 0, &mut out, true);
    out
}

fn write_json(v: &Value, indent: usize, out: &mut String, pretty: bool) {
    let nl = |out: &mut String, n: usize| {
        if pretty {
            out.push('\n');
            for _ in 0..n {
                out.push_str("  ");
            }
        }
    };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0), 64));
            }
        }
        Value::String(s) => json_string(s, out),
        Value::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, indent + 1);
                write_json(x, indent + 1, out, pretty);
            }
            nl(out, indent);
            out.push(']');
        }
        Value::Object(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            // Go sorts map keys; struct fields come in declaration order. Our serializer emits
            // structs in field order and maps sorted already, except the top level, which Go
            // builds as a map: sort it.
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            if indent == 0 {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, indent + 1);
                json_string(k, out);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(x, indent + 1, out, pretty);
            }
            nl(out, indent);
            out.push('}');
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

// -------------------------------------------------------------------- yaml --

/// YAML text of a value, yaml.v3 style with indent 2.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => yaml_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => yaml_seq(a, 0, &mut out),
        other => {
            out.push_str(&yaml_scalar(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn yaml_map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let mut first = true;
    for (k, v) in m {
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str(&yaml_key(k));
        out.push(':');
        yaml_value_after_key(v, indent, out);
    }
}

fn yaml_value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            yaml_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            yaml_seq(a, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&yaml_scalar(other, indent + 2));
            out.push('\n');
        }
    }
}

fn yaml_seq(a: &[Value], indent: usize, out: &mut String) {
    let mut first = true;
    for v in a {
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => yaml_map(m, indent + 2, out),
            Value::Array(x) if !x.is_empty() => yaml_seq(x, indent + 2, out),
            other => {
                out.push_str(&yaml_scalar(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn yaml_key(k: &str) -> String {
    if k.contains('\n') {
        return double_quoted(k);
    }
    yaml_str(k, 0, true)
}

fn yaml_scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if f.is_infinite() {
                    if f > 0.0 {
                        ".inf".into()
                    } else {
                        "-.inf".into()
                    }
                } else if f.is_nan() {
                    ".nan".into()
                } else {
                    super::units::go_float(f, 64)
                }
            }
        }
        Value::String(s) => yaml_str(s, indent, false),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.trim_start_matches(['-', '+']).as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return false;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        let g = &b[st..i];
        let ok = match g.len() {
            1 => true,
            2 => g[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

fn yaml_str(s: &str, indent: usize, key: bool) -> String {
    if s.contains('\n') && !key {
        let a = analyze(s);
        if a.single_quoted_allowed {
            return literal_block(s, indent);
        }
        return double_quoted(s);
    }
    let resolves_to_string = super::yaml::resolve_plain_for_emit(s);
    let can_plain = resolves_to_string && !is_base60_float(s) && !is_old_bool(s);
    let a = analyze(s);
    if can_plain && a.block_plain_allowed && !(key && a.multiline) {
        return s.to_string();
    }
    if a.single_quoted_allowed && !(key && a.multiline) && can_plain {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

fn literal_block(s: &str, indent: usize) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 if s.len() > 1 => "",
        _ => "+",
    };
    let lead = if s.starts_with(' ') || s.starts_with('\n') {
        "2"
    } else {
        ""
    };
    let mut out = format!("|{lead}{chomp}");
    let body = if trailing > 0 { &s[..s.len() - 1] } else { s };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            for _ in 0..indent {
                out.push(' ');
            }
            out.push_str(line);
        }
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, for block context.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) =
        (false, false, false, false);
    let mut line_breaks = false;
    let mut special = false;
    let blank =
        |c: Option<&char>| matches!(c, None | Some(' ') | Some('\t') | Some('\n') | Some('\r'));
    let mut preceded_by_ws = true;
    let n = chars.len();
    for i in 0..n {
        let c = chars[i];
        let followed_by_ws = blank(chars.get(i + 1));
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                block_indicators = true;
            }
            if (c == '?' || c == ':') && followed_by_ws {
                block_indicators = true;
            }
            if c == '-' && followed_by_ws {
                block_indicators = true;
            }
        } else {
            if c == ':' && followed_by_ws {
                block_indicators = true;
            }
            if c == '#' && preceded_by_ws {
                block_indicators = true;
            }
        }
        let printable =
            matches!(c, '\n' | ' '..='~' | '\u{85}') || (c as u32 >= 0xA0 && c != '\u{FEFF}');
        if !printable {
            special = true;
        }
        let is_break = c == '\n' || c == '\r';
        if is_break {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_break = true;
            previous_space = false;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = blank(Some(&c));
    }
    let mut block_plain = true;
    let mut single = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        block_plain = false;
    }
    if break_space {
        block_plain = false;
        single = false;
    }
    if space_break || special {
        block_plain = false;
        single = false;
    }
    if line_breaks {
        block_plain = false;
    }
    if block_indicators {
        block_plain = false;
    }
    Analysis {
        multiline: line_breaks,
        block_plain_allowed: block_plain,
        single_quoted_allowed: single,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_go_style() {
        let v = json!({"b": [1, 2.5, "<x>&"], "a": {}, "c": []});
        assert_eq!(
            pretty_json(&v),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    2.5,\n    \"\\u003cx\\u003e\\u0026\"\n  ],\n  \"c\": []\n}"
        );
    }

    #[test]
    fn yaml_quotes_only_when_needed() {
        let v = json!({"a": "1", "b": "x", "c": "", "d": "yes", "e": "- x", "f": "a: b", "g": "l1\nl2\n", "h": [ {"x": 1, "y": "true"} ]});
        assert_eq!(
            to_yaml(&v),
            "a: \"1\"\nb: x\nc: \"\"\nd: \"yes\"\ne: '- x'\nf: 'a: b'\ng: |\n  l1\n  l2\nh:\n  - x: 1\n    \"y\": \"true\"\n"
        );
    }
}
