//! TOTP codes (RFC 6238) from a `totp-seed` credential, for an AWS
//! credential whose `mfa_totp` names it. Keeping a device's seed beside the
//! key it guards turns two factors into one (whoever opens the vault holds
//! both), so it happens only where the person sets `mfa_totp`. The HMAC and
//! the truncation are totp-rs's; reading and checking the seed and its
//! settings is done here.

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SecretValue;

/// The shortest seed taken: 80 bits, the least authenticator seeds are
/// handed out with (RFC 4226 asks 128 and recommends 160; AWS's virtual
/// devices give 320).
pub const MIN_SEED_BYTES: usize = 10;

/// The time steps taken, in seconds (30 almost everywhere).
const PERIODS: RangeInclusive<u64> = 1..=300;

/// The seed's bytes from its base32 text (as authenticator set-up pages
/// show it: any case, spaces or dashes between groups, padding or not).
/// The error never quotes the text.
pub fn decode_seed(text: &str) -> Result<Zeroizing<Vec<u8>>> {
    let bad = |why: String| Error::invalid("TOTP seed", why);
    let cleaned = Zeroizing::new(
        text.chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '='))
            .map(|c| c.to_ascii_uppercase())
            .collect::<String>(),
    );
    if cleaned.is_empty()
        || !cleaned
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    {
        return Err(bad(
            "it is not base32 (the letters A-Z and digits 2-7)".into()
        ));
    }
    let secret = totp_rs::Secret::Encoded(cleaned.to_string());
    let bytes = Zeroizing::new(
        secret
            .to_bytes()
            .map_err(|_| bad("it is not base32 of whole bytes".into()))?,
    );
    if bytes.len() < MIN_SEED_BYTES {
        return Err(bad(format!(
            "it is {} bytes; a seed has at least {MIN_SEED_BYTES}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// The code for time `at` from the seed of totp-seed credential `name`,
/// whose plain fields `field` looks up (`digits`, `period`, `algorithm`).
pub fn code(
    name: &str,
    seed: &SecretValue,
    field: impl Fn(&str) -> Option<String>,
    at: DateTime<Utc>,
) -> Result<SecretValue> {
    let what = || format!("totp-seed '{name}'");
    let digits = match field("digits").as_deref() {
        None => 6,
        Some(d) => d
            .parse::<usize>()
            .ok()
            .filter(|d| (6..=8).contains(d))
            .ok_or_else(|| Error::invalid(what(), "its digits are 6, 7 or 8"))?,
    };
    let period = match field("period") {
        None => 30,
        Some(p) => crate::time::parse_span(&p)
            .and_then(|s| u64::try_from(s.num_seconds()).ok())
            .filter(|s| PERIODS.contains(s))
            .ok_or_else(|| {
                Error::invalid(
                    what(),
                    format!(
                        "its period is {} to {} seconds",
                        PERIODS.start(),
                        PERIODS.end()
                    ),
                )
            })?,
    };
    let algorithm = match field("algorithm").as_deref() {
        None | Some("SHA1") => totp_rs::Algorithm::SHA1,
        Some("SHA256") => totp_rs::Algorithm::SHA256,
        Some("SHA512") => totp_rs::Algorithm::SHA512,
        Some(_) => {
            return Err(Error::invalid(
                what(),
                "its algorithm is SHA1, SHA256 or SHA512",
            ))
        }
    };
    let bytes = decode_seed(seed.expose_secret()).map_err(|e| match e {
        Error::Invalid { reason, .. } => Error::invalid(what(), format!("its seed: {reason}")),
        other => other,
    })?;
    let seconds = u64::try_from(at.timestamp()).map_err(|_| Error::Failure {
        what: "the clock is before 1970".into(),
    })?;
    // Checked above (digits 6–8, the seed's length), as `new` would check
    // them, but for seeds of 80 bits, which it refuses.
    let totp = totp_rs::TOTP::new_unchecked(algorithm, digits, 1, period, bytes.to_vec());
    Ok(SecretValue::from(totp.generate(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238's test seed for SHA1: the ASCII "12345678901234567890".
    const RFC_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().expect("time")
    }

    #[test]
    fn codes_match_rfc_6238s_test_vectors() {
        let eight = |f: &str| (f == "digits").then(|| "8".to_owned());
        for (t, want) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let got = code("rfc", &SecretValue::from(RFC_SEED), eight, at(t)).expect("code");
            assert_eq!(got.expose_secret(), want, "at {t}");
        }
        // The SHA256 vector, with its 32-byte seed.
        let sha256 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
        let got = code(
            "rfc",
            &SecretValue::from(sha256),
            |f| match f {
                "digits" => Some("8".into()),
                "algorithm" => Some("SHA256".into()),
                _ => None,
            },
            at(59),
        )
        .expect("code");
        assert_eq!(got.expose_secret(), "46119246");
        // Six digits by default: the last six of the eight.
        let six = code("rfc", &SecretValue::from(RFC_SEED), |_| None, at(59)).expect("code");
        assert_eq!(six.expose_secret(), "287082");
    }

    #[test]
    fn seeds_are_read_as_people_copy_them_and_bad_ones_refused_unquoted() {
        let spaced = "gezd gnbv-gy3t qojq====";
        assert_eq!(decode_seed(spaced).expect("seed").as_slice(), b"1234567890");
        for bad in ["", "GEZDGNBV18", "GEZDGNBV", "GEZD GNB!"] {
            let e = decode_seed(bad).expect_err(bad);
            assert!(
                bad.is_empty() || !e.to_string().contains(bad),
                "the seed is not quoted: {e}"
            );
        }
        let e = decode_seed("GEZDGNBV").expect_err("short");
        assert!(e.to_string().contains("at least 10"), "{e}");
        let e = code(
            "s",
            &SecretValue::from(RFC_SEED),
            |f| (f == "period").then(|| "0".into()),
            at(59),
        )
        .expect_err("period");
        assert!(
            e.to_string().contains("totp-seed 's'") && e.to_string().contains("period"),
            "{e}"
        );
    }
}
