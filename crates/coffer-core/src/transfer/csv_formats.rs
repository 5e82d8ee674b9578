//! CSV files: Coffer's own export (one row per field) and the exports of
//! KeePassXC, Bitwarden and 1Password (one row per item).
//!
//! The reader is a strict RFC 4180 one of our own rather than the `csv`
//! crate's, which silently accepts a quote that is never closed (a file cut
//! off inside a quoted value imports a truncated secret) and stray quotes
//! inside values; here both are errors with a line and column. It also keeps
//! every cell in a wiped buffer.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use zeroize::Zeroizing;

use super::json::finish_item;
use super::{
    clean_field_name, clean_name, clean_tag, output_buffer, Class, ImportItem, Parse, ParseError,
    Parsed,
};
use crate::credential::{printable, Credential, Secrets};
use crate::kind::Kind;
use crate::secret::SecretValue;

pub(crate) struct Record {
    pub line: usize,
    pub cells: Vec<Zeroizing<String>>,
}

/// Splits CSV text into records. Quoted cells may hold commas, doubled
/// quotes and line breaks; blank lines are skipped.
pub(crate) fn records(text: &str) -> Parse<Vec<Record>> {
    let mut chars = text.chars().peekable();
    let (mut line, mut column) = (1usize, 1usize);
    let mut out = Vec::new();
    macro_rules! bump {
        ($c:expr) => {
            if $c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        };
    }
    while chars.peek().is_some() {
        let record_line = line;
        let mut cells: Vec<Zeroizing<String>> = Vec::new();
        loop {
            let mut cell = Zeroizing::new(String::new());
            let mut end_of_record = false;
            if chars.peek() == Some(&'"') {
                let (open_line, open_col) = (line, column);
                chars.next();
                bump!('"');
                loop {
                    let Some(c) = chars.next() else {
                        return Err(ParseError::at_col(
                            open_line,
                            open_col,
                            "a quoted value is not closed (is the file cut short?)",
                        ));
                    };
                    bump!(c);
                    if c == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            bump!('"');
                            cell.push('"');
                        } else {
                            break;
                        }
                    } else {
                        cell.push(c);
                    }
                }
                match chars.peek() {
                    None => end_of_record = true,
                    Some(',') => {
                        chars.next();
                        bump!(',');
                    }
                    Some('\n') => {
                        chars.next();
                        bump!('\n');
                        end_of_record = true;
                    }
                    Some('\r') => {
                        chars.next();
                        bump!('\r');
                        if chars.peek() == Some(&'\n') {
                            chars.next();
                            bump!('\n');
                        }
                        end_of_record = true;
                    }
                    Some(_) => {
                        return Err(ParseError::at_col(
                            line,
                            column,
                            "text after a closing quote (a quote inside a quoted value must be doubled: \"\")",
                        ))
                    }
                }
            } else {
                loop {
                    match chars.peek() {
                        None => {
                            end_of_record = true;
                            break;
                        }
                        Some(',') => {
                            chars.next();
                            bump!(',');
                            break;
                        }
                        Some('\n') => {
                            chars.next();
                            bump!('\n');
                            end_of_record = true;
                            break;
                        }
                        Some('\r') => {
                            chars.next();
                            bump!('\r');
                            if chars.peek() == Some(&'\n') {
                                chars.next();
                                bump!('\n');
                                end_of_record = true;
                                break;
                            }
                            cell.push('\r');
                        }
                        Some('"') => {
                            return Err(ParseError::at_col(
                                line,
                                column,
                                "a quote inside an unquoted value (quote the whole value and double the quote)",
                            ))
                        }
                        Some(&c) => {
                            chars.next();
                            bump!(c);
                            cell.push(c);
                        }
                    }
                }
            }
            cells.push(cell);
            if end_of_record {
                break;
            }
        }
        let blank = cells.len() == 1 && cells[0].is_empty();
        if !blank {
            out.push(Record {
                line: record_line,
                cells,
            });
        }
    }
    Ok(out)
}

/// A header row and the rows under it, all of the header's width.
struct Table {
    header: Vec<String>,
    rows: Vec<Record>,
}

impl Table {
    fn read(text: &str, what: &str) -> Parse<Table> {
        let mut all = records(text)?.into_iter();
        let Some(header) = all.next() else {
            return Err(ParseError::at(
                1,
                format!("the file is empty; expected {what}"),
            ));
        };
        let header: Vec<String> = header.cells.iter().map(|c| c.trim().to_owned()).collect();
        let rows: Vec<Record> = all.collect();
        for row in &rows {
            if row.cells.len() != header.len() {
                return Err(ParseError::at(
                    row.line,
                    format!(
                        "this row has {} values but the header has {} columns (a missing or extra comma, or a cut-off file)",
                        row.cells.len(),
                        header.len()
                    ),
                ));
            }
        }
        Ok(Table { header, rows })
    }

