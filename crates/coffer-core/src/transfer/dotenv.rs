//! dotenv files: `[export ]NAME=value` lines, values bare, 'single-quoted'
//! (literal) or "double-quoted" (with `\n \r \t \\ \" \$` and backtick escapes);
//! quoted values may span lines. No variable expansion: `${X}` stays as written.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::{output_buffer, Class, DotenvMode, ImportItem, Parse, ParseError, Parsed};
use crate::credential::{printable, Credential, Secrets};
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::secret::SecretValue;

pub(crate) struct Var {
    pub line: usize,
    pub key: String,
    pub value: Zeroizing<String>,
}

/// A cursor over the text that knows its line and column.
struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.next();
        }
    }

    /// Skips to the start of the next line.
    fn skip_line(&mut self) {
        while let Some(c) = self.next() {
            if c == '\n' {
                break;
            }
        }
    }

    /// After a value: only blanks, a `# comment` and the end of the line.
    fn end_of_line(&mut self) -> Parse<()> {
        self.skip_blanks();
        match self.peek() {
            None => Ok(()),
            Some('\n') => {
                self.next();
                Ok(())
            }
            Some('\r') => {
                self.next();
                if self.peek() == Some('\n') {
                    self.next();
                    Ok(())
                } else {
                    Err(ParseError::at_col(
                        self.line,
                        self.column,
                        "a stray carriage return",
                    ))
                }
            }
            Some('#') => {
                self.skip_line();
                Ok(())
            }
            Some(_) => Err(ParseError::at_col(
                self.line,
                self.column,
                "unexpected text after the closing quote (quote the whole value)",
            )),
        }
    }
}

pub(crate) fn parse_vars(text: &str) -> Parse<Vec<Var>> {
    let mut cur = Cursor {
        chars: text.chars().peekable(),
        line: 1,
        column: 1,
    };
    let mut vars = Vec::new();
    loop {
        cur.skip_blanks();
        match cur.peek() {
            None => break,
            Some('\n') => {
                cur.next();
                continue;
            }
            Some('\r') => {
                cur.end_of_line()?;
                continue;
            }
            Some('#') => {
                cur.skip_line();
                continue;
            }
            Some(_) => {}
        }
        let line = cur.line;
        let start = cur.column;
        let mut key = read_key(&mut cur);
        if key == "export" && matches!(cur.peek(), Some(' ' | '\t')) {
            cur.skip_blanks();
            key = read_key(&mut cur);
        }
        if key.is_empty() || !key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return Err(ParseError::at_col(
                line,
                start,
                "expected NAME=value (a name starts with a letter or '_')",
            ));
        }
        cur.skip_blanks();
        if cur.peek() != Some('=') {
            return Err(ParseError::at_col(
                cur.line,
                cur.column,
                format!("expected '=' after {}", printable(&key)),
            ));
        }
        cur.next();
        cur.skip_blanks();
        let value = match cur.peek() {
            Some(q @ ('\'' | '"' | '`')) => {
                let (open_line, open_col) = (cur.line, cur.column);
                cur.next();
                let v = read_quoted(&mut cur, q).ok_or_else(|| {
                    ParseError::at_col(
                        open_line,
                        open_col,
                        format!(
                            "the quoted value of {} is not closed (is the file cut short?)",
                            printable(&key)
                        ),
                    )
                })?;
                cur.end_of_line()?;
                v
            }
            _ => read_bare(&mut cur),
        };
        vars.push(Var { line, key, value });
    }
    Ok(vars)
}

fn read_key(cur: &mut Cursor<'_>) -> String {
    let mut key = String::new();
    while let Some(c) = cur.peek() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            key.push(c);
            cur.next();
        } else {
            break;
        }
    }
    key
}

