// SPDX-License-Identifier: GPL-2.0
/*
 * sagafs: the eBPF capture program, the module's capture without the
 * module.  Attached to the raw syscall tracepoints (BTF-enabled tp_btf
 * where the kernel has them, raw_tp otherwise; the loader picks one pair),
 * it makes the records of kmod/include/uapi/sagafs.h with the module's
 * semantics: one record per completed call, made at sys_exit; exit and
 * exit_group at entry (they never return); rt_sigreturn at entry (its
 * exit reports syscall -1); a successful execve at exit, from the new
 * image (its argv, args zero) under the number and ABI it was called
 * with; counters per CPU and per syscall; the filters of struct
 * sagafs_config; per-CPU sequence numbers so every drop is seen.
 *
 * Per task, a mark (task storage) records whether the task is inside a
 * call.  A sys_exit without sys_enter is a call seccomp or a tracer
 * skipped (flagged SAGAFS_RF_SKIPPED), or a new task's first return from
 * fork or clone (not a call: not counted).  A task first seen at sys_exit
 * after attach may be finishing a call entered before it: not flagged.
 *
 * The fast path: the syscall bitmap is the first test.  A plain call
 * (not exec, fork, sigreturn or noreturn, number in range) that the
 * bitmap leaves out is counted (calls, errors, filtered) and nothing
 * more: no mark is looked up or kept.  So a skipped call of such a number
 * is not told from a completed one: SAGAFS_RF_SKIPPED and the skipped
 * counter cover the calls the bitmap selects.
 *
 * What the module does and this program cannot: d_path() is not allowed
 * in tracepoint programs, so the path of a file a call opened is the
 * caller's string (read at exit), and a successful execve has no path 0;
 * both are flagged SAGAFS_RF_UNRESOLVED where the module would set
 * SAGAFS_RF_PATH0_RESOLVED.
 *
 * Preemption is off while the program runs (tracepoint or its BPF glue),
 * so one CPU's state has one writer at a time.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kernel_types.h"
#include "sagafs_bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SAGAFS_X32_BIT		0x40000000L
#define SAGAFS_ERR_MIN		(-4095L)
#define SAGAFS_COPY_MAX		(SAGAFS_SNAPLEN_MAX + 2)

struct ring_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SAGAFS_RING_KB_MIN * 1024);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);		/* the loader sets nr_cpus */
	__type(key, __u32);
	__array(values, struct ring_map);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);		/* nr_cpus */
	__type(key, __u32);
	__type(value, struct sagafs_bpf_cpu);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);		/* nr_cpus * SAGAFS_BPF_SLOTS */
	__type(key, __u32);
	__type(value, struct sagafs_counts);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SAGAFS_BPF_SLOTS);
	__type(key, __u32);
	__type(value, struct sagafs_bpf_slot);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sagafs_bpf_config);
} configs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sagafs_bpf_ctl);
} control SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sagafs_bpf_task);
} marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sagafs_bpf_scratch);
} scratch SEC(".maps");

/* The decoded call, passed to log_call() on the stack. */
struct sagafs_call {
	__s64 ret;
	__s32 nr;
	__u32 abi;
	__u32 slot;
	__u32 key;		/* abi * SAGAFS_NR_SLOTS + slot */
	__u32 flags;		/* SAGAFS_RF_* known before logging */
	__u32 exec_exit;	/* exit of a successful execve: the new image */
};

/* Keeps the compiler from moving stores across it. */
static __always_inline void sagafs_barrier(void)
{
	asm volatile("" ::: "memory");
}

/*
 * v, at most max, in a form every verifier since 5.15 bounds: the barrier
 * keeps the compiler from dropping a check it can prove redundant, which
 * leaves older verifiers with an unbounded size.
 */
static __always_inline __u64 sagafs_clamp(__u64 v, __u64 max)
{
	barrier_var(v);
	if (v > max)
		v = max;
	return v;
}

static __always_inline int sagafs_is_error(__s64 ret)
{
	return ret >= SAGAFS_ERR_MIN && ret < 0;
}