    fn col(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.header.iter().position(|h| h.eq_ignore_ascii_case(n)))
    }

    fn need(&self, names: &[&str], what: &str) -> Parse<usize> {
        self.col(names).ok_or_else(|| {
            ParseError::at(
                1,
                format!("the header has no '{}' column; is this {what}?", names[0]),
            )
        })
    }
}

fn cell(row: &Record, col: Option<usize>) -> &str {
    col.and_then(|c| row.cells.get(c))
        .map_or("", |c| c.as_str())
}

/// A password manager's login item as a generic credential.
struct Login<'a> {
    title: &'a str,
    username: &'a str,
    password: &'a str,
    url: &'a str,
    totp: &'a str,
    notes: &'a str,
}

fn login_item(prefix: &str, line: usize, login: &Login<'_>) -> ImportItem {
    let mut item = ImportItem::new(line, clean_name(prefix, login.title), Kind::Generic);
    item.set_nonempty(line, "username", login.username, Class::Plain);
    item.set_nonempty(line, "password", login.password, Class::Secret);
    item.set_nonempty(line, "url", login.url, Class::Plain);
    item.set_nonempty(line, "totp", login.totp, Class::Secret);
    if !login.notes.is_empty() {
        item.notes = Some(login.notes.to_owned());
    }
    item
}

// ---- Coffer's CSV ----

pub(crate) const COFFER_COLUMNS: [&str; 10] = [
    "name",
    "kind",
    "env",
    "tags",
    "notes",
    "expires_at",
    "rotated_at",
    "field",
    "secret",
    "value",
];

fn time_cell(line: usize, key: &str, text: &str) -> Parse<Option<DateTime<Utc>>> {
    if text.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            ParseError::at(
                line,
                format!("'{key}' is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"),
            )
        })
}

/// Coffer's CSV: one row per field; the rows of one credential are
/// consecutive and repeat its properties.
pub(crate) fn parse_coffer(text: &str, prefix: &str, out: &mut Parsed) -> Parse<()> {
    let table = Table::read(text, "a Coffer CSV export")?;
    let mut cols = [0usize; 10];
    for (i, name) in COFFER_COLUMNS.iter().enumerate() {
        cols[i] = table.need(&[name], "a Coffer CSV export (coffer export --format csv)")?;
    }
    let [c_name, c_kind, c_env, c_tags, c_notes, c_exp, c_rot, c_field, c_secret, c_value] = cols;
    // name → (first line, the properties' text)
    let mut started: BTreeMap<String, usize> = BTreeMap::new();
    let mut current: Option<(ImportItem, Vec<String>)> = None;
    for row in &table.rows {
        let line = row.line;
        let name = cell(row, Some(c_name));
        let props: Vec<String> = [c_kind, c_env, c_tags, c_notes, c_exp, c_rot]
            .iter()
            .map(|&c| cell(row, Some(c)).to_owned())
            .collect();
        let continues = current
            .as_ref()
            .is_some_and(|(item, _)| item.name == format!("{prefix}{name}"));
        if continues {
            if let Some((item, first_props)) = &current {
                if *first_props != props {
                    return Err(ParseError::at(
                        line,
                        format!(
                            "the kind, env, tags, notes or dates of '{}' differ from its first row (line {})",
                            printable(name),
                            item.line
                        ),
                    ));
                }
            }
        } else {
            if let Some(first) = started.get(name) {
                return Err(ParseError::at(
                    line,
                    format!(
                        "the rows of '{}' must be consecutive (it also starts at line {first})",
                        printable(name)
                    ),
                ));
            }
            started.insert(name.to_owned(), line);
            if let Some((item, _)) = current.take() {
                out.items.push(item);
            }
            let kind_text = cell(row, Some(c_kind));
            let kind: Kind = kind_text.parse().map_err(|_| {
                ParseError::at(line, format!("unknown kind '{}'", printable(kind_text)))
            })?;
            let mut item = ImportItem::new(line, format!("{prefix}{name}"), kind);
            let env = cell(row, Some(c_env));
            item.env = (!env.is_empty()).then(|| env.to_owned());
            item.tags = cell(row, Some(c_tags))
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            let notes = cell(row, Some(c_notes));
            item.notes = (!notes.is_empty()).then(|| notes.to_owned());
            item.expires_at = time_cell(line, "expires_at", cell(row, Some(c_exp)))?;
            item.rotated_at = time_cell(line, "rotated_at", cell(row, Some(c_rot)))?;
            current = Some((item, props));
        }
        let class = match cell(row, Some(c_secret)) {
            "true" => Class::Secret,
            "false" => Class::Plain,
            _ => {
                return Err(ParseError::at(
                    line,
                    "the 'secret' column must be true or false",
                ))
            }
        };
        let field = cell(row, Some(c_field));
        if let Some((item, _)) = current.as_mut() {
            item.set(
                line,
                field,
                SecretValue::from(cell(row, Some(c_value))),
                class,
            )?;
        }
    }
    if let Some((item, _)) = current {
        out.items.push(item);
    }
    Ok(())
}

