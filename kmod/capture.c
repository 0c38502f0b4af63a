// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: capture.  Probes on the raw syscall tracepoints, the per-ABI
 * slot table (which calls carry paths, which never return, which exec),
 * filtering, record building and the execve entry stash.
 *
 * The probes are attached only while capture is on.  sys_enter returns
 * after a table lookup for every call except exit, exit_group (logged at
 * entry: they never return) and execve, execveat (arguments and paths
 * stashed at entry: a successful exec replaces registers and memory).
 * Everything else is logged at sys_exit.
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

enum sagafs_kind {
	SAGAFS_KIND_PLAIN = 0,
	SAGAFS_KIND_NORETURN,
	SAGAFS_KIND_EXEC,
};

struct sagafs_slot_info {
	u8 kind;
	s8 path[2];	/* argument index of path 0 / path 1, -1: none */
};

static struct sagafs_slot_info sagafs_slots[SAGAFS_NR_ABIS][SAGAFS_NR_SLOTS];

struct sagafs_path_call {
	int nr;
	s8 p0;
	s8 p1;
};

#define PC(nr, a, b)	{ nr, a, b }

static const struct sagafs_path_call sagafs_paths_64[] = {
	PC(__NR_open, 0, -1), PC(__NR_openat, 1, -1), PC(__NR_openat2, 1, -1),
	PC(__NR_creat, 0, -1), PC(__NR_execve, 0, -1),
	PC(__NR_execveat, 1, -1), PC(__NR_unlink, 0, -1),
	PC(__NR_unlinkat, 1, -1), PC(__NR_rename, 0, 1),
	PC(__NR_renameat, 1, 3), PC(__NR_renameat2, 1, 3),
	PC(__NR_mkdir, 0, -1), PC(__NR_mkdirat, 1, -1), PC(__NR_rmdir, 0, -1),
	PC(__NR_link, 0, 1), PC(__NR_linkat, 1, 3), PC(__NR_symlink, 0, 1),
	PC(__NR_symlinkat, 0, 2), PC(__NR_chmod, 0, -1),
	PC(__NR_fchmodat, 1, -1), PC(__NR_chown, 0, -1),
	PC(__NR_lchown, 0, -1), PC(__NR_fchownat, 1, -1),
	PC(__NR_truncate, 0, -1), PC(__NR_mknod, 0, -1),
	PC(__NR_mknodat, 1, -1), PC(__NR_mount, 0, 1), PC(__NR_umount2, 0, -1),
};

static const struct sagafs_path_call sagafs_paths_32[] = {
	PC(__NR_ia32_open, 0, -1), PC(__NR_ia32_openat, 1, -1),
	PC(__NR_ia32_openat2, 1, -1), PC(__NR_ia32_creat, 0, -1),
	PC(__NR_ia32_execve, 0, -1), PC(__NR_ia32_execveat, 1, -1),
	PC(__NR_ia32_unlink, 0, -1), PC(__NR_ia32_unlinkat, 1, -1),
	PC(__NR_ia32_rename, 0, 1), PC(__NR_ia32_renameat, 1, 3),
	PC(__NR_ia32_renameat2, 1, 3), PC(__NR_ia32_mkdir, 0, -1),
	PC(__NR_ia32_mkdirat, 1, -1), PC(__NR_ia32_rmdir, 0, -1),
	PC(__NR_ia32_link, 0, 1), PC(__NR_ia32_linkat, 1, 3),
	PC(__NR_ia32_symlink, 0, 1), PC(__NR_ia32_symlinkat, 0, 2),
	PC(__NR_ia32_chmod, 0, -1), PC(__NR_ia32_fchmodat, 1, -1),
	PC(__NR_ia32_chown, 0, -1), PC(__NR_ia32_chown32, 0, -1),
	PC(__NR_ia32_lchown, 0, -1), PC(__NR_ia32_lchown32, 0, -1),
	PC(__NR_ia32_fchownat, 1, -1), PC(__NR_ia32_truncate, 0, -1),
	PC(__NR_ia32_truncate64, 0, -1), PC(__NR_ia32_mknod, 0, -1),
	PC(__NR_ia32_mknodat, 1, -1), PC(__NR_ia32_mount, 0, 1),
	PC(__NR_ia32_umount, 0, -1), PC(__NR_ia32_umount2, 0, -1),
};

/* x32 numbers of the calls whose x32 entry differs from x86_64. */
#define SAGAFS_X32_EXECVE	520
#define SAGAFS_X32_EXECVEAT	545

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
	pid_t self = READ_ONCE(sagafs.consumer_tgid);

	if ((u->flags & SAGAFS_CFG_EXCLUDE_SELF) && self && r->pid == self)
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

/* The rules' lazy access to a call's arguments and paths (see sagafs.h). */
struct sagafs_fetch {
	struct sagafs_rule_ctx ctx;
	struct pt_regs *regs;
	struct sagafs_call *call;
	char *scratch;
	u32 snaplen;
	bool have;	/* args and paths already taken (exec) */
};

