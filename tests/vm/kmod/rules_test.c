// SPDX-License-Identifier: GPL-2.0
/*
 * Raw tests of SAGAFS_IOC_SET_RULES / GET_RULES (TAP output): the round
 * trip of a set using every field, every kind of malformed set refused
 * with the right errno and nothing changed, random garbage and random
 * corruptions of a valid set (refused, or accepted and read back
 * exactly), the size rules of the header and of the elements, GET_RULES
 * capacities, and the privilege SET_RULES needs.
 *
 * Runs as root inside the test VM with sagafs.ko loaded (built by
 * tests/vm/kmod/build.sh); leaves the module with no rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "sagafs.h"

#define DEV "/dev/" SAGAFS_DEVICE_NAME

static int dev = -1;
static int nr_run, nr_failed;

#define FAIL(...) do {							\
		printf("#   %s:%d: ", __func__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		return -1;						\
	} while (0)

#define CHECK(cond, ...) do {						\
		if (!(cond)) {						\
			printf("#   check '%s' failed\n", #cond);		\
			FAIL(__VA_ARGS__);				\
		}							\
	} while (0)

static void run(const char *name, int (*fn)(void))
{
	int r;

	fflush(stdout);
	r = fn();
	nr_run++;
	if (r)
		nr_failed++;
	printf("%s %d - %s\n", r ? "not ok" : "ok", nr_run, name);
	fflush(stdout);
}

/* ---- a rule set under construction ---- */

struct set {
	__u32 flags;
	__u32 nr_rules, nr_conds, str_len;
	struct sagafs_rule *rules;
	struct sagafs_rule_cond *conds;
	char *strings;
};

#define MAX_R	(SAGAFS_RULES_MAX + 2)
#define MAX_C	(SAGAFS_RULES_MAX * SAGAFS_RULE_CONDS_MAX + 64)
#define MAX_S	(SAGAFS_RULES_STRINGS_MAX + 4096)

static void set_init(struct set *s)
{
	if (!s->rules) {
		s->rules = calloc(MAX_R, sizeof(*s->rules));
		s->conds = calloc(MAX_C, sizeof(*s->conds));
		s->strings = calloc(MAX_S, 1);
		if (!s->rules || !s->conds || !s->strings) {
			perror("calloc");
			exit(2);
		}
	}
	s->flags = 0;
	s->nr_rules = s->nr_conds = s->str_len = 0;
	memset(s->rules, 0, MAX_R * sizeof(*s->rules));
	memset(s->conds, 0, MAX_C * sizeof(*s->conds));
}

static void set_free(struct set *s)
{
	free(s->rules);
	free(s->conds);
	free(s->strings);
}

static __u32 add_string(struct set *s, const char *str, size_t len)
{
	__u32 off = s->str_len;

	memcpy(s->strings + off, str, len);
	s->str_len += len;
	return off;
}

/* A rule applying to every call. */
static struct sagafs_rule *add_rule(struct set *s, __u32 action,
				    const char *key)
{
	struct sagafs_rule *r = &s->rules[s->nr_rules++];

	r->action = action;
	memset(r->syscalls, 0xff, sizeof(r->syscalls));
	if (key) {
		r->key_len = strlen(key);
		r->key_off = add_string(s, key, r->key_len);
	}
	return r;
}

static struct sagafs_rule_cond *add_num(struct set *s, __u16 field, __u16 op,
					__u64 lo, __u64 hi)
{
	struct sagafs_rule_cond *c = &s->conds[s->nr_conds++];

	c->field = field;
	c->op = op;
	c->lo = lo;
	c->hi = hi;
	s->rules[s->nr_rules - 1].nr_conds++;
	return c;
}

static struct sagafs_rule_cond *add_str(struct set *s, __u16 field, __u16 op,
					const char *str)
{
	struct sagafs_rule_cond *c = add_num(s, field, op, 0, 0);

	c->str_len = strlen(str);
	c->str_off = add_string(s, str, c->str_len);
	return c;
}

