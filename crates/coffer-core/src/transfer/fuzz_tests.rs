//! Property tests standing in for a fuzzer: every parser is fed arbitrary
//! bytes and mangled versions of valid files, and must return (items or an
//! error) without panicking, quickly. Kept small so the suite stays fast.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

const SAMPLES: [(Format, &str); 8] = [
    (
        Format::AwsCredentials,
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalr/K7MDENG+bPxRfiCY\nregion = eu-west-1\n\n[profile ci]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\naws_secret_access_key=x\n",
    ),
    (
        Format::Dotenv,
        "# app\nexport A=1\nB='two words'\nC=\"x\\ny\\\"\" # c\nD=\nE=bare # c\n",
    ),
    (
        Format::Json,
        "[{\"name\": \"a/b\", \"kind\": \"api-key\", \"env\": \"prod\", \"tags\": [\"t\"], \"notes\": \"n\", \"fields\": {\"url\": \"https://x\"}, \"secrets\": {\"key\": \"k\"}, \"expires_at\": null, \"rotated_at\": \"2026-01-01T00:00:00Z\"}]",
    ),
    (
        Format::Csv,
        "name,kind,env,tags,notes,expires_at,rotated_at,field,secret,value\n\"a\",\"generic\",\"\",\"t u\",\"n\",\"\",\"\",\"user\",false,\"ana\"\n\"a\",\"generic\",\"\",\"t u\",\"n\",\"\",\"\",\"pw\",true,\"p,\"\"q\"\"\"\n",
    ),
    (
        Format::KeepassxcCsv,
        "\"Group\",\"Title\",\"Username\",\"Password\",\"URL\",\"Notes\",\"TOTP\",\"Icon\",\"Last Modified\",\"Created\"\n\"Root/Web\",\"Mail\",\"ana\",\"pw\",\"https://m\",\"line1\nline2\",\"\",\"0\",\"\",\"\"\n",
    ),
    (
        Format::BitwardenJson,
        "{\"encrypted\": false, \"folders\": [{\"id\": \"f\", \"name\": \"Work\"}], \"items\": [{\"type\": 1, \"name\": \"Mail\", \"folderId\": \"f\", \"notes\": null, \"fields\": [{\"name\": \"pin\", \"value\": \"1\", \"type\": 1}], \"login\": {\"username\": \"ana\", \"password\": \"pw\", \"uris\": [{\"uri\": \"https://m\"}]}}]}",
    ),
    (
        Format::BitwardenCsv,
        "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\nWork,1,login,Mail,n,\"pin: 1\nq: a\",0,https://m,ana,pw,\n",
    ),
    (
        Format::OnepasswordCsv,
        "Title,Url,Username,Password,OTPAuth,Favorite,Archived,Tags,Notes\nMail,https://m,ana,pw,,false,false,\"a,b\",n\n",
    ),
];

/// Runs the whole read path (decode, parse, validate) on `bytes`.
fn run(format: Format, bytes: &[u8]) {
    let started = Instant::now();
    let options = ParseOptions {
        format,
        dotenv_mode: DotenvMode::PerVariable,
        name: None,
        prefix: None,
    };
    if let Ok(text) = decode(bytes) {
        if let Ok(parsed) = parse(text, &options, "f.env") {
            let _ = prepare(parsed, &Overrides::default());
        }
        let one = ParseOptions {
            dotenv_mode: DotenvMode::One,
            ..options
        };
        let _ = parse(text, &one, ".env");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{format} took {:?} on {} bytes",
        started.elapsed(),
        bytes.len()
    );
}

#[test]
fn samples_parse_and_validate() {
    for (format, text) in SAMPLES {
        let options = ParseOptions {
            format,
            dotenv_mode: DotenvMode::One,
            name: None,
            prefix: None,
        };
        let parsed = parse(text, &options, ".env").unwrap_or_else(|e| panic!("{format}: {e:?}"));
        assert!(!parsed.items.is_empty(), "{format}");
        prepare(parsed, &Overrides::default()).unwrap_or_else(|e| panic!("{format}: {e:?}"));
    }
}

/// A byte-level change to a valid sample.
#[derive(Clone, Debug)]
enum Mangle {
    Truncate(usize),
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Duplicate(usize, usize),
}

fn mangle() -> impl Strategy<Value = Mangle> {
    // Bytes a parser cares about, and some arbitrary ones.
    let special = prop::sample::select(vec![
        b'"', b'\'', b',', b'\n', b'\r', b'=', b'[', b']', b'{', b'}', b':', b'\\', b'#', 0, 0xFF,
        0xC3,
    ]);
    let byte = prop_oneof![special, any::<u8>()];
    prop_oneof![
        (0usize..600).prop_map(Mangle::Truncate),
        ((0usize..600), byte.clone()).prop_map(|(i, b)| Mangle::Insert(i, b)),
        (0usize..600).prop_map(Mangle::Delete),
        ((0usize..600), byte).prop_map(|(i, b)| Mangle::Replace(i, b)),
        ((0usize..600), (0usize..64)).prop_map(|(i, n)| Mangle::Duplicate(i, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mangle) {
    let len = bytes.len();
    match *m {
        Mangle::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mangle::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Mangle::Delete(i) if len > 0 => {
            bytes.remove(i % len);
        }
        Mangle::Replace(i, b) if len > 0 => bytes[i % len] = b,
        Mangle::Duplicate(i, n) if len > 0 => {
            let start = i % len;
            let end = (start + n).min(len);
            let piece = bytes[start..end].to_vec();
            bytes.splice(start..start, piece);
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for format in Format::ALL {
            run(format, &bytes);
        }
    }

    #[test]
    fn mangled_samples_never_panic(
        which in 0usize..SAMPLES.len(),
        changes in prop::collection::vec(mangle(), 1..6),
    ) {
        let (format, text) = SAMPLES[which];
        let mut bytes = text.as_bytes().to_vec();
        for m in &changes {
            apply(&mut bytes, m);
        }
        run(format, &bytes);
        // Every parser meets every other format's input too.
        for other in Format::ALL {
            run(other, &bytes);
        }
    }

    #[test]
    fn deep_nesting_and_long_lines_are_bounded(depth in 1usize..4000, width in 1usize..20000) {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        run(Format::Json, nested.as_bytes());
        run(Format::BitwardenJson, format!("{{\"items\": {nested}}}").as_bytes());
        let long = format!("A={}\n", "x".repeat(width));
        run(Format::Dotenv, long.as_bytes());
        let quotes = "\"".repeat(width);
        run(Format::Csv, quotes.as_bytes());
        run(Format::KeepassxcCsv, quotes.as_bytes());
    }
}
