// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: rule sets.  A set arrives from SET_RULES as three arrays (rules,
 * conditions, strings), is validated completely (every offset and length
 * checked before it is used) before anything changes, and is published
 * with RCU; the set it replaces is freed after a grace period (by an RCU
 * work item, so SET_RULES does not wait for one), or later by the last
 * GET_RULES still copying it out.  rulematch.c evaluates it.
 */
#include <linux/kernel.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "rules.h"

#define sagafs_rules_reject(fmt, ...) \
	pr_debug("SET_RULES rejected: " fmt "\n", ##__VA_ARGS__)

struct sagafs_ruleset __rcu *sagafs_ruleset;
char **sagafs_rule_buf;
static u64 sagafs_rules_generation;	/* under sagafs.lock */
static struct workqueue_struct *sagafs_rules_wq;	/* retires old sets */

/* ---- sets: allocation and release ---- */

static void sagafs_ruleset_free(struct sagafs_ruleset *rs)
{
	free_percpu(rs->hits);
	kvfree(rs->rules);
	kfree(rs);
}

static void sagafs_ruleset_release(struct kref *ref)
{
	sagafs_ruleset_free(container_of(ref, struct sagafs_ruleset, ref));
}

/*
 * A grace period after the set was replaced no probe sees it any more;
 * this runs then, in process context, on sagafs_rules_wq.
 */
static void sagafs_ruleset_retire(struct work_struct *work)
{
	struct sagafs_ruleset *rs = container_of(to_rcu_work(work),
						 struct sagafs_ruleset, retire);

	kref_put(&rs->ref, sagafs_ruleset_release);
}

/* One allocation holds the rules, the conditions, first[] and strings. */
static struct sagafs_ruleset *sagafs_ruleset_alloc(u32 nr_rules, u32 nr_conds,
						   u32 str_len)
{
	size_t rules = array_size(nr_rules, sizeof(struct sagafs_rule));
	size_t conds = array_size(nr_conds, sizeof(struct sagafs_rule_cond));
	size_t first = array_size(nr_rules, sizeof(u32));
	struct sagafs_ruleset *rs;
	char *mem;

	rs = kzalloc(sizeof(*rs), GFP_KERNEL);
	if (!rs)
		return NULL;
	kref_init(&rs->ref);
	rs->nr_rules = nr_rules;
	rs->nr_conds = nr_conds;
	rs->str_len = str_len;
	rs->hits = __alloc_percpu(sizeof(u64) * (nr_rules + 1), sizeof(u64));
	mem = kvzalloc(rules + conds + first + str_len + 1, GFP_KERNEL);
	if (!rs->hits || !mem) {
		free_percpu(rs->hits);
		kvfree(mem);
		kfree(rs);
		return NULL;
	}
	rs->rules = (struct sagafs_rule *)mem;
	rs->conds = (struct sagafs_rule_cond *)(mem + rules);
	rs->first = (u32 *)(mem + rules + conds);
	rs->strings = mem + rules + conds + first;
	return rs;
}

/* ---- validation ---- */

enum sagafs_operand {
	SAGAFS_NUM = 1,		/* lo, hi below 2^32 */
	SAGAFS_SNUM,		/* lo, hi as __s64 */
	SAGAFS_PERM,		/* lo: a mask */
	SAGAFS_STR,		/* str_off, str_len */
};

struct sagafs_field_info {
	u8 operand;
	u8 ops;			/* BIT(SAGAFS_OP_*) allowed */
	u8 slash;		/* the string starts with '/' */
	u8 no_slash;		/* the string holds no '/' */
	u16 max_len;
};

#define OP(o)		BIT(SAGAFS_OP_##o)
#define SAGAFS_PATH_OPS	(OP(EQ) | OP(PREFIX) | OP(DIR))

static const struct sagafs_field_info sagafs_fields[SAGAFS_FIELD_MAX + 1] = {
	[SAGAFS_FIELD_UID] = { SAGAFS_NUM, OP(RANGE) },
	[SAGAFS_FIELD_EUID] = { SAGAFS_NUM, OP(RANGE) },
	[SAGAFS_FIELD_GID] = { SAGAFS_NUM, OP(RANGE) },
	[SAGAFS_FIELD_AUID] = { SAGAFS_NUM, OP(RANGE) },
	[SAGAFS_FIELD_PID] = { SAGAFS_NUM, OP(RANGE) },
	[SAGAFS_FIELD_PPID] = { SAGAFS_NUM, OP(RANGE) },
	[SAGAFS_FIELD_RESULT] = { SAGAFS_SNUM, OP(RANGE) },
	[SAGAFS_FIELD_PIDNS] = { SAGAFS_NUM, OP(RANGE) },
	[SAGAFS_FIELD_PERM] = { SAGAFS_PERM, OP(MASK) },
	[SAGAFS_FIELD_COMM] = { SAGAFS_STR, OP(EQ) | OP(PREFIX), 0, 0,
				SAGAFS_COMM_LEN - 1 },
	[SAGAFS_FIELD_CGROUP] = { SAGAFS_STR, SAGAFS_PATH_OPS, 1, 0,
				  SAGAFS_RULE_STR_MAX },
	[SAGAFS_FIELD_CONTAINER] = { SAGAFS_STR,
				     OP(EQ) | OP(PREFIX) | OP(EXISTS), 0, 1,
				     SAGAFS_RULE_STR_MAX },
	[SAGAFS_FIELD_EXE] = { SAGAFS_STR, SAGAFS_PATH_OPS, 1, 0,
			       SAGAFS_RULE_STR_MAX },
	[SAGAFS_FIELD_PATH] = { SAGAFS_STR, SAGAFS_PATH_OPS, 0, 0,
				SAGAFS_RULE_STR_MAX },
};

/* off and len lie inside the table (no wrap: both are 32-bit). */
static bool sagafs_in_table(const struct sagafs_ruleset *rs, u32 off, u32 len)
{
	return (u64)off + len <= rs->str_len;
}

static int sagafs_check_string(const struct sagafs_ruleset *rs,
			       const struct sagafs_rule_cond *c,
			       const struct sagafs_field_info *fi)
{
	const char *s;

	if (c->lo || c->hi) {
		sagafs_rules_reject("field %u: a string with numbers", c->field);
		return -EINVAL;
	}
	if (!c->str_len || c->str_len > fi->max_len ||
	    !sagafs_in_table(rs, c->str_off, c->str_len)) {
		sagafs_rules_reject("field %u: string of %u bytes at %u",
				    c->field, c->str_len, c->str_off);
		return -EINVAL;
	}
	s = rs->strings + c->str_off;
	if (memchr(s, 0, c->str_len) || (fi->slash && s[0] != '/') ||
	    (fi->no_slash && memchr(s, '/', c->str_len))) {
		sagafs_rules_reject("field %u: bad string bytes", c->field);
		return -EINVAL;
	}
	return 0;
}

static int sagafs_check_operand(const struct sagafs_ruleset *rs,
				const struct sagafs_rule_cond *c,
				const struct sagafs_field_info *fi)
{
	u16 op = c->op & ~SAGAFS_OP_NOT;

	if (op == SAGAFS_OP_EXISTS)
		return c->lo || c->hi || c->str_off || c->str_len ? -EINVAL : 0;
	if (fi->operand == SAGAFS_STR)
		return sagafs_check_string(rs, c, fi);
	if (c->str_off || c->str_len)
		return -EINVAL;
	switch (fi->operand) {
	case SAGAFS_NUM:
		return c->lo <= c->hi && c->hi <= U32_MAX ? 0 : -EINVAL;
	case SAGAFS_SNUM:
		return (s64)c->lo <= (s64)c->hi ? 0 : -EINVAL;
	default:	/* SAGAFS_PERM */
		return c->lo && !(c->lo & ~(u64)SAGAFS_PERM_ALL) && !c->hi ?
		       0 : -EINVAL;
	}
}

static int sagafs_check_cond(const struct sagafs_ruleset *rs,
			     const struct sagafs_rule_cond *c, u16 prev)
{
	const struct sagafs_field_info *fi;
	u16 op = c->op & ~SAGAFS_OP_NOT;

	if (c->field <= prev || c->field > SAGAFS_FIELD_MAX || c->__pad0) {
		sagafs_rules_reject("field %u after %u (strictly increasing, at most %u)",
				    c->field, prev, SAGAFS_FIELD_MAX);
		return -EINVAL;
	}
	fi = &sagafs_fields[c->field];
	if (op >= BITS_PER_BYTE || !(fi->ops & BIT(op)) ||
	    (op == SAGAFS_OP_MASK && (c->op & SAGAFS_OP_NOT))) {
		sagafs_rules_reject("field %u: operator %#x", c->field, c->op);
		return -EINVAL;
	}
	if (sagafs_check_operand(rs, c, fi)) {
		sagafs_rules_reject("field %u: bad operand", c->field);
		return -EINVAL;
	}
	return 0;
}

static bool sagafs_bitmap_empty(const u64 (*map)[SAGAFS_BITMAP_WORDS])
{
	int abi, w;

	for (abi = 0; abi < SAGAFS_NR_ABIS; abi++)
		for (w = 0; w < SAGAFS_BITMAP_WORDS; w++)
			if (map[abi][w])
				return false;
	return true;
}

static int sagafs_check_key(const struct sagafs_ruleset *rs,
			    const struct sagafs_rule *r)
{
	u32 i;

	if (!r->key_len)
		return r->key_off ? -EINVAL : 0;
	if (r->key_len > SAGAFS_KEY_MAX || r->action != SAGAFS_RULE_ALWAYS ||
	    !sagafs_in_table(rs, r->key_off, r->key_len))
		return -EINVAL;
	for (i = 0; i < r->key_len; i++) {
		char ch = rs->strings[r->key_off + i];

		if (ch < '!' || ch > '~')
			return -EINVAL;
	}
	return 0;
}

/* Rule i, whose conditions start at *first; advances *first past them. */
static int sagafs_check_rule(struct sagafs_ruleset *rs, u32 i, u32 *first)
{
	const struct sagafs_rule *r = &rs->rules[i];
	u16 prev = 0;
	u32 j;
	int ret;

	if (r->action != SAGAFS_RULE_ALWAYS && r->action != SAGAFS_RULE_NEVER) {
		sagafs_rules_reject("rule %u: action %u", i, r->action);
		return -EINVAL;
	}
	if (r->nr_conds > SAGAFS_RULE_CONDS_MAX ||
	    r->nr_conds > rs->nr_conds - *first) {
		sagafs_rules_reject("rule %u: %u conditions", i, r->nr_conds);
		return -EINVAL;
	}
	if (sagafs_check_key(rs, r)) {
		sagafs_rules_reject("rule %u: bad key", i);
		return -EINVAL;
	}
	if (sagafs_bitmap_empty(r->syscalls)) {
		sagafs_rules_reject("rule %u applies to no system call", i);
		return -EINVAL;
	}
	rs->first[i] = *first;
	for (j = 0; j < r->nr_conds; j++) {
		ret = sagafs_check_cond(rs, &rs->conds[*first + j], prev);
		if (ret) {
			sagafs_rules_reject("rule %u, condition %u", i, j);
			return ret;
		}
		prev = rs->conds[*first + j].field;
	}
	*first += r->nr_conds;
	return 0;
}

static int sagafs_check_set(struct sagafs_ruleset *rs)
{
	u32 i, first = 0;
	int ret, abi, w;

	for (i = 0; i < rs->nr_rules; i++) {
		ret = sagafs_check_rule(rs, i, &first);
		if (ret)
			return ret;
		for (abi = 0; abi < SAGAFS_NR_ABIS; abi++)
			for (w = 0; w < SAGAFS_BITMAP_WORDS; w++)
				rs->any[abi][w] |= rs->rules[i].syscalls[abi][w];
	}
	if (first != rs->nr_conds) {
		sagafs_rules_reject("%u conditions, the rules use %u",
				    rs->nr_conds, first);
		return -EINVAL;
	}
	return 0;
}

static int sagafs_check_header(const struct sagafs_rules *h)
{
	if (h->flags & ~SAGAFS_RULES_FLAGS_ALL || h->__pad0) {
		sagafs_rules_reject("unknown flags or nonzero padding");
		return -EINVAL;
	}
	if (h->nr_rules > SAGAFS_RULES_MAX ||
	    h->nr_conds > SAGAFS_RULES_MAX * SAGAFS_RULE_CONDS_MAX ||
	    h->str_len > SAGAFS_RULES_STRINGS_MAX) {
		sagafs_rules_reject("%u rules, %u conditions, %u string bytes",
				    h->nr_rules, h->nr_conds, h->str_len);
		return -EINVAL;
	}
	return 0;
}

/* ---- SET_RULES ---- */

/*
 * n elements of ksize bytes from user memory laid out usize apart: usize
 * below ksize is EINVAL, above a page E2BIG, and bytes past ksize must be
 * zero (E2BIG), as for the structures' size field.
 */
static int sagafs_copy_elems(void *dst, size_t ksize, u64 uptr, u32 usize,
			     u32 n)
{
	void __user *src = u64_to_user_ptr(uptr);
	u32 i;
	int ret;

	if (!n)
		return 0;
	if (usize < ksize)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		ret = copy_struct_from_user(dst + (size_t)i * ksize, ksize,
					    src + (size_t)i * usize, usize);
		if (ret)
			return ret;
	}
	return 0;
}

