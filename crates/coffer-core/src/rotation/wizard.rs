//! A rotation driven a click at a time (the app's wizard): answers are given
//! up front for one call, and whatever the run asks beyond them makes it wait
//! at that step, with the question or the fields it needs recorded for the
//! next call.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::run::{self, Flow, Guide, Run, Step};
use crate::error::Result;
use crate::kind::Kind;
use crate::secret::SecretValue;

/// The steps of a run in order, as the wizard lists them.
pub const STEPS: [Step; 7] = [
    Step::Prepare,
    Step::NewValue,
    Step::Verify,
    Step::Promote,
    Step::Push,
    Step::Revoke,
    Step::Done,
];

/// What each step means to a person.
pub fn label(step: Step, flow: Flow) -> &'static str {
    match (step, flow) {
        (Step::Prepare, _) => "Prepare",
        (Step::NewValue, Flow::AwsIam) => "Create the new access key",
        (Step::NewValue, Flow::Manual) => "Enter the new value",
        (Step::NewValue, Flow::Postgres) => "Generate the new password",
        (Step::NewValue, Flow::VaultToken) => "Make a new token with the same policies",
        (Step::NewValue, Flow::VaultApprole) => "Generate a new secret id",
        (Step::Verify, Flow::Postgres) => "Set it in the database and log in with it",
        (Step::Verify, _) => "Verify the new value works",
        (Step::Promote, _) => "Make the new value current",
        (Step::Push, _) => "Push to linked remotes",
        (Step::Revoke, Flow::Postgres) => "Check the old password no longer logs in",
        (Step::Revoke, Flow::VaultToken) => "Revoke the old token",
        (Step::Revoke, Flow::VaultApprole) => "Destroy the old secret id",
        (Step::Revoke, _) => "Revoke the old value",
        (Step::Done, _) => "Done",
        (Step::Aborted, _) => "Aborted",
    }
}

/// What a stored manual run waits on before its next step can run: the
/// question it will ask, or the secret fields it needs values for. An
/// automated run waits on nothing a person answers.
pub fn pending(kind: Kind, r: &Run, now: DateTime<Utc>) -> (Option<&'static str>, Vec<String>) {
    if r.state.flow != Flow::Manual {
        return (None, Vec::new());
    }
    match r.state.step {
        Step::NewValue if r.pending.is_none() => (
            None,
            run::secret_fields(kind)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        ),
        Step::Verify => (Some(run::VERIFY_QUESTION), Vec::new()),
        Step::Revoke if r.state.revoke_by.is_none_or(|t| t <= now) => {
            (Some(run::REVOKE_QUESTION), Vec::new())
        }
        _ => (None, Vec::new()),
    }
}

/// Told of each message and saved step (the app turns them into events).
type OnProgress<'a> = Box<dyn FnMut(Option<Step>, &str) + 'a>;

/// Who answers in the wizard, as the audit trail records it.
pub const BY_WIZARD: &str = "the person, in the app's rotation wizard";

/// A [`Guide`] that answers from what one call was given.
pub struct Answers<'a> {
    values: Option<BTreeMap<String, SecretValue>>,
    confirm: bool,
    /// What the run said, in order.
    pub messages: Vec<String>,
    /// The question the run stopped at, if any.
    pub question: Option<String>,
    /// The fields the run stopped for, if any.
    pub needs_values: Vec<String>,
    on_progress: OnProgress<'a>,
}

impl<'a> Answers<'a> {
    /// `confirm` answers yes to the first question only: each click moves
    /// the run past one confirmation, never several at once.
    pub fn new(
        values: Option<BTreeMap<String, SecretValue>>,
        confirm: bool,
        on_progress: impl FnMut(Option<Step>, &str) + 'a,
    ) -> Answers<'a> {
        Answers {
            values,
            confirm,
            messages: Vec::new(),
            question: None,
            needs_values: Vec::new(),
            on_progress: Box::new(on_progress),
        }
    }
}

impl Guide for Answers<'_> {
    fn say(&mut self, text: &str) {
        self.messages.push(text.to_owned());
        (self.on_progress)(None, text);
    }

    fn new_value(
        &mut self,
        _kind: Kind,
        fields: &[&'static str],
    ) -> Result<Option<BTreeMap<String, SecretValue>>> {
        match self.values.take() {
            Some(values) => Ok(Some(values)),
            None => {
                self.needs_values = fields.iter().map(|f| (*f).to_owned()).collect();
                Ok(None)
            }
        }
    }

    fn confirm(&mut self, question: &str) -> Result<Option<String>> {
        if std::mem::take(&mut self.confirm) {
            self.messages.push(format!("{question} Yes."));
            return Ok(Some(BY_WIZARD.to_owned()));
        }
        self.question = Some(question.to_owned());
        Ok(None)
    }

    fn step_saved(&mut self, step: Step) {
        (self.on_progress)(Some(step), step.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_confirmation_per_call_and_missing_values_are_recorded() {
        let mut seen = Vec::new();
        let mut answers = Answers::new(None, true, |step, _| seen.push(step));
        assert_eq!(
            answers.confirm("first?").expect("answer").as_deref(),
            Some(BY_WIZARD)
        );
        assert!(answers.confirm("second?").expect("answer").is_none());
        assert_eq!(answers.question.as_deref(), Some("second?"));
        let values = answers
            .new_value(Kind::DbPassword, &["password"])
            .expect("answer");
        assert!(values.is_none());
        assert_eq!(answers.needs_values, vec!["password".to_owned()]);
        answers.step_saved(Step::Verify);
        drop(answers);
        assert_eq!(seen, vec![Some(Step::Verify)]);
    }

    #[test]
    fn given_values_are_handed_over_once() {
        let values = BTreeMap::from([("password".to_owned(), SecretValue::from("n3w"))]);
        let mut answers = Answers::new(Some(values), false, |_, _| {});
        let first = answers
            .new_value(Kind::DbPassword, &["password"])
            .expect("ok");
        assert!(first.is_some());
        assert!(answers.needs_values.is_empty());
    }
}
