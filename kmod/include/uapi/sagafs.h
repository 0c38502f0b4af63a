/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * sagafs: system call capture device, user-space ABI.
 *
 * This header is the single source of truth for the ioctl requests, the
 * structures they carry and the layout of the mmap'd per-CPU rings.  The
 * daemon's Rust binding is checked against it mechanically at build time.
 *
 * Device: /dev/sagafs (misc, mode 0600, root).
 *
 * mmap layout (all offsets and lengths come from SAGAFS_IOC_GET_INFO):
 *
 *   [ctrl_offset, ctrl_offset + ctrl_len)
 *       nr_cpus control blocks, ctrl_stride (one page) apart, one per
 *       possible CPU.  Mapped MAP_SHARED with PROT_READ|PROT_WRITE: user
 *       space writes the consumer position (tail) here.
 *   [data_offset, data_offset + data_len)
 *       nr_cpus data areas of ring_size bytes each, CPU n at
 *       data_offset + n * ring_size.  Read-only: a mapping with
 *       PROT_WRITE is refused (EPERM) and cannot be mprotect'ed writable.
 *
 * Every mmap call must be MAP_SHARED and lie inside one of the two
 * regions (EINVAL otherwise, also for an offset whose byte value
 * overflows).  PROT_EXEC is refused (EPERM) and cannot be added with
 * mprotect.  The rings hold every user's paths and argument registers:
 * mapping them takes a descriptor opened for writing (EACCES otherwise)
 * by a holder of CAP_SYS_ADMIN in the initial user namespace (EPERM
 * otherwise; the capability of the opener, checked against the file's
 * credentials).  An O_RDONLY descriptor can query (GET_INFO, GET_CONFIG,
 * GET_STATS, ABI_VERSION) and poll, nothing more.  Only one open file
 * may map the rings at a time (the consumer); another one gets EBUSY until
 * the consumer's file is released.  The consumer's process (for
 * consumer_pid and SAGAFS_CFG_EXCLUDE_SELF) is the one that mapped first
 * through that file, held by identity: a process that later gets its
 * number is not the consumer.
 *
 * Ring protocol (one ring per CPU, one producer: the probe on that CPU):
 *
 *   head and tail are free-running byte counters; the byte at position p
 *   lives at data[p & (ring_size - 1)].  The kernel publishes head with a
 *   store-release after writing the record; the consumer reads head with a
 *   load-acquire, reads records in [tail, head) and then publishes its new
 *   tail with a store-release.  Records are 8-byte aligned and never
 *   straddle the end of the data area: when one would not fit before the
 *   end, the kernel first writes a SAGAFS_REC_PAD record filling the rest.
 *
 *   The kernel never trusts tail.  If head - tail > ring_size (any bogus
 *   value, including a tail ahead of head), the ring counts as full: new
 *   records are dropped and counted (dropped, bad_tail) until a sane tail is
 *   written back.  No value of tail makes the kernel touch memory outside
 *   the ring.
 *
 *   Every record that passes the filters takes the next per-CPU sequence
 *   number, whether it is written or dropped, so a gap in seq is exactly
 *   the number of records dropped on that CPU.  The kernel stores next_seq
 *   (store-release) after head; a consumer that reads next_seq first and
 *   head second, finds the ring drained and sees next_seq beyond the last
 *   seq it read knows that the difference was dropped.
 *
 *   The counters in the control block are copies for the reader; the
 *   kernel keeps its own and never reads them back.
 */
#ifndef _UAPI_LINUX_SAGAFS_H
#define _UAPI_LINUX_SAGAFS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SAGAFS_ABI_VERSION	2
#define SAGAFS_DEVICE_NAME	"sagafs"

/* Syscall numbering: counters and filters index [abi][slot]. */
#define SAGAFS_ABI_X86_64	0	/* native 64-bit */
#define SAGAFS_ABI_I386		1	/* 32-bit compat (int 0x80, sysenter) */
#define SAGAFS_ABI_X32		2	/* x32; slot is nr without the x32 bit */
#define SAGAFS_NR_ABIS		3