static int sagafs_rules_copy(struct sagafs_ruleset *rs,
			     const struct sagafs_rules *h)
{
	int ret;

	ret = sagafs_copy_elems(rs->rules, sizeof(*rs->rules), h->rules,
				h->rule_size, h->nr_rules);
	if (ret)
		return ret;
	ret = sagafs_copy_elems(rs->conds, sizeof(*rs->conds), h->conds,
				h->cond_size, h->nr_conds);
	if (ret)
		return ret;
	if (copy_from_user(rs->strings, u64_to_user_ptr(h->strings),
			   h->str_len))
		return -EFAULT;
	return 0;
}

static void sagafs_ruleset_publish(struct sagafs_ruleset *rs)
{
	struct sagafs_ruleset *old;

	mutex_lock(&sagafs.lock);
	rs->generation = ++sagafs_rules_generation;
	old = rcu_replace_pointer(sagafs_ruleset, rs,
				  lockdep_is_held(&sagafs.lock));
	mutex_unlock(&sagafs.lock);
	/* After a grace period old is GET_RULES' or no one's. */
	INIT_RCU_WORK(&old->retire, sagafs_ruleset_retire);
	queue_rcu_work(sagafs_rules_wq, &old->retire);
}

int sagafs_rules_set(void __user *arg)
{
	struct sagafs_ruleset *rs;
	struct sagafs_rules h;
	u32 i;
	int ret;

	ret = sagafs_copy_in(&h, sizeof(h), arg);
	if (ret)
		return ret;
	ret = sagafs_check_header(&h);
	if (ret)
		return ret;
	rs = sagafs_ruleset_alloc(h.nr_rules, h.nr_conds, h.str_len);
	if (!rs)
		return -ENOMEM;
	rs->flags = h.flags;
	ret = sagafs_rules_copy(rs, &h);
	if (ret)
		goto err;
	/* What GET_RULES returns; the hits are counted per CPU. */
	for (i = 0; i < rs->nr_rules; i++)
		rs->rules[i].hits = 0;
	ret = sagafs_check_set(rs);
	if (ret)
		goto err;
	sagafs_ruleset_publish(rs);
	return 0;
err:
	sagafs_ruleset_free(rs);
	return ret;
}

