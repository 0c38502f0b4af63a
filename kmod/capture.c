// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: capture.  Probes on the raw syscall tracepoints, filtering,
 * record building and the execve entry stash.
 *
 * The probes are attached only while capture is on.  sys_enter returns
 * after a table lookup (table.c) for every call except exit, exit_group
 * (logged at entry: they never return), rt_sigreturn and sigreturn
 * (logged at entry: they return to the interrupted code, with the
 * number -1), execve, execveat (arguments and paths stashed at entry: a
 * successful exec replaces registers and memory) and the number -1 (a
 * tracer skipped the call: marks.c).  Everything else is logged at
 * sys_exit, except the child's first return from fork and its kin, which
 * is not a call.
 */
#include <linux/kernel.h>
#include <linux/audit.h>
#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/nsproxy.h>
#include <linux/ns_common.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#include <asm/unistd_32_ia32.h>
#include "sagafs.h"

/* ---- execve entry stash ---- */

#define SAGAFS_STASH_SLOTS	64

struct sagafs_stash {
	struct task_struct *task;	/* key; NULL: free */
	u64 stamp;
	u8 abi;
	u32 slot;
	int nr;
	u32 flags;
	u16 len[2];
	unsigned long args[6];
	char path[2][SAGAFS_SNAPLEN_MAX];
};

static struct sagafs_stash *sagafs_stash;
static DEFINE_RAW_SPINLOCK(sagafs_stash_lock);
static u64 sagafs_stash_clock;

static struct tracepoint *sagafs_tp_enter, *sagafs_tp_exit;

/* The decoded identity of the current call. */
struct sagafs_call {
	u8 abi;
	u32 slot;
	int nr;
	long ret;
	u32 flags;
	unsigned long args[6];
	u16 len[2];
	const char *path[2];
};

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

/*
 * Copy one path argument without faulting.  strncpy_from_user_nofault()
 * is not exported on 6.1; this does what it does: the copy runs with page
 * faults disabled, so a non-resident page fails the copy instead of
 * sleeping.  One byte beyond snaplen is read to tell a cut string.
 */
