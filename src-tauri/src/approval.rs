//! Where the app's agent asks the person (an `ask` access rule): a window of
//! its own per question, with its own web view and capability
//! (capabilities/approval.json: the two approval commands and nothing
//! else), never the main page. The window learns its question by a
//! one-time nonce in its URL, and only the window labelled for that
//! question may use the nonce: script in the main page can neither read a
//! question nor answer one (the main capability does not grant these
//! commands, and the label check would refuse them anyway). Closing the
//! window denies. The same windows ask for an MFA device's code when an
//! STS session the agent makes needs one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use coffer_core::agent::approval::{Answer, Asker, Gate, Question};
use coffer_core::SecretValue;
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

use crate::error::IpcError;

/// Who answered, as the audit trail records it.
const BY_WINDOW: &str = "the person, in the Coffer window";

/// The app's questions: the gate the agent uses, and the windows open.
pub struct Approvals {
    pub gate: Arc<Gate>,
    /// nonce → the question its window shows.
    open: Mutex<HashMap<String, Question>>,
}

impl Approvals {
    /// The gate for the app's agent; questions open windows of `app`.
    pub fn new(app: AppHandle) -> Approvals {
        Approvals {
            gate: Arc::new(Gate::new(Some(Arc::new(Windows(app))))),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn open(&self) -> MutexGuard<'_, HashMap<String, Question>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The question behind `nonce`, if `label` is its window's.
    pub fn question(&self, label: &str, nonce: &str) -> Result<Question, IpcError> {
        self.open()
            .get(nonce)
            .filter(|q| label == window_label(&q.id))
            .cloned()
            .ok_or_else(not_yours)
    }

    /// Answers the question behind `nonce` (once: the nonce is used up). A
    /// code question takes only a no here (its code comes by
    /// [`Approvals::give_code`]).
    pub fn answer(&self, label: &str, nonce: &str, answer: Answer) -> Result<(), IpcError> {
        let question = self.take(label, nonce)?;
        if question.mfa_serial.is_some() {
            self.gate.give_code(&question.id, None, BY_WINDOW)?;
        } else {
            self.gate.answer(&question.id, answer, BY_WINDOW)?;
        }
        Ok(())
    }

    /// Gives the code asked for by the question behind `nonce` (once).
    pub fn give_code(&self, label: &str, nonce: &str, code: SecretValue) -> Result<(), IpcError> {
        let question = self.take(label, nonce)?;
        self.gate.give_code(&question.id, Some(code), BY_WINDOW)?;
        Ok(())
    }

    /// Removes the question behind `nonce` if `label` is its window's.
    fn take(&self, label: &str, nonce: &str) -> Result<Question, IpcError> {
        let mut open = self.open();
        match open.get(nonce) {
            Some(q) if label == window_label(&q.id) => open.remove(nonce),
            _ => None,
        }
        .ok_or_else(not_yours)
    }

    /// The window closed unanswered: that is a no (or no code).
    fn closed(&self, nonce: &str) {
        let question = self.open().remove(nonce);
        let by = "the person, closing the Coffer window";
        match question {
            Some(q) if q.mfa_serial.is_some() => {
                let _ = self.gate.give_code(&q.id, None, by);
            }
            Some(q) => {
                let _ = self.gate.answer(&q.id, Answer::Deny, by);
            }
            None => {}
        }
    }
}

fn not_yours() -> IpcError {
    IpcError::failure("this window cannot answer that request (it was answered, or expired)")
}

fn window_label(id: &str) -> String {
    format!("approve-{id}")
}

/// Shows questions in windows of the app.
struct Windows(AppHandle);

impl Asker for Windows {
    fn show(&self, question: &Question) -> coffer_core::Result<()> {
        let nonce =
            coffer_core::agent::approval::new_id()? + &coffer_core::agent::approval::new_id()?;
        let approvals = self.0.state::<Approvals>();
        approvals.open().insert(nonce.clone(), question.clone());
        let url = WebviewUrl::App(format!("approve.html#{nonce}").into());
        let title = if question.mfa_serial.is_some() {
            "Coffer: MFA code"
        } else {
            "Coffer: allow access?"
        };
        let built = WebviewWindowBuilder::new(&self.0, window_label(&question.id), url)
            .title(title)
            .inner_size(640.0, 440.0)
            .resizable(false)
            .always_on_top(true)
            .focused(true)
            .center()
            .build();
        match built {
            Ok(window) => {
                let app = self.0.clone();
                window.on_window_event(move |event| {
                    if let tauri::WindowEvent::Destroyed = event {
                        app.state::<Approvals>().closed(&nonce);
                    }
                });
                Ok(())
            }
            Err(e) => {
                approvals.open().remove(&nonce);
                Err(coffer_core::Error::Failure {
                    what: format!("the approval window could not be opened: {e}"),
                })
            }
        }
    }

    fn withdraw(&self, id: &str) {
        self.0.state::<Approvals>().open().retain(|_, q| q.id != id);
        if let Some(window) = self.0.get_webview_window(&window_label(id)) {
            let _ = window.close();
        }
    }
}
