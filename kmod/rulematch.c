// SPDX-License-Identifier: GPL-2.0
/*
 * sagafs: rule evaluation.  sagafs_rules_decide() runs in the syscall
 * tracepoints with preemption disabled and takes no lock: a call none of
 * the rules applies to costs one test of the union of their bitmaps; the
 * executable's path and the cgroup path are built at most once per call,
 * in this CPU's buffer, and only when a condition needs them.
 *
 * The cgroup path comes from the task's cgroup v2 ancestors
 * (cgroup->ancestors[], kernfs_node->name): under RCU the css_set and every
 * cgroup it reaches stay allocated, each cgroup holds its kernfs_node
 * until it is freed after a grace period, and cgroup v2 cannot rename, so
 * the names are stable.  The same holds on PREEMPT_RT, where the probe's
 * preemption-disabled section is still an RCU reader.  d_path of the
 * executable walks locklessly unless a rename races with it; then it
 * retries holding rename_lock (a sleeping lock on PREEMPT_RT).
 */
#include <linux/kernel.h>
#include <linux/cgroup.h>
#include <linux/ctype.h>
#include <linux/dcache.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <asm/unistd.h>
#include <asm/unistd_32_ia32.h>
#include "rules.h"

#define SAGAFS_CTR_HEX		64

/* Per-call state of the values built on demand. */
struct sagafs_lazy {
	struct sagafs_rule_ctx *ctx;
	bool exe_done, cg_done;
	const char *exe, *cg, *ctr;
	size_t exe_len, cg_len, ctr_len;
};

static inline bool sagafs_rule_bit(const u64 (*map)[SAGAFS_BITMAP_WORDS],
				   u8 abi, u32 slot)
{
	return (map[abi][slot / 64] >> (slot % 64)) & 1;
}

static char *sagafs_this_buf(void)
{
	return sagafs_rule_buf[smp_processor_id()];
}

/*
 * EQ, PREFIX or DIR of value v (vlen bytes; cut: the start of a longer
 * value) against s (n >= 1 bytes).  A cut value matches only where its
 * bytes decide.
 */
static bool sagafs_str_match(u16 op, const char *v, size_t vlen, bool cut,
			     const char *s, size_t n)
{
	if (!v || vlen < n || memcmp(v, s, n))
		return false;
	if (op == SAGAFS_OP_PREFIX)
		return true;
	if (vlen == n)
		return !cut || (op == SAGAFS_OP_DIR && s[n - 1] == '/');
	return op == SAGAFS_OP_DIR && (s[n - 1] == '/' || v[n] == '/');
}

static void sagafs_lazy_exe(struct sagafs_lazy *lz)
{
	struct mm_struct *mm = current->mm;
	char *buf, *p;
	struct file *f;

	lz->exe_done = true;
	if (!mm || (current->flags & PF_KTHREAD))
		return;
	rcu_read_lock();
	f = rcu_dereference(mm->exe_file);
	if (f && !get_file_rcu(f))
		f = NULL;
	rcu_read_unlock();
	if (!f)
		return;
	buf = sagafs_this_buf();
	p = d_path(&f->f_path, buf, SAGAFS_RULE_BUF_HALF);
	/* Not the last reference in practice; if it is, task work frees it. */
	fput(f);
	if (IS_ERR(p))
		return;
	lz->exe = p;
	lz->exe_len = buf + SAGAFS_RULE_BUF_HALF - 1 - p;
}

static bool sagafs_hex64(const char *s, size_t n)
{
	size_t i;

	if (n != SAGAFS_CTR_HEX)
		return false;
	for (i = 0; i < n; i++) {
		if (!isdigit(s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return false;
	}
	return true;
}

static const char * const sagafs_ctr_prefixes[] = {
	"docker-", "cri-containerd-", "crio-", "libpod-",
};

/* The container id a cgroup name carries (see the UAPI header). */
static bool sagafs_ctr_id(const char *name, size_t n, const char **id,
			  size_t *len)
{
	bool scope = n > 6 && !memcmp(name + n - 6, ".scope", 6);
	size_t base = scope ? n - 6 : n, pl;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sagafs_ctr_prefixes); i++) {
		pl = strlen(sagafs_ctr_prefixes[i]);
		if (base > pl && !memcmp(name, sagafs_ctr_prefixes[i], pl) &&
		    sagafs_hex64(name + pl, base - pl)) {
			*id = name + pl;
			*len = base - pl;
			return true;
		}
	}
	if (scope && base > 8 && !memcmp(name, "machine-", 8)) {
		*id = name + 8;
		*len = base - 8;
		return true;
	}
	if (sagafs_hex64(name, n)) {
		*id = name;
		*len = n;
		return true;
	}
	return false;
}

