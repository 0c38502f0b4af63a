//! The remote output: RFC 5424 messages (`rfc5424`) to a syslog
//! collector over TCP with octet counting (RFC 6587), optionally in TLS
//! (RFC 5425, `conn`), or over RELP (`relp`), with an on-disk spool
//! (`spool`) for while the collector is unreachable.
//!
//! Delivery: when connected and nothing is spooled, a batch is sent at
//! once (one write per batch). Otherwise it is appended to the spool, and
//! the spool is drained, oldest first, as soon as a connection is made
//! again; attempts back off from 1 s to 60 s.
//!
//! What a broken connection costs depends on the protocol:
//! - RELP: every frame not acknowledged goes back in front of the spool
//!   and is sent again after reconnecting. Nothing is lost; a frame that
//!   arrived but whose acknowledgement did not may arrive twice.
//! - TCP (and TLS): there is no acknowledgement. A failed write is sent
//!   again (it may arrive twice). Records written before the break may
//!   still have been in the socket buffers of either side and gone with
//!   the connection: the records of the last `risk window` bytes written
//!   (this socket's send buffer plus the largest receive buffer a Linux
//!   peer can have, `net.ipv4.tcp_rmem`) are counted `unacknowledged` and
//!   a `reason=unacknowledged` notice is the first thing sent after
//!   reconnecting. That is an upper bound: with TCP, loss is counted,
//!   never silent; with RELP there is none.

pub mod conn;
pub mod relp;
pub mod rfc5424;
pub mod spool;

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use super::backoff::Backoff;
use super::batch::{Batch, Builder, Entry, Frames, Tally};
use super::status::{now_ns, Counters, State};
use super::Sink;
use crate::format::DropReason;
use conn::{Stream, TlsConfig};
use relp::Inflight;
use spool::{Evicted, Spool};

/// The spool's default directory and limit.
pub const SPOOL_DIR_DEFAULT: &str = "/var/spool/sagafs";
pub const SPOOL_MAX_DEFAULT: u64 = 256 << 20;

/// The transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Octet-counted frames over TCP (RFC 6587).
    Tcp,
    /// RELP, acknowledged.
    Relp,
}

/// The remote output's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogConfig {
    /// `host:port`.
    pub address: String,
    pub protocol: Protocol,
    pub tls: Option<TlsConfig>,
    /// The spool's directory (one per remote output).
    pub spool_dir: PathBuf,
    pub spool_max_bytes: u64,
    /// Syslog facility number (`local0` = 16 by default).
    pub facility: u8,
    /// The HOSTNAME field; `None`: the machine's name.
    pub hostname: Option<String>,
    /// RELP: frames sent before waiting for acknowledgements.
    pub window: usize,
    /// Connect, write and acknowledgement timeout.
    pub timeout: Duration,
}

impl SyslogConfig {
    /// Defaults for `address` over `protocol`.
    pub fn new(address: &str, protocol: Protocol) -> SyslogConfig {
        SyslogConfig {
            address: address.to_string(),
            protocol,
            tls: None,
            spool_dir: PathBuf::from(SPOOL_DIR_DEFAULT),
            spool_max_bytes: SPOOL_MAX_DEFAULT,
            facility: 16,
            hostname: None,
            window: relp::WINDOW_DEFAULT,
            timeout: Duration::from_secs(10),
        }
    }

    pub fn kind(&self) -> &'static str {
        match (self.protocol, self.tls.is_some()) {
            (Protocol::Tcp, false) => "tcp",
            (Protocol::Tcp, true) => "tls",
            (Protocol::Relp, false) => "relp",
            (Protocol::Relp, true) => "relp+tls",
        }
    }
}

enum Session {
    Tcp(Stream),
    Relp(relp::Session),
}

/// A chunk written to a TCP connection: its size and records.
struct Written {
    bytes: usize,
    records: Tally,
}

/// The remote output.
pub struct SyslogSink {
    cfg: SyslogConfig,
    kind: &'static str,
    tls: Option<Arc<ClientConfig>>,
    header: rfc5424::Header,
    session: Option<Session>,
    spool: Option<Spool>,
    backoff: Backoff,
    msg: Vec<u8>,
    scratch: Vec<u8>,
    out: Vec<u8>,
    /// TCP: the last chunks written, within the risk window.
    tail: VecDeque<Written>,
    tail_bytes: usize,
    risk_window: usize,
    /// Losses to report at the head of the next delivery.
    notices: Vec<(DropReason, Tally)>,
    acked: Vec<Inflight>,
}

