//! Matching credentials against a search query: every word of the query must
//! occur, case-insensitively, in the name, kind, environment, tags, notes or
//! a plain field value. Secret values are never searched.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::credential::{Credential, CredentialMeta};
use crate::error::Result;
use crate::kind::Kind;
use crate::rotation::{self, State, Status};
use crate::vault::Vault;

/// One page of the app's list: a query, filters on kind, environment, tag
/// and rotation state, and the window of results wanted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Find {
    pub query: String,
    pub kind: Option<Kind>,
    pub env: Option<String>,
    pub tag: Option<String>,
    /// Only credentials in one of these rotation states; empty means any.
    pub states: Vec<State>,
    pub offset: usize,
    pub limit: usize,
}

/// The answer to a [`Find`]: how many matched, the requested window of them
/// (sorted by name) with their rotation status, and what the filter menus
/// can offer across the whole vault.
#[derive(Clone, Debug)]
pub struct Found {
    pub total: usize,
    pub items: Vec<(Credential, Status)>,
    pub facets: Facets,
}

/// Every kind, environment and tag in use, and how many credentials need
/// attention (overdue, expired, compromised) or are due soon.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facets {
    pub kinds: Vec<Kind>,
    pub envs: Vec<String>,
    pub tags: Vec<String>,
    pub needs_action: usize,
    pub due_soon: usize,
}

impl Vault {
    /// Runs `find` at `now`. Secret values are never read.
    pub fn find(&self, find: &Find, now: DateTime<Utc>) -> Result<Found> {
        let policies = self.policies()?;
        let query = Query::parse(&find.query);
        let mut facets = Facets::default();
        let (mut kinds, mut envs, mut tags) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut hits = Vec::new();
        for credential in self.list()? {
            let status = rotation::status(&credential, &policies, now);
            let meta = &credential.meta;
            kinds.insert(meta.kind);
            envs.extend(meta.env.iter().cloned());
            tags.extend(meta.tags.iter().cloned());
            if status.state.needs_action() {
                facets.needs_action += 1;
            } else if status.state == State::DueSoon {
                facets.due_soon += 1;
            }
            let wanted = find.kind.is_none_or(|k| k == meta.kind)
                && find.env.as_ref().is_none_or(|e| meta.env.as_ref() == Some(e))
                && find.tag.as_ref().is_none_or(|t| meta.tags.contains(t))
                && (find.states.is_empty() || find.states.contains(&status.state))
                && query.matches(meta);
            if wanted {
                hits.push((credential, status));
            }
        }
        facets.kinds = kinds.into_iter().collect();
        facets.envs = envs.into_iter().collect();
        facets.tags = tags.into_iter().collect();
        let total = hits.len();
        let items = hits
            .into_iter()
            .skip(find.offset)
            .take(find.limit)
            .collect();
        Ok(Found {
            total,
            items,
            facets,
        })
    }
}

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