#ifdef CONFIG_CGROUPS
/* "/" then each ancestor's name below the root; false if it does not fit. */
static bool sagafs_cgroup_path(char *p, size_t cap, size_t *plen,
			       const char **ctr, size_t *ctr_len)
{
	struct cgroup *cg = task_dfl_cgroup(current);
	const char *name;
	size_t len = 0, n;
	int i;

	for (i = 1; i <= cg->level; i++) {
		name = cg->ancestors[i]->kn->name;
		n = strnlen(name, cap);
		if (len + 1 + n > cap)
			return false;
		p[len++] = '/';
		memcpy(p + len, name, n);
		sagafs_ctr_id(p + len, n, ctr, ctr_len);
		len += n;
	}
	if (!len)
		p[len++] = '/';
	*plen = len;
	return true;
}
#else
static bool sagafs_cgroup_path(char *p, size_t cap, size_t *plen,
			       const char **ctr, size_t *ctr_len)
{
	p[0] = '/';
	*plen = 1;
	return true;
}
#endif

static void sagafs_lazy_cgroup(struct sagafs_lazy *lz)
{
	char *p = sagafs_this_buf() + SAGAFS_RULE_BUF_HALF;
	const char *ctr = NULL;
	size_t len, ctr_len = 0;

	lz->cg_done = true;
	rcu_read_lock();
	if (sagafs_cgroup_path(p, SAGAFS_RULE_BUF_HALF, &len, &ctr, &ctr_len)) {
		lz->cg = p;
		lz->cg_len = len;
		lz->ctr = ctr;
		lz->ctr_len = ctr_len;
	}
	rcu_read_unlock();
}

/* Which argument of an open-family call holds its flags. */
enum sagafs_open_kind {
	SAGAFS_OPEN_NONE = -1,	/* not an open-family call */
	SAGAFS_OPEN_CREAT = -2,	/* creat: write */
	SAGAFS_OPEN_HOW = -3,	/* openat2: flags in user memory */
};

static int sagafs_open_kind(u8 abi, u32 slot)
{
	int nr = slot;

	if (abi == SAGAFS_ABI_I386) {
		if (nr == __NR_ia32_open)
			nr = __NR_open;
		else if (nr == __NR_ia32_openat)
			nr = __NR_openat;
		else if (nr == __NR_ia32_creat)
			nr = __NR_creat;
		else if (nr == __NR_ia32_openat2)
			nr = __NR_openat2;
		else if (nr == __NR_ia32_open_by_handle_at)
			nr = __NR_open_by_handle_at;
		else
			return SAGAFS_OPEN_NONE;
	}
	switch (nr) {
	case __NR_open:
		return 1;
	case __NR_openat:
	case __NR_open_by_handle_at:
		return 2;
	case __NR_creat:
		return SAGAFS_OPEN_CREAT;
	case __NR_openat2:
		return SAGAFS_OPEN_HOW;
	default:
		return SAGAFS_OPEN_NONE;
	}
}

static void sagafs_lazy_fetch(struct sagafs_lazy *lz)
{
	if (!lz->ctx->fetched)
		lz->ctx->fetch(lz->ctx);
}

/*
 * PERM: the access an open-family call's flags ask for intersects mask;
 * any other call holds (the rule's bitmap restricts it).
 */
static bool sagafs_perm_holds(struct sagafs_lazy *lz, u64 mask)
{
	static const u8 acc[4] = { SAGAFS_PERM_R, SAGAFS_PERM_W,
				   SAGAFS_PERM_R | SAGAFS_PERM_W,
				   SAGAFS_PERM_R | SAGAFS_PERM_W };
	int kind = sagafs_open_kind(lz->ctx->rec->abi, lz->ctx->slot);
	unsigned long flags;

	switch (kind) {
	case SAGAFS_OPEN_NONE:
		return true;
	case SAGAFS_OPEN_CREAT:
		return mask & SAGAFS_PERM_W;
	case SAGAFS_OPEN_HOW:
		return mask & (SAGAFS_PERM_R | SAGAFS_PERM_W);
	}
	sagafs_lazy_fetch(lz);
	flags = lz->ctx->args[kind];
	return mask & (acc[flags & O_ACCMODE] |
		       (flags & O_TRUNC ? SAGAFS_PERM_W : 0));
}

static bool sagafs_path_holds(struct sagafs_lazy *lz, u16 op, const char *s,
			      size_t n)
{
	const struct sagafs_rule_ctx *ctx = lz->ctx;
	static const u32 got[2] = { SAGAFS_RF_PATH0, SAGAFS_RF_PATH1 };
	static const u32 cut[2] = { SAGAFS_RF_PATH0_TRUNC,
				    SAGAFS_RF_PATH1_TRUNC };
	int i;

	sagafs_lazy_fetch(lz);
	for (i = 0; i < 2; i++) {
		if (!(ctx->flags & got[i]) || (i && (ctx->flags & SAGAFS_RF_ARGV)))
			continue;
		if (sagafs_str_match(op, ctx->path[i], ctx->len[i],
				     ctx->flags & cut[i], s, n))
			return true;
	}
	return false;
}

static bool sagafs_range(const struct sagafs_rule_cond *c, u64 v)
{
	return v >= c->lo && v <= c->hi;
}