static void sagafs_copy_path(struct sagafs_call *call, int i, char *dst,
			     u32 snaplen)
{
	const char __user *src;
	long n;
	int idx = sagafs_slots[call->abi][call->slot].path[i];

	call->path[i] = dst;
	call->len[i] = 0;
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

static void sagafs_copy_paths(struct sagafs_call *call, char *scratch,
			      u32 snaplen)
{
	sagafs_copy_path(call, 0, scratch, snaplen);
	sagafs_copy_path(call, 1, scratch + SAGAFS_SNAPLEN_MAX + 1, snaplen);
}

/*
 * struct mnt_namespace is private to fs/; its first member is its struct
 * ns_common (6.1 fs/mount.h).  sagafs_capture_init() checks that what this
 * reads for the initial namespace looks like a proc inode number: those
 * are allocated from 0xf0000000 up (fs/proc/generic.c).
 */
#define SAGAFS_PROC_DYNAMIC_FIRST	0xF0000000U

static bool sagafs_mntns_ok;

static u32 sagafs_mntns_inum(struct task_struct *t)
{
	struct nsproxy *nsp = t->nsproxy;

	/* NULL once the task is past exit_task_namespaces(). */
	if (!sagafs_mntns_ok || !nsp || !nsp->mnt_ns)
		return 0;
	return ((struct ns_common *)nsp->mnt_ns)->inum;
}

/* Namespaces and cgroup of current; runs under RCU (preemption off). */
static void sagafs_fill_ns(struct sagafs_record *r, struct task_struct *t)
{
	struct pid_namespace *pidns = task_active_pid_ns(t);

	r->ns_pid = task_tgid_vnr(t);
	r->ns_tid = task_pid_vnr(t);
	r->pidns = pidns ? pidns->ns.inum : 0;
	r->mntns = sagafs_mntns_inum(t);
#ifdef CONFIG_CGROUPS
	rcu_read_lock();
	r->cgroup_id = cgroup_id(task_dfl_cgroup(t));
	rcu_read_unlock();
#endif
}

static void sagafs_fill_ident(struct sagafs_record *r)
{
	struct task_struct *t = current;
	const struct cred *cred = current_cred();

	r->pid = task_tgid_nr(t);
	r->tid = task_pid_nr(t);
	rcu_read_lock();
	r->ppid = task_tgid_nr(rcu_dereference(t->real_parent));
	rcu_read_unlock();
	r->uid = from_kuid(&init_user_ns, cred->uid);
	r->gid = from_kgid(&init_user_ns, cred->gid);
	r->euid = from_kuid(&init_user_ns, cred->euid);
	r->egid = from_kgid(&init_user_ns, cred->egid);
#ifdef CONFIG_AUDIT
	r->loginuid = from_kuid(&init_user_ns, audit_get_loginuid(t));
#else
	r->loginuid = (u32)-1;
#endif
	/* comm is NUL padded by set_task_comm(); a racing rename may cut it. */
	memcpy(r->comm, t->comm, SAGAFS_COMM_LEN);
	sagafs_fill_ns(r, t);
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

static void sagafs_stash_put(const struct sagafs_call *call)
{
	struct sagafs_stash *e, *pick = NULL;
	int i;

	raw_spin_lock(&sagafs_stash_lock);
	for (i = 0; i < SAGAFS_STASH_SLOTS; i++) {
		e = &sagafs_stash[i];
		if (e->task == current) {
			pick = e;
			break;
		}
		if (!pick || (pick->task && (!e->task || e->stamp < pick->stamp)))
			pick = e;
	}
	pick->task = current;
	pick->stamp = ++sagafs_stash_clock;
	pick->abi = call->abi;
	pick->slot = call->slot;
	pick->nr = call->nr;
	pick->flags = call->flags;
	memcpy(pick->args, call->args, sizeof(pick->args));
	for (i = 0; i < 2; i++) {
		pick->len[i] = call->len[i];
		memcpy(pick->path[i], call->path[i], call->len[i]);
	}
	raw_spin_unlock(&sagafs_stash_lock);
}

/* Take this task's stashed entry into call (paths into scratch). */
static bool sagafs_stash_take(struct sagafs_call *call, char *scratch)
{
	struct sagafs_stash *e;
	bool found = false;
	int i;

	raw_spin_lock(&sagafs_stash_lock);
	for (i = 0; i < SAGAFS_STASH_SLOTS; i++) {
		e = &sagafs_stash[i];
		if (e->task != current)
			continue;
		call->abi = e->abi;
		call->slot = e->slot;
		call->nr = e->nr;
		call->flags = e->flags;
		memcpy(call->args, e->args, sizeof(call->args));
		call->len[0] = e->len[0];
		call->len[1] = e->len[1];
		call->path[0] = scratch;
		call->path[1] = scratch + SAGAFS_SNAPLEN_MAX + 1;
		memcpy(scratch, e->path[0], e->len[0]);
		memcpy(scratch + SAGAFS_SNAPLEN_MAX + 1, e->path[1], e->len[1]);
		e->task = NULL;
		found = true;
		break;
	}
	raw_spin_unlock(&sagafs_stash_lock);
	return found;
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

/*
 * Count, filter and log one call.  call carries abi/slot/nr/ret and, when
 * have_args is set, args and paths already taken (exec).  Runs with
 * preemption disabled (the write is additionally bracketed so that one
 * producer per CPU holds on kernels with preemptible syscall tracepoints).
 */
static void sagafs_log(struct pt_regs *regs, struct sagafs_call *call,
		       bool have_args, bool exec)
{
	const struct sagafs_kconf *k;
	struct sagafs_pcpu_stats *st;
	struct sagafs_counts *cnt;
	struct sagafs_record r;
	struct sagafs_cpu *c;
	bool err;
	int ret;

	preempt_disable_notrace();
	c = this_cpu_ptr(sagafs.cpus);
	st = c->stats;
	sagafs_stats_fresh(st);
	k = rcu_dereference_sched(sagafs.conf);
	if (exec && !sagafs_stash_take(call, c->scratch))
		call->flags |= SAGAFS_RF_ENTRY_LOST;

	err = sagafs_is_error(call->ret);
	cnt = &st->slot[call->abi][call->slot];
	sagafs_inc(cnt->calls);
	sagafs_inc(st->calls);
	if (err) {
		sagafs_inc(cnt->errors);
		sagafs_inc(st->errors);
	}
	if (!sagafs_bit(k, call->abi, call->slot))
		goto filtered;

	memset(&r, 0, sizeof(r));
	r.ret = call->ret;
	sagafs_fill_ident(&r);
	if (!sagafs_pass(&k->user, &r))
		goto filtered;

	if (!have_args && !(call->flags & SAGAFS_RF_ENTRY_LOST)) {
		sagafs_get_args(regs, call);
		sagafs_copy_paths(call, c->scratch, k->user.snaplen);
	}
	if (call->flags & SAGAFS_RF_ENTRY_LOST) {
		memset(call->args, 0, sizeof(call->args));
		call->len[0] = 0;
		call->len[1] = 0;
		call->path[0] = c->scratch;
		call->path[1] = c->scratch;
	}
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

static void sagafs_enter_exec(struct pt_regs *regs, struct sagafs_call *call)
{
	const struct sagafs_kconf *k;
	struct sagafs_cpu *c;

	preempt_disable_notrace();
	k = rcu_dereference_sched(sagafs.conf);
	if (sagafs_bit(k, call->abi, call->slot)) {
		c = this_cpu_ptr(sagafs.cpus);
		call->flags = 0;
		sagafs_get_args(regs, call);
		sagafs_copy_paths(call, c->scratch, k->user.snaplen);
		sagafs_stash_put(call);
	}
	preempt_enable_notrace();
}

/* Kinds that sys_enter acts on; everything else waits for sys_exit. */
#define SAGAFS_KINDS_AT_ENTRY	(BIT(SAGAFS_KIND_NORETURN) | \
				 BIT(SAGAFS_KIND_SIGRETURN) | \
				 BIT(SAGAFS_KIND_EXEC) | BIT(SAGAFS_KIND_EXECAT))

static bool sagafs_kind_exec(u8 kind)
{
	return kind == SAGAFS_KIND_EXEC || kind == SAGAFS_KIND_EXECAT;
}

static void sagafs_probe_enter(void *data, struct pt_regs *regs, long id)
{
	struct sagafs_call call;
	u8 kind;

	sagafs_decode(regs, &call);
	kind = sagafs_slots[call.abi][call.slot].kind;
	if (likely(!(SAGAFS_KINDS_AT_ENTRY & BIT(kind))) && likely(call.nr != -1))
		return;
	if (!sagafs_on())
		return;
	if (call.nr == -1) {
		/* A tracer cancelled the call at its entry stop. */
		sagafs_skip_mark();
		return;
	}
	if (sagafs_kind_exec(kind)) {
		sagafs_enter_exec(regs, &call);
		return;
	}
	/* exit, exit_group never return; (rt_)sigreturn returns elsewhere. */
	call.ret = 0;
	call.flags = SAGAFS_RF_NORETURN;
	sagafs_log(regs, &call, false, false);
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

static void sagafs_probe_exit(void *data, struct pt_regs *regs, long ret)
{
	struct sagafs_call call;
	bool skipped, exec;
	u8 kind;

	if (!sagafs_on())
		return;
	skipped = sagafs_skip_take();
	sagafs_decode(regs, &call);
	kind = sagafs_slots[call.abi][call.slot].kind;
	call.ret = ret;
	call.flags = skipped ? SAGAFS_RF_SKIPPED : 0;
	if (!skipped && sagafs_not_a_call(&call, kind))
		return;
	/* A skipped exec never reached sys_enter: its registers are intact. */
	exec = sagafs_kind_exec(kind) && !skipped;
	sagafs_log(regs, &call, exec, exec);
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
	sagafs_stash = kvcalloc(SAGAFS_STASH_SLOTS, sizeof(*sagafs_stash),
				GFP_KERNEL);
	if (!sagafs_stash)
		return -ENOMEM;
	if (sagafs_marks_init()) {
		kvfree(sagafs_stash);
		return -ENOMEM;
	}
	sagafs_table_init();
	sagafs_mntns_ok = ((struct ns_common *)init_task.nsproxy->mnt_ns)->inum >=
			  SAGAFS_PROC_DYNAMIC_FIRST;
	if (!sagafs_mntns_ok)
		pr_warn("mount namespace layout not recognised: mntns reads 0\n");
	return 0;
}

void sagafs_capture_exit(void)
{
	sagafs_marks_exit();
	kvfree(sagafs_stash);
	sagafs_stash = NULL;
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
	int i;

	raw_spin_lock(&sagafs_stash_lock);
	for (i = 0; i < SAGAFS_STASH_SLOTS; i++)
		sagafs_stash[i].task = NULL;
	raw_spin_unlock(&sagafs_stash_lock);
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