static __always_inline void sagafs_decode(struct task_struct *t, long id,
					  struct sagafs_call *c)
{
	__u32 slot = (__u32)id;

	c->nr = (__s32)id;
	if (t->thread_info.status & SAGAFS_TS_COMPAT) {
		c->abi = SAGAFS_ABI_I386;
	} else if (id >= 0 && (id & SAGAFS_X32_BIT)) {
		c->abi = SAGAFS_ABI_X32;
		slot = (__u32)(id & ~SAGAFS_X32_BIT);
	} else {
		c->abi = SAGAFS_ABI_X86_64;
	}
	if (id < 0 || slot >= SAGAFS_SLOT_OTHER)
		slot = SAGAFS_SLOT_OTHER;
	c->slot = slot;
	c->key = c->abi * SAGAFS_NR_SLOTS + slot;
}

/* The six argument registers of the ABI, as syscall_get_arguments(). */
static __always_inline void sagafs_get_args(struct task_struct *t, __u32 abi,
					    __u64 *a)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);

	if (abi == SAGAFS_ABI_I386) {
		a[0] = (__u32)regs->bx;
		a[1] = (__u32)regs->cx;
		a[2] = (__u32)regs->dx;
		a[3] = (__u32)regs->si;
		a[4] = (__u32)regs->di;
		a[5] = (__u32)regs->bp;
	} else {
		a[0] = regs->di;
		a[1] = regs->si;
		a[2] = regs->dx;
		a[3] = regs->r10;
		a[4] = regs->r8;
		a[5] = regs->r9;
	}
}

static __always_inline int sagafs_bit(const struct sagafs_bpf_config *cfg,
				      __u32 abi, __u32 slot)
{
	if (abi >= SAGAFS_NR_ABIS || slot >= SAGAFS_NR_SLOTS)
		return 0;
	return (cfg->eff[abi][slot / 64] >> (slot % 64)) & 1;
}

/*
 * Copy the user string at src to dst: at most snaplen bytes, one more read
 * to tell a cut string, without faulting pages in.  Returns the length
 * kept and sets the path's flags.
 */
static __always_inline __u32 sagafs_copy_path(char *dst, __u64 src,
					      __u32 snaplen, __u32 *flags,
					      int i)
{
	__u64 size = sagafs_clamp((__u64)snaplen + 2, SAGAFS_COPY_MAX);
	long n;

	n = bpf_probe_read_user_str(dst, size, (const void *)src);
	if (n < 0) {
		*flags |= i ? SAGAFS_RF_PATH1_FAULT : SAGAFS_RF_PATH0_FAULT;
		return 0;
	}
	n = n > 0 ? n - 1 : 0;
	if (n > snaplen) {
		*flags |= i ? SAGAFS_RF_PATH1_TRUNC : SAGAFS_RF_PATH0_TRUNC;
		n = snaplen;
	}
	*flags |= i ? SAGAFS_RF_PATH1 : SAGAFS_RF_PATH0;
	return n;
}

/* pid and tid as the task's own pid namespace sees them, and its inode. */
static __always_inline void sagafs_fill_ns(struct sagafs_record *r,
					   struct task_struct *t)
{
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	struct pid *gp = BPF_CORE_READ(t, signal, pids[SAGAFS_PIDTYPE_TGID]);
	unsigned int level = BPF_CORE_READ(tp, level) & 31;
	struct upid up = {}, gup = {};

	bpf_core_read(&up, sizeof(up), &tp->numbers[level]);
	bpf_core_read(&gup, sizeof(gup), &gp->numbers[level]);
	r->ns_tid = up.nr;
	r->ns_pid = gup.ns == up.ns ? gup.nr : 0;
	r->pidns = BPF_CORE_READ(up.ns, ns.inum);
	r->mntns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	r->cgroup_id = bpf_get_current_cgroup_id();
}

static __always_inline void sagafs_fill_ident(struct sagafs_record *r,
					      struct task_struct *t)
{
	__u64 pt = bpf_get_current_pid_tgid();
	const struct cred *cred = t->cred;