#define SAGAFS_NR_SLOTS		1024
/* Numbers outside [0, SAGAFS_SLOT_OTHER) are counted and filtered here. */
#define SAGAFS_SLOT_OTHER	(SAGAFS_NR_SLOTS - 1)
#define SAGAFS_BITMAP_WORDS	(SAGAFS_NR_SLOTS / 64)

#define SAGAFS_COMM_LEN		16
#define SAGAFS_MAX_IDS		64	/* entries in each pid / uid list */
#define SAGAFS_MAX_COMMS	32	/* entries in each comm list */

#define SAGAFS_SNAPLEN_DEFAULT	256
#define SAGAFS_SNAPLEN_MAX	4096	/* bytes of each captured path */
#define SAGAFS_RING_KB_DEFAULT	1024
#define SAGAFS_RING_KB_MIN	32	/* power of two in [MIN, MAX] */
#define SAGAFS_RING_KB_MAX	262144

/* ------------------------------------------------------------------ */
/* Records in the data area.                                           */

#define SAGAFS_REC_SYSCALL	1	/* struct sagafs_record + paths */
#define SAGAFS_REC_PAD		2	/* filler up to the end of the area */

/* struct sagafs_record.flags */
/*
 * Taken at entry: exit and exit_group, which never return, and
 * rt_sigreturn and sigreturn, which return to the interrupted code; ret is
 * 0 and args are the registers at entry.
 */
#define SAGAFS_RF_NORETURN	(1U << 0)
/* Retired: execve state from entry lost.  This module never sets it. */
#define SAGAFS_RF_ENTRY_LOST	(1U << 1)
#define SAGAFS_RF_PATH0		(1U << 2) /* path 0 was captured (may be empty) */
#define SAGAFS_RF_PATH1		(1U << 3) /* path 1 was captured (may be empty) */
#define SAGAFS_RF_PATH0_TRUNC	(1U << 4) /* path 0 longer than snaplen, cut */
#define SAGAFS_RF_PATH1_TRUNC	(1U << 5)
#define SAGAFS_RF_PATH0_FAULT	(1U << 6) /* path 0 pointer unreadable without faulting */
#define SAGAFS_RF_PATH1_FAULT	(1U << 7)
/*
 * Which paths come from where.  Without SAGAFS_RF_PATH0_RESOLVED a path
 * is a copy of the call's path argument from user memory, taken when the
 * record is made (at exit): the kernel read the argument earlier, and a
 * thread sharing the memory may have rewritten it in between.  With it,
 * path 0 is the path the kernel resolved, as the task sees it (its root
 * and mount namespace; " (deleted)" appended for an unlinked file), from
 * d_path():
 *  - open, openat, openat2, creat that returned a descriptor: the file
 *    that descriptor refers to when the record is made.  A thread sharing
 *    the descriptor table can close it and open another file under the
 *    same number in between; the record then names that file.  Without
 *    the flag (descriptor already closed, path longer than PATH_MAX) the
 *    path is the user copy.
 *  - execve, execveat that succeeded: the program the kernel ran (the new
 *    image's executable), with path 1 the new image's argv
 *    (SAGAFS_RF_ARGV) and args all zero (the registers belong to the new
 *    image).  nr and abi are those of the call, even though the kernel
 *    reports a successful exec as the new image's execve.
 * Failed opens and execs and all other calls carry user copies.
 */
#define SAGAFS_RF_PATH0_RESOLVED (1U << 8)
#define SAGAFS_RF_PATH1_RESOLVED (1U << 9)	/* not set by this module */
/*
 * Path 1 holds the new image's argv from its argument area: each argument
 * NUL terminated, the whole cut at snaplen (SAGAFS_RF_PATH1_TRUNC).
 */
#define SAGAFS_RF_ARGV		(1U << 10)
/*
 * The call was not executed: seccomp skipped it (SECCOMP_RET_ERRNO, _TRAP,
 * _USER_NOTIF answered without CONTINUE, a tracer at its seccomp stop), a
 * tracer cancelled it at its syscall-entry stop (nr is then -1, as it is
 * for a caller that asks for call -1) or emulates it (PTRACE_SYSEMU).  ret
 * is what the skipper set.  Not flagged: a call whose tracer resumed it
 * from a PTRACE_SYSEMU stop with another request, a call cancelled
 * because the task was killed at its syscall-entry stop, and seccomp skips
 * beyond the return probe's instances (counted: skip_unflagged).
 */
