/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * sagafs: the maps shared by the eBPF capture program (sagafs.bpf.c) and
 * its loader (sagafs/src/device/bpf/).  The loader's Rust mirror is checked
 * against this header at build time, as the module's ABI is.
 *
 * Records are struct sagafs_record from the UAPI header, byte for byte;
 * only the transport differs from the module: one BPF ring buffer per CPU
 * (an array of maps indexed by CPU) instead of the module's mmap'd rings.
 *
 * Maps (names are the loader's contract):
 *
 *   rings    BPF_MAP_TYPE_ARRAY_OF_MAPS, nr_cpus BPF ring buffers, one per
 *            possible CPU; the CPU that runs the program writes only its own.
 *   cpus     nr_cpus struct sagafs_bpf_cpu (BPF_F_MMAPABLE, read by the
 *            loader through mmap): next_seq and the per-CPU totals.
 *   counts   nr_cpus * SAGAFS_BPF_SLOTS struct sagafs_counts, laid out
 *            [cpu][abi][slot] (BPF_F_MMAPABLE).
 *   slots    SAGAFS_BPF_SLOTS struct sagafs_bpf_slot: the per-ABI call
 *            table (kind, path arguments), written by the loader at load.
 *   configs  two struct sagafs_bpf_config; control.active names the one in
 *            force.  The loader writes the other one, flips active and
 *            waits for an RCU grace period before it may write again.
 *   control  one struct sagafs_bpf_ctl (BPF_F_MMAPABLE).
 *   marks    task storage: where the task is in its current call, kept
 *            only for the calls that need it (see sagafs.bpf.c).
 *   scratch  per-CPU record being built.
 *
 * Sequence numbers: every record that passes the filters takes the next
 * seq of its CPU before it is offered to the ring buffer, written or not;
 * next_seq is stored after the ring buffer committed (or refused) the
 * record, so a consumer that reads next_seq before draining the ring and
 * finds no record with a seq below it knows the difference was dropped
 * (x86 stores are seen in program order).
 */
#ifndef SAGAFS_BPF_H
#define SAGAFS_BPF_H

#include <linux/types.h>
#include <uapi/sagafs.h>

#define SAGAFS_BPF_SLOTS	(SAGAFS_NR_ABIS * SAGAFS_NR_SLOTS)

/* struct sagafs_bpf_slot.kind */
#define SAGAFS_BPF_PLAIN	0	/* logged at exit */
#define SAGAFS_BPF_NORETURN	1	/* exit, exit_group: logged at entry */
#define SAGAFS_BPF_EXEC		2	/* execve, execveat: nr and ABI kept at entry */
#define SAGAFS_BPF_SIGRETURN	3	/* rt_sigreturn, sigreturn: logged at entry */
#define SAGAFS_BPF_FORK		4	/* clone family: a child's first return is no call */

/* struct sagafs_bpf_slot.flags */
#define SAGAFS_BPF_FD_PATH	(1U << 0) /* the module resolves path 0 from the returned fd */
/*
 * Keep the mark even when the bitmap leaves the call out: the exit of a
 * successful exec into the other ABI (i386, x86_64) arrives under this
 * number.
 */
#define SAGAFS_BPF_TRACK	(1U << 1)

struct sagafs_bpf_slot {
	__u8 kind;
	__u8 flags;
	__s8 path[2];		/* argument index of path 0 / path 1, -1: none */
};

/* One CPU's sequence and totals: one cache line, written by that CPU only. */
struct sagafs_bpf_cpu {
	__u64 next_seq;
	__u64 calls;
	__u64 errors;
	__u64 logged;
	__u64 filtered;
	__u64 dropped;
	__u64 bytes;		/* record bytes offered and written */
	__u64 untracked;	/* task marks that could not be stored */
};

/* A published configuration. */
struct sagafs_bpf_config {
	__u64 eff[SAGAFS_NR_ABIS][SAGAFS_BITMAP_WORDS];	/* syscalls & ~exclude */
	__u32 self_tgid;	/* the loader's process: exclude_self */
	__u32 __pad0;
	struct sagafs_config user;
};

struct sagafs_bpf_ctl {
	__u32 active;		/* configs[active] is in force */
	__u32 epoch;		/* bumped at every attach: older task state is stale */
	__s64 tai_offset_ns;	/* CLOCK_TAI - CLOCK_REALTIME */
	__s64 mono_offset_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC, for old kernels */
};

/* struct sagafs_bpf_task.state */
#define SAGAFS_BPF_OUT		0	/* between calls */
#define SAGAFS_BPF_IN		1	/* sys_enter seen, sys_exit not yet */

struct sagafs_bpf_task {
	__u32 epoch;
	__u32 key;		/* abi * SAGAFS_NR_SLOTS + slot of the call entered */
	__s32 nr;
	__u32 state;
};

/*
 * The record being built: header, path 0, path 1 (written right after
 * path 0 with one byte more than snaplen read to tell a cut string), and
 * zero padding.
 */
struct sagafs_bpf_scratch {
	struct sagafs_record rec;
	char paths[2 * SAGAFS_SNAPLEN_MAX + 16];
};

#endif /* SAGAFS_BPF_H */