	r->pid = pt >> 32;
	r->tid = (__u32)pt;
	r->ppid = t->real_parent->tgid;
	r->uid = cred->uid.val;
	r->gid = cred->gid.val;
	r->euid = cred->euid.val;
	r->egid = cred->egid.val;
	if (bpf_core_field_exists(t->loginuid))
		r->loginuid = t->loginuid.val;
	else
		r->loginuid = (__u32)-1;
	/* bpf_get_current_comm() does not pad: the filters compare 16 bytes. */
	*(__u64 *)&r->comm[0] = 0;
	*(__u64 *)&r->comm[8] = 0;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	sagafs_fill_ns(r, t);
}

static __always_inline int sagafs_in_ids(const __u32 *ids, __u32 n, __u32 id)
{
	__u32 i;

	for (i = 0; i < SAGAFS_MAX_IDS; i++) {
		if (i >= n)
			break;
		if (ids[i] == id)
			return 1;
	}
	return 0;
}

static __always_inline int sagafs_in_comms(const char (*comms)[SAGAFS_COMM_LEN],
					   __u32 n, const char *comm)
{
	__u64 a = *(const __u64 *)comm, b = *(const __u64 *)(comm + 8);
	__u32 i;

	for (i = 0; i < SAGAFS_MAX_COMMS; i++) {
		if (i >= n)
			break;
		if (*(const __u64 *)comms[i] == a &&
		    *(const __u64 *)(comms[i] + 8) == b)
			return 1;
	}
	return 0;
}

/* The filters after the syscall bitmap, in the module's order. */
static __always_inline int sagafs_pass(const struct sagafs_bpf_config *cfg,
				       const struct sagafs_record *r)
{
	const struct sagafs_config *u = &cfg->user;

	if ((u->flags & SAGAFS_CFG_EXCLUDE_SELF) && cfg->self_tgid &&
	    r->pid == cfg->self_tgid)
		return 0;
	if (u->nr_pids && !sagafs_in_ids(u->pids, u->nr_pids, r->pid))
		return 0;
	if (sagafs_in_ids(u->exclude_pids, u->nr_exclude_pids, r->pid))
		return 0;
	if (u->nr_uids && !sagafs_in_ids(u->uids, u->nr_uids, r->uid))
		return 0;
	if (sagafs_in_ids(u->exclude_uids, u->nr_exclude_uids, r->uid))
		return 0;
	if (u->nr_comms && !sagafs_in_comms(u->comms, u->nr_comms, r->comm))
		return 0;
	if (sagafs_in_comms(u->exclude_comms, u->nr_exclude_comms, r->comm))
		return 0;
	if (u->result == SAGAFS_RESULT_SUCCESS && sagafs_is_error(r->ret))
		return 0;
	if (u->result == SAGAFS_RESULT_FAILURE && !sagafs_is_error(r->ret))
		return 0;
	return 1;
}

/* CLOCK_REALTIME, as the module's ktime_get_real_fast_ns(). */
static __always_inline __u64 sagafs_now(const struct sagafs_bpf_ctl *ctl)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_tai_ns))
		return bpf_ktime_get_tai_ns() - ctl->tai_offset_ns;
	return bpf_ktime_get_ns() + ctl->mono_offset_ns;
}

/* The new image's argv (NUL separated) as path 1 of a successful execve. */
static __always_inline __u32 sagafs_copy_argv(char *dst, struct task_struct *t,
					      __u32 snaplen, __u32 *flags)
{
	struct mm_struct *mm = t->mm;
	__u64 start, len;

	if (!mm)
		return 0;
	start = mm->arg_start;
	len = mm->arg_end - start;
	if (len > snaplen) {
		*flags |= SAGAFS_RF_PATH1_TRUNC;
		len = snaplen;
	}
	len = sagafs_clamp(len, SAGAFS_SNAPLEN_MAX);
	if (len && bpf_probe_read_user(dst, len, (const void *)start)) {
		*flags |= SAGAFS_RF_PATH1_FAULT;
		return 0;
	}
	*flags |= SAGAFS_RF_PATH1 | SAGAFS_RF_ARGV;
	return len;
}