#define SAGAFS_RF_SKIPPED	(1U << 11)
/*
 * The capture backend cannot resolve paths: the paths of a call for which
 * the module would set SAGAFS_RF_PATH0_RESOLVED are copies of user memory
 * (for a successful exec: no path 0).  The module sets it on PREEMPT_RT
 * kernels, where d_path() may sleep.
 */
#define SAGAFS_RF_UNRESOLVED	(1U << 12)

/*
 * One completed system call.  size covers the header, path 0 bytes, path 1
 * bytes, key bytes (no NUL terminators) and zero padding up to a multiple
 * of 8.  Readers must skip records of unknown type by size.
 *
 * Identity fields are taken when the record is made (at exit, or at entry
 * for SAGAFS_RF_NORETURN).  uid/gid are the real ids, euid/egid the
 * effective ones, all as the initial user namespace sees them; loginuid is
 * (__u32)-1 when unset or audit is not built.  pid/tid/ppid are as the
 * initial pid namespace sees them, ns_pid/ns_tid as the task's own pid
 * namespace does (equal to pid/tid on the host).  pidns and mntns are the
 * inode numbers of the task's pid and mount namespaces (as in
 * /proc/PID/ns/), cgroup_id the id of its cgroup v2 (the inode number of
 * the cgroup's directory in cgroup2fs; 0 without cgroup v2).  time_ns is
 * CLOCK_REALTIME.  args are the six raw argument registers of the ABI
 * (zero for a successful exec).
 * key_len bytes of key (the key of the rule that logged the record, not
 * NUL terminated) follow the paths.
 */
struct sagafs_record {
	__u16 size;
	__u16 type;
	__u32 flags;
	__u8 abi;
	__u8 key_len;
	__u16 __pad0;
	__u32 cpu;
	__s32 nr;
	__u32 ns_pid;
	__u64 seq;
	__u64 time_ns;
	__u32 pid;		/* thread group id */
	__u32 tid;
	__u32 ppid;		/* real parent's thread group id */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 loginuid;
	__u32 ns_tid;
	__u32 pidns;
	__u32 mntns;
	__u32 __pad1;
	__u64 cgroup_id;
	char comm[SAGAFS_COMM_LEN];	/* NUL padded, maybe not terminated */
	__u64 args[6];
	__s64 ret;
	__u16 path_len[2];
	__u32 __pad2;
	/* __u8 paths[]: path 0 then path 1, then key_len key bytes, padding */
};

#define SAGAFS_RECORD_ALIGN	8
#define SAGAFS_KEY_MAX		63	/* bytes of a rule key */
#define SAGAFS_RECORD_MAX \
	(((sizeof(struct sagafs_record) + 2 * SAGAFS_SNAPLEN_MAX + \
	   SAGAFS_KEY_MAX) + 7) & ~7UL)

/* ------------------------------------------------------------------ */
/* Per-CPU control block (one page each, at ctrl_offset + cpu * stride). */

struct sagafs_ring_ctrl {
	__u64 head;		/* kernel: bytes produced, store-release */
	__u64 __pad0[7];
	__u64 tail;		/* user: bytes consumed, store-release */
	__u64 __pad1[7];
	/* copies for the reader; the kernel never reads these back */
	__u64 ring_size;	/* bytes in this CPU's data area */
	__u64 next_seq;		/* seq the next record will take */
	__u64 dropped;		/* records dropped on this CPU, ever */
	__u64 logged;		/* records written on this CPU, ever */
	__u64 bad_tail;		/* of dropped: dropped because tail was bogus */
	__u32 cpu;
	__u32 __pad2;
};

/* ------------------------------------------------------------------ */
/* Ioctl structures.  Each starts with its own size: the caller sets it
 * to the size it knows and the kernel reports its own back, writing no
 * more than its own size.  A larger size (a newer caller) is accepted when
 * the tail the kernel does not know is zero (E2BIG otherwise, or when it
 * exceeds a page).  A smaller size is EINVAL: ABI version 2 has no older
 * layout; later versions will accept the sizes of earlier ones, treating
 * the missing fields as zero.
 *
 * The size rule: the requests that carry these structures (GET_INFO,
 * GET_CONFIG, SET_CONFIG, GET_STATS) are matched on type and number only,
 * never on the size encoded in the request, which a larger structure
 * changes; the size comes from the structure.  The other requests match
 * exactly.
 */