/* ---- GET_RULES ---- */

static u64 sagafs_hits(const struct sagafs_ruleset *rs, u32 i)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(rs->hits, cpu)[i]);
	return sum;
}

static int sagafs_put_rules(const struct sagafs_ruleset *rs,
			    const struct sagafs_rules *h)
{
	void __user *dst = u64_to_user_ptr(h->rules);
	struct sagafs_rule r;
	u32 i;

	for (i = 0; i < rs->nr_rules; i++, dst += h->rule_size) {
		r = rs->rules[i];
		r.hits = sagafs_hits(rs, i);
		if (copy_to_user(dst, &r, sizeof(r)) ||
		    clear_user(dst + sizeof(r), h->rule_size - sizeof(r)))
			return -EFAULT;
	}
	return 0;
}

static int sagafs_put_conds(const struct sagafs_ruleset *rs,
			    const struct sagafs_rules *h)
{
	void __user *dst = u64_to_user_ptr(h->conds);
	u32 i;

	for (i = 0; i < rs->nr_conds; i++, dst += h->cond_size) {
		if (copy_to_user(dst, &rs->conds[i], sizeof(rs->conds[i])) ||
		    clear_user(dst + sizeof(rs->conds[i]),
			       h->cond_size - sizeof(rs->conds[i])))
			return -EFAULT;
	}
	return 0;
}