/// The largest receive buffer a Linux peer can grow (`tcp_rmem` max).
fn peer_rcvbuf_max() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_rmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2).and_then(|v| v.parse().ok()))
        .unwrap_or(6 << 20)
}

impl SyslogSink {
    /// The output; fails (with a message a person can act on) when the
    /// TLS settings cannot be used.
    pub fn new(cfg: SyslogConfig) -> Result<SyslogSink, String> {
        let tls = match &cfg.tls {
            Some(t) => Some(conn::client_config(t)?),
            None => None,
        };
        let mut header = rfc5424::Header::local(cfg.facility);
        if let Some(h) = &cfg.hostname {
            header.hostname = rfc5424::hostname_or_nil(h);
        }
        Ok(SyslogSink {
            kind: cfg.kind(),
            cfg,
            tls,
            header,
            session: None,
            spool: None,
            backoff: Backoff::default(),
            msg: Vec::new(),
            scratch: Vec::new(),
            out: Vec::new(),
            tail: VecDeque::new(),
            tail_bytes: 0,
            risk_window: 0,
            notices: Vec::new(),
            acked: Vec::new(),
        })
    }

    /// Uses `b` between connection attempts (tests shorten it).
    pub fn with_backoff(mut self, b: Backoff) -> SyslogSink {
        self.backoff = b;
        self
    }

    fn connect(&mut self) -> io::Result<Session> {
        let name;
        let tls = match &self.tls {
            Some(c) => {
                name = self
                    .cfg
                    .tls
                    .as_ref()
                    .and_then(|t| t.server_name.clone())
                    .unwrap_or_else(|| conn::host_of(&self.cfg.address).to_string());
                Some((c, name.as_str()))
            }
            None => None,
        };
        let stream = Stream::connect(&self.cfg.address, tls, self.cfg.timeout)?;
        Ok(match self.cfg.protocol {
            Protocol::Tcp => {
                let sndbuf = nix::sys::socket::getsockopt(
                    match &stream {
                        Stream::Plain(s) => s,
                        Stream::Tls(s) => &s.sock,
                    },
                    nix::sys::socket::sockopt::SndBuf,
                )
                .unwrap_or(4 << 20);
                self.risk_window = sndbuf + peer_rcvbuf_max();
                Session::Tcp(stream)
            }
            Protocol::Relp => Session::Relp(relp::Session::open(
                stream,
                self.cfg.window,
                self.cfg.timeout,
            )?),
        })
    }

    /// Counts and reports records the spool had to drop.
    fn evicted(&mut self, ev: Evicted, c: &Counters) {
        let n = ev.records.total();
        if n == 0 && ev.carried.is_empty() {
            return;
        }
        Counters::add(&c.dropped_spool_full, n);
        c.spooled.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
        let mut t = ev.records;
        t.merge(&ev.carried);
        self.add_notice(DropReason::SpoolFull, t);
    }

    fn add_notice(&mut self, why: DropReason, t: Tally) {
        match self.notices.iter_mut().find(|(r, _)| *r == why) {
            Some((_, have)) => have.merge(&t),
            None => self.notices.push((why, t)),
        }
    }

    /// Puts `frames` in the spool, after (or, `front`, before) what it
    /// holds; what cannot be spooled is counted.
    fn spool(&mut self, frames: &[u8], front: bool, c: &Counters) {
        if frames.is_empty() {
            return;
        }
        let records = Tally::of_frames(frames);
        let r = match self.spool.as_mut() {
            Some(s) if front => s.prepend(frames),
            Some(s) => s.append(frames),
            None => Err(io::Error::other("the spool could not be opened")),
        };
        match r {
            Ok(ev) => {
                Counters::add(&c.spooled, records.total());
                self.evicted(ev, c);
            }
            Err(e) => {
                c.error(format!(
                    "{} output: cannot spool in {}: {e}",
                    self.kind,
                    self.cfg.spool_dir.display()
                ));
                Counters::add(&c.dropped_spool_full, records.total());
                let mut t = records;
                for (e, _) in Frames::new(frames, 0).flatten() {
                    if let Entry::Lost { cpu, count, .. } = e {
                        t.add(cpu, count);
                    }
                }
                self.add_notice(DropReason::SpoolFull, t);
            }
        }
    }

    /// The pending notices as frames (taken: they are sent or spooled
    /// with what follows).
    fn take_notices(&mut self) -> Vec<u8> {
        let mut b = Builder::default();
        let now = now_ns();
        for (why, t) in self.notices.drain(..) {
            for (cpu, n) in t.iter() {
                b.lost(now, cpu, n, why);
            }
        }
        b.finish().bytes().to_vec()
    }

