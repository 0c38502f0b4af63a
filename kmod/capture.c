// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: capture.  Probes on the raw syscall tracepoints, filtering and
 * record building.
 *
 * The probes are attached only while capture is on.  sys_enter returns
 * after a table lookup (table.c) for every call except exit, exit_group
 * (logged at entry: they never return), rt_sigreturn and sigreturn
 * (logged at entry: they return to the interrupted code, with the number
 * -1), execve and execveat (their number and ABI are noted: a successful
 * exec reaches sys_exit as the new image's execve, see marks.c) and the
 * number -1 (a tracer cancelled the call: marks.c).  Everything else is
 * logged at sys_exit, where the registers and memory are still the
 * caller's, except after a successful exec: then the record takes the new
 * program and argv from the new image (paths.c) and zero arguments.  The
 * child's first return from fork and its kin is not a call.
 */
#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#include <asm/unistd_32_ia32.h>
#include "sagafs.h"

static struct tracepoint *sagafs_tp_enter, *sagafs_tp_exit;

/* Kinds that sys_enter acts on; everything else waits for sys_exit. */
#define SAGAFS_KINDS_AT_ENTRY	(BIT(SAGAFS_KIND_NORETURN) | \
				 BIT(SAGAFS_KIND_SIGRETURN) | \
				 BIT(SAGAFS_KIND_EXEC) | BIT(SAGAFS_KIND_EXECAT))

static void sagafs_decode(struct pt_regs *regs, struct sagafs_call *call)
{
	int nr = syscall_get_nr(current, regs);
	u32 slot = nr;

	call->nr = nr;
	if (in_ia32_syscall()) {
		call->abi = SAGAFS_ABI_I386;
	} else if (nr >= 0 && (nr & __X32_SYSCALL_BIT)) {
		call->abi = SAGAFS_ABI_X32;
		slot = nr & ~__X32_SYSCALL_BIT;
	} else {
		call->abi = SAGAFS_ABI_X86_64;
	}
	if (nr < 0 || slot >= SAGAFS_SLOT_OTHER)
		slot = SAGAFS_SLOT_OTHER;
	call->slot = slot;
}

static u8 sagafs_kind(const struct sagafs_call *call)
{
	return sagafs_slots[call->abi][call->slot].kind;
}

static void sagafs_get_args(struct pt_regs *regs, struct sagafs_call *call)
{
	int i;

	syscall_get_arguments(current, regs, call->args);
	if (call->abi == SAGAFS_ABI_I386) {
		for (i = 0; i < 6; i++)
			call->args[i] = (u32)call->args[i];
	}
}

static inline bool sagafs_bit(const struct sagafs_kconf *k, u8 abi, u32 slot)
{
	return (k->eff[abi][slot / 64] >> (slot % 64)) & 1;
}

static bool sagafs_in_ids(const u32 *ids, u32 n, u32 id)
{
	u32 i;

	for (i = 0; i < n; i++) {
		if (ids[i] == id)
			return true;
	}
	return false;
}

static bool sagafs_in_comms(const char (*comms)[SAGAFS_COMM_LEN], u32 n,
			    const char *comm)
{
	u32 i;

	for (i = 0; i < n; i++) {
		if (!memcmp(comms[i], comm, SAGAFS_COMM_LEN))
			return true;
	}
	return false;
}

/* Filters after the syscall bitmap, in the documented order. */
static bool sagafs_pass(const struct sagafs_config *u,
			const struct sagafs_record *r)
{
	struct pid *self = READ_ONCE(sagafs.consumer_pid);

	if ((u->flags & SAGAFS_CFG_EXCLUDE_SELF) && self &&
	    task_tgid(current) == self)
		return false;
	if (u->nr_pids && !sagafs_in_ids(u->pids, u->nr_pids, r->pid))
		return false;
	if (sagafs_in_ids(u->exclude_pids, u->nr_exclude_pids, r->pid))
		return false;
	if (u->nr_uids && !sagafs_in_ids(u->uids, u->nr_uids, r->uid))
		return false;
	if (sagafs_in_ids(u->exclude_uids, u->nr_exclude_uids, r->uid))
		return false;
	if (u->nr_comms && !sagafs_in_comms(u->comms, u->nr_comms, r->comm))
		return false;
	if (sagafs_in_comms(u->exclude_comms, u->nr_exclude_comms, r->comm))
		return false;
	if (u->result == SAGAFS_RESULT_SUCCESS && sagafs_is_error(r->ret))
		return false;
	if (u->result == SAGAFS_RESULT_FAILURE && !sagafs_is_error(r->ret))
		return false;
	return true;
}

static void sagafs_stats_fresh(struct sagafs_pcpu_stats *st)
{
	unsigned long gen = READ_ONCE(sagafs.stats_gen);

	if (likely(st->gen == gen))
		return;
	memset(st, 0, offsetof(struct sagafs_pcpu_stats, gen));
	/* Readers that see the new gen (acquire) see the cleared counters. */
	smp_store_release(&st->gen, gen);
}