/* Args and paths of a call whose registers and memory are still there. */
static __always_inline void sagafs_take_live(struct sagafs_bpf_scratch *s,
					     struct task_struct *t,
					     struct sagafs_call *c,
					     const struct sagafs_bpf_slot *si,
					     __u32 snaplen, __u32 *len0,
					     __u32 *len1)
{
	__u32 i0 = si->path[0], i1 = si->path[1];
	__u64 *args = s->rec.args, l0 = 0, l1 = 0;

	sagafs_get_args(t, c->abi, args);
	/* path[] is -1 (no path) or an argument index. */
	if (snaplen && i0 < 6)
		l0 = sagafs_copy_path(s->paths, args[i0], snaplen, &c->flags, 0);
	l0 = sagafs_clamp(l0, SAGAFS_SNAPLEN_MAX);
	if (snaplen && i1 < 6)
		l1 = sagafs_copy_path(s->paths + l0, args[i1], snaplen, &c->flags, 1);
	if ((si->flags & SAGAFS_BPF_FD_PATH) && c->ret >= 0 &&
	    (c->flags & SAGAFS_RF_PATH0))
		c->flags |= SAGAFS_RF_UNRESOLVED;
	*len0 = l0;
	*len1 = l1;
}

/*
 * A successful execve: the registers and memory are the new image's, so
 * args are zero, path 1 is its argv, and path 0, the program the module
 * resolves, cannot be had (SAGAFS_RF_UNRESOLVED).
 */
static __always_inline void sagafs_take_exec(struct sagafs_bpf_scratch *s,
					     struct task_struct *t,
					     struct sagafs_call *c,
					     __u32 snaplen, __u32 *len1)
{
	int i;

	for (i = 0; i < 6; i++)
		s->rec.args[i] = 0;
	c->flags |= SAGAFS_RF_UNRESOLVED;
	*len1 = snaplen ? sagafs_copy_argv(s->paths, t, snaplen, &c->flags) : 0;
}

/* Offer the record to this CPU's ring; returns 0 if it was written. */
static __always_inline long sagafs_output(__u32 cpu, void *rec, __u64 size,
					  __u32 wakeup_bytes)
{
	void *ring = bpf_map_lookup_elem(&rings, &cpu);
	__u64 avail, wf = 0;

	if (!ring)
		return -1;
	if (wakeup_bytes) {
		avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
		wf = avail <= wakeup_bytes && avail + size > wakeup_bytes ?
		     BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	}
	size = sagafs_clamp(size, sizeof(struct sagafs_bpf_scratch));
	return bpf_ringbuf_output(ring, rec, size, wf);
}

/*
 * Count, filter and log one call.  c carries abi/slot/nr/ret and the flags
 * known so far.
 */
