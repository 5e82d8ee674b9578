//! How hard a passphrase is to guess, from zxcvbn's estimate, and the bar a
//! recovery passphrase must clear.

use crate::error::{Error, Result};
use crate::secret::SecretValue;

/// The lowest zxcvbn score accepted for a recovery passphrase ("fair").
pub const MIN_RECOVERY_SCORE: u8 = 2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strength {
    /// 0 (very weak) to 4 (very strong).
    pub score: u8,
    pub label: &'static str,
    /// Time to guess it offline at 10,000 guesses per second, in words.
    pub crack_time: String,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

pub fn estimate(passphrase: &SecretValue) -> Strength {
    let entropy = zxcvbn::zxcvbn(passphrase.expose_secret(), &["coffer"]);
    let score = u8::from(entropy.score()).min(4);
    let label = ["very weak", "weak", "fair", "strong", "very strong"][usize::from(score)];
    let feedback = entropy.feedback();
    Strength {
        score,
        label,
        crack_time: entropy
            .crack_times()
            .offline_slow_hashing_1e4_per_second()
            .to_string(),
        warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
        suggestions: feedback
            .map(|f| f.suggestions().iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    }
}

/// Refuses a recovery passphrase weaker than "fair", saying why.
pub fn require_recovery(passphrase: &SecretValue) -> Result<Strength> {
    let strength = estimate(passphrase);
    if strength.score < MIN_RECOVERY_SCORE {
        let why = strength
            .warning
            .clone()
            .or_else(|| strength.suggestions.first().cloned())
            .unwrap_or_else(|| "add more words".into());
        return Err(Error::invalid(
            "passphrase",
            format!(
                "too weak for a recovery passphrase ({}, guessed in {}): {why}",
                strength.label, strength.crack_time
            ),
        ));
    }
    Ok(strength)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_are_refused_and_long_phrases_pass() {
        let weak = require_recovery(&SecretValue::from("password1")).expect_err("weak");
        assert!(weak.to_string().contains("too weak"), "{weak}");
        let strong =
            require_recovery(&SecretValue::from("tundra-velvet-orbit-maple-quartz")).expect("ok");
        assert!(strong.score >= 3, "{strong:?}");
    }
}