/* Arguments and paths of a call that passed the filters. */
static void sagafs_collect(struct pt_regs *regs, struct sagafs_call *call,
			   bool exec_ok, char *scratch, u32 snaplen)
{
	if (exec_ok) {
		/* The registers are the new image's: meaningless here. */
		memset(call->args, 0, sizeof(call->args));
		sagafs_paths_exec(call, scratch, snaplen);
		return;
	}
	sagafs_get_args(regs, call);
	if (sagafs_kind(call) == SAGAFS_KIND_OPEN &&
	    !(call->flags & SAGAFS_RF_SKIPPED) &&
	    sagafs_path_fd(call, scratch, snaplen))
		return;
	sagafs_paths_user(call, scratch, snaplen);
}

static void sagafs_count(struct sagafs_counts *cnt,
			 struct sagafs_pcpu_stats *st,
			 const struct sagafs_call *call)
{
	sagafs_inc(cnt->calls);
	sagafs_inc(st->calls);
	if (sagafs_is_error(call->ret)) {
		sagafs_inc(cnt->errors);
		sagafs_inc(st->errors);
	}
	if (call->flags & SAGAFS_RF_SKIPPED) {
		sagafs_inc(cnt->skipped);
		sagafs_inc(st->skipped);
	}
}

/*
 * Count, filter and log one call.  call carries abi/slot/nr/ret/flags;
 * exec_ok: a successful exec, whose arguments and paths come from the new
 * image.  Runs with preemption disabled (the write is additionally
 * bracketed so that one producer per CPU holds on kernels with preemptible
 * syscall tracepoints).
 */
static void sagafs_log(struct pt_regs *regs, struct sagafs_call *call,
		       bool exec_ok)
{
	const struct sagafs_kconf *k;
	struct sagafs_pcpu_stats *st;
	struct sagafs_counts *cnt;
	struct sagafs_record r;
	struct sagafs_cpu *c;
	int ret;

	preempt_disable_notrace();
	c = this_cpu_ptr(sagafs.cpus);
	st = c->stats;
	sagafs_stats_fresh(st);
	k = rcu_dereference_sched(sagafs.conf);
	cnt = &st->slot[call->abi][call->slot];
	sagafs_count(cnt, st, call);
	if (!sagafs_bit(k, call->abi, call->slot))
		goto filtered;

	memset(&r, 0, sizeof(r));
	r.ret = call->ret;
	sagafs_fill_ident(&r);
	if (!sagafs_pass(&k->user, &r))
		goto filtered;

	sagafs_collect(regs, call, exec_ok, c->scratch, k->user.snaplen);
	r.type = SAGAFS_REC_SYSCALL;
	r.flags = call->flags;
	r.abi = call->abi;
	r.cpu = smp_processor_id();
	r.nr = call->nr;
	r.time_ns = ktime_get_real_fast_ns();
	memcpy(r.args, call->args, sizeof(r.args));
	r.path_len[0] = call->len[0];
	r.path_len[1] = call->len[1];
	r.size = ALIGN(sizeof(r) + call->len[0] + call->len[1],
		       SAGAFS_RECORD_ALIGN);

	ret = sagafs_ring_write(c, &r, call->path[0], call->path[1],
				k->user.wakeup_bytes);
	if (!ret) {
		sagafs_inc(cnt->logged);
		sagafs_inc(st->logged);
		sagafs_add(st->bytes, r.size);
	} else {
		sagafs_inc(cnt->dropped);
		sagafs_inc(st->dropped);
		if (ret == -EINVAL)
			sagafs_inc(st->bad_tail);
	}
	preempt_enable_notrace();
	return;
filtered:
	sagafs_inc(cnt->filtered);
	sagafs_inc(st->filtered);
	preempt_enable_notrace();
}

static void sagafs_probe_enter(void *data, struct pt_regs *regs, long id)
{
	struct sagafs_call call;
	u8 kind;

	sagafs_decode(regs, &call);
	kind = sagafs_kind(&call);
	if (likely(!(SAGAFS_KINDS_AT_ENTRY & BIT(kind))) && likely(call.nr != -1))
		return;
	if (!sagafs_on())
		return;
	if (call.nr == -1) {
		/* A tracer cancelled the call at its entry stop. */
		sagafs_skip_mark();
		return;
	}
	if (kind == SAGAFS_KIND_EXEC || kind == SAGAFS_KIND_EXECAT) {
		sagafs_exec_mark(call.abi, kind == SAGAFS_KIND_EXECAT);
		return;
	}
	/* exit, exit_group never return; (rt_)sigreturn returns elsewhere. */
	call.ret = 0;
	call.flags = SAGAFS_RF_NORETURN;
	sagafs_log(regs, &call, false);
}

/*
 * sys_exit passes that are not the end of a call: (rt_)sigreturn, counted
 * at entry, whose restored registers say -1 (or, when restoring failed,
 * still its own number), and the child's first return from fork, vfork,
 * clone or clone3.
 */
