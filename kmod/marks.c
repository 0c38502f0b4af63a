// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: per-task marks that one probe leaves for a later probe of the
 * same task, in tables indexed by pid number (every pid number in the
 * initial namespace is below PID_MAX_LIMIT).  Each task has its own entry,
 * so no task can push another one's mark out, and no lock is taken.
 *
 * Skipped calls.  A call that seccomp skips (SECCOMP_RET_ERRNO, _TRAP,
 * _USER_NOTIF without CONTINUE, a tracer at its seccomp stop) reaches
 * sys_exit without having passed sys_enter: kernel/entry/common.c calls
 * __secure_computing() before the tracepoint and skips the call when it
 * returns -1.  A return probe on __secure_computing() marks the task then.
 * A tracer that cancels a call at its syscall-entry stop sets the number
 * to -1, which sys_enter sees: it marks the task too (so does a caller
 * asking for call -1, which is never a call either).  PTRACE_SYSEMU skips
 * every call; sys_exit sees it in the task's syscall work.  sys_exit takes
 * the mark, looking into the table only while some mark is pending.
 *
 * Exec.  A successful exec reaches sys_exit with the number rewritten to
 * the new image's execve (arch/x86/kernel/process_64.c: "pretend that
 * this comes from a 64bit execve") and the new image's ABI.  sys_enter
 * notes what the call was (execve or execveat, and its ABI) in a byte per
 * thread group; sys_exit of the exec takes it.  A thread group has one
 * entry because an exec by another thread than the leader ends with the
 * leader's tid; of several threads that exec at once, one succeeds and
 * the note may be another's (the record then says execve or execveat of
 * the other thread's kind).
 */
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/threads.h>
#include <linux/thread_info.h>
#include <linux/vmalloc.h>
#include <asm/vsyscall.h>
#include "sagafs.h"

static unsigned long *sagafs_skip_map;	/* PID_MAX_LIMIT bits, by tid */
static u8 *sagafs_exec_map;		/* PID_MAX_LIMIT bytes, by tgid */
static atomic_t sagafs_skip_pending;	/* bits set in sagafs_skip_map */
static struct kretprobe sagafs_seccomp_rp;
static bool sagafs_seccomp_attached;
static u64 sagafs_skip_missed;		/* probe misses, earlier attachments */
static u64 sagafs_skip_missed_base;	/* ... at the last RESET_STATS */

static bool sagafs_tid_ok(pid_t tid)
{
	return tid > 0 && tid < PID_MAX_LIMIT;
}

/* The current call will be skipped. */
void sagafs_skip_mark(void)
{
	pid_t tid = task_pid_nr(current);

	if (sagafs_tid_ok(tid) && !test_and_set_bit(tid, sagafs_skip_map))
		atomic_inc(&sagafs_skip_pending);
}

/* At sys_exit: was the current call skipped?  Takes the mark. */
bool sagafs_skip_take(void)
{
	bool emu = test_syscall_work(SYSCALL_EMU);
	pid_t tid;

	if (likely(!atomic_read(&sagafs_skip_pending)))
		return emu;
	tid = task_pid_nr(current);
	if (sagafs_tid_ok(tid) && test_and_clear_bit(tid, sagafs_skip_map)) {
		atomic_dec(&sagafs_skip_pending);
		return true;
	}
	return emu;
}

#define SAGAFS_EXEC_MARK	0x80
#define SAGAFS_EXEC_AT		0x40
#define SAGAFS_EXEC_ABI		0x03

/* The current call is an execve (at: execveat) of ABI abi. */
void sagafs_exec_mark(u8 abi, bool at)
{
	pid_t tgid = task_tgid_nr(current);

	if (sagafs_tid_ok(tgid))
		WRITE_ONCE(sagafs_exec_map[tgid], SAGAFS_EXEC_MARK | abi |
			   (at ? SAGAFS_EXEC_AT : 0));
}

