//! Rotation policies and the status they give each credential: ok, due
//! soon, overdue or expired, from the last rotation (else the creation) and
//! the policy in force. Pure functions of the credential, the policies and
//! `now`, so every boundary is testable without waiting.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::credential::Credential;
use crate::kind::Kind;

/// The warning window used when a policy does not give one.
pub const DEFAULT_WARN_DAYS: u32 = 14;

pub use crate::credential::Policy;

/// The built-in policy of a kind; `generic` has none.
pub fn default_policy(kind: Kind) -> Option<Policy> {
    let days = match kind {
        Kind::AwsAccessKey
        | Kind::ApiKey
        | Kind::GcpServiceAccount
        | Kind::AzureServicePrincipal => 90,
        Kind::VaultToken | Kind::VaultApprole => 180,
        Kind::DbPassword => 30,
        Kind::SshKey => 365,
        // A role has no secret of its own to age: its source's key rotates.
        // Nor a lease: each is new and short-lived. A TOTP seed changes only
        // when its device is enrolled again.
        Kind::Generic | Kind::AwsRole | Kind::VaultLease | Kind::TotpSeed => return None,
    };
    Some(Policy {
        max_age_days: days,
        warn_days: DEFAULT_WARN_DAYS,
    })
}

/// Policies set by the person, by kind, tag and environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policies {
    #[serde(default)]
    pub by_kind: BTreeMap<String, Policy>,
    #[serde(default)]
    pub by_tag: BTreeMap<String, Policy>,
    #[serde(default)]
    pub by_env: BTreeMap<String, Policy>,
}

/// What a policy applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Kind(Kind),
    Tag(String),
    Env(String),
}

impl Policies {
    pub fn set(&mut self, scope: &Scope, policy: Option<Policy>) {
        let (map, key) = match scope {
            Scope::Kind(k) => (&mut self.by_kind, k.as_str().to_owned()),
            Scope::Tag(t) => (&mut self.by_tag, t.clone()),
            Scope::Env(e) => (&mut self.by_env, e.clone()),
        };
        match policy {
            Some(p) => {
                map.insert(key, p);
            }
            None => {
                map.remove(&key);
            }
        }
    }
}

/// Where the policy in force came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    Credential,
    Tag(String),
    Env(String),
    Kind,
    KindDefault,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Credential => f.write_str("credential"),
            Source::Tag(t) => write!(f, "tag {t}"),
            Source::Env(e) => write!(f, "environment {e}"),
            Source::Kind => f.write_str("kind setting"),
            Source::KindDefault => f.write_str("kind default"),
        }
    }
}

/// The policy in force for a credential: its own, else the strictest of its
/// tags', else its environment's, else its kind's setting, else the default.
pub fn effective(credential: &Credential, policies: &Policies) -> Option<(Policy, Source)> {
    let meta = &credential.meta;
    if let Some(p) = meta.policy {
        return Some((p, Source::Credential));
    }
    let strictest_tag = meta
        .tags
        .iter()
        .filter_map(|t| policies.by_tag.get(t).map(|p| (*p, t)))
        .min_by_key(|(p, _)| p.max_age_days);
    if let Some((p, tag)) = strictest_tag {
        return Some((p, Source::Tag(tag.clone())));
    }
    if let Some((p, env)) = meta
        .env
        .as_ref()
        .and_then(|e| policies.by_env.get(e).map(|p| (*p, e)))
    {
        return Some((p, Source::Env(env.clone())));
    }
    if let Some(p) = policies.by_kind.get(meta.kind.as_str()) {
        return Some((*p, Source::Kind));
    }
    default_policy(meta.kind).map(|p| (p, Source::KindDefault))
}

/// Which credentials a status report covers: all, or those of an
/// environment and/or with a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub env: Option<String>,
    pub tag: Option<String>,
}

impl Filter {
    pub fn matches(&self, c: &Credential) -> bool {
        self.env
            .as_ref()
            .is_none_or(|e| c.meta.env.as_ref() == Some(e))
            && self.tag.as_ref().is_none_or(|t| c.meta.tags.contains(t))
    }
}

