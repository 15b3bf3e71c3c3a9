//! The position-annotated YAML tree every loading stage works on.
//!
//! Compose-go works on `map[string]any` trees; we keep the same shape but every node remembers
//! where it came from (file, line, column), so that errors found long after parsing (schema,
//! semantic checks) still point at the right place.

use std::fmt;

use indexmap::IndexMap;

/// A source position. `line == 0` means "no position known".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pos {
    /// Index into the loader's file table.
    pub file: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl Pos {
    pub const NONE: Pos = Pos {
        file: 0,
        line: 0,
        col: 0,
    };
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

/// A YAML tag Compose gives meaning to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// `!reset`: drop the value inherited from earlier files / the extended service.
    Reset,
    /// `!override`: replace the inherited value instead of merging with it.
    Override,
    /// An unquoted timestamp (`2001-12-14`): yaml.v3 decodes it as a `time.Time`, which the
    /// schema rejects wherever it appears.
    Timestamp,
}

/// Mappings keep their order; keys hash with foldhash (much faster than SipHash on the many
/// small maps of a Compose file).
pub type Map = IndexMap<String, Node, foldhash::fast::RandomState>;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Map),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub v: Value,
    /// Where the value starts.
    pub pos: Pos,
    /// Where the key starts, when this node is a mapping value.
    pub kpos: Pos,
    pub tag: Option<Tag>,
}

/// Compare values, ignoring positions and tags.
pub fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.v, &b.v) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        (p, q) => p == q,
    }
}

impl Node {
    pub fn new(v: Value, pos: Pos) -> Node {
        Node {
            v,
            pos,
            kpos: Pos::NONE,
            tag: None,
        }
    }
    pub fn null(pos: Pos) -> Node {
        Node::new(Value::Null, pos)
    }
    pub fn str(s: impl Into<String>, pos: Pos) -> Node {
        Node::new(Value::Str(s.into()), pos)
    }
    pub fn bool(b: bool, pos: Pos) -> Node {
        Node::new(Value::Bool(b), pos)
    }
    pub fn int(i: i64, pos: Pos) -> Node {
        Node::new(Value::Int(i), pos)
    }
    pub fn map(m: Map, pos: Pos) -> Node {
        Node::new(Value::Map(m), pos)
    }
    pub fn seq(s: Vec<Node>, pos: Pos) -> Node {
        Node::new(Value::Seq(s), pos)
    }
    /// The position of the key if known, else of the value: best place to point an error at a
    /// mapping entry.
    pub fn entry_pos(&self) -> Pos {
        if self.kpos.is_known() {
            self.kpos
        } else {
            self.pos
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.v, Value::Null)
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.v {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&Map> {
        match &self.v {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.v {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.v {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match &mut self.v {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|m| m.get(key))
    }
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut().and_then(|m| m.get_mut(key))
    }
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    /// Go's `fmt.Sprint(v)` of the decoded value, used wherever compose-go stringifies scalars
    /// (`%v`). Maps and sequences use Go's `map[k:v]` / `[a b]` notation.
    pub fn go_string(&self) -> String {
        match &self.v {
            Value::Null => "<nil>".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => crate::project::units::go_float(*f, 64),
            Value::Str(s) => s.clone(),
            Value::Seq(s) => {
                let parts: Vec<String> = s.iter().map(Node::go_string).collect();
                format!("[{}]", parts.join(" "))
            }
            Value::Map(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let parts: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{}:{}", k, m[*k].go_string()))
                    .collect();
                format!("map[{}]", parts.join(" "))
            }
        }
    }

    /// The JSON-schema type name of this value.
    pub fn kind_name(&self) -> &'static str {
        match &self.v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "mapping",
        }
    }

    /// Convert to a JSON value (for schema validation and for `--no-interpolate` output).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or_else(|| J::String(crate::project::units::go_float(*f, 64))),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }

    /// JSON with mapping keys sorted (as Go renders a `map[string]any`).
    pub fn to_json_sorted(&self) -> serde_json::Value {
        match &self.v {
            Value::Seq(s) => serde_json::Value::Array(s.iter().map(Node::to_json_sorted).collect()),
            Value::Map(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                serde_json::Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), m[k].to_json_sorted()))
                        .collect(),
                )
            }
            _ => self.to_json(),
        }
    }
}

/// A path into the tree, for error messages: `services.web.ports[0]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Seg>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }
    pub fn key(&self, k: &str) -> Path {
        let mut p = self.0.clone();
        p.push(Seg::Key(k.to_string()));
        Path(p)
    }
    pub fn index(&self, i: usize) -> Path {
        let mut p = self.0.clone();
        p.push(Seg::Index(i));
        Path(p)
    }
    pub fn from_keys(keys: &[&str]) -> Path {
        Path(keys.iter().map(|k| Seg::Key(k.to_string())).collect())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// Find the node at `path` (best effort; used to locate errors).
pub fn lookup<'a>(root: &'a Node, path: &[Seg]) -> Option<&'a Node> {
    let mut cur = root;
    for seg in path {
        cur = match (seg, &cur.v) {
            (Seg::Key(k), Value::Map(m)) => m.get(k)?,
            (Seg::Index(i), Value::Seq(s)) => s.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}