fn push_cell(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    for b in value.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn time_text(t: &Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

pub(crate) fn render_coffer(items: &[(Credential, Secrets)]) -> Zeroizing<Vec<u8>> {
    let mut out = output_buffer(items);
    out.extend_from_slice(COFFER_COLUMNS.join(",").as_bytes());
    out.push(b'\n');
    for (c, secrets) in items {
        let tags = c.meta.tags.join(" ");
        let expires = time_text(&c.meta.expires_at);
        let rotated = time_text(&c.meta.rotated_at);
        let props = [
            c.meta.name.as_str(),
            c.meta.kind.as_str(),
            c.meta.env.as_deref().unwrap_or(""),
            tags.as_str(),
            c.meta.notes.as_deref().unwrap_or(""),
            expires.as_str(),
            rotated.as_str(),
        ];
        let plain = c
            .meta
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), "false", v.as_str()));
        let secret = secrets
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), "true", v.expose_secret()));
        for (field, is_secret, value) in plain.chain(secret) {
            for p in props {
                push_cell(&mut out, p);
                out.push(b',');
            }
            push_cell(&mut out, field);
            out.push(b',');
            out.extend_from_slice(is_secret.as_bytes());
            out.push(b',');
            push_cell(&mut out, value);
            out.push(b'\n');
        }
    }
    out
}

// ---- KeePassXC ----

/// KeePassXC's CSV export: `"Group","Title","Username","Password","URL",
/// "Notes","TOTP","Icon","Last Modified","Created"` (older versions stop
/// after Notes). The group path, without its root group, becomes a tag;
/// entries in the recycle bin are left out.
pub(crate) fn parse_keepassxc(text: &str, prefix: &str, out: &mut Parsed) -> Parse<()> {
    const WHAT: &str = "a KeePassXC CSV export";
    let t = Table::read(text, WHAT)?;
    let title = t.need(&["Title"], WHAT)?;
    let password = t.need(&["Password"], WHAT)?;
    let group = t.need(&["Group"], WHAT)?;
    let username = t.col(&["Username", "User Name"]);
    let url = t.col(&["URL"]);
    let notes = t.col(&["Notes"]);
    let totp = t.col(&["TOTP"]);
    for row in &t.rows {
        let path = cell(row, Some(group));
        let below_root: Vec<&str> = path.split('/').skip(1).collect();
        if below_root.first() == Some(&"Recycle Bin") {
            out.warnings.push(format!(
                "line {}: an entry in the recycle bin; not imported",
                row.line
            ));
            continue;
        }
        let mut item = login_item(
            prefix,
            row.line,
            &Login {
                title: cell(row, Some(title)),
                username: cell(row, username),
                password: cell(row, Some(password)),
                url: cell(row, url),
                totp: cell(row, totp),
                notes: cell(row, notes),
            },
        );
        item.tags.extend(clean_tag(&below_root.join("/")));
        finish_item(item, row.line, out);
    }
    Ok(())
}

// ---- Bitwarden ----