static bool sagafs_num_holds(const struct sagafs_rule_cond *c,
			     const struct sagafs_record *rec)
{
	switch (c->field) {
	case SAGAFS_FIELD_UID:
		return sagafs_range(c, rec->uid);
	case SAGAFS_FIELD_EUID:
		return sagafs_range(c, rec->euid);
	case SAGAFS_FIELD_GID:
		return sagafs_range(c, rec->gid);
	case SAGAFS_FIELD_AUID:
		return sagafs_range(c, rec->loginuid);
	case SAGAFS_FIELD_PID:
		return sagafs_range(c, rec->pid);
	case SAGAFS_FIELD_PPID:
		return sagafs_range(c, rec->ppid);
	case SAGAFS_FIELD_RESULT:
		return rec->ret >= (s64)c->lo && rec->ret <= (s64)c->hi;
	default:	/* SAGAFS_FIELD_PIDNS */
		return sagafs_range(c, rec->pidns);
	}
}

static bool sagafs_str_holds(const struct sagafs_ruleset *rs,
			     const struct sagafs_rule_cond *c,
			     struct sagafs_lazy *lz)
{
	const char *s = rs->strings + c->str_off;
	u16 op = c->op & ~SAGAFS_OP_NOT;
	const char *comm;

	switch (c->field) {
	case SAGAFS_FIELD_COMM:
		comm = lz->ctx->rec->comm;
		return sagafs_str_match(op, comm, strnlen(comm, SAGAFS_COMM_LEN),
					false, s, c->str_len);
	case SAGAFS_FIELD_CGROUP:
	case SAGAFS_FIELD_CONTAINER:
		if (!lz->cg_done)
			sagafs_lazy_cgroup(lz);
		if (c->field == SAGAFS_FIELD_CGROUP)
			return sagafs_str_match(op, lz->cg, lz->cg_len, false,
						s, c->str_len);
		if (op == SAGAFS_OP_EXISTS)
			return !!lz->ctr;
		return sagafs_str_match(op, lz->ctr, lz->ctr_len, false, s,
					c->str_len);
	case SAGAFS_FIELD_EXE:
		if (!lz->exe_done)
			sagafs_lazy_exe(lz);
		return sagafs_str_match(op, lz->exe, lz->exe_len, false, s,
					c->str_len);
	default:	/* SAGAFS_FIELD_PATH */
		return sagafs_path_holds(lz, op, s, c->str_len);
	}
}

static bool sagafs_cond_holds(const struct sagafs_ruleset *rs,
			      const struct sagafs_rule_cond *c,
			      struct sagafs_lazy *lz)
{
	bool hit;

	if (c->field <= SAGAFS_FIELD_PIDNS)
		hit = sagafs_num_holds(c, lz->ctx->rec);
	else if (c->field == SAGAFS_FIELD_PERM)
		hit = sagafs_perm_holds(lz, c->lo);
	else
		hit = sagafs_str_holds(rs, c, lz);
	return c->op & SAGAFS_OP_NOT ? !hit : hit;
}

static bool sagafs_rule_holds(const struct sagafs_ruleset *rs, u32 i,
			      struct sagafs_lazy *lz)
{
	const struct sagafs_rule_cond *c = rs->conds + rs->first[i];
	u32 j;

	for (j = 0; j < rs->rules[i].nr_conds; j++) {
		if (!sagafs_cond_holds(rs, &c[j], lz))
			return false;
	}
	return true;
}

static void sagafs_hit(const struct sagafs_ruleset *rs, u32 i)
{
	u64 *h = this_cpu_ptr(rs->hits);

	WRITE_ONCE(h[i], h[i] + 1);
}

/*
 * Called by the capture path with preemption disabled, once a call has
 * passed the configuration's filters: true to log it (with ctx->key),
 * false to leave it out (counted as filtered by the caller).
 */
bool sagafs_rules_decide(struct sagafs_rule_ctx *ctx)
{
	const struct sagafs_ruleset *rs = rcu_dereference_sched(sagafs_ruleset);
	struct sagafs_lazy lz = { .ctx = ctx };
	u8 abi = ctx->rec->abi;
	u32 i;

	ctx->key = NULL;
	ctx->key_len = 0;
	if (!sagafs_rule_bit(rs->any, abi, ctx->slot))
		goto deflt;
	for (i = 0; i < rs->nr_rules; i++) {
		const struct sagafs_rule *r = &rs->rules[i];

		if (!sagafs_rule_bit(r->syscalls, abi, ctx->slot) ||
		    !sagafs_rule_holds(rs, i, &lz))
			continue;
		sagafs_hit(rs, i);
		if (r->action == SAGAFS_RULE_NEVER)
			return false;
		ctx->key = rs->strings + r->key_off;
		ctx->key_len = r->key_len;
		return true;
	}
deflt:
	sagafs_hit(rs, rs->nr_rules);
	return !(rs->flags & SAGAFS_RULES_DEFAULT_NEVER);
}