static __noinline int sagafs_log(struct sagafs_call *c)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0, active, idx;
	const struct sagafs_bpf_config *cfg;
	const struct sagafs_bpf_slot *si;
	struct sagafs_bpf_scratch *s;
	struct sagafs_bpf_ctl *ctl;
	struct sagafs_bpf_cpu *cs;
	struct sagafs_counts *cnt;
	struct sagafs_record *r;
	__u32 snaplen, len0 = 0, len1 = 0;
	__u64 seq, end, size;
	int err;

	ctl = bpf_map_lookup_elem(&control, &zero);
	if (!ctl)
		return 0;
	active = ctl->active & 1;
	cfg = bpf_map_lookup_elem(&configs, &active);
	cs = bpf_map_lookup_elem(&cpus, &cpu);
	idx = cpu * SAGAFS_BPF_SLOTS + c->key;
	cnt = bpf_map_lookup_elem(&counts, &idx);
	si = bpf_map_lookup_elem(&slots, &c->key);
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!cfg || !cs || !cnt || !si || !s)
		return 0;

	err = sagafs_is_error(c->ret);
	cnt->calls++;
	cs->calls++;
	if (err) {
		cnt->errors++;
		cs->errors++;
	}
	if (c->flags & SAGAFS_RF_SKIPPED)
		cnt->skipped++;
	if (!sagafs_bit(cfg, c->abi, c->slot))
		goto filtered;

	r = &s->rec;
	r->ret = c->ret;
	sagafs_fill_ident(r, t);
	if (!sagafs_pass(cfg, r))
		goto filtered;

	snaplen = cfg->user.snaplen;
	if (snaplen > SAGAFS_SNAPLEN_MAX)
		snaplen = SAGAFS_SNAPLEN_MAX;
	if (c->exec_exit)
		sagafs_take_exec(s, t, c, snaplen, &len1);
	else
		sagafs_take_live(s, t, c, si, snaplen, &len0, &len1);
	len0 = sagafs_clamp(len0, SAGAFS_SNAPLEN_MAX);
	len1 = sagafs_clamp(len1, SAGAFS_SNAPLEN_MAX);
	end = sagafs_clamp((__u64)len0 + len1, 2 * SAGAFS_SNAPLEN_MAX);
	/* Zero padding up to the next multiple of 8. */
	*(__u64 *)(s->paths + end) = 0;
	size = (sizeof(*r) + end + SAGAFS_RECORD_ALIGN - 1) &
	       ~(SAGAFS_RECORD_ALIGN - 1);
	size = sagafs_clamp(size, sizeof(*s));

	r->size = size;
	r->type = SAGAFS_REC_SYSCALL;
	r->flags = c->flags;
	r->abi = c->abi;
	r->key_len = 0;
	r->__pad0 = 0;
	r->cpu = cpu;
	r->nr = c->nr;
	r->__pad1 = 0;
	r->time_ns = sagafs_now(ctl);
	r->path_len[0] = len0;
	r->path_len[1] = len1;
	r->__pad2 = 0;

	seq = cs->next_seq;
	r->seq = seq;
	if (!sagafs_output(cpu, s, size, cfg->user.wakeup_bytes)) {
		cnt->logged++;
		cs->logged++;
		cs->bytes += size;
	} else {
		cnt->dropped++;
		cs->dropped++;
	}
	/* After the ring buffer committed or refused the record. */
	sagafs_barrier();
	cs->next_seq = seq + 1;
	goto out;
filtered:
	cnt->filtered++;
	cs->filtered++;
out:
	return 0;
}

static __always_inline struct sagafs_bpf_ctl *sagafs_ctl(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&control, &zero);
}

static __always_inline void sagafs_untracked(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct sagafs_bpf_cpu *cs = bpf_map_lookup_elem(&cpus, &cpu);

	if (cs)
		cs->untracked++;
}

/*
 * Whether a call needs its task's mark: its kind is not plain, its number
 * is out of range (-1: a cancelled call, or a sigreturn's exit), an exec
 * of the other ABI may exit under it, or the syscall bitmap selects it.
 */
static __always_inline int sagafs_tracked(const struct sagafs_bpf_ctl *ctl,
					  const struct sagafs_bpf_slot *si,
					  const struct sagafs_call *c)
{
	__u32 active = ctl->active & 1;
	const struct sagafs_bpf_config *cfg;

	if (si->kind != SAGAFS_BPF_PLAIN || (si->flags & SAGAFS_BPF_TRACK) ||
	    c->slot == SAGAFS_SLOT_OTHER)
		return 1;
	cfg = bpf_map_lookup_elem(&configs, &active);
	return cfg && sagafs_bit(cfg, c->abi, c->slot);
}

/* Count a call the bitmap leaves out, without a record or a mark. */
static __always_inline int sagafs_count_only(const struct sagafs_call *c)
{
	__u32 cpu = bpf_get_smp_processor_id(), idx;
	struct sagafs_counts *cnt;
	struct sagafs_bpf_cpu *cs;

	idx = cpu * SAGAFS_BPF_SLOTS + c->key;
	cnt = bpf_map_lookup_elem(&counts, &idx);
	cs = bpf_map_lookup_elem(&cpus, &cpu);
	if (!cnt || !cs)
		return 0;
	cnt->calls++;
	cnt->filtered++;
	cs->calls++;
	cs->filtered++;
	if (sagafs_is_error(c->ret)) {
		cnt->errors++;
		cs->errors++;
	}
	return 0;
}

