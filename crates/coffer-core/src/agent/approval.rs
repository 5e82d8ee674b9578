//! Asking the person before the agent hands a credential under an `ask`
//! rule to a process: the questions waiting, the yeses remembered per
//! terminal session, and who may answer.
//!
//! The agent's host decides where a question is shown: the desktop app
//! opens a window of its own ([`Asker`]); a headless agent has none, so the
//! request is refused with the question's id and the person answers from
//! another terminal (`coffer agent approve ID`), then runs the command
//! again. Either way the answer comes back through [`Gate::answer`].
//!
//! A "yes for this terminal" is remembered for the requester's kernel
//! session (a terminal's shell and everything it starts share one; a
//! process outside any terminal has a session of its own), per credential.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::peer::Requester;
use crate::access::{Rule, MAX_REMEMBER_MINUTES};
use crate::audit::Action;
use crate::error::{Error, Result};
use crate::secret::SecretValue;

/// How long a shown question waits for the person before it counts as no.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(120);
/// How long a headless agent keeps a question (and a "yes, once" given to
/// it) for the command to be run again.
pub const PENDING_FOR: Duration = Duration::from_secs(600);

/// A question for the person: which process wants which credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Names the question in `coffer agent approve ID`; not a secret.
    pub id: String,
    pub names: Vec<String>,
    /// The strictest rule among the credentials, and why it applies
    /// ("set on env 'prod'").
    pub rule: Rule,
    pub why: String,
    pub action: Action,
    pub requester: Requester,
    /// What "allow for this terminal" would last (0: not offered, the rule
    /// asks every time).
    pub remember_minutes: u32,
    /// Set when the question asks for a code from this MFA device (an STS
    /// session needs one) rather than for a yes: shown only in the app's
    /// window and answered there ([`Gate::give_code`]), never by `coffer
    /// agent approve`, never remembered (a device's code serves once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_serial: Option<String>,
}

/// The person's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Once,
    ForMinutes { minutes: u32 },
    Deny,
}

impl Answer {
    /// As the audit trail records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Once => "allowed once",
            Answer::ForMinutes { .. } => "allowed for the terminal session",
            Answer::Deny => "denied",
        }
    }
}

/// Where the app shows a question (a window of its own); the answer comes
/// back through [`Gate::answer`].
pub trait Asker: Send + Sync {
    fn show(&self, question: &Question) -> Result<()>;
    /// The question was answered elsewhere or expired: close its window.
    fn withdraw(&self, id: &str);
}

/// How a request under an `ask` rule was let through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Passed {
    /// A yes given earlier for this session, until then.
    Remembered,
    /// The person answered just now.
    Answered {
        question: Box<Question>,
        answer: Answer,
        by: String,
    },
}

/// What the agent records of a refusal before it answers with the error.
pub struct Refused {
    pub question: Question,
    /// "denied", "timed out", "waiting for approval".
    pub decision: &'static str,
    pub by: String,
    pub error: Error,
}

struct Pending {
    question: Question,
    created: Instant,
    /// How many requests wait on it (the app asked); with none, a
    /// headless answer becomes a remembered yes for the command run again.
    waiters: usize,
    answer: Option<(Answer, String)>,
}

struct Grant {
    session: u32,
    name: String,
    until: Instant,
    /// A "yes, once" given to a headless agent: used by the next request.
    once: bool,
}

/// A code question shown in the app's window.
struct CodeWait {
    question: Question,
    /// `Some(Some(code))`: given; `Some(None)`: declined (and by whom).
    answer: Option<(Option<SecretValue>, String)>,
}

#[derive(Default)]
struct State {
    pending: BTreeMap<String, Pending>,
    grants: Vec<Grant>,
    codes: BTreeMap<String, CodeWait>,
}

/// The questions and remembered answers of one agent.
pub struct Gate {
    asker: Option<Arc<dyn Asker>>,
    state: Mutex<State>,
    answered: Condvar,
}

