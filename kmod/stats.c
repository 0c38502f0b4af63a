// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: counters.  Each possible CPU owns one kvzalloc'd block (larger
 * than a page, so page aligned: no cache line shared with another CPU),
 * written only by the probe on that CPU with preemption off, each counter
 * with WRITE_ONCE() and read across CPUs with READ_ONCE().  The probe never
 * clears them: RESET_STATS copies every block into a baseline (process
 * context, sagafs.lock held) and GET_STATS reports the difference, so a
 * reset costs the probe nothing and never races with an increment (one
 * that lands during the copy counts before or after the reset, never
 * twice or not at all).
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/timekeeping.h>
#include "sagafs.h"

static struct sagafs_pcpu_stats *sagafs_stats_alloc(unsigned int cpu)
{
	return kvzalloc_node(sizeof(struct sagafs_pcpu_stats), GFP_KERNEL,
			     cpu_to_node(cpu));
}

int sagafs_stats_init(void)
{
	unsigned int cpu;

	sagafs.reset_ns = ktime_get_real_ns();
	BUILD_BUG_ON(sizeof(struct sagafs_pcpu_stats) <= PAGE_SIZE);
	BUILD_BUG_ON(sizeof(struct sagafs_pcpu_stats) % sizeof(u64));
	for_each_possible_cpu(cpu) {
		struct sagafs_cpu *c = sagafs_cpu(cpu);

		c->stats = sagafs_stats_alloc(cpu);
		c->stats_base = sagafs_stats_alloc(cpu);
		if (!c->stats || !c->stats_base)
			goto err;
	}
	return 0;
err:
	sagafs_stats_exit();
	return -ENOMEM;
}

void sagafs_stats_exit(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct sagafs_cpu *c = sagafs_cpu(cpu);

		kvfree(c->stats_base);
		kvfree(c->stats);
		c->stats_base = NULL;
		c->stats = NULL;
	}
}

/* The counters as an array of u64 words. */
#define SAGAFS_STATS_WORDS	(sizeof(struct sagafs_pcpu_stats) / sizeof(u64))

/*
 * Caller holds sagafs.lock.  reset_ns is wall-clock time for people;
 * enabled time is measured on the boot clock, which a clock step (settime,
 * NTP) does not move, so the duration can never run backwards.
 */
void sagafs_stats_reset(void)
{
	unsigned int cpu;
	size_t i;

	lockdep_assert_held(&sagafs.lock);
	for_each_possible_cpu(cpu) {
		const u64 *cur = (const u64 *)sagafs_cpu(cpu)->stats;
		u64 *base = (u64 *)sagafs_cpu(cpu)->stats_base;

		for (i = 0; i < SAGAFS_STATS_WORDS; i++)
			base[i] = READ_ONCE(cur[i]);
		cond_resched();
	}
	sagafs.reset_ns = ktime_get_real_ns();
	sagafs_marks_missed_reset();
	sagafs.enabled_sum_ns = 0;
	sagafs.enabled_since_ns = ktime_get_boottime_ns();
}

/* Counter x of a CPU since RESET_STATS: live value minus its baseline. */
#define sagafs_since(cur, base, x)	(READ_ONCE((cur)->x) - (base)->x)

static void sagafs_add_counts(struct sagafs_counts *to,
			      const struct sagafs_counts *from,
			      const struct sagafs_counts *base)
{
	to->calls += sagafs_since(from, base, calls);
	to->errors += sagafs_since(from, base, errors);
	to->logged += sagafs_since(from, base, logged);
	to->filtered += sagafs_since(from, base, filtered);
	to->dropped += sagafs_since(from, base, dropped);
	to->skipped += sagafs_since(from, base, skipped);
}

static void sagafs_cpu_fill(unsigned int cpu, struct sagafs_cpu_stats *cs,
			    const struct sagafs_pcpu_stats *st,
			    const struct sagafs_pcpu_stats *base)
{
	memset(cs, 0, sizeof(*cs));
	cs->ring_size = READ_ONCE(sagafs.ring_size);
	cs->ring_used = sagafs_ring_used(cpu);
	if (!st)
		return;
	cs->calls = sagafs_since(st, base, calls);
	cs->logged = sagafs_since(st, base, logged);
	cs->filtered = sagafs_since(st, base, filtered);
	cs->dropped = sagafs_since(st, base, dropped);
	cs->bytes = sagafs_since(st, base, bytes);
	cs->bad_tail = sagafs_since(st, base, bad_tail);
}

/*
 * Sum the counters since RESET_STATS into st (totals), slots ([abi][slot],
 * may be NULL) and cpus (nr_cpus entries, may be NULL).  Caller holds
 * sagafs.lock (the baselines do not change meanwhile).
 */
void sagafs_stats_get(struct sagafs_stats *st, struct sagafs_counts *slots,
		      struct sagafs_cpu_stats *cpus)
{
	const struct sagafs_pcpu_stats *p, *b;
	struct sagafs_cpu_stats cs;
	unsigned int cpu, abi, i;

	lockdep_assert_held(&sagafs.lock);
	memset(&st->total, 0, sizeof(st->total));
	st->bytes = 0;
	st->bad_tail = 0;
	for (cpu = 0; cpu < sagafs.nr_cpus; cpu++) {
		p = cpu_possible(cpu) ? sagafs_cpu(cpu)->stats : NULL;
		b = p ? sagafs_cpu(cpu)->stats_base : NULL;
		sagafs_cpu_fill(cpu, &cs, p, b);
		if (cpus)
			cpus[cpu] = cs;
		if (!p)
			continue;
		st->total.calls += cs.calls;
		st->total.errors += sagafs_since(p, b, errors);
		st->total.skipped += sagafs_since(p, b, skipped);
		st->total.logged += cs.logged;
		st->total.filtered += cs.filtered;
		st->total.dropped += cs.dropped;
		st->bytes += cs.bytes;
		st->bad_tail += cs.bad_tail;
		if (!slots)
			continue;
		for (abi = 0; abi < SAGAFS_NR_ABIS; abi++)
			for (i = 0; i < SAGAFS_NR_SLOTS; i++)
				sagafs_add_counts(&slots[abi * SAGAFS_NR_SLOTS + i],
						  &p->slot[abi][i], &b->slot[abi][i]);
		cond_resched();
	}
}
