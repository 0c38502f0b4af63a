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
 * asking for call -1, which is never a call either).  sys_exit takes the
 * mark, looking into the table only while some mark is pending.
 *
 * Entry states.  Only a task that is traced or under seccomp can have a
 * call skipped, and only there can the registers at sys_exit claim a
 * result of a call that never ran (a tracer at a PTRACE_SYSEMU stop sets
 * the return register and resumes with PTRACE_CONT, which clears
 * SYSCALL_EMU before the exit, so the task's syscall work at exit says
 * nothing about entry).  For such a task each probe notes where the task
 * is, in a byte per tid that only the task itself writes: sys_enter sets
 * IN, sys_exit sets OUT.  At sys_exit, IN means the call passed sys_enter
 * (it ran), OUT means it did not (it was skipped), nothing means the
 * module cannot tell (capture or the tracer came while the call was under
 * way).  A task that stops being traced keeps its state for one more
 * call, so a tracer that dies at a PTRACE_SYSEMU stop still leaves the
 * call marked.  A new task's first event is its return from fork (a
 * sys_exit), which overwrites whatever a task with the same tid left.
 *
 * Exec.  A successful exec reaches sys_exit with the number rewritten to
 * the new image's execve (arch/x86/kernel/process_64.c: "pretend that
 * this comes from a 64bit execve") and the new image's ABI.  sys_enter
 * notes what the call was (execve or execveat, and its ABI) and the low
 * bits of the task's self_exec_id in a byte per thread group; sys_exit of
 * the exec takes it.  Only a real exec moves self_exec_id (fs/exec.c,
 * begin_new_exec()), so sys_exit claims a successful exec only when the
 * note is there and self_exec_id moved by exactly one since: a return
 * value of 0 that a tracer or seccomp made up claims nothing, and does not
 * take a note that a sibling's exec, still under way, left.  A thread
 * group has one entry because an exec by another thread than the leader
 * ends with the leader's tid; of several threads that exec at once, one
 * succeeds and the note may be another's (the record then says execve or
 * execveat of the other thread's kind).
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
static u8 *sagafs_state_map;		/* PID_MAX_LIMIT bytes, by tid */
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
	pid_t tid;

	if (likely(!atomic_read(&sagafs_skip_pending)))
		return false;
	tid = task_pid_nr(current);
	if (sagafs_tid_ok(tid) && test_and_clear_bit(tid, sagafs_skip_map)) {
		atomic_dec(&sagafs_skip_pending);
		return true;
	}
	return false;
}

#define SAGAFS_ST_IN	1	/* passed sys_enter, not yet sys_exit */
#define SAGAFS_ST_OUT	2	/* passed sys_exit */

/* Only a traced task or one under seccomp can have a call skipped. */
static bool sagafs_task_watched(void)
{
	return current->ptrace || test_syscall_work(SECCOMP);
}

/* At sys_enter: the current call passed it. */
void sagafs_ran_note(void)
{
	pid_t tid = task_pid_nr(current);

	if (!sagafs_tid_ok(tid))
		return;
	if (sagafs_task_watched() || READ_ONCE(sagafs_state_map[tid]))
		WRITE_ONCE(sagafs_state_map[tid], SAGAFS_ST_IN);
}

/* At sys_exit: did the current call pass sys_enter?  Notes the exit. */
enum sagafs_ran sagafs_ran_take(void)
{
	pid_t tid = task_pid_nr(current);
	bool watched = sagafs_task_watched();
	u8 was;

	if (!sagafs_tid_ok(tid))
		return SAGAFS_RAN_UNWATCHED;
	was = READ_ONCE(sagafs_state_map[tid]);
	if (watched)
		WRITE_ONCE(sagafs_state_map[tid], SAGAFS_ST_OUT);
	else if (unlikely(was))
		WRITE_ONCE(sagafs_state_map[tid], 0);
	if (was == SAGAFS_ST_IN)
		return SAGAFS_RAN_YES;
	if (was == SAGAFS_ST_OUT)
		return SAGAFS_RAN_NO;
	return watched ? SAGAFS_RAN_UNKNOWN : SAGAFS_RAN_UNWATCHED;
}