/* Fill the arrays h points to (capacities checked by the caller). */
static int sagafs_put_set(const struct sagafs_ruleset *rs,
			  const struct sagafs_rules *h)
{
	int ret;

	if ((rs->nr_rules && (h->rule_size < sizeof(struct sagafs_rule) ||
			      h->rule_size > PAGE_SIZE)) ||
	    (rs->nr_conds && (h->cond_size < sizeof(struct sagafs_rule_cond) ||
			      h->cond_size > PAGE_SIZE)))
		return -EINVAL;
	ret = sagafs_put_rules(rs, h);
	if (ret)
		return ret;
	ret = sagafs_put_conds(rs, h);
	if (ret)
		return ret;
	if (copy_to_user(u64_to_user_ptr(h->strings), rs->strings, rs->str_len))
		return -EFAULT;
	return 0;
}

static int sagafs_get_set(struct sagafs_ruleset *rs, void __user *arg,
			  struct sagafs_rules *h)
{
	struct sagafs_rules out = *h;
	bool query = !h->nr_rules && !h->nr_conds && !h->str_len;
	int ret = 0;

	out.flags = rs->flags;
	out.nr_rules = rs->nr_rules;
	out.nr_conds = rs->nr_conds;
	out.str_len = rs->str_len;
	out.rule_size = sizeof(struct sagafs_rule);
	out.cond_size = sizeof(struct sagafs_rule_cond);
	out.default_hits = sagafs_hits(rs, rs->nr_rules);
	out.generation = rs->generation;
	out.size = sizeof(out);
	if (!query) {
		if (h->nr_rules < rs->nr_rules || h->nr_conds < rs->nr_conds ||
		    h->str_len < rs->str_len)
			ret = -ENOSPC;
		else
			ret = sagafs_put_set(rs, h);
	}
	if (ret && ret != -ENOSPC)
		return ret;
	if (copy_to_user(arg, &out, sizeof(out)))
		return -EFAULT;
	return ret;
}