/// A credential's rotation state, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RotationState"))]
pub enum State {
    /// Marked by an emergency revoke: replace it now.
    Compromised,
    Expired,
    Overdue,
    DueSoon,
    Ok,
    NoPolicy,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Compromised => "compromised",
            State::Expired => "expired",
            State::Overdue => "overdue",
            State::DueSoon => "due_soon",
            State::Ok => "ok",
            State::NoPolicy => "no_policy",
        }
    }

    /// Whether `coffer status` must fail (exit 3) for it.
    pub fn needs_action(self) -> bool {
        matches!(self, State::Compromised | State::Expired | State::Overdue)
    }
}

/// The rotation status of one credential at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    /// When the current secret was made: the last rotation, else creation.
    pub since: DateTime<Utc>,
    pub rotated: bool,
    pub age_days: i64,
    /// The earlier of the policy's due date and the expiry.
    pub due: Option<DateTime<Utc>>,
    /// Calendar days until `due` (negative when past).
    pub days_left: Option<i64>,
    pub policy: Option<(Policy, Source)>,
}

pub fn status(credential: &Credential, policies: &Policies, now: DateTime<Utc>) -> Status {
    let (since, rotated) = match credential.meta.rotated_at {
        Some(t) => (t, true),
        None => (credential.created_at, false),
    };
    let policy = effective(credential, policies);
    let policy_due = policy
        .as_ref()
        .map(|(p, _)| since + Duration::days(i64::from(p.max_age_days)));
    let warn = Duration::days(i64::from(
        policy
            .as_ref()
            .map_or(DEFAULT_WARN_DAYS, |(p, _)| p.warn_days),
    ));
    let expiry = credential.meta.expires_at;
    let due = match (policy_due, expiry) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let state = if credential.meta.compromised_at.is_some() {
        State::Compromised
    } else if expiry.is_some_and(|e| now >= e) {
        State::Expired
    } else if policy_due.is_some_and(|d| now >= d) {
        State::Overdue
    } else if due.is_some_and(|d| now >= d - warn) {
        State::DueSoon
    } else if due.is_some() {
        State::Ok
    } else {
        State::NoPolicy
    };
    Status {
        state,
        since,
        rotated,
        age_days: (now - since).num_days(),
        due,
        days_left: due.map(|d| days_until(now, d)),
        policy,
    }
}

