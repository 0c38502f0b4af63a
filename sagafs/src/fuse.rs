//! The thin fuser 0.18 adapter: translates FUSE requests to `tree` calls
//! and results back.  Every file is opened with direct I/O (the content
//! is built per open, sizes are reported as 0); `pipe` is also
//! non-seekable.  Reads that must wait are answered later from another
//! thread (`Reply*` values are `Send`), so session threads never block.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::tree::{Attr, Cred, Node, Tree};
use fuser::{
    AccessFlags, Errno as FErrno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
    Generation, INodeNo, LockOwner, OpenFlags, PollEvents, PollFlags, PollNotifier, RenameFlags,
    ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen,
    ReplyPoll, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

/// How long the kernel may cache attributes and entries.
const TTL: Duration = Duration::from_secs(1);

/// The I/O size reported in `st_blksize`: tools such as cat read this
/// much at a time, and every FUSE read is a round trip through the
/// daemon. 1 MiB is what the kernel passes in one read (256 pages, the
/// default limit of FUSE_MAX_PAGES, which fuser negotiates).
const BLKSIZE: u32 = 1 << 20;

/// The FUSE file system over a [`Tree`].
pub struct SagaFs {
    tree: Arc<Tree>,
}

impl SagaFs {
    pub fn new(tree: Arc<Tree>) -> SagaFs {
        SagaFs { tree }
    }
}

/// Answers a request that carries no data.
fn empty<E: Into<Error>>(res: Result<(), E>, reply: ReplyEmpty) {
    match res {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(err(e)),
    }
}

/// The errno FUSE answers with; the reason, where there is one, is
/// already in `errors` and the log.
fn err(e: impl Into<Error>) -> FErrno {
    FErrno::from_i32(e.into().errno() as i32)
}

fn cred(req: &Request) -> Cred {
    Cred {
        uid: req.uid(),
        gid: req.gid(),
        pid: req.pid(),
    }
}

fn time(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

fn file_attr(a: &Attr) -> FileAttr {
    let t = time(a.mtime_ns);
    FileAttr {
        ino: INodeNo(a.node.ino()),
        size: a.size,
        blocks: 0,
        atime: t,
        mtime: t,
        ctime: t,
        crtime: t,
        kind: if a.is_dir {
            FileType::Directory
        } else {
            FileType::RegularFile
        },
        perm: a.perm,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: 0,
        blksize: BLKSIZE,
        flags: 0,
    }
}

impl Filesystem for SagaFs {
    fn destroy(&mut self) {
        self.tree.daemon().shutdown();
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.tree.lookup(parent.0, name) {
            Ok(a) => reply.entry(&TTL, &file_attr(&a), Generation(0)),
            Err(e) => reply.error(err(e)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.tree.getattr(ino.0) {
            Ok(a) => reply.attr(&TTL, &file_attr(&a)),
            Err(e) => reply.error(err(e)),
        }
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        if mode.is_some() || uid.is_some() || gid.is_some() {
            return reply.error(FErrno::EPERM);
        }
        let r = match size {
            Some(s) => self.tree.truncate(ino.0, s, &cred(req)),
            // Time updates (touch) are accepted and have no effect.
            None => self.tree.getattr(ino.0),
        };
        match r {
            Ok(a) => reply.attr(&TTL, &file_attr(&a)),
            Err(e) => reply.error(err(e)),
        }
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.tree.open(ino.0, flags.0, &cred(req)) {
            Ok(fh) => {
                let mut f = FopenFlags::FOPEN_DIRECT_IO;
                if ino.0 == Node::Pipe.ino() {
                    f |= FopenFlags::FOPEN_NONSEEKABLE;
                }
                reply.opened(FileHandle(fh), f)
            }
            Err(e) => reply.error(err(e)),
        }
    }

    fn read(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        self.tree.read(
            fh.0,
            offset,
            size,
            flags.0,
            req.pid(),
            Box::new(move |r| match r {
                Ok(d) => reply.data(&d),
                Err(e) => reply.error(err(e)),
            }),
        );
    }

    fn write(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.tree.write(fh.0, data, &cred(req)) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(err(e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        empty(self.tree.flush(fh.0), reply);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        empty(self.tree.release(fh.0), reply);
    }

    fn fsync(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _d: bool, reply: ReplyEmpty) {
        reply.ok();
    }

    fn opendir(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.tree.access(ino.0, libc::R_OK, &cred(req)) {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(err(e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        match self.tree.readdir(ino.0) {
            Ok(entries) => {
                for (i, (ino, dir, name)) in entries.iter().enumerate().skip(offset as usize) {
                    let kind = if *dir {
                        FileType::Directory
                    } else {
                        FileType::RegularFile
                    };
                    if reply.add(INodeNo(*ino), (i + 1) as u64, kind, name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(err(e)),
        }
    }

    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        empty(self.tree.access(ino.0, mask.bits(), &cred(req)), reply);
    }

    // The tree is fixed: nothing can be created, removed or renamed.

    fn create(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        reply.error(FErrno::EACCES);
    }

    fn mknod(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        reply.error(FErrno::EACCES);
    }

    fn mkdir(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        reply.error(FErrno::EACCES);
    }

    fn unlink(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(FErrno::EACCES);
    }

    fn rmdir(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(FErrno::EACCES);
    }

    fn rename(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _newparent: INodeNo,
        _newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        reply.error(FErrno::EACCES);
    }

    fn poll(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        ph: PollNotifier,
        _events: PollEvents,
        flags: PollFlags,
        reply: ReplyPoll,
    ) {
        let wake: Option<crate::daemon::hub::PollWake> =
            if flags.contains(PollFlags::FUSE_POLL_SCHEDULE_NOTIFY) {
                Some(Box::new(move || {
                    if let Err(e) = ph.notify() {
                        log::debug!("poll notification failed: {e}");
                    }
                }))
            } else {
                None
            };
        match self.tree.poll(fh.0, wake) {
            Ok(true) => reply.poll(PollEvents::POLLIN | PollEvents::POLLRDNORM),
            Ok(false) => reply.poll(PollEvents::empty()),
            Err(e) => reply.error(err(e)),
        }
    }
}