static void header(const struct set *s, struct sagafs_rules *h)
{
	memset(h, 0, sizeof(*h));
	h->size = sizeof(*h);
	h->flags = s->flags;
	h->nr_rules = s->nr_rules;
	h->nr_conds = s->nr_conds;
	h->str_len = s->str_len;
	h->rule_size = sizeof(struct sagafs_rule);
	h->cond_size = sizeof(struct sagafs_rule_cond);
	h->rules = (uintptr_t)s->rules;
	h->conds = (uintptr_t)s->conds;
	h->strings = (uintptr_t)s->strings;
}

static int apply(const struct set *s)
{
	struct sagafs_rules h;

	header(s, &h);
	return ioctl(dev, SAGAFS_IOC_SET_RULES, &h);
}

/* The set in force (hits zeroed) and its header. */
static int get(struct set *s, struct sagafs_rules *out)
{
	struct sagafs_rules h = { .size = sizeof(h) };
	__u32 i;

	if (ioctl(dev, SAGAFS_IOC_GET_RULES, &h))
		return -1;
	if (h.nr_rules > MAX_R || h.nr_conds > MAX_C || h.str_len > MAX_S) {
		errno = ERANGE;
		return -1;
	}
	set_init(s);
	h.rules = (uintptr_t)s->rules;
	h.conds = (uintptr_t)s->conds;
	h.strings = (uintptr_t)s->strings;
	h.rule_size = sizeof(struct sagafs_rule);
	h.cond_size = sizeof(struct sagafs_rule_cond);
	if (ioctl(dev, SAGAFS_IOC_GET_RULES, &h))
		return -1;
	s->flags = h.flags;
	s->nr_rules = h.nr_rules;
	s->nr_conds = h.nr_conds;
	s->str_len = h.str_len;
	for (i = 0; i < s->nr_rules; i++)
		s->rules[i].hits = 0;
	if (out)
		*out = h;
	return 0;
}

static void set_copy(struct set *dst, const struct set *src)
{
	set_init(dst);
	dst->flags = src->flags;
	dst->nr_rules = src->nr_rules;
	dst->nr_conds = src->nr_conds;
	dst->str_len = src->str_len;
	memcpy(dst->rules, src->rules, src->nr_rules * sizeof(*src->rules));
	memcpy(dst->conds, src->conds, src->nr_conds * sizeof(*src->conds));
	memcpy(dst->strings, src->strings, src->str_len);
}

static int same(const struct set *a, const struct set *b)
{
	return a->flags == b->flags && a->nr_rules == b->nr_rules &&
	       a->nr_conds == b->nr_conds && a->str_len == b->str_len &&
	       !memcmp(a->rules, b->rules, a->nr_rules * sizeof(*a->rules)) &&
	       !memcmp(a->conds, b->conds, a->nr_conds * sizeof(*a->conds)) &&
	       !memcmp(a->strings, b->strings, a->str_len);
}

