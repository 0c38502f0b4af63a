//! Record files (`.rec`): the lossless copy of the log that a restarted
//! daemon reads back, and the spool's segments.
//!
//! A record file is a 16-byte header followed by frames (see `batch`):
//!
//! ```text
//! "SAGAFSRC" | u32 ABI version | u32 byte-order mark 0x01020304
//! frame frame frame ...
//! ```
//!
//! The records are the kernel's own bytes, so reading back is a
//! validation and nothing else: no parsing of text, and nothing the text
//! line leaves out (euid, egid, the ABI, the raw result, the flags) is
//! lost. A file cut short by a crash ends in a torn frame: the reader
//! stops there, says so, and the writer cuts it off before appending.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::abi;
use crate::output::batch::{Entry, FrameError, Frames};

pub const MAGIC: &[u8; 8] = b"SAGAFSRC";
pub const HEADER_LEN: usize = 16;
const BOM: u32 = 0x0102_0304;

/// The header of a record file written by this build.
pub fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&abi::ABI_VERSION.to_ne_bytes());
    h[12..16].copy_from_slice(&BOM.to_ne_bytes());
    h
}

/// Checks a header; the error says what the file is instead.
pub fn check_header(h: &[u8]) -> Result<(), String> {
    if h.len() < HEADER_LEN || &h[..8] != MAGIC {
        return Err("not a sagafs record file (bad magic)".into());
    }
    let bom = u32::from_ne_bytes(h[12..16].try_into().expect("4 bytes"));
    if bom != BOM {
        return Err("written on a machine of the other byte order".into());
    }
    let v = u32::from_ne_bytes(h[8..12].try_into().expect("4 bytes"));
    if v != abi::ABI_VERSION {
        return Err(format!(
            "written under record ABI version {v}, this build reads version {}",
            abi::ABI_VERSION
        ));
    }
    Ok(())
}

/// What reading a record file found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileRead {
    pub records: u64,
    pub notices: u64,
    /// The length of the valid part: header and whole valid frames.
    pub valid_len: u64,
    /// Why the rest of the file was not read, if it was not.
    pub problem: Option<String>,
}

/// Reads the record file `f` from its start, calling `each` for every
/// entry, in chunks (a file is never read whole into memory).
pub fn read(f: &mut File, mut each: impl FnMut(Entry<'_>, &[u8])) -> io::Result<FileRead> {
    f.seek(SeekFrom::Start(0))?;
    let mut out = FileRead::default();
    let mut h = [0u8; HEADER_LEN];
    let got = read_full(f, &mut h)?;
    if got == 0 {
        return Ok(out);
    }
    if let Err(e) = check_header(&h[..got]) {
        out.problem = Some(e);
        return Ok(out);
    }
    out.valid_len = HEADER_LEN as u64;
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK + abi::RECORD_MAX];
    let mut have = 0;
    let mut base = HEADER_LEN;
    loop {
        let n = read_full(f, &mut buf[have..])?;
        let eof = have + n < buf.len();
        have += n;
        let mut frames = Frames::new(&buf[..have], base);
        let mut stop = None;
        for fr in frames.by_ref() {
            match fr {
                Ok((e, range)) => {
                    match e {
                        Entry::Record(_) => out.records += 1,
                        Entry::Lost { .. } => out.notices += 1,
                    }
                    each(e, &buf[range]);
                }
                Err(FrameError::Torn { offset, .. }) if !eof => {
                    // The frame continues in the next chunk.
                    stop = Some(offset - base);
                    break;
                }
                Err(e) => {
                    out.valid_len = e.offset() as u64;
                    out.problem = Some(e.to_string());
                    return Ok(out);
                }
            }
        }
        let used = stop.unwrap_or(frames.pos());
        out.valid_len = (base + used) as u64;
        if eof {
            return Ok(out);
        }
        buf.copy_within(used..have, 0);
        have -= used;
        base += used;
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Prepares `f` (opened for reading and writing) for appending: writes
/// the header into an empty file; cuts a torn or bad tail off. Returns
/// the length to append at, and what was cut, in words.
pub fn repair(f: &mut File, path: &Path) -> io::Result<(u64, Option<String>)> {
    let len = f.metadata()?.len();
    if len == 0 {
        use std::io::Write;
        f.write_all(&header())?;
        return Ok((HEADER_LEN as u64, None));
    }
    let r = read(f, |_, _| {})?;
    if r.valid_len < HEADER_LEN as u64 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: {}",
                path.display(),
                r.problem.unwrap_or_else(|| "short header".into())
            ),
        ));
    }
    if r.valid_len < len {
        f.set_len(r.valid_len)?;
        let why = format!(
            "{}: cut {} bytes off its end ({})",
            path.display(),
            len - r.valid_len,
            r.problem.unwrap_or_else(|| "torn frame".into())
        );
        return Ok((r.valid_len, Some(why)));
    }
    Ok((len, None))
}
