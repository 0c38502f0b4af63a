//! Unit tests of the file output that need no privilege: formats,
//! rotation, modes, repair after a crash, read back. Disk-full tests
//! need a small file system and live in the `outputs_live` test target.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::*;
use crate::output::batch::tests::{rec_fields, view};
use crate::output::{Output, Status};
use crate::record::PathSpec;

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the temporary directory.
pub(crate) fn tempdir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sagafs-test-{what}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Records with every field set, odd bytes in comm and paths.
fn varied(n: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut r = rec_fields((i % 3) as u32, i, (i % 40) as usize);
            r.euid = 1000 + i as u32;
            r.egid = 2000 + i as u32;
            r.comm = format!("c{i} \n\u{202e}").into_bytes();
            r.comm.truncate(15);
            r.ret = if i % 2 == 0 { -13 } else { i as i64 };
            r.abi = if i % 5 == 0 {
                crate::record::Abi::I386
            } else {
                crate::record::Abi::X86_64
            };
            r.paths[1] = Some(PathSpec {
                truncated: i % 4 == 0,
                ..PathSpec::new(&[0xff, b'\n', b'"', b'\\', i as u8])
            });
            r.key = if i % 6 == 0 {
                b"rule-k".to_vec()
            } else {
                Vec::new()
            };
            r.encode()
        })
        .collect()
}

fn batch_of(records: &[Vec<u8>], lost_every: Option<usize>) -> Arc<Batch> {
    let mut b = Builder::default();
    for (i, bytes) in records.iter().enumerate() {
        let r = view(bytes);
        if lost_every.is_some_and(|k| i % k == 0) {
            b.lost(r.time_ns, r.cpu, i as u64 + 1, DropReason::RingFull);
        }
        b.record(bytes).unwrap();
    }
    b.finish()
}

fn cfg(dir: &Path, format: Format) -> FileConfig {
    FileConfig {
        dir: dir.to_path_buf(),
        format,
        max_file_bytes: 1 << 30,
        num_logs: 3,
        flush: Flush::None,
        disk_full: DiskFull::Stop,
        group: None,
    }
}

/// Everything read back, as owned entries rendered in text (exact: the
/// text line plus the fields it leaves out).
fn read_all(dir: &Path) -> (Vec<String>, ReadBack) {
    let mut got = Vec::new();
    let rb = read_back(dir, None, |e, _| {
        got.push(match e {
            Entry::Record(r) => format!("{r:?}"),
            Entry::Lost {
                cpu, count, reason, ..
            } => format!("lost cpu={cpu} n={count} {reason}"),
        })
    })
    .unwrap();
    (got, rb)
}

fn expected(records: &[Vec<u8>], lost_every: Option<usize>) -> Vec<String> {
    let mut v = Vec::new();
    for (i, r) in records.iter().map(|b| view(b)).enumerate() {
        if lost_every.is_some_and(|k| i % k == 0) {
            v.push(format!("lost cpu={} n={} ring_full", r.cpu, i + 1));
        }
        v.push(format!("{r:?}"));
    }
    v
}

fn run_sink(c: FileConfig, batches: &[Arc<Batch>]) -> Status {
    let o = Output::spawn("file", Box::new(FileSink::new(c)), 64 << 20).unwrap();
    for b in batches {
        o.offer(b);
    }
    assert!(o.wait_idle(std::time::Duration::from_secs(20)));
    o.stop()
}

