//! Reading the file output back: the entries of the record files, oldest
//! generation first, as a restarted daemon needs them to serve the log it
//! had retained.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::names::{self, REC_NAME};
use super::recfile;
use crate::output::batch::Entry;

/// What reading back found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadBack {
    /// Record files read.
    pub files: usize,
    /// Older record files skipped because the newer ones hold `keep`
    /// bytes already.
    pub skipped: usize,
    pub records: u64,
    pub notices: u64,
    /// What could not be read, one sentence per file (a torn end after a
    /// crash, a file of another version); reading goes on with the next.
    pub problems: Vec<String>,
}

fn open(path: &Path) -> io::Result<Option<File>> {
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot open {}: {e}", path.display()),
        )),
    }
}

/// Calls `each` for every entry (and its frame's bytes: a record in the
/// kernel's layout) in the record files under `dir`, oldest
/// generation first, then the current one. With `keep`, only the newest
/// files that together hold at least `keep` bytes are read (a daemon
/// retaining `keep` bytes needs no more). A missing directory reads as
/// empty.
pub fn read_back(
    dir: &Path,
    keep: Option<u64>,
    mut each: impl FnMut(Entry<'_>, &[u8]),
) -> io::Result<ReadBack> {
    let mut out = ReadBack::default();
    let mut gens = match names::old_generations(dir, REC_NAME) {
        Ok(g) => g,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot list {}: {e}", dir.display()),
            ))
        }
    };
    gens.push(0);
    let mut files = Vec::new();
    for g in gens {
        let p = names::path(dir, REC_NAME, g);
        if let Some(f) = open(&p)? {
            let len = f.metadata()?.len();
            files.push((p, f, len));
        }
    }
    if let Some(keep) = keep {
        // Newest first, sum sizes until `keep` is reached.
        let mut sum = 0;
        let mut first = files.len();
        while first > 0 && sum < keep {
            first -= 1;
            sum += files[first].2;
        }
        out.skipped = first;
        files.drain(..first);
    }
    for (p, mut f, _) in files {
        let r = recfile::read(&mut f, &mut each)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", p.display())))?;
        out.files += 1;
        out.records += r.records;
        out.notices += r.notices;
        if let Some(why) = r.problem {
            out.problems.push(format!(
                "{}: {why}; read up to byte {}",
                p.display(),
                r.valid_len
            ));
        }
    }
    Ok(out)
}
