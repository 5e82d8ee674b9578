//! JSON files: Coffer's own export (an array of credentials) and Bitwarden's
//! unencrypted JSON export.
//!
//! Both are read into a small tree of our own rather than `serde_json::Value`,
//! so that a key given twice is refused (serde_json keeps the last one), string
//! values live in wiped buffers, and no error message quotes a value (serde's
//! type errors do).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use zeroize::Zeroizing;

use super::{
    clean_field_name, clean_name, clean_tag, output_buffer, Class, ImportItem, Parse, ParseError,
    Parsed,
};
use crate::credential::{printable, Credential, Secrets};
use crate::error::{Error, Result};
use crate::kind::{looks_secret, Kind};
use crate::secret::SecretValue;

pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(Option<i64>),
    Str(Zeroizing<String>),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::Str(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A string member, `None` when absent, null or not a string.
    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Node::Str(s)) => Some(s.as_str()),
            _ => None,
        }
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Node, E> {
        Ok(Node::Number(Some(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Node, E> {
        Ok(Node::Number(i64::try_from(v).ok()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Node, E> {
        Ok(Node::Number(None))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Node, E> {
        Ok(Node::Str(Zeroizing::new(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Node, E> {
        Ok(Node::Str(Zeroizing::new(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(NodeSeed)? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Node, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!(
                    "key '{}' appears twice in one object",
                    printable(&key)
                )));
            }
            let value = map.next_value_seed(NodeSeed)?;
            entries.push((key, value));
        }
        Ok(Node::Object(entries))
    }
}

struct NodeSeed;

impl<'de> de::DeserializeSeed<'de> for NodeSeed {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// Parses JSON text into a tree; errors carry serde_json's position (its
/// syntax messages name positions and expected tokens, never the input).
pub(crate) fn parse_tree(text: &str) -> Parse<Node> {
    let mut de = serde_json::Deserializer::from_str(text);
    let node = de
        .deserialize_any(NodeVisitor)
        .and_then(|n| de.end().map(|()| n))
        .map_err(|e| {
            let reason = match e.classify() {
                serde_json::error::Category::Eof => {
                    "the JSON ends early (is the file cut short?)".to_owned()
                }
                _ => {
                    // serde_json appends " at line L column C"; we give those apart.
                    let text = e.to_string();
                    let message = text
                        .rsplit_once(" at line ")
                        .map_or(text.as_str(), |(m, _)| m)
                        .to_owned();
                    format!("invalid JSON: {message}")
                }
            };
            ParseError::at_col(e.line().max(1), e.column().max(1), reason)
        })?;
    Ok(node)
}

/// The lines where the elements of an array start: the top-level array when
/// `key` is `None`, else the array under `key` in the top-level object.
/// The text is valid JSON (it parsed).
pub(crate) fn element_lines(text: &str, key: Option<&str>) -> Vec<usize> {
    // Per open container: is it an array, and is it the one we want?
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut lines = Vec::new();
    let mut line = 1;
    let mut in_string = false;
    let mut escaped = false;
    let mut string = String::new();
    let mut last_key: Option<String> = None;
    let mut expect_element = false;
    for c in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if stack.len() == 1 && string.len() < 64 {
                string.push(c);
            }
            if c == '\n' {
                line += 1;
            }
            continue;
        }
        if c == '\n' {
            line += 1;
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let wanted_here = stack.last().is_some_and(|&(arr, wanted)| arr && wanted);
        if expect_element && wanted_here && c != ']' {
            lines.push(line);
        }
        expect_element = false;
        match c {
            '"' => {
                in_string = true;
                string.clear();
            }
            ':' if stack.len() == 1 => last_key = Some(std::mem::take(&mut string)),
            '[' => {
                let wanted = match key {
                    None => stack.is_empty(),
                    Some(k) => stack.len() == 1 && last_key.as_deref() == Some(k),
                };
                stack.push((true, wanted));
                expect_element = wanted;
            }
            '{' => stack.push((false, false)),
            ']' | '}' => {
                stack.pop();
            }
            ',' => expect_element = wanted_here,
            _ => {}
        }
    }
    lines
}

fn type_error(line: usize, what: &str, want: &str, got: &Node) -> ParseError {
    ParseError::at(line, format!("{what} must be {want}, not {}", got.kind()))
}

/// An optional string member (absent or null is `None`).
fn opt_str(line: usize, item: &str, key: &str, node: Option<&Node>) -> Parse<Option<String>> {
    match node {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Str(s)) => Ok(Some(s.to_string())),
        Some(other) => Err(type_error(
            line,
            &format!("'{key}' of {item}"),
            "a string",
            other,
        )),
    }
}

fn opt_time(
    line: usize,
    item: &str,
    key: &str,
    node: Option<&Node>,
) -> Parse<Option<DateTime<Utc>>> {
    opt_str(line, item, key, node)?
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ParseError::at(
                        line,
                        format!(
                            "'{key}' of {item} is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"
                        ),
                    )
                })
        })
        .transpose()
}

const COFFER_KEYS: [&str; 9] = [
    "name",
    "kind",
    "env",
    "tags",
    "notes",
    "fields",
    "secrets",
    "expires_at",
    "rotated_at",
];

/// Coffer's JSON: `[{name, kind, env, tags, notes, fields, secrets,
/// expires_at, rotated_at}, …]`.
pub(crate) fn parse_coffer(text: &str, prefix: &str, out: &mut Parsed) -> Parse<()> {
    let tree = parse_tree(text)?;
    let Node::Array(elements) = tree else {
        return Err(ParseError::at(
            1,
            format!(
                "expected an array of credentials (what `coffer export --format json` writes), not {}",
                tree.kind()
            ),
        ));
    };
    let lines = element_lines(text, None);
    for (i, element) in elements.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(1);
        let label = format!("credential {}", i + 1);
        let Node::Object(entries) = element else {
            return Err(type_error(line, &label, "an object", element));
        };
        for (k, _) in entries {
            if !COFFER_KEYS.contains(&k.as_str()) {
                return Err(ParseError::at(
                    line,
                    format!(
                        "{label} has an unknown key '{}' (known: {})",
                        printable(k),
                        COFFER_KEYS.join(", ")
                    ),
                ));
            }
        }
        let name = opt_str(line, &label, "name", element.get("name"))?
            .ok_or_else(|| ParseError::at(line, format!("{label} has no 'name'")))?;
        let label = format!("credential '{}'", printable(&name));
        let kind_name = opt_str(line, &label, "kind", element.get("kind"))?
            .ok_or_else(|| ParseError::at(line, format!("{label} has no 'kind'")))?;
        let kind: Kind = kind_name.parse().map_err(|_| {
            ParseError::at(
                line,
                format!("{label} has an unknown kind '{}'", printable(&kind_name)),
            )
        })?;
        let mut item = ImportItem::new(line, format!("{prefix}{name}"), kind);
        item.env = opt_str(line, &label, "env", element.get("env"))?;
        item.notes = opt_str(line, &label, "notes", element.get("notes"))?;
        item.expires_at = opt_time(line, &label, "expires_at", element.get("expires_at"))?;
        item.rotated_at = opt_time(line, &label, "rotated_at", element.get("rotated_at"))?;
        match element.get("tags") {
            None | Some(Node::Null) => {}
            Some(Node::Array(tags)) => {
                for tag in tags {
                    match tag {
                        Node::Str(s) => item.tags.push(s.to_string()),
                        other => {
                            return Err(type_error(
                                line,
                                &format!("a tag of {label}"),
                                "a string",
                                other,
                            ))
                        }
                    }
                }
            }
            Some(other) => {
                return Err(type_error(
                    line,
                    &format!("'tags' of {label}"),
                    "an array of strings",
                    other,
                ))
            }
        }
        for (key, class) in [("fields", Class::Plain), ("secrets", Class::Secret)] {
            match element.get(key) {
                None | Some(Node::Null) => {}
                Some(Node::Object(entries)) => {
                    for (field, value) in entries {
                        let Node::Str(value) = value else {
                            return Err(type_error(
                                line,
                                &format!("field '{}' of {label}", printable(field)),
                                "a string",
                                value,
                            ));
                        };
                        item.set(line, field, SecretValue::from(value.as_str()), class)?;
                    }
                }
                Some(other) => {
                    return Err(type_error(
                        line,
                        &format!("'{key}' of {label}"),
                        "an object of field names to strings",
                        other,
                    ))
                }
            }
        }
        out.items.push(item);
    }
    Ok(())
}

fn time_text(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[derive(Serialize)]
struct Exported<'a> {
    name: &'a str,
    kind: &'a str,
    env: Option<&'a str>,
    tags: &'a [String],
    notes: Option<&'a str>,
    fields: &'a BTreeMap<String, String>,
    secrets: BTreeMap<&'a str, &'a str>,
    expires_at: Option<String>,
    rotated_at: Option<String>,
}

pub(crate) fn render_coffer(items: &[(Credential, Secrets)]) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = output_buffer(items);
    let list: Vec<Exported<'_>> = items
        .iter()
        .map(|(c, s)| Exported {
            name: &c.meta.name,
            kind: c.meta.kind.as_str(),
            env: c.meta.env.as_deref(),
            tags: &c.meta.tags,
            notes: c.meta.notes.as_deref(),
            fields: &c.meta.fields,
            secrets: s
                .0
                .iter()
                .map(|(k, v)| (k.as_str(), v.expose_secret()))
                .collect(),
            expires_at: time_text(&c.meta.expires_at),
            rotated_at: time_text(&c.meta.rotated_at),
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &list).map_err(|_| Error::Failure {
        what: "cannot write the JSON export".into(),
    })?;
    out.push(b'\n');
    Ok(out)
}

// ---- Bitwarden ----

/// Bitwarden's unencrypted JSON export: `{"encrypted": false, "folders":
/// [{id, name}], "items": [{type, name, notes, folderId, fields, login, …}]}`.
pub(crate) fn parse_bitwarden(text: &str, prefix: &str, out: &mut Parsed) -> Parse<()> {
    let tree = parse_tree(text)?;
    if !matches!(tree, Node::Object(_)) {
        return Err(ParseError::at(
            1,
            format!(
                "expected a Bitwarden export (a JSON object with \"items\"), not {}",
                tree.kind()
            ),
        ));
    }
    if matches!(tree.get("encrypted"), Some(Node::Bool(true)))
        || matches!(tree.get("passwordProtected"), Some(Node::Bool(true)))
    {
        return Err(ParseError::at(
            1,
            "this Bitwarden export is encrypted; export again choosing \"JSON\" (not \"JSON (Encrypted)\")",
        ));
    }
    let mut folders: BTreeMap<String, String> = BTreeMap::new();
    if let Some(Node::Array(list)) = tree.get("folders") {
        for f in list {
            if let (Some(id), Some(name)) = (f.str("id"), f.str("name")) {
                folders.insert(id.to_owned(), name.to_owned());
            }
        }
    }
    let items = match tree.get("items") {
        Some(Node::Array(items)) => items,
        Some(other) => return Err(type_error(1, "\"items\"", "an array", other)),
        None => {
            return Err(ParseError::at(
                1,
                "no \"items\" array: this is not a Bitwarden JSON export",
            ))
        }
    };
    let lines = element_lines(text, Some("items"));
    for (i, node) in items.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(1);
        if !matches!(node, Node::Object(_)) {
            return Err(type_error(
                line,
                &format!("item {}", i + 1),
                "an object",
                node,
            ));
        }
        let title = node.str("name").unwrap_or("");
        let mut item = ImportItem::new(line, clean_name(prefix, title), Kind::Generic);
        item.notes = node
            .str("notes")
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if let Some(folder) = node.str("folderId").and_then(|id| folders.get(id)) {
            item.tags.extend(clean_tag(folder));
        }
        if let Some(login) = node.get("login") {
            item.set_nonempty(
                line,
                "username",
                login.str("username").unwrap_or(""),
                Class::Plain,
            );
            item.set_nonempty(
                line,
                "password",
                login.str("password").unwrap_or(""),
                Class::Secret,
            );
            item.set_nonempty(line, "totp", login.str("totp").unwrap_or(""), Class::Secret);
            if let Some(Node::Array(uris)) = login.get("uris") {
                for uri in uris {
                    item.set_nonempty(line, "url", uri.str("uri").unwrap_or(""), Class::Plain);
                }
            }
        }
        if let Some(card) = node.get("card") {
            for (key, field, class) in [
                ("cardholderName", "cardholder", Class::Plain),
                ("brand", "brand", Class::Plain),
                ("number", "number", Class::Secret),
                ("expMonth", "exp_month", Class::Plain),
                ("expYear", "exp_year", Class::Plain),
                ("code", "code", Class::Secret),
            ] {
                item.set_nonempty(line, field, card.str(key).unwrap_or(""), class);
            }
        }
        if let Some(Node::Object(identity)) = node.get("identity") {
            for (key, value) in identity {
                if let Node::Str(v) = value {
                    let secret = matches!(key.as_str(), "ssn" | "passportNumber" | "licenseNumber");
                    let class = if secret { Class::Secret } else { Class::ByName };
                    item.set_nonempty(line, &snake_case(key), v, class);
                }
            }
        }
        if let Some(ssh) = node.get("sshKey") {
            item.set_nonempty(
                line,
                "private_key",
                ssh.str("privateKey").unwrap_or(""),
                Class::Secret,
            );
            item.set_nonempty(
                line,
                "public_key",
                ssh.str("publicKey").unwrap_or(""),
                Class::Plain,
            );
            item.set_nonempty(
                line,
                "fingerprint",
                ssh.str("keyFingerprint").unwrap_or(""),
                Class::Plain,
            );
        }
        if let Some(Node::Array(fields)) = node.get("fields") {
            for f in fields {
                let Some(value) = f.str("value") else {
                    continue;
                };
                let class = match f.get("type") {
                    Some(Node::Number(Some(1))) => Class::Secret,
                    Some(Node::Number(Some(2))) => Class::Plain,
                    _ => Class::ByName,
                };
                let name = clean_field_name(f.str("name").unwrap_or("field"));
                let class = if class == Class::ByName && looks_secret(&name) {
                    Class::Secret
                } else {
                    class
                };
                item.set_nonempty(line, &name, value, class);
            }
        }
        finish_item(item, line, out);
    }
    Ok(())
}

/// A note-only item keeps its note as a secret field (a generic credential
/// needs one); an item with nothing at all is left out with a warning.
pub(crate) fn finish_item(mut item: ImportItem, line: usize, out: &mut Parsed) {
    if !item.has_fields() {
        match item.notes.take() {
            Some(note) => item.set_nonempty(line, "note", &note, Class::Secret),
            None => {
                out.warnings.push(format!(
                    "line {line}: '{}' holds no value; not imported",
                    printable(&item.name)
                ));
                return;
            }
        }
    }
    out.items.push(item);
}

fn snake_case(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    clean_field_name(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_and_bad_syntax_are_refused_with_a_position() {
        let e = parse_tree("[\n {\"name\": \"a\",\n  \"name\": \"b\"}\n]")
            .err()
            .expect("an error");
        assert_eq!(e.line, 3, "{e:?}");
        assert!(e.reason.contains("appears twice"), "{e:?}");
        let e = parse_tree("[{\"a\": \"secret-canary\" \"b\"}]")
            .err()
            .expect("an error");
        assert!(!e.reason.contains("secret-canary"), "{e:?}");
        let e = parse_tree("[{\"a\": \"x\"").err().expect("an error");
        assert!(e.reason.contains("ends early"), "{e:?}");
    }

    #[test]
    fn element_lines_find_items() {
        let text = "[\n {\"a\": [1, 2]},\n\n {\"b\": \"]\\\"[\"}\n]";
        assert_eq!(element_lines(text, None), [2, 4]);
        let text = "{\"folders\": [{}],\n \"items\": [\n  {\"x\": 1},\n  {}\n ]}";
        assert_eq!(element_lines(text, Some("items")), [3, 4]);
        assert_eq!(element_lines("[]", None), Vec::<usize>::new());
    }

    #[test]
    fn type_errors_do_not_echo_values() {
        let mut out = Parsed::default();
        let e = parse_coffer(
            "[\n{\"name\": \"a\", \"kind\": \"generic\", \"secrets\": {\"k\": 12345}}]",
            "",
            &mut out,
        )
        .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(!e.reason.contains("12345"), "{e:?}");
        let e = parse_coffer(
            "[{\"name\": \"a\", \"kind\": \"generic\", \"tags\": \"canary\"}]",
            "",
            &mut out,
        )
        .unwrap_err();
        assert!(!e.reason.contains("canary"), "{e:?}");
    }

    #[test]
    fn encrypted_bitwarden_exports_are_refused() {
        let mut out = Parsed::default();
        let e = parse_bitwarden("{\"encrypted\": true, \"items\": []}", "", &mut out).unwrap_err();
        assert!(e.reason.contains("encrypted"), "{e:?}");
    }
}
