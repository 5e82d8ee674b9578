//! Access rules: whether the agent hands a credential to a process at once
//! (`allow`), after the person said yes for that terminal session for a
//! while (`ask`), or only after a yes each time (`ask-every-time`). Set per
//! credential, tag or environment; `env=prod` asks unless a rule says
//! otherwise. Stored encrypted in the vault's settings, so they follow the
//! vault. Resolving is a pure function of the credential and the rules.
//!
//! Rules guard what the agent serves. A process that can unlock the vault
//! itself (it reaches the keyring, or knows the passphrase) does not go
//! through them: they are the question the agent asks, not a lock.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{Action, Event};
use crate::credential::CredentialMeta;
use crate::error::{Error, Result};
use crate::vault::Vault;

const RULES: &str = "access-rules";

/// How long an "allow for this terminal" lasts unless the rules say.
pub const DEFAULT_REMEMBER_MINUTES: u32 = 10;
/// The longest it may last.
pub const MAX_REMEMBER_MINUTES: u32 = 24 * 60;

/// One rule; ordered from the most open to the strictest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Allow,
    Ask,
    AskEveryTime,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Allow => "allow",
            Rule::Ask => "ask",
            Rule::AskEveryTime => "ask-every-time",
        }
    }

    pub fn parse(text: &str) -> Result<Rule> {
        match text {
            "allow" => Ok(Rule::Allow),
            "ask" => Ok(Rule::Ask),
            "ask-every-time" => Ok(Rule::AskEveryTime),
            other => Err(Error::invalid(
                "access rule",
                format!(
                    "'{}' is not one of allow, ask, ask-every-time",
                    crate::credential::printable(other)
                ),
            )),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule is set on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Credential(String),
    Tag(String),
    Env(String),
}

impl Scope {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Scope::Credential(n) => ("credential", n),
            Scope::Tag(t) => ("tag", t),
            Scope::Env(e) => ("env", e),
        }
    }
}

/// Where the rule in force came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", content = "name", rename_all = "snake_case")]
pub enum Source {
    Credential(String),
    Tag(String),
    Env(String),
    /// Built in: `env=prod` asks, everything else is allowed.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Credential(n) => write!(f, "set on credential '{n}'"),
            Source::Tag(t) => write!(f, "set on tag '{t}'"),
            Source::Env(e) => write!(f, "set on env '{e}'"),
            Source::Default => f.write_str("the default: env prod asks"),
        }
    }
}

/// The rules the person set, and how long an "allow for this terminal" lasts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rules {
    pub by_credential: BTreeMap<String, Rule>,
    pub by_tag: BTreeMap<String, Rule>,
    pub by_env: BTreeMap<String, Rule>,
    pub remember_minutes: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            by_credential: BTreeMap::new(),
            by_tag: BTreeMap::new(),
            by_env: BTreeMap::new(),
            remember_minutes: DEFAULT_REMEMBER_MINUTES,
        }
    }
}

impl Rules {
    /// The rule for `meta`: its own, else the strictest of its tags', else
    /// its environment's, else the default (`ask` for env `prod`).
    pub fn rule_for(&self, meta: &CredentialMeta) -> (Rule, Source) {
        if let Some(rule) = self.by_credential.get(&meta.name) {
            return (*rule, Source::Credential(meta.name.clone()));
        }
        let strictest_tag = meta
            .tags
            .iter()
            .filter_map(|t| self.by_tag.get(t).map(|r| (*r, t)))
            .max_by_key(|(r, _)| *r);
        if let Some((rule, tag)) = strictest_tag {
            return (rule, Source::Tag(tag.clone()));
        }
        if let Some(env) = &meta.env {
            if let Some(rule) = self.by_env.get(env) {
                return (*rule, Source::Env(env.clone()));
            }
            if env == "prod" {
                return (Rule::Ask, Source::Default);
            }
        }
        (Rule::Allow, Source::Default)
    }

    pub fn set(&mut self, scope: &Scope, rule: Option<Rule>) {
        let map = match scope {
            Scope::Credential(_) => &mut self.by_credential,
            Scope::Tag(_) => &mut self.by_tag,
            Scope::Env(_) => &mut self.by_env,
        };
        let key = scope.parts().1.to_owned();
        match rule {
            Some(r) => {
                map.insert(key, r);
            }
            None => {
                map.remove(&key);
            }
        }
    }

