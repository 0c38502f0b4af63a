// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: counters.  Each possible CPU owns one kvzalloc'd block (larger
 * than a page, so page aligned: no cache line shared with another CPU),
 * written only by the probe on that CPU with preemption off, each counter
 * with WRITE_ONCE() and read across CPUs with READ_ONCE().  RESET_STATS
 * bumps a generation; a CPU's block counts as zero until its probe next
 * runs and clears it, so a reset never races with an increment.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/timekeeping.h>
#include "sagafs.h"

int sagafs_stats_init(void)
{
	unsigned int cpu;

	sagafs.stats_gen = 1;
	sagafs.reset_ns = ktime_get_real_ns();
	BUILD_BUG_ON(sizeof(struct sagafs_pcpu_stats) <= PAGE_SIZE);
	for_each_possible_cpu(cpu) {
		struct sagafs_pcpu_stats *st;

		st = kvzalloc_node(sizeof(*st), GFP_KERNEL, cpu_to_node(cpu));
		if (!st)
			goto err;
		st->gen = sagafs.stats_gen;
		sagafs_cpu(cpu)->stats = st;
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
		kvfree(sagafs_cpu(cpu)->stats);
		sagafs_cpu(cpu)->stats = NULL;
	}
}

/* Caller holds sagafs.lock. */
void sagafs_stats_reset(void)
{
	u64 now = ktime_get_real_ns();

	WRITE_ONCE(sagafs.stats_gen, sagafs.stats_gen + 1);
	sagafs.reset_ns = now;
	sagafs_marks_missed_reset();
	sagafs.enabled_sum_ns = 0;
	sagafs.enabled_since_ns = now;
}

/* The CPU's block if it belongs to the current generation, else NULL. */
static const struct sagafs_pcpu_stats *sagafs_stats_cur(unsigned int cpu)
{
	const struct sagafs_pcpu_stats *st;

	if (!cpu_possible(cpu))
		return NULL;
	st = sagafs_cpu(cpu)->stats;

	/* Pairs with the release in sagafs_stats_fresh(). */
	if (smp_load_acquire(&st->gen) != READ_ONCE(sagafs.stats_gen))
		return NULL;
	return st;
}

static void sagafs_add_counts(struct sagafs_counts *to,
			      const struct sagafs_counts *from)
{
	to->calls += READ_ONCE(from->calls);
	to->errors += READ_ONCE(from->errors);
	to->logged += READ_ONCE(from->logged);
	to->filtered += READ_ONCE(from->filtered);
	to->dropped += READ_ONCE(from->dropped);
	to->skipped += READ_ONCE(from->skipped);
}

static void sagafs_cpu_fill(unsigned int cpu, struct sagafs_cpu_stats *cs,
			    const struct sagafs_pcpu_stats *st)
{
	memset(cs, 0, sizeof(*cs));
	cs->ring_size = READ_ONCE(sagafs.ring_size);
	cs->ring_used = sagafs_ring_used(cpu);
	if (!st)
		return;
	cs->calls = READ_ONCE(st->calls);
	cs->logged = READ_ONCE(st->logged);
	cs->filtered = READ_ONCE(st->filtered);
	cs->dropped = READ_ONCE(st->dropped);
	cs->bytes = READ_ONCE(st->bytes);
	cs->bad_tail = READ_ONCE(st->bad_tail);
}

/*
 * Sum the counters into st (totals), slots ([abi][slot], may be NULL) and
 * cpus (nr_cpus entries, may be NULL).
 */
int sagafs_stats_get(struct sagafs_stats *st, struct sagafs_counts *slots,
		     struct sagafs_cpu_stats *cpus)
{
	struct sagafs_cpu_stats cs;
	unsigned int cpu, abi, i;

	memset(&st->total, 0, sizeof(st->total));
	st->bytes = 0;
	st->bad_tail = 0;
	for (cpu = 0; cpu < sagafs.nr_cpus; cpu++) {
		const struct sagafs_pcpu_stats *p = sagafs_stats_cur(cpu);

		sagafs_cpu_fill(cpu, &cs, p);
		if (cpus)
			cpus[cpu] = cs;
		if (!p)
			continue;
		st->total.calls += cs.calls;
		st->total.errors += READ_ONCE(p->errors);
		st->total.skipped += READ_ONCE(p->skipped);
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
						  &p->slot[abi][i]);
		cond_resched();
	}
	return 0;
}