struct sagafs_info {
	__u32 size;		/* in: caller's size; out: kernel's size */
	__u32 abi_version;	/* SAGAFS_ABI_VERSION of the module */
	__u32 nr_cpus;		/* rings: one per possible CPU */
	__u32 page_size;
	__u64 ring_size;	/* data bytes per CPU (power of two) */
	__u64 ctrl_offset;
	__u64 ctrl_stride;
	__u64 ctrl_len;
	__u64 data_offset;
	__u64 data_len;
	__u32 record_align;	/* SAGAFS_RECORD_ALIGN */
	__u32 record_max;	/* SAGAFS_RECORD_MAX */
	__u32 nr_slots;		/* SAGAFS_NR_SLOTS */
	__u32 nr_abis;		/* SAGAFS_NR_ABIS */
	__u32 snaplen_max;	/* SAGAFS_SNAPLEN_MAX */
	__u32 consumer_pid;	/* consumer's process (caller's pid ns), 0 if none */
};

/* struct sagafs_config.flags */
#define SAGAFS_CFG_ENABLED	(1U << 0) /* capture on: tracepoints attached */
#define SAGAFS_CFG_EXCLUDE_SELF	(1U << 1) /* never log the consumer's process */
#define SAGAFS_CFG_FLAGS_ALL	(SAGAFS_CFG_ENABLED | SAGAFS_CFG_EXCLUDE_SELF)

/* struct sagafs_config.result */
#define SAGAFS_RESULT_ANY	0
#define SAGAFS_RESULT_SUCCESS	1	/* ret not in [-4095, -1] */
#define SAGAFS_RESULT_FAILURE	2	/* ret in [-4095, -1] */

/*
 * Capture configuration.  SET_CONFIG validates the whole structure and
 * either applies all of it atomically or changes nothing: when a later
 * step fails (new rings cannot be allocated: ENOMEM; the tracepoints
 * cannot be attached) GET_CONFIG and GET_INFO report what they did before.
 * A rejection is reported through errno only, not in the kernel log.
 *
 * A record is logged when its slot's bit is set in syscalls[abi] and clear
 * in exclude_syscalls[abi], its pid (tgid) is in pids (when nr_pids > 0)
 * and not in exclude_pids, likewise uid (real) and comm (exact match),
 * and its result matches result.
 *
 * ring_kb may change only while capture is off and no one maps the rings
 * (EBUSY otherwise).  snaplen 0 disables path capture.  wakeup_bytes is
 * the poll watermark: a waiter wakes once a ring holds more than that many
 * unread bytes (0: any record).  It is at most a quarter of the ring
 * (ring_kb * 256, EINVAL above): the write that crosses the watermark then
 * always fits, so a waiter wakes before any record is dropped.
 */
struct sagafs_config {
	__u32 size;
	__u32 flags;
	__u32 result;
	__u32 snaplen;
	__u32 ring_kb;
	__u32 wakeup_bytes;
	__u32 nr_pids;
	__u32 nr_exclude_pids;
	__u32 nr_uids;
	__u32 nr_exclude_uids;
	__u32 nr_comms;
	__u32 nr_exclude_comms;
	__u64 syscalls[SAGAFS_NR_ABIS][SAGAFS_BITMAP_WORDS];
	__u64 exclude_syscalls[SAGAFS_NR_ABIS][SAGAFS_BITMAP_WORDS];
	__u32 pids[SAGAFS_MAX_IDS];		/* > 0 */
	__u32 exclude_pids[SAGAFS_MAX_IDS];
	__u32 uids[SAGAFS_MAX_IDS];		/* != (__u32)-1 */
	__u32 exclude_uids[SAGAFS_MAX_IDS];
	char comms[SAGAFS_MAX_COMMS][SAGAFS_COMM_LEN];	/* non-empty, NUL terminated */
	char exclude_comms[SAGAFS_MAX_COMMS][SAGAFS_COMM_LEN];
};