/// Bitwarden's CSV export: `folder,favorite,type,name,notes,fields,reprompt,
/// login_uri,login_username,login_password,login_totp`. Custom fields come
/// as `name: value` lines in `fields`; the CSV does not say which were
/// hidden, so all are kept secret.
pub(crate) fn parse_bitwarden(text: &str, prefix: &str, out: &mut Parsed) -> Parse<()> {
    const WHAT: &str = "a Bitwarden CSV export";
    let t = Table::read(text, WHAT)?;
    let name = t.need(&["name"], WHAT)?;
    let password = t.need(&["login_password"], WHAT)?;
    let folder = t.col(&["folder"]);
    let notes = t.col(&["notes"]);
    let fields = t.col(&["fields"]);
    let uri = t.col(&["login_uri"]);
    let username = t.col(&["login_username"]);
    let totp = t.col(&["login_totp"]);
    for row in &t.rows {
        let mut item = login_item(
            prefix,
            row.line,
            &Login {
                title: cell(row, Some(name)),
                username: cell(row, username),
                password: cell(row, Some(password)),
                url: cell(row, uri),
                totp: cell(row, totp),
                notes: cell(row, notes),
            },
        );
        item.tags.extend(clean_tag(cell(row, folder)));
        for custom in cell(row, fields).lines() {
            if custom.trim().is_empty() {
                continue;
            }
            let (label, value) = custom.split_once(": ").unwrap_or((custom, ""));
            item.set_nonempty(row.line, &clean_field_name(label), value, Class::Secret);
        }
        finish_item(item, row.line, out);
    }
    Ok(())
}

// ---- 1Password ----

/// 1Password's CSV export (1Password 8: `Title,Url,Username,Password,
/// OTPAuth,Favorite,Archived,Tags,Notes`; 1Password 7 names some columns
/// differently, which are accepted too). Tags are split on `,` and `;`.
pub(crate) fn parse_onepassword(text: &str, prefix: &str, out: &mut Parsed) -> Parse<()> {
    const WHAT: &str = "a 1Password CSV export";
    let t = Table::read(text, WHAT)?;
    let title = t.need(&["Title", "Name"], WHAT)?;
    let password = t.need(&["Password"], WHAT)?;
    let url = t.col(&["Url", "Website", "Login URL", "URLs", "Location"]);
    let username = t.col(&["Username", "Login Username"]);
    let totp = t.col(&["OTPAuth", "One-time password", "OTP"]);
    let notes = t.col(&["Notes", "notesPlain"]);
    let tags = t.col(&["Tags"]);
    for row in &t.rows {
        let mut item = login_item(
            prefix,
            row.line,
            &Login {
                title: cell(row, Some(title)),
                username: cell(row, username),
                password: cell(row, Some(password)),
                url: cell(row, url),
                totp: cell(row, totp),
                notes: cell(row, notes),
            },
        );
        item.tags
            .extend(cell(row, tags).split([',', ';']).filter_map(clean_tag));
        finish_item(item, row.line, out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(text: &str) -> Vec<Vec<String>> {
        records(text)
            .unwrap()
            .into_iter()
            .map(|r| r.cells.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn reads_rfc4180() {
        assert_eq!(
            cells("a,\"b,c\",\"d\"\"e\"\r\n\n\"multi\nline\",,x\n"),
            [vec!["a", "b,c", "d\"e"], vec!["multi\nline", "", "x"]]
        );
    }

    #[test]
    fn malformed_csv_is_refused_with_a_position() {
        for (text, line, col) in [
            ("a,b\n\"x,y\n", 2, 1),
            ("a,b\n\"x\"y,z\n", 2, 4),
            ("a,b\nx\"y,z\n", 2, 2),
        ] {
            let e = records(text).err().expect("an error");
            assert_eq!((e.line, e.column), (line, Some(col)), "{text:?}: {e:?}");
        }
        let e = Table::read("a,b\n1,2\n3\n", "x").map(|_| ()).unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn keepassxc_rows_become_logins() {
        let text = "\"Group\",\"Title\",\"Username\",\"Password\",\"URL\",\"Notes\",\"TOTP\",\"Icon\",\"Last Modified\",\"Created\"\n\"Root/Work Stuff\",\"Mail\",\"ana\",\"pw\",\"https://m\",\"n\",\"\",\"0\",\"2024-01-01T00:00:00Z\",\"2024-01-01T00:00:00Z\"\n\"Root/Recycle Bin\",\"Old\",\"\",\"x\",\"\",\"\",\"\",\"0\",\"\",\"\"\n\"Root\",\"Empty\",\"\",\"\",\"\",\"\",\"\",\"0\",\"\",\"\"\n";
        let mut out = Parsed::default();
        parse_keepassxc(text, "kp/", &mut out).unwrap();
        assert_eq!(out.items.len(), 1);
        let item = &out.items[0];
        assert_eq!(item.name, "kp/Mail");
        assert_eq!(item.tags, ["Work-Stuff"]);
        assert_eq!(
            item.field_names().collect::<Vec<_>>(),
            ["password", "url", "username"]
        );
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    }
}