#[test]
fn writes_both_files_and_reads_back_exactly() {
    for format in [Format::Text, Format::Json] {
        let d = tempdir("exact");
        let records = varied(50);
        let st = run_sink(
            cfg(&d, format),
            &[
                batch_of(&records[..20], Some(7)),
                batch_of(&records[20..], None),
            ],
        );
        assert_eq!(st.sent, 50);
        assert_eq!(st.notices, 3);
        assert_eq!(st.dropped(), 0);
        assert_eq!(st.state, State::Stopped);
        let (got, rb) = read_all(&d);
        let mut want = expected(&records[..20], Some(7));
        want.extend(expected(&records[20..], None));
        assert_eq!(got, want);
        assert_eq!((rb.files, rb.records, rb.notices), (1, 50, 3));
        assert!(rb.problems.is_empty());
        // The log a person reads holds the same entries, rendered.
        let log = fs::read(d.join(log_name(format))).unwrap();
        let mut want_log = Vec::new();
        for (i, r) in records.iter().map(|b| view(b)).enumerate() {
            if i < 20 && i % 7 == 0 {
                format.dropped(
                    &mut want_log,
                    r.time_ns,
                    r.cpu,
                    i as u64 + 1,
                    DropReason::RingFull,
                );
            }
            format.record(&mut want_log, &r);
        }
        assert_eq!(log, want_log);
        for name in [log_name(format), REC_NAME] {
            let m = fs::metadata(d.join(name)).unwrap();
            assert_eq!(m.mode() & 0o777, 0o600, "{name}");
        }
        fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn rotates_by_size_and_count() {
    let d = tempdir("rotation");
    let records = varied(200);
    let mut c = cfg(&d, Format::Text);
    c.max_file_bytes = 4096;
    c.num_logs = 4;
    let batches: Vec<_> = records.chunks(9).map(|ch| batch_of(ch, None)).collect();
    let st = run_sink(c, &batches);
    assert_eq!(st.sent, 200);
    // Exactly generations 0..=3 remain, each log within its limit.
    let mut names: Vec<String> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "sagafs.log",
            "sagafs.log.1",
            "sagafs.log.2",
            "sagafs.log.3",
            "sagafs.rec",
            "sagafs.rec.1",
            "sagafs.rec.2",
            "sagafs.rec.3"
        ]
    );
    let mut lines = Vec::new();
    for g in [3, 2, 1, 0] {
        let text = fs::read_to_string(names::path(&d, TEXT_NAME, g)).unwrap();
        assert!(
            text.len() as u64 <= 4096,
            "generation {g}: {} bytes",
            text.len()
        );
        assert!(text.ends_with('\n'));
        lines.extend(text.lines().map(str::to_owned));
    }
    // What is kept is the newest records, in order, the same in both
    // files of each generation.
    let (got, rb) = read_all(&d);
    assert_eq!(rb.files, 4);
    let kept = rb.records as usize;
    assert!(kept > 9 && kept < 200, "{kept}");
    assert_eq!(got, expected(&records[200 - kept..], None));
    assert_eq!(lines.len(), kept);
    for (line, r) in lines.iter().zip(&records[200 - kept..]) {
        let mut want = Vec::new();
        Format::Text.record(&mut want, &view(r));
        assert_eq!(line.as_bytes(), &want[..want.len() - 1]);
    }
    // Reading back only what a small retention needs skips old files.
    let mut n = 0;
    let rb = read_back(&d, Some(1), |_, _| n += 1).unwrap();
    assert_eq!((rb.files, rb.skipped), (1, 3));
    assert_eq!(n, rb.records);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn group_mode_and_existing_files_are_fixed() {
    let d = tempdir("mode");
    fs::write(d.join(TEXT_NAME), b"").unwrap();
    fs::set_permissions(d.join(TEXT_NAME), fs::Permissions::from_mode(0o666)).unwrap();
    let gid = fs::metadata(&d).unwrap().gid();
    let mut c = cfg(&d, Format::Text);
    c.group = Some(gid);
    run_sink(c, &[batch_of(&varied(3), None)]);
    for name in [TEXT_NAME, REC_NAME] {
        let m = fs::metadata(d.join(name)).unwrap();
        assert_eq!(m.mode() & 0o777, 0o640, "{name}");
        assert_eq!(m.gid(), gid);
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_torn_end_is_reported_then_cut_off() {
    let d = tempdir("torn");
    let records = varied(10);
    run_sink(cfg(&d, Format::Text), &[batch_of(&records[..5], None)]);
    // A crash in the middle of the next write: half a frame, half a line.
    let mut tail = Builder::default();
    tail.record(&records[5]).unwrap();
    let tail = tail.finish();
    let half = &tail.bytes()[..tail.bytes().len() / 2];
    fs::OpenOptions::new()
        .append(true)
        .open(d.join(REC_NAME))
        .unwrap()
        .write_all(half)
        .unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(d.join(TEXT_NAME))
        .unwrap()
        .write_all(b"2026-01-01T00:00:00.0Z cpu=1 se")
        .unwrap();
    let (got, rb) = read_all(&d);
    assert_eq!(got, expected(&records[..5], None));
    assert_eq!(rb.problems.len(), 1);
    assert!(rb.problems[0].contains("cut short"), "{:?}", rb.problems);
    // The next daemon cuts both ends and appends after them.
    let st = run_sink(cfg(&d, Format::Text), &[batch_of(&records[5..], None)]);
    assert!(st.last_error.unwrap().1.contains("cut"));
    let (got, rb) = read_all(&d);
    assert_eq!(got, expected(&records, None));
    assert!(rb.problems.is_empty());
    let text = fs::read_to_string(d.join(TEXT_NAME)).unwrap();
    assert_eq!(text.lines().count(), 10);
    assert!(!text.contains(" se\n"));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_foreign_record_file_is_rotated_away() {
    let d = tempdir("foreign");
    fs::write(d.join(REC_NAME), b"SAGAFSRC\x63\0\0\0\x04\x03\x02\x01").unwrap();
    let records = varied(4);
    let st = run_sink(cfg(&d, Format::Json), &[batch_of(&records, None)]);
    assert_eq!(st.sent, 4);
    assert!(st.last_error.unwrap().1.contains("version 99"));
    let (got, rb) = read_all(&d);
    // The old file is read as far as it goes (not at all), the new one
    // whole.
    assert_eq!(got, expected(&records, None));
    assert_eq!(rb.problems.len(), 1);
    assert!(d.join("sagafs.rec.1").exists());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn an_unwritable_directory_counts_every_record() {
    let d = tempdir("unwritable");
    // A file where the directory should be.
    let not_dir = d.join("not-a-dir");
    fs::write(&not_dir, b"x").unwrap();
    let st = run_sink(
        FileConfig {
            dir: not_dir.join("sub"),
            ..cfg(&d, Format::Text)
        },
        &[batch_of(&varied(7), None)],
    );
    assert_eq!(st.sent, 0);
    assert_eq!(st.dropped_error, 7);
    assert!(st.last_error.unwrap().1.contains("cannot create"));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn reading_a_missing_directory_is_empty() {
    let rb = read_back(Path::new("/nonexistent/sagafs"), None, |_, _| panic!()).unwrap();
    assert_eq!(rb, ReadBack::default());
}
