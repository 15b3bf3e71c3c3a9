//! A serde `Deserializer` over the position-annotated tree, so the typed model can be derived
//! with `#[derive(Deserialize)]` while errors keep their file, line and field path.
//!
//! Conversions follow compose-go's decoder (mapstructure plus its `cast` hook): a string is
//! accepted where a number or boolean is expected when it parses as one, numbers are accepted
//! where strings are expected.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::node::{Node, Pos, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub pos: Pos,
    pub path: String,
    pub message: String,
    located: bool,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            pos: Pos::NONE,
            path: String::new(),
            message: msg.to_string(),
            located: false,
        }
    }
}

impl DeError {
    fn locate(mut self, node: &Node, path: &str) -> DeError {
        if !self.located {
            self.pos = node.pos;
            self.path = path.to_string();
            self.located = true;
        }
        self
    }
}

/// Deserialize `T` from `node`; `path` is the node's field path for messages.
pub fn from_node<'a, T: serde::Deserialize<'a>>(node: &'a Node, path: &str) -> Result<T, DeError> {
    let root = PathRef::Root(path);
    T::deserialize(NodeDe { node, path: &root }).map_err(|e| e.locate(node, &root.render()))
}

/// The field path of a node, built only when an error needs it.
enum PathRef<'p> {
    Root(&'p str),
    Key(&'p PathRef<'p>, &'p str),
    Index(&'p PathRef<'p>, usize),
}

impl PathRef<'_> {
    fn render(&self) -> String {
        match self {
            PathRef::Root(s) => s.to_string(),
            PathRef::Key(p, k) => {
                let base = p.render();
                if base.is_empty() {
                    k.to_string()
                } else {
                    format!("{base}.{k}")
                }
            }
            PathRef::Index(p, i) => format!("{}[{i}]", p.render()),
        }
    }
}

static EMPTY: std::sync::LazyLock<super::node::Map> =
    std::sync::LazyLock::new(super::node::Map::default);

struct NodeDe<'a, 'p> {
    node: &'a Node,
    path: &'p PathRef<'p>,
}

fn to_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "y" | "yes" | "on" => Some(true),
        "false" | "n" | "no" | "off" => Some(false),
        _ => None,
    }
}

impl<'a> NodeDe<'a, '_> {
    fn err(&self, msg: impl fmt::Display) -> DeError {
        <DeError as de::Error>::custom(msg).locate(self.node, &self.path.render())
    }
    fn unexpected(&self, want: &str) -> DeError {
        self.err(format!("expected {want}, got {}", self.node.kind_name()))
    }
    fn int(&self) -> Result<i64, DeError> {
        match &self.node.v {
            Value::Int(i) => Ok(*i),
            Value::Float(f) => Ok(*f as i64),
            Value::Str(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| self.err(format!("invalid integer {s:?}"))),
            Value::Null => Ok(0),
            _ => Err(self.unexpected("an integer")),
        }
    }
}

macro_rules! de_int {
    ($name:ident, $visit:ident, $t:ty) => {
        fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let i = self.int()?;
            let x = <$t>::try_from(i).map_err(|_| self.err(format!("value {i} out of range")))?;
            v.$visit(x)
        }
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'de, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match &self.node.v {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(i) => v.visit_i64(*i),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Seq(items) => v.visit_seq(Seq {
                items,
                i: 0,
                path: self.path,
            }),
            Value::Map(m) => v.visit_map(MapDe {
                iter: m.iter(),
                value: None,
                path: self.path,
            }),
        };
        r.map_err(|e| e.locate(self.node, &self.path.render()))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.v {
            Value::Bool(b) => v.visit_bool(*b),
            Value::Str(s) => match to_bool(s) {
                Some(b) => v.visit_bool(b),
                None => Err(self.err(format!("invalid boolean: {s}"))),
            },
            Value::Null => v.visit_bool(false),
            _ => Err(self.unexpected("a boolean")),
        }
    }

    de_int!(deserialize_i8, visit_i8, i8);
    de_int!(deserialize_i16, visit_i16, i16);
    de_int!(deserialize_i32, visit_i32, i32);
    de_int!(deserialize_i64, visit_i64, i64);
    de_int!(deserialize_u8, visit_u8, u8);
    de_int!(deserialize_u16, visit_u16, u16);
    de_int!(deserialize_u32, visit_u32, u32);
    de_int!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(v)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.v {
            Value::Int(i) => v.visit_f64(*i as f64),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => match super::units::go_parse_float(s) {
                Some(f) => v.visit_f64(f),
                None => Err(self.err(format!("invalid number {s:?}"))),
            },
            Value::Null => v.visit_f64(0.0),
            _ => Err(self.unexpected("a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.v {
            Value::Str(s) => v.visit_str(s),
            Value::Int(i) => v.visit_string(i.to_string()),
            Value::Float(_) | Value::Bool(_) => v.visit_string(self.node.go_string()),
            Value::Null => v.visit_str(""),
            _ => Err(self.unexpected("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.v {
            Value::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.v {
            Value::Seq(items) => v
                .visit_seq(Seq {
                    items,
                    i: 0,
                    path: self.path,
                })
                .map_err(|e| e.locate(self.node, &self.path.render())),
            Value::Null => v.visit_seq(Seq {
                items: &[],
                i: 0,
                path: self.path,
            }),
            _ => Err(self.unexpected("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.v {
            Value::Map(m) => v
                .visit_map(MapDe {
                    iter: m.iter(),
                    value: None,
                    path: self.path,
                })
                .map_err(|e| e.locate(self.node, &self.path.render())),
            Value::Null => v
                .visit_map(MapDe {
                    iter: EMPTY.iter(),
                    value: None,
                    path: self.path,
                })
                .map_err(|e| e.locate(self.node, &self.path.render())),
            _ => Err(self.unexpected("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.v {
            Value::Str(s) => v.visit_enum(s.as_str().into_deserializer()),
            _ => Err(self.unexpected("a string")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

struct Seq<'a, 'p> {
    items: &'a [Node],
    i: usize,
    path: &'p PathRef<'p>,
}

impl<'de> SeqAccess<'de> for Seq<'de, '_> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.get(self.i) else {
            return Ok(None);
        };
        let path = PathRef::Index(self.path, self.i);
        self.i += 1;
        seed.deserialize(NodeDe { node, path: &path })
            .map(Some)
            .map_err(|e| e.locate(node, &path.render()))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.i)
    }
}

struct MapDe<'a, 'p> {
    iter: indexmap::map::Iter<'a, String, Node>,
    value: Option<(&'a String, &'a Node)>,
    path: &'p PathRef<'p>,
}

impl<'de> MapAccess<'de> for MapDe<'de, '_> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some((k, v));
                seed.deserialize(k.as_str().into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (k, node) = self.value.take().expect("value after key");
        let path = PathRef::Key(self.path, k);
        seed.deserialize(NodeDe { node, path: &path })
            .map_err(|e| e.locate(node, &path.render()))
    }
}

impl<'de, 'p> IntoDeserializer<'de, DeError> for NodeDe<'de, 'p> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}