int sagafs_rules_get(void __user *arg)
{
	struct sagafs_ruleset *rs;
	struct sagafs_rules h;
	int ret;

	ret = sagafs_copy_in(&h, sizeof(h), arg);
	if (ret)
		return ret;
	if (h.__pad0)
		return -EINVAL;
	mutex_lock(&sagafs.lock);
	rs = rcu_dereference_protected(sagafs_ruleset,
				       lockdep_is_held(&sagafs.lock));
	kref_get(&rs->ref);
	mutex_unlock(&sagafs.lock);
	ret = sagafs_get_set(rs, arg, &h);
	kref_put(&rs->ref, sagafs_ruleset_release);
	return ret;
}

/* ---- setup ---- */

static void sagafs_rule_bufs_free(void)
{
	unsigned int cpu;

	if (!sagafs_rule_buf)
		return;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		kfree(sagafs_rule_buf[cpu]);
	kfree(sagafs_rule_buf);
	sagafs_rule_buf = NULL;
}

static int sagafs_rule_bufs_alloc(void)
{
	unsigned int cpu;

	sagafs_rule_buf = kcalloc(nr_cpu_ids, sizeof(*sagafs_rule_buf),
				  GFP_KERNEL);
	if (!sagafs_rule_buf)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		sagafs_rule_buf[cpu] = kmalloc_node(2 * SAGAFS_RULE_BUF_HALF,
						    GFP_KERNEL,
						    cpu_to_node(cpu));
		if (!sagafs_rule_buf[cpu]) {
			sagafs_rule_bufs_free();
			return -ENOMEM;
		}
	}
	return 0;
}

/* No rules, default always. */
int sagafs_rules_init(void)
{
	struct sagafs_ruleset *rs;
	int ret;

	sagafs_rules_wq = alloc_workqueue("sagafs_rules", 0, 0);
	if (!sagafs_rules_wq)
		return -ENOMEM;
	ret = sagafs_rule_bufs_alloc();
	if (ret)
		goto err_wq;
	rs = sagafs_ruleset_alloc(0, 0, 0);
	if (!rs) {
		ret = -ENOMEM;
		goto err_bufs;
	}
	RCU_INIT_POINTER(sagafs_ruleset, rs);
	return 0;
err_bufs:
	sagafs_rule_bufs_free();
err_wq:
	destroy_workqueue(sagafs_rules_wq);
	return ret;
}

/*
 * Capture is off, no probe runs and the caller has waited for RCU
 * callbacks (rcu_barrier()), so every retired set is queued: the
 * workqueue's destruction runs them.
 */
void sagafs_rules_exit(void)
{
	struct sagafs_ruleset *rs = rcu_dereference_protected(sagafs_ruleset, 1);

	destroy_workqueue(sagafs_rules_wq);
	RCU_INIT_POINTER(sagafs_ruleset, NULL);
	if (rs)
		kref_put(&rs->ref, sagafs_ruleset_release);
	sagafs_rule_bufs_free();
}
