//! RELP, rsyslog's reliable event logging protocol, client side: the
//! `open` handshake, `syslog` frames within a window of unacknowledged
//! ones, their `rsp` acknowledgements, and `close`.
//!
//! A frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`; transaction
//! numbers run 1 to 999999999 and wrap to 1. Frames not acknowledged when
//! the connection breaks are handed back to be sent again (the caller
//! spools them): RELP loses nothing to a collector restart.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::conn::Stream;

/// rsyslog's (librelp's) default window.
pub const WINDOW_DEFAULT: usize = 128;
const TXNR_MAX: u32 = 999_999_999;
/// The longest response accepted (rsyslog's are a few dozen bytes).
const MAX_RESPONSE: usize = 64 << 10;

/// A frame sent and not yet acknowledged.
#[derive(Debug)]
pub struct Inflight {
    pub txnr: u32,
    /// The entry's frame in the batch format, to spool if unacknowledged.
    pub frame: Vec<u8>,
    /// A record (not a lost-records notice).
    pub record: bool,
}

/// One frame received from the server.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub txnr: u32,
    pub command: String,
    pub data: Vec<u8>,
}

/// Appends a frame.
pub fn frame(out: &mut Vec<u8>, txnr: u32, command: &str, data: &[u8]) {
    out.extend_from_slice(format!("{txnr} {command} {}", data.len()).as_bytes());
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data);
    }
    out.push(b'\n');
}

/// Parses one frame from the start of `b`: the frame and its length, or
/// `None` if more bytes are needed.
pub fn parse(b: &[u8]) -> Result<Option<(Response, usize)>, String> {
    fn field(b: &[u8], from: usize) -> Option<(usize, usize)> {
        let end = b[from..].iter().position(|&c| c == b' ' || c == b'\n')? + from;
        Some((from, end))
    }
    let bad = |what: &str| format!("bad RELP frame from the server: {what}");
    let Some((s, e)) = field(b, 0) else {
        return if b.len() > 20 {
            Err(bad("no transaction number"))
        } else {
            Ok(None)
        };
    };
    let txnr: u32 = std::str::from_utf8(&b[s..e])
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad("transaction number"))?;
    let Some((cs, ce)) = field(b, e + 1) else {
        return if b.len() > 64 {
            Err(bad("no command"))
        } else {
            Ok(None)
        };
    };
    let command = String::from_utf8(b[cs..ce].to_vec()).map_err(|_| bad("command"))?;
    if ce >= b.len() {
        return Ok(None);
    }
    let (ls, le) = if b[ce] == b' ' {
        match field(b, ce + 1) {
            Some(f) => f,
            None => return Ok(None),
        }
    } else {
        return Err(bad("no data length"));
    };
    let len: usize = std::str::from_utf8(&b[ls..le])
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad("data length"))?;
    if len > MAX_RESPONSE {
        return Err(bad("data too long"));
    }
    let (data_start, need) = if len == 0 {
        (le, le + 1)
    } else {
        (le + 1, le + 1 + len + 1)
    };
    if b.len() < need {
        return Ok(None);
    }
    if len > 0 && b[le] != b' ' {
        return Err(bad("no space before data"));
    }
    if b[need - 1] != b'\n' {
        return Err(bad("no trailer"));
    }
    Ok(Some((
        Response {
            txnr,
            command,
            data: b[data_start..data_start + len].to_vec(),
        },
        need,
    )))
}

/// A RELP session over a connection.
pub struct Session {
    stream: Stream,
    next: u32,
    window: usize,
    ack_timeout: Duration,
    pub inflight: VecDeque<Inflight>,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
}

impl Session {
    /// Runs the `open` handshake on `stream`.
    pub fn open(stream: Stream, window: usize, ack_timeout: Duration) -> io::Result<Session> {
        let mut s = Session {
            stream,
            next: 1,
            window: window.max(1),
            ack_timeout,
            inflight: VecDeque::new(),
            rbuf: Vec::new(),
            wbuf: Vec::new(),
        };
        let offer = format!(
            "relp_version=0\nrelp_software=sagafs,{},\ncommands=syslog",
            env!("CARGO_PKG_VERSION")
        );
        let txnr = s.take_txnr();
        frame(&mut s.wbuf, txnr, "open", offer.as_bytes());
        s.flush()?;
        let r = s.response(Instant::now() + ack_timeout)?;
        let text = String::from_utf8_lossy(&r.data).into_owned();
        if r.txnr != txnr || r.command != "rsp" || !text.starts_with("200") {
            return Err(io::Error::other(format!(
                "RELP open refused: {} {} {text:?}",
                r.txnr, r.command
            )));
        }
        let syslog_ok = text
            .lines()
            .filter_map(|l| l.strip_prefix("commands="))
            .any(|c| c.split(',').any(|c| c == "syslog"));
        if !syslog_ok {
            return Err(io::Error::other(format!(
                "the RELP server does not offer the syslog command: {text:?}"
            )));
        }
        Ok(s)
    }

    fn take_txnr(&mut self) -> u32 {
        let t = self.next;
        self.next = if t >= TXNR_MAX { 1 } else { t + 1 };
        t
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self
            .stream
            .write_all(&self.wbuf)
            .and_then(|()| self.stream.flush());
        self.wbuf.clear();
        r
    }