static void sagafs_fetch_call(struct sagafs_rule_ctx *ctx)
{
	struct sagafs_fetch *f = container_of(ctx, struct sagafs_fetch, ctx);
	struct sagafs_call *call = f->call;

	if (call->flags & SAGAFS_RF_ENTRY_LOST) {
		memset(call->args, 0, sizeof(call->args));
		call->len[0] = 0;
		call->len[1] = 0;
		call->path[0] = f->scratch;
		call->path[1] = f->scratch;
	} else if (!f->have) {
		sagafs_get_args(f->regs, call);
		sagafs_copy_paths(call, f->scratch, f->snaplen);
	}
	ctx->fetched = true;
	ctx->args = call->args;
	ctx->path[0] = call->path[0];
	ctx->path[1] = call->path[1];
	ctx->len[0] = call->len[0];
	ctx->len[1] = call->len[1];
	ctx->flags = call->flags;
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
	struct sagafs_fetch f;
	struct sagafs_record r;
	struct sagafs_cpu *c;
	bool err;
	int ret;

	preempt_disable_notrace();
	c = &sagafs.cpus[smp_processor_id()];
	st = c->stats;
	sagafs_stats_fresh(st);
	k = rcu_dereference_sched(sagafs.conf);
	if (exec && !sagafs_stash_take(call, c->scratch))
		call->flags |= SAGAFS_RF_ENTRY_LOST;

	err = sagafs_is_error(call->ret);
	cnt = &st->slot[call->abi][call->slot];
	cnt->calls++;
	st->calls++;
	if (err) {
		cnt->errors++;
		st->errors++;
	}
	if (!sagafs_bit(k, call->abi, call->slot))
		goto filtered;

	memset(&r, 0, sizeof(r));
	r.ret = call->ret;
	r.abi = call->abi;
	r.nr = call->nr;
	sagafs_fill_ident(&r);
	if (!sagafs_pass(&k->user, &r))
		goto filtered;

	f = (struct sagafs_fetch){
		.ctx = { .rec = &r, .slot = call->slot,
			 .fetch = sagafs_fetch_call },
		.regs = regs, .call = call, .scratch = c->scratch,
		.snaplen = k->user.snaplen, .have = have_args,
	};
	if (!sagafs_rules_decide(&f.ctx))
		goto filtered;
	if (!f.ctx.fetched)
		sagafs_fetch_call(&f.ctx);
	r.type = SAGAFS_REC_SYSCALL;
	r.flags = call->flags;
	r.cpu = smp_processor_id();
	r.time_ns = ktime_get_real_fast_ns();
	memcpy(r.args, call->args, sizeof(r.args));
	r.path_len[0] = call->len[0];
	r.path_len[1] = call->len[1];
	r.key_len = f.ctx.key_len;
	r.size = ALIGN(sizeof(r) + call->len[0] + call->len[1] + r.key_len,
		       SAGAFS_RECORD_ALIGN);

	ret = sagafs_ring_write(c, &r, call->path[0], call->path[1],
				f.ctx.key, k->user.wakeup_bytes);
	if (!ret) {
		cnt->logged++;
		st->logged++;
		st->bytes += r.size;
	} else {
		cnt->dropped++;
		st->dropped++;
		if (ret == -EINVAL)
			st->bad_tail++;
	}
	preempt_enable_notrace();
	return;
filtered:
	cnt->filtered++;
	st->filtered++;
	preempt_enable_notrace();
}

static void sagafs_enter_exec(struct pt_regs *regs, struct sagafs_call *call)
{
	const struct sagafs_kconf *k;
	struct sagafs_cpu *c;

	preempt_disable_notrace();
	k = rcu_dereference_sched(sagafs.conf);
	if (sagafs_bit(k, call->abi, call->slot)) {
		c = &sagafs.cpus[smp_processor_id()];
		call->flags = 0;
		sagafs_get_args(regs, call);
		sagafs_copy_paths(call, c->scratch, k->user.snaplen);
		sagafs_stash_put(call);
	}
	preempt_enable_notrace();
}

static void sagafs_probe_enter(void *data, struct pt_regs *regs, long id)
{
	struct sagafs_call call;
	u8 kind;

	sagafs_decode(regs, &call);
	kind = sagafs_slots[call.abi][call.slot].kind;
	if (likely(kind == SAGAFS_KIND_PLAIN))
		return;
	if (!READ_ONCE(sagafs.enabled_flag))
		return;
	if (kind == SAGAFS_KIND_EXEC) {
		sagafs_enter_exec(regs, &call);
		return;
	}
	call.ret = 0;
	call.flags = SAGAFS_RF_NORETURN;
	sagafs_log(regs, &call, false, false);
}

static void sagafs_probe_exit(void *data, struct pt_regs *regs, long ret)
{
	struct sagafs_call call;
	u8 kind;

	if (!READ_ONCE(sagafs.enabled_flag))
		return;
	sagafs_decode(regs, &call);
	kind = sagafs_slots[call.abi][call.slot].kind;
	call.ret = ret;
	call.flags = 0;
	sagafs_log(regs, &call, kind == SAGAFS_KIND_EXEC,
		   kind == SAGAFS_KIND_EXEC);
}