/*
 * Counters of one syscall slot (summed over CPUs).  The counting rules:
 * a call counts once, when its record is made (at exit, or at entry for
 * SAGAFS_RF_NORETURN calls), under the number and ABI it was made with.
 * The child's first return from fork, vfork, clone and clone3 is not a
 * call: neither counted nor logged.  rt_sigreturn and sigreturn count at
 * entry; their exit (which the kernel reports as number -1) is not
 * counted again.  Numbers outside [0, SAGAFS_SLOT_OTHER) count in slot
 * SAGAFS_SLOT_OTHER; -1 there means a skipped call (SAGAFS_RF_SKIPPED).
 */
struct sagafs_counts {
	__u64 calls;		/* completed calls seen while capture was on */
	__u64 errors;		/* of calls: ret in [-4095, -1] */
	__u64 logged;		/* of calls: written to a ring */
	__u64 filtered;		/* of calls: not logged because of the config */
	__u64 dropped;		/* of calls: passed the filters, ring full */
	__u64 skipped;		/* of calls: not executed (SAGAFS_RF_SKIPPED) */
};

struct sagafs_cpu_stats {
	__u64 calls;
	__u64 logged;
	__u64 filtered;
	__u64 dropped;
	__u64 bytes;		/* record bytes written to this ring */
	__u64 bad_tail;		/* of dropped: tail was bogus */
	__u64 ring_used;	/* unread bytes now (0 if tail is bogus) */
	__u64 ring_size;
};

/*
 * GET_STATS.  Totals always; per-CPU and per-syscall arrays on request:
 * cpus points to nr_cpus struct sagafs_cpu_stats (in: capacity, out: the
 * number of rings), syscalls points to nr_slots * SAGAFS_NR_ABIS struct
 * sagafs_counts laid out [abi][slot] with stride nr_slots (in: capacity
 * per ABI, out: SAGAFS_NR_SLOTS).  A zero pointer skips the array; the
 * kernel fills min(capacity, actual) entries.
 */
struct sagafs_stats {
	__u32 size;
	__u32 nr_cpus;
	__u32 nr_slots;
	__u32 __pad0;
	__u64 cpus;		/* user pointer */
	__u64 syscalls;		/* user pointer */
	struct sagafs_counts total;
	__u64 bytes;		/* record bytes written, all CPUs */
	__u64 bad_tail;		/* records dropped because of a bogus tail */
	__u64 reset_ns;		/* CLOCK_REALTIME of load or last RESET_STATS */
	__u64 enabled_ns;	/* time capture has been on since reset_ns */
	/*
	 * Calls seccomp may have skipped without SAGAFS_RF_SKIPPED: more tasks
	 * were inside __secure_computing() at once than the return probe
	 * follows.
	 */
	__u64 skip_unflagged;
};

/* ------------------------------------------------------------------ */
/* Requests.  Queries are open to any opener; changes need a descriptor
 * opened for writing (EBADF) and CAP_SYS_ADMIN (EPERM).  Unknown requests:
 * ENOTTY.  Bad pointers: EFAULT.  Invalid
 * values: EINVAL, nothing changed.
 */

#define SAGAFS_IOC_MAGIC	0xE4

#define SAGAFS_IOC_ABI_VERSION	_IOR(SAGAFS_IOC_MAGIC, 0x00, __u32)
#define SAGAFS_IOC_GET_INFO	_IOWR(SAGAFS_IOC_MAGIC, 0x01, struct sagafs_info)
#define SAGAFS_IOC_GET_CONFIG	_IOWR(SAGAFS_IOC_MAGIC, 0x02, struct sagafs_config)
#define SAGAFS_IOC_SET_CONFIG	_IOW(SAGAFS_IOC_MAGIC, 0x03, struct sagafs_config)
#define SAGAFS_IOC_GET_STATS	_IOWR(SAGAFS_IOC_MAGIC, 0x04, struct sagafs_stats)
#define SAGAFS_IOC_RESET_STATS	_IO(SAGAFS_IOC_MAGIC, 0x05)
/*
 * 0x06 and 0x07 were ENABLE and DISABLE; retired (ENOTTY), never to be
 * reused.  SET_CONFIG's SAGAFS_CFG_ENABLED is the one switch.
 */

#endif /* _UAPI_LINUX_SAGAFS_H */