/* A valid set using every field and operator kind. */
static void good_set(struct set *s)
{
	struct sagafs_rule *r;

	set_init(s);
	s->flags = SAGAFS_RULES_DEFAULT_NEVER;
	r = add_rule(s, SAGAFS_RULE_ALWAYS, "etc-write");
	memset(r->syscalls, 0, sizeof(r->syscalls));
	r->syscalls[SAGAFS_ABI_X86_64][257 / 64] |= 1ULL << (257 % 64);
	add_num(s, SAGAFS_FIELD_UID, SAGAFS_OP_RANGE, 0, 0);
	add_num(s, SAGAFS_FIELD_EUID, SAGAFS_OP_RANGE | SAGAFS_OP_NOT, 1, 999);
	add_num(s, SAGAFS_FIELD_GID, SAGAFS_OP_RANGE, 0, 0xffffffffULL);
	add_num(s, SAGAFS_FIELD_AUID, SAGAFS_OP_RANGE, 0xffffffffULL,
		0xffffffffULL);
	add_num(s, SAGAFS_FIELD_PID, SAGAFS_OP_RANGE, 1, 4194304);
	add_num(s, SAGAFS_FIELD_PPID, SAGAFS_OP_RANGE | SAGAFS_OP_NOT, 2, 2);
	add_num(s, SAGAFS_FIELD_RESULT, SAGAFS_OP_RANGE, (__u64)-4095LL,
		(__u64)-1LL);
	add_num(s, SAGAFS_FIELD_PIDNS, SAGAFS_OP_RANGE, SAGAFS_PIDNS_HOST,
		SAGAFS_PIDNS_HOST);
	add_num(s, SAGAFS_FIELD_PERM, SAGAFS_OP_MASK,
		SAGAFS_PERM_W | SAGAFS_PERM_A, 0);
	add_str(s, SAGAFS_FIELD_COMM, SAGAFS_OP_PREFIX, "sg");
	add_str(s, SAGAFS_FIELD_CGROUP, SAGAFS_OP_DIR, "/system.slice");
	add_str(s, SAGAFS_FIELD_CONTAINER, SAGAFS_OP_PREFIX, "0123456789ab");
	add_str(s, SAGAFS_FIELD_EXE, SAGAFS_OP_EQ | SAGAFS_OP_NOT, "/bin/x");
	add_str(s, SAGAFS_FIELD_PATH, SAGAFS_OP_DIR, "/etc");
	add_rule(s, SAGAFS_RULE_NEVER, NULL);
	add_num(s, SAGAFS_FIELD_CONTAINER, SAGAFS_OP_EXISTS | SAGAFS_OP_NOT,
		0, 0);
	add_rule(s, SAGAFS_RULE_ALWAYS, "k");
}

static struct set want, got, work;
static struct sagafs_rules got_h;

/* ---- tests ---- */

static int t_round_trip(void)
{
	struct sagafs_rules before, after;

	CHECK(!get(&got, &before), "GET_RULES: %s", strerror(errno));
	CHECK(before.size == sizeof(before), "size %u", before.size);
	CHECK(before.rule_size == sizeof(struct sagafs_rule) &&
	      before.cond_size == sizeof(struct sagafs_rule_cond),
	      "element sizes %u %u", before.rule_size, before.cond_size);
	good_set(&want);
	CHECK(!apply(&want), "SET_RULES of a valid set: %s", strerror(errno));
	CHECK(!get(&got, &after), "GET_RULES: %s", strerror(errno));
	CHECK(same(&want, &got), "the set read back differs");
	CHECK(after.generation == before.generation + 1,
	      "generation %llu after %llu", (unsigned long long)after.generation,
	      (unsigned long long)before.generation);
	got_h = after;
	return 0;
}

/* Each mutation of the good set must fail with errno e and change nothing. */
struct bad {
	const char *what;
	int err;
	void (*mutate)(struct set *s, struct sagafs_rules *h);
};

static void m_unknown_field(struct set *s, struct sagafs_rules *h)
{
	s->conds[s->rules[0].nr_conds - 1].field = SAGAFS_FIELD_MAX + 1;
}

static void m_field_zero(struct set *s, struct sagafs_rules *h)
{
	s->conds[0].field = 0;
}

static void m_duplicate(struct set *s, struct sagafs_rules *h)
{
	s->conds[1].field = SAGAFS_FIELD_UID;
}

static void m_descending(struct set *s, struct sagafs_rules *h)
{
	struct sagafs_rule_cond t = s->conds[0];

	s->conds[0] = s->conds[1];
	s->conds[1] = t;
}

static void m_bad_op(struct set *s, struct sagafs_rules *h)
{
	s->conds[0].op = SAGAFS_OP_PREFIX;
}

static void m_op_unknown(struct set *s, struct sagafs_rules *h)
{
	s->conds[0].op = 7;
}

static void m_not_mask(struct set *s, struct sagafs_rules *h)
{
	s->conds[8].op |= SAGAFS_OP_NOT;
}

static void m_lo_above_hi(struct set *s, struct sagafs_rules *h)
{
	s->conds[1].lo = 1000;
}

static void m_hi_too_big(struct set *s, struct sagafs_rules *h)
{
	s->conds[2].hi = 1ULL << 32;
}

