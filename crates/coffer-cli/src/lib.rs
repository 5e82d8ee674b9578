//! What the CLI's two programs share: `coffer`, a small front that answers
//! the commands tools run on every use (`get`, `aws credential-process`)
//! straight from a running agent, and `coffer-full`, which runs every
//! command and which the front hands anything else to (see
//! `src/front.rs`). Exit codes, how an error reads and how those commands
//! write their answers live here, so the two programs cannot drift apart.

pub mod answer;
pub mod exit;
