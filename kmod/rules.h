/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sagafs: the rule set as the module keeps it, shared by rules.c (SET and
 * GET, validation, publication) and rulematch.c (evaluation).
 */
#ifndef _SAGAFS_RULES_H
#define _SAGAFS_RULES_H

#include <linux/kref.h>
#include <linux/limits.h>
#include <linux/rcupdate.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include "sagafs.h"

/* Per-CPU buffer of 2 * SAGAFS_RULE_BUF_HALF: executable path, cgroup path */
#define SAGAFS_RULE_BUF_HALF	PATH_MAX

/*
 * A validated rule set.  rules, conds and strings are as SET_RULES gave
 * them (rules[].hits zero); first[i] indexes rule i's first condition; any
 * is the union of the rules' bitmaps.  Readers: the probes under RCU, and
 * GET_RULES holding a reference.
 */
struct sagafs_ruleset {
	struct kref ref;
	struct rcu_work retire;		/* frees it a grace period after */
	u32 flags;
	u32 nr_rules;
	u32 nr_conds;
	u32 str_len;
	u64 generation;
	u64 any[SAGAFS_NR_ABIS][SAGAFS_BITMAP_WORDS];
	u64 __percpu *hits;		/* nr_rules + 1: the default last */
	struct sagafs_rule *rules;
	struct sagafs_rule_cond *conds;
	u32 *first;
	char *strings;
};

extern struct sagafs_ruleset __rcu *sagafs_ruleset;
extern char **sagafs_rule_buf;		/* nr_cpu_ids buffers */

#endif /* _SAGAFS_RULES_H */
