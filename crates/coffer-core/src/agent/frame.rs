//! The agent's wire format: one request and one reply per connection, each
//! a frame of a version byte, a 4-byte big-endian length and that many bytes
//! of JSON. Written here rather than taken from a crate: it is twelve lines
//! of framing, and the bounds (size cap, deadline, wiped buffers) are the
//! point of it.

use std::io::{Read, Write};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The protocol version this build speaks; any other is refused by name.
pub const VERSION: u8 = 1;
/// The most a request may hold (a credential with many large fields fits
/// many times over; anything larger is refused before it is read). The
/// agent reads requests from any process of its user, so this cap is low.
pub const MAX_FRAME: usize = 1 << 20;
/// The most a reply may hold: a list of 100k credentials, or a long audit
/// trail, is tens of MiB. A client reads replies only from its own user's
/// agent, behind a directory only that user can enter.
pub const MAX_REPLY: usize = 256 << 20;
/// How long a peer may take to send a whole frame.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Writes `body` as one request frame.
pub fn write(to: &mut impl Write, body: &[u8]) -> Result<()> {
    write_up_to(to, body, MAX_FRAME)
}

/// Writes `body` as one frame of at most `limit` bytes.
pub fn write_up_to(to: &mut impl Write, body: &[u8], limit: usize) -> Result<()> {
    if body.len() > limit {
        return Err(failure(format!(
            "a message of {} bytes is over the agent's limit of {limit}",
            body.len()
        )));
    }
    let mut head = [0u8; 5];
    head[0] = VERSION;
    head[1..].copy_from_slice(&(body.len() as u32).to_be_bytes());
    to.write_all(&head)
        .and_then(|()| to.write_all(body))
        .and_then(|()| to.flush())
        .map_err(|e| failure(format!("could not write to the agent's socket: {e}")))
}

/// Reads one request frame; its bytes are wiped when dropped.
pub fn read(from: &mut impl Read) -> Result<Zeroizing<Vec<u8>>> {
    read_up_to(from, MAX_FRAME)
}

/// Reads one frame of at most `limit` bytes; wiped when dropped.
pub fn read_up_to(from: &mut impl Read, limit: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut head = [0u8; 5];
    from.read_exact(&mut head)
        .map_err(|e| failure(format!("the agent's socket closed mid-message: {e}")))?;
    let len = decode_head_up_to(&head, limit)?;
    // Grown as bytes arrive, not sized by the announced length: a peer that
    // announces 1 MiB and sends nothing holds no 1 MiB buffer. (Freed
    // growth steps are wiped by the binaries' zeroizing allocator.)
    let mut body = Zeroizing::new(Vec::with_capacity(len.min(64 * 1024)));
    let got = from
        .take(len as u64)
        .read_to_end(&mut body)
        .map_err(|e| failure(format!("the agent's socket closed mid-message: {e}")))?;
    if got != len {
        return Err(failure(format!(
            "the agent's socket closed mid-message ({got} of {len} bytes)"
        )));
    }
    Ok(body)
}

/// The body length a request frame's head announces, checked.
pub fn decode_head(head: &[u8; 5]) -> Result<usize> {
    decode_head_up_to(head, MAX_FRAME)
}

/// The body length a frame head announces, checked against `limit`.
pub fn decode_head_up_to(head: &[u8; 5], limit: usize) -> Result<usize> {
    if head[0] != VERSION {
        return Err(failure(format!(
            "the other side speaks agent protocol version {}, this Coffer speaks {VERSION}: \
             run the same version of Coffer on both sides (restart the agent)",
            head[0]
        )));
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > limit {
        return Err(failure(format!(
            "a message of {len} bytes is over the agent's limit of {limit}"
        )));
    }
    Ok(len)
}

fn failure(what: String) -> Error {
    Error::Failure { what }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_bad_heads_are_refused_by_name() {
        let mut wire = Vec::new();
        write(&mut wire, b"{\"op\":\"status\"}").expect("write");
        let back = read(&mut wire.as_slice()).expect("read");
        assert_eq!(&back[..], b"{\"op\":\"status\"}");

        let e = decode_head(&[2, 0, 0, 0, 1]).expect_err("version");
        assert!(e.to_string().contains("version 2"), "{e}");
        let e = decode_head(&[VERSION, 0xff, 0xff, 0xff, 0xff]).expect_err("size");
        assert!(e.to_string().contains("over the agent's limit"), "{e}");
        let e = read(&mut [VERSION, 0, 0, 0, 9, b'x'].as_slice()).expect_err("short");
        assert!(e.to_string().contains("mid-message"), "{e}");
        assert!(write(&mut Vec::new(), &vec![0; MAX_FRAME + 1]).is_err());
        // A reply may be larger than a request.
        let big = vec![b' '; MAX_FRAME + 1];
        let mut wire = Vec::new();
        write_up_to(&mut wire, &big, MAX_REPLY).expect("a large reply");
        assert!(read(&mut wire.as_slice()).is_err(), "not as a request");
        assert_eq!(
            read_up_to(&mut wire.as_slice(), MAX_REPLY)
                .expect("read")
                .len(),
            big.len()
        );
    }
}
