//! Matching credentials against a search query: every word of the query must
//! occur, case-insensitively, in the name, kind, environment, tags, notes or
//! a plain field value. Secret values are never searched.

use crate::credential::CredentialMeta;

pub struct Query {
    words: Vec<String>,
}

impl Query {
    pub fn parse(query: &str) -> Query {
        Query {
            words: query.split_whitespace().map(str::to_lowercase).collect(),
        }
    }

    pub fn matches(&self, meta: &CredentialMeta) -> bool {
        self.words
            .iter()
            .all(|word| haystack(meta).any(|field| contains_folded(field, word)))
    }
}

fn haystack(meta: &CredentialMeta) -> impl Iterator<Item = &str> {
    std::iter::once(meta.name.as_str())
        .chain(std::iter::once(meta.kind.as_str()))
        .chain(meta.env.as_deref())
        .chain(meta.tags.iter().map(String::as_str))
        .chain(meta.notes.as_deref())
        .chain(meta.fields.values().map(String::as_str))
}

/// `needle` is already lower-case. ASCII text, the common case, is compared
/// without allocating.
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Draft;
    use crate::kind::Kind;

    fn meta() -> CredentialMeta {
        let mut d = Draft::new("aws/prod/team-17/deploy", Kind::AwsAccessKey);
        d.fields
            .insert("access_key_id".into(), "AKIAIOSFODNN7EXAMPLE".into());
        d.values
            .insert("secret_access_key".into(), "SuperSecretValue".into());
        d.tags = vec!["Billing".into()];
        d.notes = Some("Owned by the Ünicode team".into());
        d.env = Some("prod".into());
        d.into_parts().expect("valid").0
    }

    #[test]
    fn words_match_any_searchable_property() {
        let m = meta();
        for q in [
            "prod/team-17",
            "BILLING",
            "akiaiosfodnn7",
            "aws-access-key",
            "ünicode",
            "deploy billing",
            "",
        ] {
            assert!(Query::parse(q).matches(&m), "{q}");
        }
        for q in ["supersecretvalue", "deploy staging", "team-18"] {
            assert!(!Query::parse(q).matches(&m), "{q}");
        }
    }
}