#define SAGAFS_EXEC_MARK	0x80
#define SAGAFS_EXEC_AT		0x40
#define SAGAFS_EXEC_ID		0x3c	/* low bits of self_exec_id */
#define SAGAFS_EXEC_ID_SHIFT	2
#define SAGAFS_EXEC_ABI		0x03

static u8 sagafs_exec_id(u64 id)
{
	return (id << SAGAFS_EXEC_ID_SHIFT) & SAGAFS_EXEC_ID;
}

/* The current call is an execve (at: execveat) of ABI abi. */
void sagafs_exec_mark(u8 abi, bool at)
{
	pid_t tgid = task_tgid_nr(current);

	if (sagafs_tid_ok(tgid))
		WRITE_ONCE(sagafs_exec_map[tgid], SAGAFS_EXEC_MARK | abi |
			   (at ? SAGAFS_EXEC_AT : 0) |
			   sagafs_exec_id(READ_ONCE(current->self_exec_id)));
}

/*
 * At sys_exit of an exec that returned 0: did this task exec since its
 * sys_enter noted the call?  Then takes the note and says what the call
 * was; otherwise leaves any note (a sibling's exec may be under way).
 */
bool sagafs_exec_claim(u8 *abi, bool *at)
{
	pid_t tgid = task_tgid_nr(current);
	u8 m, now;

	if (!sagafs_tid_ok(tgid))
		return false;
	m = READ_ONCE(sagafs_exec_map[tgid]);
	now = sagafs_exec_id(READ_ONCE(current->self_exec_id));
	if (!(m & SAGAFS_EXEC_MARK) || (m & SAGAFS_EXEC_ABI) >= SAGAFS_NR_ABIS ||
	    sagafs_exec_id(((m & SAGAFS_EXEC_ID) >> SAGAFS_EXEC_ID_SHIFT) + 1) != now)
		return false;
	WRITE_ONCE(sagafs_exec_map[tgid], 0);
	*abi = m & SAGAFS_EXEC_ABI;
	*at = m & SAGAFS_EXEC_AT;
	return true;
}

/* At sys_exit of an exec that failed: drop the note it left. */
void sagafs_exec_failed(void)
{
	pid_t tgid = task_tgid_nr(current);
	u8 m;

	if (!sagafs_tid_ok(tgid))
		return;
	m = READ_ONCE(sagafs_exec_map[tgid]);
	if ((m & SAGAFS_EXEC_ID) ==
	    sagafs_exec_id(READ_ONCE(current->self_exec_id)))
		WRITE_ONCE(sagafs_exec_map[tgid], 0);
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
	memset(sagafs_state_map, 0, PID_MAX_LIMIT);
}

/* The tables: PID_MAX_LIMIT / 8 + 2 * PID_MAX_LIMIT bytes (8.5 MiB on x86_64). */
int sagafs_marks_init(void)
{
	sagafs_skip_map = vzalloc(BITS_TO_LONGS(PID_MAX_LIMIT) * sizeof(long));
	sagafs_exec_map = vzalloc(PID_MAX_LIMIT);
	sagafs_state_map = vzalloc(PID_MAX_LIMIT);
	if (!sagafs_skip_map || !sagafs_exec_map || !sagafs_state_map) {
		sagafs_marks_exit();
		return -ENOMEM;
	}
	return 0;
}

void sagafs_marks_exit(void)
{
	vfree(sagafs_state_map);
	vfree(sagafs_exec_map);
	vfree(sagafs_skip_map);
	sagafs_state_map = NULL;
	sagafs_exec_map = NULL;
	sagafs_skip_map = NULL;
}
