//! Copying a secret: the shell puts it on the system clipboard itself (the
//! value never enters the web view) and clears it after the timeout, but
//! only if the clipboard still holds that value: something the person
//! copied since is left alone. Only a digest of the value is kept meanwhile.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use coffer_core::SecretValue;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::guard::guard;

#[derive(Default, Clone)]
pub struct Clipboard {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    /// Kept for the app's lifetime: on X11 the clipboard's contents are
    /// served by the process that owns them.
    board: Option<arboard::Clipboard>,
    /// The digest of the value we put there, and which copy it was.
    ours: Option<[u8; 32]>,
    generation: u64,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl Inner {
    fn board(&mut self) -> Result<&mut arboard::Clipboard, String> {
        if self.board.is_none() {
            self.board = Some(
                arboard::Clipboard::new()
                    .map_err(|e| format!("the system clipboard is not available: {e}"))?,
            );
        }
        self.board
            .as_mut()
            .ok_or_else(|| "the system clipboard is not available".to_owned())
    }

    /// Clears the clipboard if it still holds our value.
    fn clear_if_ours(&mut self) {
        let Some(ours) = self.ours.take() else {
            return;
        };
        let Ok(board) = self.board() else {
            return;
        };
        let current = board.get_text().map(Zeroizing::new);
        if matches!(&current, Ok(text) if digest(text) == ours) {
            let _ = board.clear();
        }
    }
}

impl Clipboard {
    /// Puts `value` on the clipboard and schedules its removal.
    pub fn copy(&self, value: &SecretValue, clear_after: Duration) -> Result<(), String> {
        let generation = {
            let mut inner = guard(&self.inner);
            // Marked for clipboard managers (x-kde-passwordManagerHint) so
            // they do not keep the value in their history.
            use arboard::SetExtLinux as _;
            inner
                .board()?
                .set()
                .exclude_from_history()
                .text(value.expose_secret())
                .map_err(|e| format!("cannot write to the clipboard: {e}"))?;
            inner.ours = Some(digest(value.expose_secret()));
            inner.generation += 1;
            inner.generation
        };
        let inner = Arc::clone(&self.inner);
        std::thread::spawn(move || {
            std::thread::sleep(clear_after);
            let mut inner = guard(&inner);
            // A later copy has its own timer.
            if inner.generation == generation {
                inner.clear_if_ours();
            }
        });
        Ok(())
    }

    /// On lock: our value does not outlive the unlocked vault.
    pub fn clear_now(&self) {
        guard(&self.inner).clear_if_ours();
    }
}