    fn check_remember(minutes: u32) -> Result<()> {
        if (1..=MAX_REMEMBER_MINUTES).contains(&minutes) {
            return Ok(());
        }
        Err(Error::invalid(
            "remember minutes",
            format!("{minutes} is outside 1 to {MAX_REMEMBER_MINUTES}"),
        ))
    }
}

impl Vault {
    /// The access rules the agent applies.
    pub fn access_rules(&self) -> Result<Rules> {
        self.flush()?;
        self.read_setting(self.conn(), RULES)
    }

    /// Sets (or, with `None`, removes) the rule on `scope`; audited.
    pub fn set_access_rule(
        &mut self,
        scope: &Scope,
        rule: Option<Rule>,
        now: DateTime<Utc>,
    ) -> Result<Rules> {
        let (what, name) = scope.parts();
        if name.trim().is_empty() {
            return Err(Error::invalid(what, "is empty"));
        }
        self.change_rules(now, |rules| {
            rules.set(scope, rule);
            serde_json::json!({
                "setting": "access rule",
                "scope": what,
                "name": name,
                "rule": rule,
            })
        })
    }

    /// Sets how long an "allow for this terminal" lasts; audited.
    pub fn set_access_remember(&mut self, minutes: u32, now: DateTime<Utc>) -> Result<Rules> {
        Rules::check_remember(minutes)?;
        self.change_rules(now, |rules| {
            rules.remember_minutes = minutes;
            serde_json::json!({ "setting": "access remember minutes", "minutes": minutes })
        })
    }

    fn change_rules(
        &mut self,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Rules) -> serde_json::Value,
    ) -> Result<Rules> {
        let tx = self.begin()?;
        let mut rules: Rules = self.read_setting(&tx, RULES)?;
        let details = change(&mut rules);
        self.write_setting(&tx, RULES, &rules)?;
        tx.record(Event::new(Action::SettingsChange).details(details), now)?;
        tx.commit()?;
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::Kind;

    fn meta(name: &str, env: Option<&str>, tags: &[&str]) -> CredentialMeta {
        CredentialMeta {
            env: env.map(str::to_owned),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..CredentialMeta::bare(name, Kind::Generic)
        }
    }

    #[test]
    fn prod_asks_by_default_and_the_rest_is_allowed() {
        let rules = Rules::default();
        assert_eq!(
            rules.rule_for(&meta("db", Some("prod"), &[])),
            (Rule::Ask, Source::Default)
        );
        assert_eq!(
            rules.rule_for(&meta("db", Some("dev"), &[])),
            (Rule::Allow, Source::Default)
        );
        assert_eq!(rules.rule_for(&meta("db", None, &[])).0, Rule::Allow);
    }

    #[test]
    fn the_credential_beats_its_tags_which_beat_its_env() {
        let mut rules = Rules::default();
        rules.set(&Scope::Env("prod".into()), Some(Rule::Allow));
        let m = meta("db", Some("prod"), &["team", "pay"]);
        assert_eq!(
            rules.rule_for(&m),
            (Rule::Allow, Source::Env("prod".into()))
        );
        rules.set(&Scope::Tag("team".into()), Some(Rule::Ask));
        rules.set(&Scope::Tag("pay".into()), Some(Rule::AskEveryTime));
        // The strictest tag wins.
        assert_eq!(
            rules.rule_for(&m),
            (Rule::AskEveryTime, Source::Tag("pay".into()))
        );
        rules.set(&Scope::Credential("db".into()), Some(Rule::Allow));
        assert_eq!(
            rules.rule_for(&m),
            (Rule::Allow, Source::Credential("db".into()))
        );
        rules.set(&Scope::Credential("db".into()), None);
        assert_eq!(rules.rule_for(&m).0, Rule::AskEveryTime);
    }

    #[test]
    fn rules_parse_by_their_names_only() {
        for r in [Rule::Allow, Rule::Ask, Rule::AskEveryTime] {
            assert_eq!(Rule::parse(r.as_str()).expect("parse"), r);
        }
        let e = Rule::parse("maybe").expect_err("refused");
        assert!(e.to_string().contains("allow, ask, ask-every-time"), "{e}");
        assert!(Rules::check_remember(0).is_err());
        assert!(Rules::check_remember(MAX_REMEMBER_MINUTES + 1).is_err());
    }
}