/* ---- setup ---- */

static void sagafs_table_set(u8 abi, const struct sagafs_path_call *pc,
			     size_t n)
{
	size_t i;

	for (i = 0; i < SAGAFS_NR_SLOTS; i++) {
		sagafs_slots[abi][i].path[0] = -1;
		sagafs_slots[abi][i].path[1] = -1;
	}
	for (i = 0; i < n; i++) {
		if (pc[i].nr < 0 || pc[i].nr >= SAGAFS_SLOT_OTHER)
			continue;
		sagafs_slots[abi][pc[i].nr].path[0] = pc[i].p0;
		sagafs_slots[abi][pc[i].nr].path[1] = pc[i].p1;
	}
}

static void sagafs_table_kind(u8 abi, int nr, u8 kind)
{
	sagafs_slots[abi][nr].kind = kind;
}

static void sagafs_table_init(void)
{
	u8 x64 = SAGAFS_ABI_X86_64, x32 = SAGAFS_ABI_X32;
	u8 i32 = SAGAFS_ABI_I386;

	sagafs_table_set(x64, sagafs_paths_64, ARRAY_SIZE(sagafs_paths_64));
	sagafs_table_set(x32, sagafs_paths_64, ARRAY_SIZE(sagafs_paths_64));
	sagafs_table_set(i32, sagafs_paths_32, ARRAY_SIZE(sagafs_paths_32));
	/* x32 has its own execve/execveat; the x86_64 numbers are unused. */
	sagafs_slots[x32][__NR_execve].path[0] = -1;
	sagafs_slots[x32][__NR_execveat].path[0] = -1;
	sagafs_slots[x32][SAGAFS_X32_EXECVE].path[0] = 0;
	sagafs_slots[x32][SAGAFS_X32_EXECVEAT].path[0] = 1;

	sagafs_table_kind(x64, __NR_exit, SAGAFS_KIND_NORETURN);
	sagafs_table_kind(x64, __NR_exit_group, SAGAFS_KIND_NORETURN);
	sagafs_table_kind(x64, __NR_execve, SAGAFS_KIND_EXEC);
	sagafs_table_kind(x64, __NR_execveat, SAGAFS_KIND_EXEC);
	sagafs_table_kind(x32, __NR_exit, SAGAFS_KIND_NORETURN);
	sagafs_table_kind(x32, __NR_exit_group, SAGAFS_KIND_NORETURN);
	sagafs_table_kind(x32, SAGAFS_X32_EXECVE, SAGAFS_KIND_EXEC);
	sagafs_table_kind(x32, SAGAFS_X32_EXECVEAT, SAGAFS_KIND_EXEC);
	sagafs_table_kind(i32, __NR_ia32_exit, SAGAFS_KIND_NORETURN);
	sagafs_table_kind(i32, __NR_ia32_exit_group, SAGAFS_KIND_NORETURN);
	sagafs_table_kind(i32, __NR_ia32_execve, SAGAFS_KIND_EXEC);
	sagafs_table_kind(i32, __NR_ia32_execveat, SAGAFS_KIND_EXEC);
}

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
	sagafs_table_init();
	sagafs_mntns_ok = ((struct ns_common *)init_task.nsproxy->mnt_ns)->inum >=
			  SAGAFS_PROC_DYNAMIC_FIRST;
	if (!sagafs_mntns_ok)
		pr_warn("mount namespace layout not recognised: mntns reads 0\n");
	return 0;
}

void sagafs_capture_exit(void)
{
	kvfree(sagafs_stash);
	sagafs_stash = NULL;
}

/* Attach the probes.  Caller holds sagafs.lock. */
int sagafs_capture_start(void)
{
	int ret;

	raw_spin_lock(&sagafs_stash_lock);
	for (ret = 0; ret < SAGAFS_STASH_SLOTS; ret++)
		sagafs_stash[ret].task = NULL;
	raw_spin_unlock(&sagafs_stash_lock);

	ret = tracepoint_probe_register(sagafs_tp_enter,
					(void *)sagafs_probe_enter, NULL);
	if (ret)
		return ret;
	ret = tracepoint_probe_register(sagafs_tp_exit,
					(void *)sagafs_probe_exit, NULL);
	if (ret) {
		tracepoint_probe_unregister(sagafs_tp_enter,
					    (void *)sagafs_probe_enter, NULL);
		tracepoint_synchronize_unregister();
	}
	return ret;
}

/* Detach the probes and wait until none runs and no wake-up is queued. */
void sagafs_capture_stop(void)
{
	tracepoint_probe_unregister(sagafs_tp_exit,
				    (void *)sagafs_probe_exit, NULL);
	tracepoint_probe_unregister(sagafs_tp_enter,
				    (void *)sagafs_probe_enter, NULL);
	tracepoint_synchronize_unregister();
	sagafs_rings_sync();
}