static void m_result_reversed(struct set *s, struct sagafs_rules *h)
{
	s->conds[6].lo = (__u64)-1LL;
	s->conds[6].hi = (__u64)-2LL;
}

static void m_perm_zero(struct set *s, struct sagafs_rules *h)
{
	s->conds[8].lo = 0;
}

static void m_perm_unknown(struct set *s, struct sagafs_rules *h)
{
	s->conds[8].lo = 0x10;
}

static void m_string_on_number(struct set *s, struct sagafs_rules *h)
{
	s->conds[0].str_len = 1;
}

static void m_number_on_string(struct set *s, struct sagafs_rules *h)
{
	s->conds[9].hi = 1;
}

static void m_pad(struct set *s, struct sagafs_rules *h)
{
	s->conds[3].__pad0 = 1;
}

static void m_comm_too_long(struct set *s, struct sagafs_rules *h)
{
	struct sagafs_rule_cond *c = &s->conds[9];

	c->str_off = 0;
	c->str_len = SAGAFS_COMM_LEN;
	memset(s->strings, 'a', SAGAFS_COMM_LEN);
	h->str_len = s->str_len;
}

static void m_prefix_too_long(struct set *s, struct sagafs_rules *h)
{
	struct sagafs_rule_cond *c = &s->conds[13];

	c->str_off = s->str_len;
	c->str_len = SAGAFS_RULE_STR_MAX + 1;
	s->strings[s->str_len] = '/';
	memset(s->strings + s->str_len + 1, 'p', SAGAFS_RULE_STR_MAX);
	s->str_len += SAGAFS_RULE_STR_MAX + 1;
	h->str_len = s->str_len;
}

static void m_string_outside(struct set *s, struct sagafs_rules *h)
{
	s->conds[13].str_off = s->str_len - 1;
}

static void m_string_wraps(struct set *s, struct sagafs_rules *h)
{
	s->conds[13].str_off = 0xfffffffeU;
	s->conds[13].str_len = 4;
}

static void m_string_empty(struct set *s, struct sagafs_rules *h)
{
	s->conds[13].str_len = 0;
}

static void m_string_nul(struct set *s, struct sagafs_rules *h)
{
	s->strings[s->conds[13].str_off + 2] = 0;
}

static void m_cgroup_relative(struct set *s, struct sagafs_rules *h)
{
	s->strings[s->conds[10].str_off] = 's';
}

static void m_container_slash(struct set *s, struct sagafs_rules *h)
{
	s->strings[s->conds[11].str_off + 3] = '/';
}

static void m_exists_operand(struct set *s, struct sagafs_rules *h)
{
	s->conds[14].lo = 1;
}

static void m_exists_elsewhere(struct set *s, struct sagafs_rules *h)
{
	s->conds[9].op = SAGAFS_OP_EXISTS;
	s->conds[9].str_off = 0;
	s->conds[9].str_len = 0;
}

static void m_action(struct set *s, struct sagafs_rules *h)
{
	s->rules[1].action = 3;
}

static void m_action_zero(struct set *s, struct sagafs_rules *h)
{
	s->rules[2].action = 0;
}

static void m_key_on_never(struct set *s, struct sagafs_rules *h)
{
	s->rules[1].key_off = s->rules[0].key_off;
	s->rules[1].key_len = 3;
}

static void m_key_space(struct set *s, struct sagafs_rules *h)
{
	s->strings[s->rules[0].key_off + 3] = ' ';
}

static void m_key_too_long(struct set *s, struct sagafs_rules *h)
{
	s->rules[0].key_len = SAGAFS_KEY_MAX + 1;
}

static void m_key_outside(struct set *s, struct sagafs_rules *h)
{
	s->rules[2].key_off = s->str_len;
}

static void m_key_off_alone(struct set *s, struct sagafs_rules *h)
{
	s->rules[1].key_off = 1;
}

static void m_empty_bitmap(struct set *s, struct sagafs_rules *h)
{
	memset(s->rules[2].syscalls, 0, sizeof(s->rules[2].syscalls));
}

static void m_rule_conds_over(struct set *s, struct sagafs_rules *h)
{
	s->rules[2].nr_conds = 1;
}

