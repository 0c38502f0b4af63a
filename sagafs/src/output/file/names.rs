//! The file output's file names and generations, and rotation.
//!
//! A generation is a pair: the log a person reads (`sagafs.log` in the
//! text format, `sagafs.json` in JSON Lines) and the record file the
//! daemon reads back (`sagafs.rec`). Generation 0 is the current pair,
//! generation N the files suffixed `.N`; rotation renames N to N+1 as
//! auditd does, and removes what would pass `num_logs`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::format::Format;

/// The text log's base name.
pub const TEXT_NAME: &str = "sagafs.log";
/// The JSON Lines log's base name.
pub const JSON_NAME: &str = "sagafs.json";
/// The record file's base name.
pub const REC_NAME: &str = "sagafs.rec";

/// Every base name a generation can have.
pub const ALL_NAMES: [&str; 3] = [TEXT_NAME, JSON_NAME, REC_NAME];

/// The base name of the log in `format`.
pub fn log_name(format: Format) -> &'static str {
    match format {
        Format::Text => TEXT_NAME,
        Format::Json => JSON_NAME,
    }
}

/// `dir/base` for generation 0, `dir/base.N` after.
pub fn path(dir: &Path, base: &str, generation: u32) -> PathBuf {
    if generation == 0 {
        dir.join(base)
    } else {
        dir.join(format!("{base}.{generation}"))
    }
}

/// The generations (N >= 1) of `base` present in `dir`, oldest (highest)
/// first.
pub fn old_generations(dir: &Path, base: &str) -> io::Result<Vec<u32>> {
    let mut gens = Vec::new();
    let prefix = format!("{base}.");
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(n) = name.strip_prefix(&prefix) else {
            continue;
        };
        // Only plain decimal numbers without a leading zero: `.1`, `.12`.
        if n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(n) = n.parse::<u32>() {
            if n > 0 {
                gens.push(n);
            }
        }
    }
    gens.sort_unstable_by(|a, b| b.cmp(a));
    gens.dedup();
    Ok(gens)
}

/// The oldest generation present for any base name (0 if none is).
pub fn oldest_generation(dir: &Path) -> io::Result<u32> {
    let mut oldest = 0;
    for base in ALL_NAMES {
        if let Some(&n) = old_generations(dir, base)?.first() {
            oldest = oldest.max(n);
        }
    }
    Ok(oldest)
}

fn remove_if_present(p: &Path) -> io::Result<bool> {
    match fs::remove_file(p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot remove {}: {e}", p.display()),
        )),
    }
}

/// Removes every file of generation `n`; true if one existed.
pub fn remove_generation(dir: &Path, n: u32) -> io::Result<bool> {
    let mut any = false;
    for base in ALL_NAMES {
        any |= remove_if_present(&path(dir, base, n))?;
    }
    Ok(any)
}

/// Rotates: generation `num_logs - 1` and older go, every other moves
/// up by one, and generation 0 is free for new files. With `num_logs`
/// 1 the current files are simply removed.
pub fn rotate(dir: &Path, num_logs: u32) -> io::Result<()> {
    let keep = num_logs.max(1);
    for n in old_generations_any(dir)? {
        if n >= keep - 1 {
            remove_generation(dir, n)?;
        }
    }
    if keep == 1 {
        remove_generation(dir, 0)?;
        return Ok(());
    }
    for n in (0..keep - 1).rev() {
        for base in ALL_NAMES {
            let from = path(dir, base, n);
            match fs::rename(&from, path(dir, base, n + 1)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot rotate {}: {e}", from.display()),
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Every old generation of any base name, oldest first.
fn old_generations_any(dir: &Path) -> io::Result<Vec<u32>> {
    let mut all = Vec::new();
    for base in ALL_NAMES {
        all.extend(old_generations(dir, base)?);
    }
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.dedup();
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str, text: &str) {
        fs::write(dir.join(name), text).unwrap();
    }

    fn read(dir: &Path, name: &str) -> Option<String> {
        fs::read_to_string(dir.join(name)).ok()
    }

    #[test]
    fn rotates_like_auditd() {
        let d = crate::output::file::tests::tempdir("rotate");
        touch(&d, "sagafs.log", "g0");
        touch(&d, "sagafs.rec", "r0");
        touch(&d, "sagafs.log.1", "g1");
        touch(&d, "sagafs.rec.1", "r1");
        touch(&d, "sagafs.log.2", "g2");
        touch(&d, "sagafs.log.02", "not ours");
        touch(&d, "sagafs.log.x", "not ours");
        assert_eq!(old_generations(&d, TEXT_NAME).unwrap(), vec![2, 1]);
        rotate(&d, 3).unwrap();
        assert_eq!(read(&d, "sagafs.log"), None);
        assert_eq!(read(&d, "sagafs.log.1").as_deref(), Some("g0"));
        assert_eq!(read(&d, "sagafs.rec.1").as_deref(), Some("r0"));
        assert_eq!(read(&d, "sagafs.log.2").as_deref(), Some("g1"));
        assert_eq!(read(&d, "sagafs.rec.2").as_deref(), Some("r1"));
        assert_eq!(read(&d, "sagafs.log.3"), None, "generation 2 went");
        assert_eq!(read(&d, "sagafs.log.02").as_deref(), Some("not ours"));
        assert_eq!(oldest_generation(&d).unwrap(), 2);
        // num_logs 1: no old files at all.
        touch(&d, "sagafs.log", "new");
        rotate(&d, 1).unwrap();
        assert_eq!(oldest_generation(&d).unwrap(), 0);
        assert_eq!(read(&d, "sagafs.log"), None);
        assert_eq!(read(&d, "sagafs.log.x").as_deref(), Some("not ours"));
        fs::remove_dir_all(&d).unwrap();
    }
}