/// The value after an opening quote, up to the closing one; `None` at the
/// end of the text.
fn read_quoted(cur: &mut Cursor<'_>, quote: char) -> Option<Zeroizing<String>> {
    let mut value = Zeroizing::new(String::new());
    loop {
        let c = cur.next()?;
        if c == quote {
            return Some(value);
        }
        if c == '\\' && quote == '"' {
            let e = cur.next()?;
            match e {
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                '\\' | '"' | '$' | '`' | '\'' => value.push(e),
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
        } else {
            value.push(c);
        }
    }
}

/// A bare value: the rest of the line, without a ` # comment` and without
/// surrounding blanks.
fn read_bare(cur: &mut Cursor<'_>) -> Zeroizing<String> {
    let mut value = Zeroizing::new(String::new());
    while let Some(c) = cur.peek() {
        if c == '\n' {
            break;
        }
        if c == '#' && (value.is_empty() || value.ends_with([' ', '\t'])) {
            cur.skip_line();
            let trimmed = value.trim_end().len();
            value.truncate(trimmed);
            return value;
        }
        value.push(c);
        cur.next();
    }
    cur.next();
    let trimmed = value.trim_end().len();
    value.truncate(trimmed);
    value
}

pub(crate) fn parse(
    text: &str,
    mode: DotenvMode,
    name: &str,
    prefix: &str,
    out: &mut Parsed,
) -> Parse<()> {
    let vars = parse_vars(text)?;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut one = ImportItem::new(1, name.to_owned(), Kind::Generic);
    for var in vars {
        if let Some(first) = seen.insert(var.key.clone(), var.line) {
            if mode == DotenvMode::One {
                return Err(ParseError::at(
                    var.line,
                    format!(
                        "{} is set twice (lines {first} and {})",
                        printable(&var.key),
                        var.line
                    ),
                ));
            }
        }
        if var.value.is_empty() {
            out.warnings.push(format!(
                "line {}: {} is empty; Coffer stores no empty value, so it was left out",
                var.line,
                printable(&var.key)
            ));
            continue;
        }
        let value = SecretValue::from(var.value);
        match mode {
            DotenvMode::One => one.set(var.line, &var.key, value, Class::Secret)?,
            DotenvMode::PerVariable => {
                let mut item =
                    ImportItem::new(var.line, format!("{prefix}{}", var.key), Kind::Generic);
                item.single_value = true;
                item.set(var.line, &var.key, value, Class::Secret)?;
                out.items.push(item);
            }
        }
    }
    if mode == DotenvMode::One {
        if !one.has_fields() {
            return Err(ParseError::at(1, "the file sets no variable with a value"));
        }
        out.items.push(one);
    }
    Ok(())
}

/// `NAME_FIELD`: the credential name and field name upper-cased, every
/// character other than a letter or digit made `_`.
pub(crate) fn variable(name: &str, field: &str) -> String {
    crate::envmap::var_name(&format!("{name}_{field}"))
}

/// Writes a value so that both a dotenv reader and a POSIX shell read it
/// back unchanged: single quotes when it has no `'` and no control
/// character, else double quotes with escapes.
fn push_value(out: &mut Vec<u8>, value: &str) {
    if !value.contains('\'') && !value.chars().any(char::is_control) {
        out.push(b'\'');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\'');
        return;
    }
    out.push(b'"');
    let mut buf = [0u8; 4];
    for c in value.chars() {
        match c {
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\\' | '"' | '$' | '`' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    out.push(b'"');
}

pub(crate) fn render(items: &[(Credential, Secrets)]) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = output_buffer(items);
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    out.extend_from_slice(
        b"# Exported by coffer: plaintext secrets. Delete this file when done.\n",
    );
    for (c, secrets) in items {
        let mut all: BTreeMap<&str, &str> = c
            .meta
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for (k, v) in &secrets.0 {
            all.insert(k, v.expose_secret());
        }
        for (field, value) in all {
            let var = variable(&c.meta.name, field);
            if let Some((other, other_field)) =
                seen.insert(var.clone(), (c.meta.name.clone(), field.to_owned()))
            {
                return Err(Error::invalid(
                    "dotenv export",
                    format!(
                        "'{}' field {field} and '{}' field {other_field} both become {var}; export them separately or use --format json",
                        printable(&c.meta.name),
                        printable(&other)
                    ),
                ));
            }
            out.extend_from_slice(var.as_bytes());
            out.push(b'=');
            push_value(&mut out, value);
            out.push(b'\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, String)> {
        parse_vars(text)
            .unwrap()
            .into_iter()
            .map(|v| (v.key, v.value.to_string()))
            .collect()
    }

    #[test]
    fn quoting_comments_and_export() {
        let text = "export A=1\nB = two words # comment\nD=\"x\\ny\\\"z\\$\" # c\nE=\nF='multi\nline'\nG=a#b\r\n";
        let got = vars(text);
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("D", "x\ny\"z$"),
            ("E", ""),
            ("F", "multi\nline"),
            ("G", "a#b"),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn malformed_lines_are_refused_with_a_position() {
        for (text, line, col) in [
            ("A=1\nB='open\n", 2, 3),
            ("A=\"x\" y\n", 1, 7),
            ("A=1\n=x\n", 2, 1),
            ("A=1\nB x\n", 2, 3),
            ("9A=1\n", 1, 1),
            ("A='it''s'\n", 1, 7),
        ] {
            let e = parse_vars(text).err().expect("an error");
            assert_eq!((e.line, e.column), (line, Some(col)), "{text:?}: {e:?}");
        }
    }

    #[test]
    fn duplicate_variables_are_refused_in_one_credential() {
        let mut out = Parsed::default();
        let e = parse("A=1\nA=2\n", DotenvMode::One, "app", "", &mut out).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn rendered_values_read_back_unchanged() {
        for value in [
            "plain",
            "it's",
            "a\nb",
            "$HOME `x` \\ \"q\"",
            "tab\there",
            "ünï",
        ] {
            let mut out = Vec::new();
            out.extend_from_slice(b"X=");
            push_value(&mut out, value);
            out.push(b'\n');
            let text = String::from_utf8(out).unwrap();
            assert_eq!(
                vars(&text),
                [("X".to_string(), value.to_string())],
                "{text}"
            );
        }
        assert_eq!(
            variable("aws/prod-1", "secret_access_key"),
            "AWS_PROD_1_SECRET_ACCESS_KEY"
        );
        assert_eq!(variable("1x", "y"), "_1X_Y");
    }
}