/* At sys_exit of an exec: what sys_enter noted, if anything.  Takes it. */
bool sagafs_exec_take(u8 *abi, bool *at)
{
	pid_t tgid = task_tgid_nr(current);
	u8 m;

	if (!sagafs_tid_ok(tgid))
		return false;
	m = READ_ONCE(sagafs_exec_map[tgid]);
	if (!m)
		return false;
	WRITE_ONCE(sagafs_exec_map[tgid], 0);
	*abi = m & SAGAFS_EXEC_ABI;
	*at = m & SAGAFS_EXEC_AT;
	return *abi < SAGAFS_NR_ABIS;
}

static int sagafs_seccomp_ret(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	/* -1: skip the call; 0: run it (kernel/entry/common.c). */
	if ((int)regs_return_value(regs) != -1 || !sagafs_on())
		return 0;
	/* x86's vsyscall emulation asks seccomp too, outside any syscall. */
	if (is_vsyscall_vaddr(task_pt_regs(current)->ip))
		return 0;
	sagafs_skip_mark();
	return 0;
}

/*
 * Attach the return probe, inert until capture is on.  Instances: one per
 * task inside __secure_computing() at a time; seccomp user notification
 * and tracer stops sleep there.  A task beyond them is counted in nmissed.
 */
int sagafs_marks_attach(void)
{
	int ret;

	memset(&sagafs_seccomp_rp, 0, sizeof(sagafs_seccomp_rp));
	sagafs_seccomp_rp.kp.symbol_name = "__secure_computing";
	sagafs_seccomp_rp.handler = sagafs_seccomp_ret;
	sagafs_seccomp_rp.maxactive = max_t(int, 256, 16 * num_possible_cpus());
	if (sagafs_fault(SAGAFS_FAULT_KRETPROBE))
		return -ENOMEM;
	ret = register_kretprobe(&sagafs_seccomp_rp);
	sagafs_seccomp_attached = !ret;
	return ret;
}

/* Detach the return probe; afterwards its handler runs no more. */
void sagafs_marks_detach(void)
{
	if (!sagafs_seccomp_attached)
		return;
	unregister_kretprobe(&sagafs_seccomp_rp);
	sagafs_skip_missed += sagafs_seccomp_rp.nmissed;
	sagafs_seccomp_attached = false;
}

/* Seccomp returns the probe missed since RESET_STATS.  Holds sagafs.lock. */
u64 sagafs_marks_missed(void)
{
	u64 n = sagafs_skip_missed;

	if (sagafs_seccomp_attached)
		n += READ_ONCE(sagafs_seccomp_rp.nmissed);
	return n - sagafs_skip_missed_base;
}

void sagafs_marks_missed_reset(void)
{
	sagafs_skip_missed_base += sagafs_marks_missed();
}

/* Forget every mark.  No probe acts (capture off, or not yet on). */
void sagafs_marks_clear(void)
{
	bitmap_zero(sagafs_skip_map, PID_MAX_LIMIT);
	atomic_set(&sagafs_skip_pending, 0);
	memset(sagafs_exec_map, 0, PID_MAX_LIMIT);
}

/* The tables: PID_MAX_LIMIT / 8 + PID_MAX_LIMIT bytes (4.5 MiB on x86_64). */
int sagafs_marks_init(void)
{
	sagafs_skip_map = vzalloc(BITS_TO_LONGS(PID_MAX_LIMIT) * sizeof(long));
	sagafs_exec_map = vzalloc(PID_MAX_LIMIT);
	if (!sagafs_skip_map || !sagafs_exec_map) {
		sagafs_marks_exit();
		return -ENOMEM;
	}
	return 0;
}

void sagafs_marks_exit(void)
{
	vfree(sagafs_exec_map);
	vfree(sagafs_skip_map);
	sagafs_exec_map = NULL;
	sagafs_skip_map = NULL;
}