    /// The next frame from the server, waiting until `deadline`.
    fn response(&mut self, deadline: Instant) -> io::Result<Response> {
        loop {
            if let Some((r, n)) = parse(&self.rbuf).map_err(io::Error::other)? {
                self.rbuf.drain(..n);
                return Ok(r);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no RELP response in time",
                ));
            }
            self.read_some(left)?;
        }
    }

    /// Reads what the server sent, waiting at most `wait`; Ok(false) if
    /// nothing came.
    fn read_some(&mut self, wait: Duration) -> io::Result<bool> {
        match self.stream.read_within(wait, &mut self.rbuf)? {
            Some(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the RELP server closed the connection",
            )),
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }

    /// Handles every whole frame received; returns the acknowledged
    /// frames.
    fn take_acks(&mut self, acked: &mut Vec<Inflight>) -> io::Result<()> {
        while let Some((r, n)) = parse(&self.rbuf).map_err(io::Error::other)? {
            self.rbuf.drain(..n);
            match r.command.as_str() {
                "rsp" => {
                    if !r.data.starts_with(b"200") {
                        return Err(io::Error::other(format!(
                            "the RELP server refused frame {}: {}",
                            r.txnr,
                            String::from_utf8_lossy(&r.data)
                        )));
                    }
                    if let Some(i) = self.inflight.iter().position(|f| f.txnr == r.txnr) {
                        acked.extend(self.inflight.remove(i));
                    }
                }
                "serverclose" => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the RELP server is closing the connection",
                    ))
                }
                other => {
                    return Err(io::Error::other(format!(
                        "unexpected RELP command from the server: {other}"
                    )))
                }
            }
        }
        Ok(())
    }

    /// Queues a `syslog` frame with `msg`; writes and waits for room
    /// when the window is full. Acknowledged frames go to `acked`.
    pub fn send(
        &mut self,
        msg: &[u8],
        entry_frame: &[u8],
        record: bool,
        acked: &mut Vec<Inflight>,
    ) -> io::Result<()> {
        while self.inflight.len() >= self.window {
            self.flush()?;
            let deadline = Instant::now() + self.ack_timeout;
            while self.inflight.len() >= self.window {
                self.take_acks(acked)?;
                if self.inflight.len() < self.window {
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no RELP acknowledgement within {:?}", self.ack_timeout),
                    ));
                }
                self.read_some(left)?;
            }
        }
        let txnr = self.take_txnr();
        frame(&mut self.wbuf, txnr, "syslog", msg);
        self.inflight.push_back(Inflight {
            txnr,
            frame: entry_frame.to_vec(),
            record,
        });
        Ok(())
    }

    /// Writes what is queued and takes the acknowledgements that have
    /// arrived, waiting up to `wait` for more.
    pub fn pump(&mut self, wait: Duration, acked: &mut Vec<Inflight>) -> io::Result<()> {
        self.flush()?;
        self.take_acks(acked)?;
        if !self.inflight.is_empty() && self.read_some(wait)? {
            self.take_acks(acked)?;
        }
        Ok(())
    }

    /// Waits for every acknowledgement, then closes the session.
    pub fn close(mut self, acked: &mut Vec<Inflight>) -> io::Result<()> {
        self.flush()?;
        let deadline = Instant::now() + self.ack_timeout;
        while !self.inflight.is_empty() {
            self.take_acks(acked)?;
            if self.inflight.is_empty() {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no RELP acknowledgement in time",
                ));
            }
            self.read_some(left)?;
        }
        let txnr = self.take_txnr();
        frame(&mut self.wbuf, txnr, "close", b"");
        self.flush()?;
        // The server answers and may send serverclose; neither matters now.
        let _ = self.response(Instant::now() + Duration::from_millis(500));
        Ok(())
    }

    /// The frames not acknowledged, oldest first (the session is over).
    pub fn into_unacked(self) -> VecDeque<Inflight> {
        self.inflight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_parses() {
        let mut v = Vec::new();
        frame(&mut v, 7, "syslog", b"<13>1 - - - - - hi");
        assert_eq!(v, b"7 syslog 18 <13>1 - - - - - hi\n");
        v.clear();
        frame(&mut v, 8, "close", b"");
        assert_eq!(v, b"8 close 0\n");

        let rsp = b"1 rsp 6 200 OK\n2 rsp 6 200 OK\n0 serverclose 0\n";
        let (r, n) = parse(rsp).unwrap().unwrap();
        assert_eq!(
            r,
            Response {
                txnr: 1,
                command: "rsp".into(),
                data: b"200 OK".to_vec()
            }
        );
        let (r, m) = parse(&rsp[n..]).unwrap().unwrap();
        assert_eq!(r.txnr, 2);
        let (r, _) = parse(&rsp[n + m..]).unwrap().unwrap();
        assert_eq!(
            (r.txnr, r.command.as_str(), r.data.len()),
            (0, "serverclose", 0)
        );
        // Partial frames wait for more bytes.
        for cut in 0..n {
            assert_eq!(parse(&rsp[..cut]).unwrap(), None, "cut at {cut}");
        }
        // Hostile frames are refused, not waited on forever.
        assert!(parse(b"x rsp 6 200 OK\n").is_err());
        assert!(parse(b"1 rsp 6 200 OKX").is_err());
        assert!(parse(b"1 rsp 99999999 ").is_err());
        assert!(parse(&[b'1'; 40]).is_err());
    }
}