static bool sagafs_not_a_call(const struct sagafs_call *call, u8 kind)
{
	if (call->nr == -1 || kind == SAGAFS_KIND_SIGRETURN)
		return true;
	return kind == SAGAFS_KIND_FORK && call->ret == 0;
}

/* x86 numbers of execve and execveat per ABI, as the registers hold them. */
static const int sagafs_exec_nr[SAGAFS_NR_ABIS][2] = {
	[SAGAFS_ABI_X86_64] = { __NR_execve, __NR_execveat },
	[SAGAFS_ABI_I386] = { __NR_ia32_execve, __NR_ia32_execveat },
	[SAGAFS_ABI_X32] = { SAGAFS_X32_EXECVE | __X32_SYSCALL_BIT,
			     SAGAFS_X32_EXECVEAT | __X32_SYSCALL_BIT },
};

/*
 * The exit of an execve or execveat that ran.  A successful one returns
 * true: the kernel rewrote the number to the new image's execve, so the
 * number and ABI the call was made with come back from its mark.
 */
static bool sagafs_exec_exit(struct sagafs_call *call)
{
	bool marked, at;
	u8 abi;

	marked = sagafs_exec_take(&abi, &at);
	if (call->ret)
		return false;	/* failed: registers and memory are the caller's */
	if (!marked)
		return true;	/* capture came on during the exec */
	call->abi = abi;
	call->nr = sagafs_exec_nr[abi][at];
	call->slot = call->nr & ~__X32_SYSCALL_BIT;
	return true;
}

static void sagafs_probe_exit(void *data, struct pt_regs *regs, long ret)
{
	struct sagafs_call call;
	bool skipped, exec_ok = false;
	u8 kind;

	if (!sagafs_on())
		return;
	skipped = sagafs_skip_take();
	sagafs_decode(regs, &call);
	kind = sagafs_kind(&call);
	call.ret = ret;
	call.flags = skipped ? SAGAFS_RF_SKIPPED : 0;
	if (!skipped && sagafs_not_a_call(&call, kind))
		return;
	/* A skipped exec never reached sys_enter and left no mark. */
	if (!skipped && (kind == SAGAFS_KIND_EXEC || kind == SAGAFS_KIND_EXECAT))
		exec_ok = sagafs_exec_exit(&call);
	sagafs_log(regs, &call, exec_ok);
}

/* ---- setup ---- */

static void sagafs_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_enter"))
		sagafs_tp_enter = tp;
	else if (!strcmp(tp->name, "sys_exit"))
		sagafs_tp_exit = tp;
}

int sagafs_capture_init(void)
{
	for_each_kernel_tracepoint(sagafs_find_tp, NULL);
	if (!sagafs_tp_enter || !sagafs_tp_exit) {
		pr_err("tracepoints sys_enter/sys_exit not found (CONFIG_HAVE_SYSCALL_TRACEPOINTS?)\n");
		return -ENOENT;
	}
	if (sagafs_marks_init())
		return -ENOMEM;
	sagafs_table_init();
	sagafs_ident_init();
	return 0;
}

void sagafs_capture_exit(void)
{
	sagafs_marks_exit();
}

/*
 * Attach the probes, inert until sagafs_capture_go().  Caller holds
 * sagafs.lock.  On failure nothing stays attached.
 */
int sagafs_capture_attach(void)
{
	int ret;

	ret = sagafs_fault(SAGAFS_FAULT_TP_ENTER) ? -ENOMEM :
	      tracepoint_probe_register(sagafs_tp_enter,
					(void *)sagafs_probe_enter, NULL);
	if (ret)
		goto err;
	ret = sagafs_fault(SAGAFS_FAULT_TP_EXIT) ? -ENOMEM :
	      tracepoint_probe_register(sagafs_tp_exit,
					(void *)sagafs_probe_exit, NULL);
	if (ret)
		goto err_enter;
	ret = sagafs_marks_attach();
	if (ret)
		goto err_exit;
	return 0;

err_exit:
	tracepoint_probe_unregister(sagafs_tp_exit,
				    (void *)sagafs_probe_exit, NULL);
err_enter:
	tracepoint_probe_unregister(sagafs_tp_enter,
				    (void *)sagafs_probe_enter, NULL);
	tracepoint_synchronize_unregister();
err:
	pr_debug("attaching the probes failed: %d\n", ret);
	return ret;
}

/* Make the attached probes act.  Caller holds sagafs.lock. */
void sagafs_capture_go(void)
{
	sagafs_marks_clear();
	/* Pairs with the acquire in sagafs_on(). */
	smp_store_release(&sagafs.enabled_flag, 1);
}

/* Detach the probes and wait until none runs and no wake-up is queued. */
void sagafs_capture_stop(void)
{
	WRITE_ONCE(sagafs.enabled_flag, 0);
	sagafs_marks_detach();
	tracepoint_probe_unregister(sagafs_tp_exit,
				    (void *)sagafs_probe_exit, NULL);
	tracepoint_probe_unregister(sagafs_tp_enter,
				    (void *)sagafs_probe_enter, NULL);
	tracepoint_synchronize_unregister();
	sagafs_rings_sync();
}