static void m_rule_conds_max(struct set *s, struct sagafs_rules *h)
{
	s->rules[0].nr_conds = SAGAFS_RULE_CONDS_MAX + 1;
}

static void m_conds_unused(struct set *s, struct sagafs_rules *h)
{
	h->nr_conds = s->nr_conds + 1;
}

static void m_too_many_rules(struct set *s, struct sagafs_rules *h)
{
	while (s->nr_rules <= SAGAFS_RULES_MAX)
		add_rule(s, SAGAFS_RULE_NEVER, NULL);
	h->nr_rules = s->nr_rules;
}

static void m_too_many_conds(struct set *s, struct sagafs_rules *h)
{
	h->nr_conds = SAGAFS_RULES_MAX * SAGAFS_RULE_CONDS_MAX + 1;
}

static void m_strings_too_long(struct set *s, struct sagafs_rules *h)
{
	h->str_len = SAGAFS_RULES_STRINGS_MAX + 1;
}

static void m_flags(struct set *s, struct sagafs_rules *h)
{
	h->flags = 1U << 5;
}

static void m_header_pad(struct set *s, struct sagafs_rules *h)
{
	h->__pad0 = 1;
}

static void m_header_small(struct set *s, struct sagafs_rules *h)
{
	h->size = sizeof(*h) - 8;
}

static void m_rule_size_small(struct set *s, struct sagafs_rules *h)
{
	h->rule_size = sizeof(struct sagafs_rule) - 8;
}

static void m_cond_size_small(struct set *s, struct sagafs_rules *h)
{
	h->cond_size = 0;
}

static void m_rule_size_page(struct set *s, struct sagafs_rules *h)
{
	h->rule_size = 8192;
}

static void m_bad_rules_ptr(struct set *s, struct sagafs_rules *h)
{
	h->rules = 8;
}

static void m_bad_conds_ptr(struct set *s, struct sagafs_rules *h)
{
	h->conds = (uintptr_t)-4096;
}

static void m_bad_strings_ptr(struct set *s, struct sagafs_rules *h)
{
	h->strings = 16;
}

static const struct bad bads[] = {
	{ "unknown field", EINVAL, m_unknown_field },
	{ "field 0", EINVAL, m_field_zero },
	{ "duplicate condition", EINVAL, m_duplicate },
	{ "conditions out of order", EINVAL, m_descending },
	{ "operator not allowed for the field", EINVAL, m_bad_op },
	{ "unknown operator", EINVAL, m_op_unknown },
	{ "negated MASK", EINVAL, m_not_mask },
	{ "range lo > hi", EINVAL, m_lo_above_hi },
	{ "id above 2^32", EINVAL, m_hi_too_big },
	{ "result range reversed", EINVAL, m_result_reversed },
	{ "perm mask 0", EINVAL, m_perm_zero },
	{ "perm mask unknown bit", EINVAL, m_perm_unknown },
	{ "string on a number field", EINVAL, m_string_on_number },
	{ "number on a string field", EINVAL, m_number_on_string },
	{ "nonzero condition padding", EINVAL, m_pad },
	{ "comm of 16 bytes", EINVAL, m_comm_too_long },
	{ "prefix too long", EINVAL, m_prefix_too_long },
	{ "string beyond the table", EINVAL, m_string_outside },
	{ "string offset wrapping", EINVAL, m_string_wraps },
	{ "empty string", EINVAL, m_string_empty },
	{ "NUL in a string", EINVAL, m_string_nul },
	{ "cgroup without leading /", EINVAL, m_cgroup_relative },
	{ "container id with /", EINVAL, m_container_slash },
	{ "EXISTS with an operand", EINVAL, m_exists_operand },
	{ "EXISTS on comm", EINVAL, m_exists_elsewhere },
	{ "action 3", EINVAL, m_action },
	{ "action 0", EINVAL, m_action_zero },
	{ "key on a never rule", EINVAL, m_key_on_never },
	{ "key with a space", EINVAL, m_key_space },
	{ "key of 64 bytes", EINVAL, m_key_too_long },
	{ "key beyond the table", EINVAL, m_key_outside },
	{ "key offset without key", EINVAL, m_key_off_alone },
	{ "rule applying to no call", EINVAL, m_empty_bitmap },
	{ "rule claims conditions that are not there", EINVAL, m_rule_conds_over },
	{ "17 conditions in a rule", EINVAL, m_rule_conds_max },
	{ "a condition no rule uses", EINVAL, m_conds_unused },
	{ "too many rules", EINVAL, m_too_many_rules },
	{ "too many conditions", EINVAL, m_too_many_conds },
	{ "string table too long", EINVAL, m_strings_too_long },
	{ "unknown flag", EINVAL, m_flags },
	{ "nonzero header padding", EINVAL, m_header_pad },
	{ "header size too small", EINVAL, m_header_small },
	{ "rule_size too small", EINVAL, m_rule_size_small },
	{ "cond_size 0", EINVAL, m_cond_size_small },
	{ "rule_size above a page", E2BIG, m_rule_size_page },
	{ "bad rules pointer", EFAULT, m_bad_rules_ptr },
	{ "bad conds pointer", EFAULT, m_bad_conds_ptr },
	{ "bad strings pointer", EFAULT, m_bad_strings_ptr },
};

