/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sagafs: the few kernel types the capture program reads, declared with
 * only the fields it uses.  preserve_access_index makes every access a
 * CO-RE relocation: libbpf finds each field by name in the running
 * kernel's BTF at load time, so offsets here mean nothing and the object
 * built once runs on every kernel with BTF.
 *
 * Hand-written rather than a vmlinux.h dumped by bpftool at build time:
 * the build needs no BTF from the build machine (containers and CI often
 * have none, or another kernel's), stays the same whatever kernel builds
 * it, and this file shows everything the program depends on.
 */
#ifndef SAGAFS_KERNEL_TYPES_H
#define SAGAFS_KERNEL_TYPES_H

#include <linux/types.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* arch/x86/include/asm/ptrace.h (x86_64) */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax;
};

/* arch/x86/include/asm/thread_info.h */
struct thread_info {
	__u32 status;
};

#define SAGAFS_TS_COMPAT	0x0002	/* 32-bit syscall active */

/*
 * kuid_t and kgid_t: typedefs of anonymous structs in the kernel; CO-RE
 * matches members by name and any struct with any struct, so a named one
 * stands for both.
 */
struct sagafs_kid {
	__u32 val;
};

struct cred {
	struct sagafs_kid uid;
	struct sagafs_kid gid;
	struct sagafs_kid euid;
	struct sagafs_kid egid;
};

struct ns_common {
	unsigned int inum;
};

struct pid_namespace {
	struct ns_common ns;
	unsigned int level;
};

struct mnt_namespace {
	struct ns_common ns;
};

struct nsproxy {
	struct mnt_namespace *mnt_ns;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

#define SAGAFS_PIDTYPE_TGID	1

struct signal_struct {
	struct pid *pids[4];
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
};

struct task_struct {
	struct thread_info thread_info;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	const struct cred *cred;
	struct pid *thread_pid;
	struct signal_struct *signal;
	struct nsproxy *nsproxy;
	struct mm_struct *mm;
	struct sagafs_kid loginuid;	/* CONFIG_AUDIT only */
};

#pragma clang attribute pop

#endif /* SAGAFS_KERNEL_TYPES_H */