    /// The connection broke: count or keep what may not have arrived,
    /// spool `unsent` (in front), and wait before trying again.
    fn broken(&mut self, e: &io::Error, unsent: &[u8], c: &Counters) {
        let mut back = Vec::new();
        match self.session.take() {
            Some(Session::Relp(s)) => {
                for f in s.into_unacked() {
                    if f.record {
                        c.sent.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    } else {
                        c.notices.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    back.extend_from_slice(&f.frame);
                }
            }
            Some(Session::Tcp(_)) => {
                let mut t = Tally::default();
                for w in self.tail.drain(..) {
                    t.merge(&w.records);
                }
                self.tail_bytes = 0;
                if !t.is_empty() {
                    Counters::add(&c.unacknowledged, t.total());
                    self.add_notice(DropReason::Unacknowledged, t);
                }
            }
            None => {}
        }
        back.extend_from_slice(unsent);
        self.spool(&back, true, c);
        self.retry_later(e, c);
    }

    /// Says why the collector cannot be reached, and waits.
    fn retry_later(&mut self, e: &io::Error, c: &Counters) {
        let d = self.backoff.failed();
        c.error(format!(
            "{} output: {}: {e}; spooling, retrying in {:.1} s",
            self.kind,
            self.cfg.address,
            d.as_secs_f64()
        ));
        c.set_state(State::Spooling);
    }

    /// Sends the valid frames `bytes` on the session; on failure, the
    /// offset of the first frame that is not in flight.
    fn send(&mut self, bytes: &[u8], c: &Counters) -> Result<(), (usize, io::Error)> {
        match self.session.as_mut().expect("connected") {
            Session::Tcp(stream) => {
                self.out.clear();
                let mut records = Tally::default();
                let mut notices = 0;
                for (e, _) in Frames::new(bytes, 0).flatten() {
                    self.msg.clear();
                    rfc5424::write(&mut self.msg, &self.header, &e, &mut self.scratch);
                    rfc5424::frame_octet_counted(&mut self.out, &self.msg);
                    match e {
                        Entry::Record(r) => records.add(r.cpu, 1),
                        Entry::Lost { .. } => notices += 1,
                    }
                }
                // Find a break before writing into it.
                self.scratch.clear();
                match stream.peer_closed(&mut self.scratch) {
                    Ok(false) => {}
                    Ok(true) => {
                        return Err((
                            0,
                            io::Error::new(
                                io::ErrorKind::ConnectionReset,
                                "the collector closed the connection",
                            ),
                        ))
                    }
                    Err(e) => return Err((0, e)),
                }
                stream
                    .write_all(&self.out)
                    .and_then(|()| stream.flush())
                    .map_err(|e| (0, e))?;
                Counters::add(&c.sent, records.total());
                Counters::add(&c.notices, notices);
                self.tail_bytes += self.out.len();
                self.tail.push_back(Written {
                    bytes: self.out.len(),
                    records,
                });
                while self.tail.len() > 1
                    && self.tail_bytes - self.tail[0].bytes >= self.risk_window
                {
                    let w = self.tail.pop_front().expect("non-empty");
                    self.tail_bytes -= w.bytes;
                }
                Ok(())
            }
            Session::Relp(s) => {
                for (e, range) in Frames::new(bytes, 0).flatten() {
                    self.msg.clear();
                    rfc5424::write(&mut self.msg, &self.header, &e, &mut self.scratch);
                    let record = matches!(e, Entry::Record(_));
                    s.send(&self.msg, &bytes[range.clone()], record, &mut self.acked)
                        .map_err(|err| (range.start, err))?;
                    if record {
                        Counters::add(&c.sent, 1);
                    } else {
                        Counters::add(&c.notices, 1);
                    }
                }
                s.pump(Duration::ZERO, &mut self.acked)
                    .map_err(|e| (bytes.len(), e))?;
                let n = self.acked.drain(..).filter(|f| f.record).count();
                Counters::add(&c.acked, n as u64);
                Ok(())
            }
        }
    }

    /// Sends `bytes` if connected; on a break, spools what is left.
    /// Returns false if the frames went to the spool.
    fn deliver(&mut self, bytes: &[u8], c: &Counters) -> bool {
        if self.session.is_none() {
            return false;
        }
        match self.send(bytes, c) {
            Ok(()) => true,
            Err((pos, e)) => {
                self.broken(&e, &bytes[pos..], c);
                false
            }
        }
    }

    /// Connects if due, then sends the notices and the spool, oldest
    /// first; true when everything spooled has been sent.
    fn reconnect_and_drain(&mut self, c: &Counters) -> bool {
        if self.session.is_none() {
            if !self.backoff.due() {
                return false;
            }
            match self.connect() {
                Ok(s) => {
                    self.session = Some(s);
                    self.backoff.reset();
                    c.set_state(State::Connected);
                }
                Err(e) => {
                    self.retry_later(&e, c);
                    return false;
                }
            }
        }
        let notices = self.take_notices();
        if !notices.is_empty() && !self.deliver(&notices, c) {
            return false;
        }
        loop {
            let Some(spool) = self.spool.as_mut() else {
                return true;
            };
            let (seq, frames) = match spool.oldest() {
                Ok(Some(x)) => x,
                Ok(None) => return true,
                Err(e) => {
                    c.error(format!("{} output: reading the spool: {e}", self.kind));
                    return false;
                }
            };
            let n = Tally::of_frames(&frames).total();
            // Out of the spool first: on a break, `deliver` puts what was
            // not sent back in front.
            if let Err(e) = spool.remove(seq) {
                c.error(format!("{} output: spool: {e}", self.kind));
                return false;
            }
            c.spooled.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
            if !self.deliver(&frames, c) {
                return false;
            }
        }
    }

    fn has_backlog(&self) -> bool {
        !self.notices.is_empty() || self.spool.as_ref().is_some_and(|s| !s.is_empty())
    }
}

impl Sink for SyslogSink {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn start(&mut self, c: &Counters) {
        match Spool::open(&self.cfg.spool_dir, self.cfg.spool_max_bytes) {
            Ok(s) => {
                for p in &s.problems {
                    c.error(format!("{} output: {p}", self.kind));
                }
                Counters::add(&c.spooled, s.records());
                self.spool = Some(s);
            }
            Err(e) => c.error(format!("{} output: {e}", self.kind)),
        }
        self.reconnect_and_drain(c);
    }