/* The module still holds want and its generation did not move. */
static int unchanged(const char *what)
{
	struct sagafs_rules h;

	CHECK(!get(&got, &h), "%s: GET_RULES: %s", what, strerror(errno));
	CHECK(same(&want, &got), "%s: the set changed", what);
	CHECK(h.generation == got_h.generation, "%s: generation moved", what);
	return 0;
}

static int t_bad_sets(void)
{
	struct sagafs_rules h;
	size_t i;
	int r, failed = 0;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		good_set(&work);
		header(&work, &h);
		bads[i].mutate(&work, &h);
		errno = 0;
		r = ioctl(dev, SAGAFS_IOC_SET_RULES, &h);
		if (r != -1 || errno != bads[i].err) {
			printf("#   %s: got %d errno %d (%s), want %d\n",
			       bads[i].what, r, errno, strerror(errno),
			       bads[i].err);
			failed++;
		}
		if (unchanged(bads[i].what))
			failed++;
	}
	printf("#   %zu malformed sets tried\n", i);
	return failed ? -1 : 0;
}

static __u64 rnd_state = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* SET_RULES of s with header h: refused (EINVAL, E2BIG) or exact. */
static int refused_or_exact(struct set *s, struct sagafs_rules *h,
			    int *accepted)
{
	struct sagafs_rules gh;
	__u32 i;
	int r;

	errno = 0;
	r = ioctl(dev, SAGAFS_IOC_SET_RULES, h);
	if (r == -1) {
		CHECK(errno == EINVAL || errno == E2BIG,
		      "garbage gave errno %d (%s)", errno, strerror(errno));
		return unchanged("garbage");
	}
	/* Accepted: it must read back exactly; it is the set in force now. */
	(*accepted)++;
	CHECK(!get(&got, &gh), "GET_RULES: %s", strerror(errno));
	s->flags = h->flags;
	s->nr_rules = h->nr_rules;
	s->nr_conds = h->nr_conds;
	s->str_len = h->str_len;
	for (i = 0; i < s->nr_rules; i++)
		s->rules[i].hits = 0;	/* SET_RULES ignores it */
	CHECK(same(s, &got), "an accepted set reads back differently");
	CHECK(gh.generation == got_h.generation + 1, "generation %llu after %llu",
	      (unsigned long long)gh.generation,
	      (unsigned long long)got_h.generation);
	set_copy(&want, s);
	got_h = gh;
	return 0;
}

