// SPDX-License-Identifier: GPL-2.0
/*
 * sagafs: the path names of a record.
 *
 * Most paths are copies of the call's path arguments from user memory,
 * taken at sys_exit without faulting.  The kernel read them earlier, and
 * a thread sharing the memory may have rewritten them since: such a path
 * says what the buffer held when the record was made.  Where the kernel
 * knows what it resolved, the record carries that instead, flagged
 * SAGAFS_RF_PATH0_RESOLVED:
 *
 *  - a successful open, openat, openat2 or creat: d_path() of the file
 *    its returned descriptor refers to;
 *  - a successful execve or execveat: d_path() of the new program (the
 *    mm's exe_file), and as path 1 the new image's argv, read from its
 *    argument area, each argument NUL terminated (SAGAFS_RF_ARGV).
 *
 * Paths are as the task sees them (its root and mount namespace).  The
 * descriptor is looked up when the record is made: a thread sharing the
 * descriptor table could close it and open another file under the same
 * number in between, and the record would then name that file.
 *
 * Context: the sys_exit probe, preemption disabled.  fget_raw() looks the
 * descriptor up under RCU and takes a reference (get_file_rcu()), fput()
 * defers the last one to task work, copy_from_user_nofault() does not
 * fault.  d_path() retries under rename_lock and mount_lock when a rename
 * or mount races with it: a spinlock_t, which sleeps on PREEMPT_RT.  So on
 * PREEMPT_RT the module does not resolve: those records are flagged
 * SAGAFS_RF_UNRESOLVED and carry what user memory holds.
 */
#include <linux/kernel.h>
#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include "sagafs.h"

/* The parts of the per-CPU scratch area. */
static char *sagafs_buf(char *scratch, int i)
{
	return scratch + i * (SAGAFS_SNAPLEN_MAX + 1);
}

static char *sagafs_resolve_buf(char *scratch)
{
	return scratch + 2 * (SAGAFS_SNAPLEN_MAX + 1);
}

static bool sagafs_can_resolve(struct sagafs_call *call)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		call->flags |= SAGAFS_RF_UNRESOLVED;
		return false;
	}
	return true;
}

static void sagafs_no_path(struct sagafs_call *call, int i, char *scratch)
{
	call->path[i] = sagafs_buf(scratch, i);
	call->len[i] = 0;
}

/*
 * Copy path argument i without faulting.  strncpy_from_user_nofault()
 * is not exported on 6.1; this does what it does: the copy runs with page
 * faults disabled, so a non-resident page fails the copy instead of
 * sleeping.  One byte beyond snaplen is read to tell a cut string.
 */
static void sagafs_copy_path(struct sagafs_call *call, int i, char *scratch,
			     u32 snaplen)
{
	int idx = sagafs_slots[call->abi][call->slot].path[i];
	char *dst = sagafs_buf(scratch, i);
	const char __user *src;
	long n;

	sagafs_no_path(call, i, scratch);
	if (idx < 0 || !snaplen)
		return;
	src = (const char __user *)call->args[idx];
	pagefault_disable();
	n = strncpy_from_user(dst, src, snaplen + 1);
	pagefault_enable();
	if (n < 0) {
		call->flags |= i ? SAGAFS_RF_PATH1_FAULT : SAGAFS_RF_PATH0_FAULT;
		return;
	}
	if (n > snaplen) {
		call->flags |= i ? SAGAFS_RF_PATH1_TRUNC : SAGAFS_RF_PATH0_TRUNC;
		n = snaplen;
	}
	call->flags |= i ? SAGAFS_RF_PATH1 : SAGAFS_RF_PATH0;
	call->len[i] = n;
}

/* Path arguments from user memory (call->args must be set). */
void sagafs_paths_user(struct sagafs_call *call, char *scratch, u32 snaplen)
{
	sagafs_copy_path(call, 0, scratch, snaplen);
	sagafs_copy_path(call, 1, scratch, snaplen);
}

/* Path 0 = d_path() of file, cut at snaplen.  False if it has none. */
static bool sagafs_file_path(struct sagafs_call *call, struct file *file,
			     char *scratch, u32 snaplen)
{
	char *buf = sagafs_resolve_buf(scratch);
	char *p = d_path(&file->f_path, buf, SAGAFS_RESOLVE_LEN);
	size_t n;

	if (IS_ERR(p))
		return false;
	n = strnlen(p, buf + SAGAFS_RESOLVE_LEN - p);
	if (n > snaplen) {
		call->flags |= SAGAFS_RF_PATH0_TRUNC;
		n = snaplen;
	}
	call->path[0] = p;
	call->len[0] = n;
	call->flags |= SAGAFS_RF_PATH0 | SAGAFS_RF_PATH0_RESOLVED;
	return true;
}

/*
 * A successful open: path 0 is the file its descriptor (call->ret) refers
 * to.  False if that cannot be had (descriptor closed meanwhile, path
 * longer than SAGAFS_RESOLVE_LEN, PREEMPT_RT): the caller copies the
 * argument instead.
 */
bool sagafs_path_fd(struct sagafs_call *call, char *scratch, u32 snaplen)
{
	struct file *file;
	bool ok;

	if (!snaplen || call->ret < 0 || call->ret > INT_MAX ||
	    !sagafs_can_resolve(call))
		return false;
	file = fget_raw(call->ret);
	if (!file)
		return false;
	ok = sagafs_file_path(call, file, scratch, snaplen);
	fput(file);
	if (ok)
		sagafs_no_path(call, 1, scratch);
	return ok;
}

/* The program current runs, as the kernel resolved it. */
static void sagafs_exe_path(struct sagafs_call *call, struct mm_struct *mm,
			    char *scratch, u32 snaplen)
{
	struct file *exe;

	if (!sagafs_can_resolve(call))
		return;
	rcu_read_lock();
	exe = rcu_dereference(mm->exe_file);
	if (exe && !get_file_rcu(exe))
		exe = NULL;
	rcu_read_unlock();
	if (!exe)
		return;
	sagafs_file_path(call, exe, scratch, snaplen);
	fput(exe);
}

/*
 * The new image's argv: its argument area, the NUL terminated strings the
 * exec copied there.  The new image has run no instruction yet and
 * shares its memory with no one, so the area is as the exec wrote it.
 */
static void sagafs_argv(struct sagafs_call *call, struct mm_struct *mm,
			char *scratch, u32 snaplen)
{
	unsigned long start = READ_ONCE(mm->arg_start);
	unsigned long end = READ_ONCE(mm->arg_end);
	char *dst = sagafs_buf(scratch, 1);
	unsigned long n;

	if (end < start)
		return;
	n = min_t(unsigned long, end - start, snaplen);
	if (copy_from_user_nofault(dst, (const void __user *)start, n)) {
		call->flags |= SAGAFS_RF_PATH1_FAULT;
		return;
	}
	if (n < end - start)
		call->flags |= SAGAFS_RF_PATH1_TRUNC;
	call->len[1] = n;
	call->flags |= SAGAFS_RF_PATH1 | SAGAFS_RF_ARGV;
}

/* A successful exec: the new program and its argv. */
void sagafs_paths_exec(struct sagafs_call *call, char *scratch, u32 snaplen)
{
	struct mm_struct *mm = current->mm;

	sagafs_no_path(call, 0, scratch);
	sagafs_no_path(call, 1, scratch);
	if (!snaplen || !mm)
		return;
	sagafs_exe_path(call, mm, scratch, snaplen);
	sagafs_argv(call, mm, scratch, snaplen);
}