/// Calendar days (UTC) from `now` to `then`: due today is 0, yesterday -1.
fn days_until(now: DateTime<Utc>, then: DateTime<Utc>) -> i64 {
    (then.date_naive() - now.date_naive()).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{CredentialId, Draft};
    use chrono::TimeZone;

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("t")
            + Duration::days(day)
    }

    fn cred(kind: Kind, created: DateTime<Utc>) -> Credential {
        let mut d = Draft::new("x", kind);
        match kind {
            Kind::DbPassword => {
                for (k, v) in [("host", "h"), ("user", "u"), ("password", "p")] {
                    d.values.insert(k.into(), v.into());
                }
            }
            Kind::Generic => {
                d.values.insert("a".into(), "b".into());
            }
            _ => {
                d.values.insert("key".into(), "k".into());
            }
        }
        let (meta, _) = d.into_parts().expect("valid");
        Credential {
            id: CredentialId([0; 16]),
            version: 1,
            created_at: created,
            updated_at: created,
            meta,
        }
    }

    #[test]
    fn boundaries_of_each_state() {
        let c = cred(Kind::ApiKey, t(0)); // 90 days, warn 14
        let p = Policies::default();
        assert_eq!(status(&c, &p, t(75)).state, State::Ok);
        assert_eq!(
            status(&c, &p, t(76) - Duration::seconds(1)).state,
            State::Ok
        );
        assert_eq!(status(&c, &p, t(76)).state, State::DueSoon);
        assert_eq!(
            status(&c, &p, t(90) - Duration::seconds(1)).state,
            State::DueSoon
        );
        let at_due = status(&c, &p, t(90));
        assert_eq!(at_due.state, State::Overdue);
        assert_eq!(at_due.days_left, Some(0));
        let late = status(&c, &p, t(200));
        assert_eq!(
            (late.state, late.age_days, late.days_left),
            (State::Overdue, 200, Some(-110))
        );
        assert_eq!(
            status(&c, &p, t(90) + Duration::hours(1)).days_left,
            Some(0)
        );
        assert_eq!(
            status(&c, &p, t(91) + Duration::hours(1)).days_left,
            Some(-1)
        );
        assert_eq!(status(&c, &p, t(10)).days_left, Some(80));
    }

    #[test]
    fn rotation_resets_the_clock() {
        let mut c = cred(Kind::DbPassword, t(0)); // 30 days
        c.meta.rotated_at = Some(t(100));
        let s = status(&c, &Policies::default(), t(110));
        assert_eq!(
            (s.state, s.rotated, s.age_days, s.days_left),
            (State::Ok, true, 10, Some(20))
        );
    }

    #[test]
    fn expiry_wins_and_warns() {
        let mut c = cred(Kind::ApiKey, t(0));
        c.meta.expires_at = Some(t(30));
        let p = Policies::default();
        assert_eq!(status(&c, &p, t(10)).state, State::Ok);
        assert_eq!(status(&c, &p, t(20)).state, State::DueSoon);
        assert_eq!(status(&c, &p, t(20)).due, Some(t(30)));
        assert_eq!(status(&c, &p, t(30)).state, State::Expired);
        let mut g = cred(Kind::Generic, t(0));
        assert_eq!(status(&g, &p, t(1000)).state, State::NoPolicy);
        g.meta.expires_at = Some(t(5));
        assert_eq!(status(&g, &p, t(6)).state, State::Expired);
    }

    #[test]
    fn overrides_by_credential_tag_env_and_kind() {
        let mut c = cred(Kind::ApiKey, t(0));
        c.meta.tags = vec!["pci".into(), "team".into()];
        c.meta.env = Some("prod".into());
        let mut p = Policies::default();
        assert_eq!(
            effective(&c, &p).map(|(x, s)| (x.max_age_days, s)),
            Some((90, Source::KindDefault))
        );
        p.set(
            &Scope::Kind(Kind::ApiKey),
            Some(Policy::new(60, 7).expect("p")),
        );
        assert_eq!(
            effective(&c, &p).map(|(x, s)| (x.max_age_days, s)),
            Some((60, Source::Kind))
        );
        p.set(
            &Scope::Env("prod".into()),
            Some(Policy::new(45, 7).expect("p")),
        );
        assert_eq!(
            effective(&c, &p).map(|(x, s)| (x.max_age_days, s)),
            Some((45, Source::Env("prod".into())))
        );
        p.set(
            &Scope::Tag("team".into()),
            Some(Policy::new(40, 7).expect("p")),
        );
        p.set(
            &Scope::Tag("pci".into()),
            Some(Policy::new(20, 5).expect("p")),
        );
        assert_eq!(
            effective(&c, &p).map(|(x, s)| (x.max_age_days, s)),
            Some((20, Source::Tag("pci".into())))
        );
        assert_eq!(status(&c, &p, t(16)).state, State::DueSoon);
        assert_eq!(status(&c, &p, t(21)).state, State::Overdue);
        c.meta.policy = Some(Policy::new(365, 30).expect("p"));
        assert_eq!(
            effective(&c, &p).map(|(x, s)| (x.max_age_days, s)),
            Some((365, Source::Credential))
        );
        assert_eq!(status(&c, &p, t(21)).state, State::Ok);
        p.set(&Scope::Tag("pci".into()), None);
        assert!(!p.by_tag.contains_key("pci"));
    }

    #[test]
    fn policies_are_checked() {
        assert!(Policy::new(0, 0).is_err());
        assert!(Policy::new(10, 10).is_err());
        assert!(Policy::new(10, 9).is_ok());
    }

    #[test]
    fn urgency_orders_states() {
        let mut v = vec![
            State::Ok,
            State::NoPolicy,
            State::Expired,
            State::DueSoon,
            State::Overdue,
        ];
        v.sort();
        assert_eq!(
            v,
            vec![
                State::Expired,
                State::Overdue,
                State::DueSoon,
                State::Ok,
                State::NoPolicy
            ]
        );
    }
}