static int t_garbage(void)
{
	struct sagafs_rules h;
	int i, accepted = 0;
	size_t j;

	for (i = 0; i < 3000; i++) {
		set_init(&work);
		for (j = 0; j < 8 * sizeof(struct sagafs_rule); j++)
			((unsigned char *)work.rules)[j] = rnd();
		for (j = 0; j < 32 * sizeof(struct sagafs_rule_cond); j++)
			((unsigned char *)work.conds)[j] = rnd();
		for (j = 0; j < 256; j++)
			work.strings[j] = rnd();
		if (i % 2) {
			/* Plausible headers: small counts, sane sizes. */
			work.nr_rules = rnd() % 9;
			work.nr_conds = rnd() % 33;
			work.str_len = rnd() % 257;
			work.flags = rnd() % 2;
			header(&work, &h);
		} else {
			/* Anything at all, but pointers into our buffers. */
			for (j = 0; j < sizeof(h); j++)
				((unsigned char *)&h)[j] = rnd();
			h.size = sizeof(h);
			h.nr_rules %= 9;
			h.nr_conds %= 33;
			h.str_len %= 257;
			h.rules = (uintptr_t)work.rules;
			h.conds = (uintptr_t)work.conds;
			h.strings = (uintptr_t)work.strings;
			h.rule_size = sizeof(struct sagafs_rule);
			h.cond_size = sizeof(struct sagafs_rule_cond);
		}
		if (refused_or_exact(&work, &h, &accepted))
			return -1;
	}
	printf("#   3000 random sets: %d accepted (each read back exactly)\n",
	       accepted);
	return 0;
}

/* One byte of a valid set flipped at random, 3000 times. */
static int t_corrupted(void)
{
	struct sagafs_rules h;
	int i, accepted = 0;
	size_t n, at;
	unsigned char *p;

	for (i = 0; i < 3000; i++) {
		good_set(&work);
		n = work.nr_rules * sizeof(*work.rules) +
		    work.nr_conds * sizeof(*work.conds) + work.str_len;
		at = rnd() % n;
		if (at < work.nr_rules * sizeof(*work.rules)) {
			p = (unsigned char *)work.rules + at;
		} else {
			at -= work.nr_rules * sizeof(*work.rules);
			if (at < work.nr_conds * sizeof(*work.conds))
				p = (unsigned char *)work.conds + at;
			else
				p = (unsigned char *)work.strings + at -
				    work.nr_conds * sizeof(*work.conds);
		}
		*p ^= 1 << (rnd() % 8);
		header(&work, &h);
		if (refused_or_exact(&work, &h, &accepted))
			return -1;
	}
	printf("#   3000 one-bit corruptions: %d accepted (each read back exactly)\n",
	       accepted);
	return 0;
}

static int t_sizes(void)
{
	struct {
		struct sagafs_rules h;
		__u64 tail;
	} big;
	struct sagafs_rule *wide;
	__u32 i, stride = sizeof(struct sagafs_rule) + 16;
	struct sagafs_rules h;

	/* A larger header with a zero tail is accepted... */
	good_set(&work);
	header(&work, &big.h);
	big.h.size = sizeof(big);
	big.tail = 0;
	CHECK(!ioctl(dev, SAGAFS_IOC_SET_RULES, &big), "zero tail: %s",
	      strerror(errno));
	/* ...a nonzero tail is E2BIG. */
	big.tail = 1;
	errno = 0;
	CHECK(ioctl(dev, SAGAFS_IOC_SET_RULES, &big) == -1 && errno == E2BIG,
	      "nonzero header tail: errno %d", errno);
	/* Wider rule elements: zero tails accepted, others E2BIG. */
	wide = calloc(work.nr_rules, stride);
	CHECK(wide, "calloc");
	for (i = 0; i < work.nr_rules; i++)
		memcpy((char *)wide + i * stride, &work.rules[i],
		       sizeof(work.rules[i]));
	header(&work, &h);
	h.rules = (uintptr_t)wide;
	h.rule_size = stride;
	if (ioctl(dev, SAGAFS_IOC_SET_RULES, &h)) {
		free(wide);
		FAIL("wide rules with zero tails: %s", strerror(errno));
	}
	((char *)wide)[stride + sizeof(struct sagafs_rule) + 3] = 1;
	errno = 0;
	i = ioctl(dev, SAGAFS_IOC_SET_RULES, &h) == -1 && errno == E2BIG;
	free(wide);
	CHECK(i, "nonzero element tail: errno %d", errno);
	CHECK(!get(&got, NULL) && same(&work, &got), "the set read back");
	/* Restore want for the tests after. */
	CHECK(!apply(&want), "restore: %s", strerror(errno));
	CHECK(!get(&got, &got_h), "GET_RULES: %s", strerror(errno));
	return 0;
}