    fn write(&mut self, batch: &Batch, c: &Counters) {
        if self.session.is_some() && !self.has_backlog() {
            self.deliver(batch.bytes(), c);
            return;
        }
        self.spool(batch.bytes(), false, c);
        self.reconnect_and_drain(c);
    }

    fn tick(&mut self, c: &Counters) {
        match self.session.as_mut() {
            None => {
                self.reconnect_and_drain(c);
            }
            Some(Session::Relp(s)) => {
                let r = s.pump(Duration::ZERO, &mut self.acked);
                let n = self.acked.drain(..).filter(|f| f.record).count();
                Counters::add(&c.acked, n as u64);
                if let Err(e) = r {
                    self.broken(&e, &[], c);
                }
            }
            Some(Session::Tcp(stream)) => {
                self.scratch.clear();
                let r = match stream.peer_closed(&mut self.scratch) {
                    Ok(true) => Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "the collector closed the connection",
                    )),
                    Ok(false) => Ok(()),
                    Err(e) => Err(e),
                };
                if let Err(e) = r {
                    self.broken(&e, &[], c);
                }
            }
        }
        if self.session.is_some() && self.has_backlog() {
            self.reconnect_and_drain(c);
        }
    }

    fn tick_interval(&self) -> Duration {
        Duration::from_millis(200)
    }

    fn stop(&mut self, c: &Counters) {
        match self.session.take() {
            Some(Session::Relp(s)) => {
                let mut acked = Vec::new();
                // The unacknowledged frames are lost to `close` on error:
                // keep a copy to spool.
                let frames: Vec<u8> = s
                    .inflight
                    .iter()
                    .flat_map(|f| f.frame.iter().copied())
                    .collect();
                match s.close(&mut acked) {
                    Ok(()) => {
                        let n = acked.iter().filter(|f| f.record).count();
                        Counters::add(&c.acked, n as u64);
                    }
                    Err(e) => {
                        // What was acknowledged before the error is not
                        // known frame by frame: spool all (it may arrive
                        // twice, it is not lost).
                        c.error(format!("{} output: closing: {e}", self.kind));
                        let n = Tally::of_frames(&frames).total();
                        c.sent.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
                        self.spool(&frames, true, c);
                    }
                }
            }
            Some(Session::Tcp(mut s)) => {
                let _ = s.flush();
            }
            None => {}
        }
        let notices = self.take_notices();
        self.spool(&notices, false, c);
        let _ = io::stdout().flush();
    }
}

#[cfg(test)]
mod tests;