static __always_inline int sagafs_enter(long id)
{
	struct task_struct *t = bpf_get_current_task_btf();
	const struct sagafs_bpf_slot *si;
	struct sagafs_bpf_task *m;
	struct sagafs_bpf_ctl *ctl;
	struct sagafs_call c = {};

	ctl = sagafs_ctl();
	if (!ctl)
		return 0;
	sagafs_decode(t, id, &c);
	si = bpf_map_lookup_elem(&slots, &c.key);
	if (!si || !sagafs_tracked(ctl, si, &c))
		return 0;
	m = bpf_task_storage_get(&marks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (m) {
		m->epoch = ctl->epoch;
		m->key = c.key;
		m->nr = c.nr;
		m->state = SAGAFS_BPF_IN;
	} else {
		sagafs_untracked();
	}
	if (si->kind == SAGAFS_BPF_NORETURN ||
	    si->kind == SAGAFS_BPF_SIGRETURN) {
		c.ret = 0;
		c.flags = SAGAFS_RF_NORETURN;
		return sagafs_log(&c);
	}
	return 0;
}

static __always_inline int sagafs_exit(long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	const struct sagafs_bpf_slot *si, *entered;
	struct sagafs_bpf_task *m;
	struct sagafs_bpf_ctl *ctl;
	struct sagafs_call c = {};

	ctl = sagafs_ctl();
	if (!ctl)
		return 0;
	sagafs_decode(t, regs->orig_ax, &c);
	si = bpf_map_lookup_elem(&slots, &c.key);
	if (!si)
		return 0;
	c.ret = ret;
	if (!sagafs_tracked(ctl, si, &c))
		return sagafs_count_only(&c);
	m = bpf_task_storage_get(&marks, t, 0, 0);
	if (m && m->epoch == ctl->epoch) {
		if (m->state != SAGAFS_BPF_IN) {
			c.flags |= SAGAFS_RF_SKIPPED;
		} else {
			m->state = SAGAFS_BPF_OUT;
			entered = bpf_map_lookup_elem(&slots, &m->key);
			if (!entered)
				return 0;
			/* Counted at entry: its exit reports syscall -1. */
			if (entered->kind == SAGAFS_BPF_SIGRETURN)
				return 0;
			/*
			 * A successful exec may have changed the ABI (the new
			 * image's): the call is the one entered.
			 */
			if (entered->kind == SAGAFS_BPF_EXEC && ret == 0) {
				c.key = m->key % SAGAFS_BPF_SLOTS;
				c.abi = c.key / SAGAFS_NR_SLOTS;
				c.slot = c.key % SAGAFS_NR_SLOTS;
				c.nr = m->nr;
				c.exec_exit = 1;
			}
		}
	} else {
		m = bpf_task_storage_get(&marks, t, 0,
					 BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (m) {
			m->epoch = ctl->epoch;
			m->key = c.key;
			m->nr = c.nr;
			m->state = SAGAFS_BPF_OUT;
		} else {
			sagafs_untracked();
		}
		/* A new task's first return from fork/clone: no call of its own. */
		if (si->kind == SAGAFS_BPF_FORK && ret == 0)
			return 0;
	}
	return sagafs_log(&c);
}

SEC("tp_btf/sys_enter")
int sagafs_enter_btf(__u64 *ctx)
{
	return sagafs_enter((long)ctx[1]);
}

SEC("tp_btf/sys_exit")
int sagafs_exit_btf(__u64 *ctx)
{
	return sagafs_exit((long)ctx[1]);
}

SEC("raw_tp/sys_enter")
int sagafs_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return sagafs_enter((long)ctx->args[1]);
}

SEC("raw_tp/sys_exit")
int sagafs_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return sagafs_exit((long)ctx->args[1]);
}