static int t_get_capacity(void)
{
	struct sagafs_rules h = { .size = sizeof(h) };
	struct sagafs_rule r[2];

	memset(r, 0xaa, sizeof(r));
	h.nr_rules = 2;
	h.nr_conds = 100;
	h.str_len = 4096;
	h.rules = (uintptr_t)r;
	h.conds = (uintptr_t)work.conds;
	h.strings = (uintptr_t)work.strings;
	h.rule_size = sizeof(r[0]);
	h.cond_size = sizeof(struct sagafs_rule_cond);
	errno = 0;
	CHECK(ioctl(dev, SAGAFS_IOC_GET_RULES, &h) == -1 && errno == ENOSPC,
	      "3 rules into 2: errno %d", errno);
	CHECK(h.nr_rules == want.nr_rules && h.nr_conds == want.nr_conds &&
	      h.str_len == want.str_len, "the header gives the sizes");
	CHECK(((unsigned char *)r)[0] == 0xaa &&
	      ((unsigned char *)r)[sizeof(r) - 1] == 0xaa,
	      "the arrays are untouched");
	/* A smaller element size is refused. */
	h.nr_rules = 3;
	h.rule_size = 8;
	errno = 0;
	CHECK(ioctl(dev, SAGAFS_IOC_GET_RULES, &h) == -1 && errno == EINVAL,
	      "rule_size 8: errno %d", errno);
	/* A nonzero padding is refused. */
	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.__pad0 = 1;
	errno = 0;
	CHECK(ioctl(dev, SAGAFS_IOC_GET_RULES, &h) == -1 && errno == EINVAL,
	      "__pad0: errno %d", errno);
	return 0;
}

static int t_needs_cap_sys_admin(void)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		struct sagafs_rules h = { .size = sizeof(h) };

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		/* A query works for any opener... */
		if (ioctl(dev, SAGAFS_IOC_GET_RULES, &h))
			_exit(4);
		/* ...a change does not. */
		header(&want, &h);
		errno = 0;
		_exit(ioctl(dev, SAGAFS_IOC_SET_RULES, &h) == -1 &&
		      errno == EPERM ? 0 : 5);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
	      "unprivileged child: status %#x", status);
	return unchanged("unprivileged SET_RULES");
}

static int t_empty_set_restores(void)
{
	struct set none = { 0 };
	struct sagafs_rules h;
	int r;

	set_init(&none);
	r = apply(&none);
	set_free(&none);
	CHECK(!r, "SET_RULES of the empty set: %s", strerror(errno));
	CHECK(!get(&got, &h), "GET_RULES: %s", strerror(errno));
	CHECK(!h.nr_rules && !h.nr_conds && !h.str_len && !h.flags,
	      "no rules, default always");
	return 0;
}

int main(void)
{
	dev = open(DEV, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		printf("Bail out! open %s: %s\n", DEV, strerror(errno));
		return 1;
	}
	printf("TAP version 13\n");
	run("SET/GET_RULES round trip of every field", t_round_trip);
	run("malformed sets: EINVAL/E2BIG/EFAULT, nothing changed", t_bad_sets);
	run("random garbage: refused or exact", t_garbage);
	run("one-bit corruptions: refused or exact", t_corrupted);
	run("header and element size rules", t_sizes);
	run("GET_RULES capacities", t_get_capacity);
	run("SET_RULES needs CAP_SYS_ADMIN", t_needs_cap_sys_admin);
	run("the empty set restores the load-time state", t_empty_set_restores);
	printf("1..%d\n", nr_run);
	printf("%d passed, %d failed\n", nr_run - nr_failed, nr_failed);
	set_free(&want);
	set_free(&got);
	set_free(&work);
	return nr_failed ? 1 : 0;
}