impl Gate {
    /// `asker`: where questions are shown; `None` for a headless agent.
    pub fn new(asker: Option<Arc<dyn Asker>>) -> Gate {
        Gate {
            asker,
            state: Mutex::new(State::default()),
            answered: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets `question`'s request through, or says why not. A remembered yes
    /// for the session passes at once; otherwise the app is asked (and
    /// `on_asking` told, so the client can say it waits) and the answer
    /// awaited, or a headless agent refuses with the way to approve.
    pub fn decide(
        &self,
        question: Question,
        on_asking: &mut dyn FnMut(&Question),
    ) -> std::result::Result<Passed, Box<Refused>> {
        let session = question.requester.session;
        let mut state = self.state();
        let now = Instant::now();
        state.grants.retain(|g| g.until > now);
        state
            .pending
            .retain(|_, p| p.waiters > 0 || now.duration_since(p.created) < PENDING_FOR);
        if session != 0 && take_grants(&mut state.grants, &question, session) {
            return Ok(Passed::Remembered);
        }
        // The same process tree asking the same again waits on the
        // question already shown, rather than opening a second.
        let same = state
            .pending
            .values()
            .find(|p| {
                p.answer.is_none()
                    && p.question.requester.session == session
                    && p.question.names == question.names
                    && p.question.action == question.action
            })
            .map(|p| p.question.clone());
        let shown = same.is_some();
        let question = same.unwrap_or(question);
        let Some(asker) = self.asker.clone() else {
            state
                .pending
                .entry(question.id.clone())
                .or_insert_with(|| Pending {
                    question: question.clone(),
                    created: now,
                    waiters: 0,
                    answer: None,
                });
            let error = Error::NeedsApproval {
                what: format!(
                    "{} needs your approval for {} (access rule {}, {}): approve it from another \
                     terminal with `coffer agent approve {}` (or open the Coffer app), then run \
                     this again",
                    question.requester.summary(),
                    quoted(&question.names),
                    question.rule,
                    question.why,
                    question.id
                ),
            };
            return Err(Box::new(Refused {
                question,
                decision: "waiting for approval",
                by: "the agent (no window to ask in)".into(),
                error,
            }));
        };
        if shown {
            if let Some(p) = state.pending.get_mut(&question.id) {
                p.waiters += 1;
            }
        } else {
            state.pending.insert(
                question.id.clone(),
                Pending {
                    question: question.clone(),
                    created: now,
                    waiters: 1,
                    answer: None,
                },
            );
            drop(state);
            if let Err(e) = asker.show(&question) {
                self.state().pending.remove(&question.id);
                return Err(Box::new(Refused {
                    decision: "denied",
                    by: "the agent (the question could not be shown)".into(),
                    error: Error::Denied {
                        what: format!("the question could not be shown: {e}"),
                    },
                    question,
                }));
            }
            state = self.state();
        }
        on_asking(&question);
        let deadline = now + ANSWER_WITHIN;
        loop {
            let Some(pending) = state.pending.get_mut(&question.id) else {
                return Err(Box::new(Refused {
                    decision: "denied",
                    by: "the agent".into(),
                    error: denied(&question, "the agent (the question was withdrawn)"),
                    question,
                }));
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if pending.answer.is_some() || left.is_zero() {
                pending.waiters -= 1;
                let answer = pending.answer.clone();
                let last = pending.waiters == 0;
                if last {
                    state.pending.remove(&question.id);
                }
                if let Some((answer, by)) = answer {
                    return self.apply(state, question, answer, by);
                }
                drop(state);
                if last {
                    asker.withdraw(&question.id);
                }
                let error = Error::Denied {
                    what: format!(
                        "no answer came within {} s to {}'s request for {}: nothing was given",
                        ANSWER_WITHIN.as_secs(),
                        question.requester.summary(),
                        quoted(&question.names)
                    ),
                };
                return Err(Box::new(Refused {
                    question,
                    decision: "timed out",
                    by: "nobody".into(),
                    error,
                }));
            }
            state = self
                .answered
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn apply(
        &self,
        mut state: MutexGuard<'_, State>,
        question: Question,
        answer: Answer,
        by: String,
    ) -> std::result::Result<Passed, Box<Refused>> {
        let session = question.requester.session;
        match answer {
            Answer::Deny => {
                let error = denied(&question, &by);
                return Err(Box::new(Refused {
                    question,
                    decision: "denied",
                    by,
                    error,
                }));
            }
            Answer::ForMinutes { minutes } if session != 0 => {
                let until = Instant::now() + Duration::from_secs(u64::from(minutes) * 60);
                for name in &question.names {
                    state.grants.push(Grant {
                        session,
                        name: name.clone(),
                        until,
                        once: false,
                    });
                }
            }
            _ => {}
        }
        self.answered.notify_all();
        Ok(Passed::Answered {
            question: Box::new(question),
            answer,
            by,
        })
    }

    /// The person's answer to question `id`, from the app's window or
    /// `coffer agent approve`. Returns the question, and whether a request
    /// waits for it (it then records the decision; otherwise the caller
    /// does, and a yes is kept for the command run again).
    pub fn answer(&self, id: &str, answer: Answer, by: &str) -> Result<(Question, bool)> {
        let mut state = self.state();
        let Some(pending) = state.pending.get_mut(id) else {
            return Err(Error::RequestNotFound {
                id: crate::credential::printable(id),
            });
        };
        if pending.answer.is_some() {
            return Err(Error::Invalid {
                what: "request".into(),
                reason: format!("{id} is already answered"),
            });
        }
        let answer = match answer {
            Answer::ForMinutes { minutes } if pending.question.remember_minutes == 0 => {
                let _ = minutes;
                return Err(Error::Invalid {
                    what: "answer".into(),
                    reason: "this credential's rule asks every time: allow it once or deny it"
                        .into(),
                });
            }
            Answer::ForMinutes { minutes } if !(1..=MAX_REMEMBER_MINUTES).contains(&minutes) => {
                return Err(Error::Invalid {
                    what: "minutes".into(),
                    reason: format!("{minutes} is outside 1 to {MAX_REMEMBER_MINUTES}"),
                });
            }
            a => a,
        };
        let question = pending.question.clone();
        if pending.waiters > 0 {
            pending.answer = Some((answer, by.to_owned()));
            self.answered.notify_all();
            // Closing a window may wait for the app's main thread, which may
            // itself wait for this lock: released first.
            drop(state);
            if let Some(asker) = &self.asker {
                asker.withdraw(id);
            }
            return Ok((question, true));
        }
        state.pending.remove(id);
        let session = question.requester.session;
        let grant = match answer {
            Answer::Deny => None,
            Answer::Once => Some((PENDING_FOR, true)),
            Answer::ForMinutes { minutes } => {
                Some((Duration::from_secs(u64::from(minutes) * 60), false))
            }
        };
        if let Some((lasting, once)) = grant.filter(|_| session != 0) {
            let until = Instant::now() + lasting;
            for name in &question.names {
                state.grants.push(Grant {
                    session,
                    name: name.clone(),
                    until,
                    once,
                });
            }
        }
        Ok((question, false))
    }

    /// A code from the MFA device `question.mfa_serial`, asked in the app's
    /// window (the client told through `on_asking`, as for a yes); `None`
    /// when there is no window to ask in (a headless agent: the client asks
    /// its own person). Declined, closed or unanswered within
    /// [`ANSWER_WITHIN`], it is an error and no session is made.
    pub fn ask_code(
        &self,
        question: Question,
        on_asking: &mut dyn FnMut(&Question),
    ) -> Result<Option<SecretValue>> {
        let Some(asker) = self.asker.clone() else {
            return Ok(None);
        };
        let id = question.id.clone();
        let credential = question.names.join(", ");
        self.state().codes.insert(
            id.clone(),
            CodeWait {
                question: question.clone(),
                answer: None,
            },
        );
        if let Err(e) = asker.show(&question) {
            self.state().codes.remove(&id);
            return Err(Error::Denied {
                what: format!("the MFA code for '{credential}' could not be asked for: {e}"),
            });
        }
        on_asking(&question);
        let deadline = Instant::now() + ANSWER_WITHIN;
        let mut state = self.state();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answered = state.codes.get(&id).map(|w| w.answer.is_some());
            if answered == Some(true) || answered.is_none() || left.is_zero() {
                let answer = state.codes.remove(&id).and_then(|w| w.answer);
                drop(state);
                return match answer {
                    Some((Some(code), _)) => Ok(Some(code)),
                    Some((None, by)) => Err(Error::Denied {
                        what: format!(
                            "no MFA code was given for '{credential}' ({by}): no session was made"
                        ),
                    }),
                    None => {
                        asker.withdraw(&id);
                        Err(Error::Denied {
                            what: format!(
                                "no MFA code for '{credential}' came within {} s: no session \
                                 was made",
                                ANSWER_WITHIN.as_secs()
                            ),
                        })
                    }
                };
            }
            state = self
                .answered
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The person's answer to code question `id` in the app's window: the
    /// code, or `None` (declined, the window closed). Returns the question.
    pub fn give_code(&self, id: &str, code: Option<SecretValue>, by: &str) -> Result<Question> {
        let mut state = self.state();
        let Some(wait) = state.codes.get_mut(id) else {
            return Err(Error::RequestNotFound {
                id: crate::credential::printable(id),
            });
        };
        if wait.answer.is_some() {
            return Err(Error::Invalid {
                what: "request".into(),
                reason: format!("{id} is already answered"),
            });
        }
        wait.answer = Some((code, by.to_owned()));
        let question = wait.question.clone();
        self.answered.notify_all();
        drop(state);
        if let Some(asker) = &self.asker {
            asker.withdraw(id);
        }
        Ok(question)
    }

    /// The questions waiting for an answer, oldest first.
    pub fn pending(&self) -> Vec<Question> {
        let now = Instant::now();
        let mut state = self.state();
        state
            .pending
            .retain(|_, p| p.waiters > 0 || now.duration_since(p.created) < PENDING_FOR);
        let mut waiting: Vec<(&Instant, Question)> = state
            .pending
            .values()
            .filter(|p| p.answer.is_none())
            .map(|p| (&p.created, p.question.clone()))
            .collect();
        waiting.sort_by_key(|(t, _)| **t);
        waiting.into_iter().map(|(_, q)| q).collect()
    }

    /// The vault locked: every remembered yes goes, and so does every
    /// question still open. A request waiting in the app is denied and a
    /// code asked for is declined (their windows close); a question left for
    /// `coffer agent approve` is dropped, so a yes given after the lock
    /// cannot let the next unlock's request through unasked.
    pub fn forget(&self) {
        let by = "the vault, locked while the question was open";
        let mut state = self.state();
        state.grants.clear();
        state.pending.retain(|_, p| p.waiters > 0);
        let mut withdrawn = Vec::new();
        for (id, pending) in &mut state.pending {
            if pending.answer.is_none() {
                pending.answer = Some((Answer::Deny, by.to_owned()));
                withdrawn.push(id.clone());
            }
        }
        for (id, wait) in &mut state.codes {
            if wait.answer.is_none() {
                wait.answer = Some((None, by.to_owned()));
                withdrawn.push(id.clone());
            }
        }
        self.answered.notify_all();
        // Closing a window may wait for the app's main thread: released first.
        drop(state);
        if let Some(asker) = &self.asker {
            for id in &withdrawn {
                asker.withdraw(id);
            }
        }
    }
}

/// Whether `session` holds a yes for every name of `question`, using up
/// the one-time ones. An ask-every-time question is satisfied only by a
/// one-time yes.
fn take_grants(grants: &mut Vec<Grant>, question: &Question, session: u32) -> bool {
    let covers = |g: &Grant, name: &str| {
        g.session == session && g.name == name && (g.once || question.rule != Rule::AskEveryTime)
    };
    if !question
        .names
        .iter()
        .all(|n| grants.iter().any(|g| covers(g, n)))
    {
        return false;
    }
    for name in &question.names {
        if let Some(i) = grants.iter().position(|g| covers(g, name) && g.once) {
            grants.remove(i);
        }
    }
    true
}

fn denied(question: &Question, by: &str) -> Error {
    Error::Denied {
        what: format!(
            "{} was denied {} by {by}",
            question.requester.summary(),
            quoted(&question.names)
        ),
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fresh question id: 8 random bytes, hex.
pub fn new_id() -> Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::Failure {
        what: format!("no randomness for a request id: {e}"),
    })?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(id: &str, session: u32, rule: Rule) -> Question {
        Question {
            id: id.into(),
            names: vec!["db".into()],
            rule,
            why: "the default".into(),
            action: Action::Reveal,
            requester: Requester {
                pid: 42,
                session,
                ..Requester::default()
            },
            remember_minutes: if rule == Rule::AskEveryTime { 0 } else { 10 },
            mfa_serial: None,
        }
    }

    #[test]
    fn a_headless_yes_for_minutes_lets_the_same_session_through_and_no_other() {
        let gate = Gate::new(None);
        let refused = gate
            .decide(question("a1", 7, Rule::Ask), &mut |_| {})
            .expect_err("asks first");
        assert!(matches!(refused.error, Error::NeedsApproval { .. }));
        assert!(refused
            .error
            .to_string()
            .contains("coffer agent approve a1"));
        assert_eq!(gate.pending().len(), 1);
        let (_, waited) = gate
            .answer("a1", Answer::ForMinutes { minutes: 5 }, "me")
            .expect("answered");
        assert!(!waited);
        assert!(gate.pending().is_empty());
        for _ in 0..3 {
            assert_eq!(
                gate.decide(question("a2", 7, Rule::Ask), &mut |_| {}).ok(),
                Some(Passed::Remembered)
            );
        }
        assert!(gate
            .decide(question("a3", 8, Rule::Ask), &mut |_| {})
            .is_err());
        gate.forget();
        assert!(gate
            .decide(question("a4", 7, Rule::Ask), &mut |_| {})
            .is_err());
    }

    #[test]
    fn a_yes_once_is_used_once_and_every_time_rules_take_no_minutes() {
        let gate = Gate::new(None);
        assert!(gate
            .decide(question("b1", 7, Rule::AskEveryTime), &mut |_| {})
            .is_err());
        let e = gate
            .answer("b1", Answer::ForMinutes { minutes: 5 }, "me")
            .expect_err("every time: no minutes");
        assert!(e.to_string().contains("asks every time"), "{e}");
        gate.answer("b1", Answer::Once, "me").expect("once");
        assert_eq!(
            gate.decide(question("b2", 7, Rule::AskEveryTime), &mut |_| {})
                .ok(),
            Some(Passed::Remembered)
        );
        assert!(gate
            .decide(question("b3", 7, Rule::AskEveryTime), &mut |_| {})
            .is_err());
        let e = gate.answer("zz", Answer::Once, "me").expect_err("unknown");
        assert!(matches!(e, Error::RequestNotFound { .. }));
    }

    struct Window(Mutex<Vec<String>>);
    impl Asker for Window {
        fn show(&self, q: &Question) -> Result<()> {
            self.0.lock().expect("lock").push(q.id.clone());
            Ok(())
        }
        fn withdraw(&self, _: &str) {}
    }

    #[test]
    fn the_app_is_asked_once_and_its_answer_reaches_every_waiting_request() {
        let window = Arc::new(Window(Mutex::new(Vec::new())));
        let gate = Arc::new(Gate::new(Some(window.clone())));
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let gate = Arc::clone(&gate);
                std::thread::spawn(move || {
                    gate.decide(question(&format!("c{i}"), 9, Rule::Ask), &mut |_| {})
                        .is_ok()
                })
            })
            .collect();
        let id = loop {
            if let Some(id) = window.0.lock().expect("lock").first().cloned() {
                break id;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // Let the other two join the shown question.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(gate.pending().len(), 1, "one question for one tree");
        let (_, waited) = gate
            .answer(&id, Answer::Once, "the window")
            .expect("answer");
        assert!(waited);
        for w in waiters {
            assert!(w.join().expect("join"));
        }
        assert_eq!(window.0.lock().expect("lock").len(), 1);
        // Once was once: the next request is asked again.
        let g = Arc::clone(&gate);
        let next =
            std::thread::spawn(move || g.decide(question("c9", 9, Rule::Ask), &mut |_| {}).is_ok());
        while window.0.lock().expect("lock").len() < 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let id = window.0.lock().expect("lock")[1].clone();
        gate.answer(&id, Answer::Deny, "the window").expect("deny");
        assert!(!next.join().expect("join"));
    }

    fn code_question(id: &str) -> Question {
        Question {
            mfa_serial: Some("arn:aws:iam::123456789012:mfa/me".into()),
            ..question(id, 9, Rule::AskEveryTime)
        }
    }

    /// Waits for the window's n-th question and returns its id.
    fn shown(window: &Window, n: usize) -> String {
        loop {
            if let Some(id) = window.0.lock().expect("lock").get(n).cloned() {
                return id;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_code_is_asked_in_the_window_given_once_and_never_listed_for_approve() {
        assert_eq!(
            Gate::new(None)
                .ask_code(code_question("h1"), &mut |_| {})
                .expect("headless")
                .map(|c| c.expose_secret().to_owned()),
            None,
            "a headless agent leaves the code to the client"
        );
        let window = Arc::new(Window(Mutex::new(Vec::new())));
        let gate = Arc::new(Gate::new(Some(window.clone())));
        let g = Arc::clone(&gate);
        let asking = std::thread::spawn(move || {
            let mut told = 0;
            let code = g.ask_code(code_question("d1"), &mut |q| {
                assert!(q.mfa_serial.is_some());
                told += 1;
            });
            (code.map(|c| c.map(|c| c.expose_secret().to_owned())), told)
        });
        let id = shown(&window, 0);
        assert!(gate.pending().is_empty(), "not for `coffer agent approve`");
        let e = gate
            .answer(&id, Answer::Once, "me")
            .expect_err("a yes is no code");
        assert!(matches!(e, Error::RequestNotFound { .. }), "{e}");
        gate.give_code(&id, Some(SecretValue::from("123456")), "the window")
            .expect("given");
        let (code, told) = asking.join().expect("join");
        assert_eq!(code.expect("code").as_deref(), Some("123456"));
        assert_eq!(told, 1, "the client was told it waits");
        let e = gate
            .give_code(&id, Some(SecretValue::from("654321")), "again")
            .expect_err("used");
        assert!(matches!(e, Error::RequestNotFound { .. }), "{e}");

        // Declined (or the window closed): an error naming the credential.
        let g = Arc::clone(&gate);
        let asking = std::thread::spawn(move || g.ask_code(code_question("d2"), &mut |_| {}));
        let id = shown(&window, 1);
        gate.give_code(&id, None, "the person, closing the Coffer window")
            .expect("declined");
        let e = asking.join().expect("join").expect_err("no code");
        assert!(matches!(e, Error::Denied { .. }), "{e}");
        assert!(
            e.to_string().contains("no MFA code was given for 'db'")
                && e.to_string().contains("closing the Coffer window"),
            "{e}"
        );
    }

    /// A window that records which questions were withdrawn.
    struct Closing(Window, Mutex<Vec<String>>);
    impl Asker for Closing {
        fn show(&self, q: &Question) -> Result<()> {
            self.0.show(q)
        }
        fn withdraw(&self, id: &str) {
            self.1.lock().expect("lock").push(id.to_owned());
        }
    }

    #[test]
    fn a_lock_ends_every_open_question_and_closes_its_window() {
        // Headless: a question left for `coffer agent approve` is dropped.
        let gate = Gate::new(None);
        assert!(gate
            .decide(question("l1", 7, Rule::Ask), &mut |_| {})
            .is_err());
        gate.forget();
        assert!(gate.pending().is_empty());
        let e = gate
            .answer("l1", Answer::ForMinutes { minutes: 5 }, "me")
            .expect_err("gone with the lock");
        assert!(matches!(e, Error::RequestNotFound { .. }), "{e}");

        // In the app: a request waiting for a yes and one waiting for a code.
        let closing = Arc::new(Closing(Window(Mutex::new(Vec::new())), Mutex::default()));
        let gate = Arc::new(Gate::new(Some(closing.clone())));
        let g = Arc::clone(&gate);
        let asking = std::thread::spawn(move || {
            g.decide(question("l2", 9, Rule::Ask), &mut |_| {})
                .err()
                .map(|r| (r.decision, r.error.to_string()))
        });
        let yes = shown(&closing.0, 0);
        let g = Arc::clone(&gate);
        let coding = std::thread::spawn(move || {
            g.ask_code(code_question("l3"), &mut |_| {})
                .err()
                .map(|e| e.to_string())
        });
        let code = shown(&closing.0, 1);
        gate.forget();
        let (decision, e) = asking.join().expect("join").expect("refused");
        assert_eq!(decision, "denied");
        assert!(e.contains("locked while the question was open"), "{e}");
        let e = coding.join().expect("join").expect("no code");
        assert!(
            e.contains("no MFA code was given for 'db'") && e.contains("locked"),
            "{e}"
        );
        let mut withdrawn = closing.1.lock().expect("lock").clone();
        withdrawn.sort();
        let mut both = vec![yes.clone(), code.clone()];
        both.sort();
        assert_eq!(withdrawn, both, "both windows close");
        for id in [&yes, &code] {
            assert!(gate.answer(id, Answer::Once, "late").is_err());
            assert!(gate
                .give_code(id, Some(SecretValue::from("123456")), "late")
                .is_err());
        }
    }
}
