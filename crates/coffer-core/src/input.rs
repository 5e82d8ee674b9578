//! Secret input as a JSON object of field names to string values (what
//! `coffer add`/`edit` read from stdin). The parser never echoes a value in
//! an error, refuses duplicate keys and non-string values, and keeps every
//! value in a [`SecretValue`]; `null` means "remove this field" (edits).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SecretValue;

/// Parsed secret input: `Some(value)` sets a field, `None` removes it.
pub type SecretInput = BTreeMap<String, Option<SecretValue>>;

/// Parses secret input. Empty or all-whitespace input is an empty object.
pub fn parse_secret_json(text: &Zeroizing<String>) -> Result<SecretInput> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut de = serde_json::Deserializer::from_str(text);
    // `deserialize_any`, not `deserialize_map`: serde_json's own type errors
    // quote the offending value, so every shape must reach our visitor.
    let parsed = de
        .deserialize_any(InputVisitor)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| Error::invalid("JSON on stdin", describe(&e)))?;
    Ok(parsed)
}

/// serde_json's message without anything from the input itself: our
/// visitors never quote values, and syntax errors carry only positions.
fn describe(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Eof => {
            format!("it ends early (line {}, column {})", e.line(), e.column())
        }
        serde_json::error::Category::Syntax => {
            format!("it is not valid JSON ({})", e)
        }
        _ => e.to_string(),
    }
}

struct InputVisitor;

fn not_an_object<E: de::Error>() -> E {
    E::custom("expected a JSON object of field names to string values, e.g. {\"password\": \"…\"}")
}

impl<'de> Visitor<'de> for InputVisitor {
    type Value = SecretInput;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of field names to string values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed { field: &key })?;
            if out.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format!(
                    "field '{}' appears twice",
                    crate::credential::printable(&key)
                )));
            }
        }
        Ok(out)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(not_an_object())
    }
}

struct ValueSeed<'a> {
    field: &'a str,
}

impl<'de> de::DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Option<SecretValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor { field: self.field })
    }
}

struct ValueVisitor<'a> {
    field: &'a str,
}

impl ValueVisitor<'_> {
    fn wrong<E: de::Error>(&self, got: &str) -> E {
        E::custom(format!(
            "field '{}' must be a string (or null to remove it), not {got}",
            crate::credential::printable(self.field)
        ))
    }
}

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Option<SecretValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(SecretValue::from(v)))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(SecretValue::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(self.wrong("a number"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(self.wrong("a boolean"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.wrong("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.wrong("an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SecretInput> {
        parse_secret_json(&Zeroizing::new(s.to_owned()))
    }

    #[test]
    fn parses_strings_and_nulls() {
        let v = parse(r#"{"a": "x", "b": null}"#).expect("ok");
        assert_eq!(v["a"].as_ref().map(|s| s.expose_secret()), Some("x"));
        assert!(v["b"].is_none());
        assert!(parse("  \n").expect("empty").is_empty());
    }

    #[test]
    fn errors_never_echo_values() {
        for (input, needle) in [
            (r#"{"pin": 987654321}"#, "must be a string"),
            (r#"{"pin": true}"#, "must be a string"),
            (r#""987654321""#, "expected a JSON object"),
            (r#"[987654321]"#, "expected a JSON object"),
            (r#"{"a": "987654321", "a": "987654321"}"#, "appears twice"),
            (r#"{"a": "987654321""#, "ends early"),
            (r#"{"a": "987654321",}"#, "not valid JSON"),
            (r#"{"a": "987654321"} 987654321"#, "not valid JSON"),
        ] {
            let err = parse(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
            assert!(!err.contains("987654321"), "{input}: {err}");
        }
    }
}
