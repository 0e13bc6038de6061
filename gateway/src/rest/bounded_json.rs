//! JSON parsing with a cap on the number of values. A parsed value costs far more than its
//! text (`[0,0,…]` is two bytes an item as text and 32 or more as a [`Value`]), so the body
//! size alone does not bound a request's memory: the count of values does.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a body did not parse.
#[derive(Debug, PartialEq)]
pub enum ParseError {
    /// Not JSON (the parser's own words, with line and column).
    Syntax(String),
    /// More than the allowed number of values (object keys count as values).
    TooManyValues { limit: usize },
}

/// `bytes` as one JSON value of at most `max_values` values, keys included.
pub fn parse(bytes: &[u8], max_values: usize) -> Result<Value, ParseError> {
    let budget = Budget {
        left: Cell::new(max_values),
        exhausted: Cell::new(false),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Counted(&budget)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    parsed.map_err(|error| {
        if budget.exhausted.get() {
            ParseError::TooManyValues { limit: max_values }
        } else {
            ParseError::Syntax(error.to_string())
        }
    })
}

struct Budget {
    left: Cell<usize>,
    exhausted: Cell<bool>,
}

impl Budget {
    fn take<E: de::Error>(&self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exhausted.set(true);
                Err(E::custom("too many JSON values"))
            }
        }
    }
}

/// Builds a [`Value`], charging each value to the budget before it is stored.
#[derive(Clone, Copy)]
struct Counted<'a>(&'a Budget);

impl<'de> DeserializeSeed<'de> for Counted<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.take()?;
        // JSON text has no NaN or infinity; a number too large for f64 is already an error.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.take()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.take()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.0.take()?;
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_what_serde_json_parses() {
        let text = br#"{"a": [1, -2, 3.5, true, null, "x"], "b": {"c": "\u00e9"}, "a2": 18446744073709551615}"#;
        let expected: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(parse(text, 100).unwrap(), expected);
        assert_eq!(parse(b"  7 ", 1).unwrap(), json!(7));
    }

    #[test]
    fn counts_every_value_and_key() {
        // The object, two keys, an array and its two items, and a null: 7.
        let text = br#"{"a": [1, 2], "b": null}"#;
        assert!(parse(text, 7).is_ok());
        assert_eq!(parse(text, 6), Err(ParseError::TooManyValues { limit: 6 }));
        let wide = format!("[{}0]", "0,".repeat(100_000));
        assert_eq!(
            parse(wide.as_bytes(), 1000),
            Err(ParseError::TooManyValues { limit: 1000 })
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        let Err(ParseError::Syntax(reason)) = parse(b"{\"a\": }", 100) else {
            panic!("a syntax error expected");
        };
        assert!(reason.contains("line 1 column"), "{reason}");
        assert!(matches!(parse(b"[1] x", 100), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"", 100), Err(ParseError::Syntax(_))));
        // Nesting past serde_json's recursion limit is a syntax error, not a stack overflow.
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse(deep.as_bytes(), 1_000_000),
            Err(ParseError::Syntax(_))
        ));
    }
}
