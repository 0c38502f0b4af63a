// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: per-CPU rings shared with user space.
 *
 * Producer state (head, seq, counters) lives in struct sagafs_cpu, per-CPU
 * kernel memory.  The control pages only receive copies; the kernel reads
 * nothing back from them except tail, which it never trusts.  The data
 * areas are one region mapped read-only; the control pages a second one.
 * Both are built from pages allocated with __GFP_RETRY_MAYFAIL: rings that
 * do not fit fail with ENOMEM instead of waking the OOM killer.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "sagafs.h"

static void sagafs_wake_work(struct irq_work *work)
{
	wake_up_interruptible_all(&sagafs.wq);
}

/* Point ring index cpu (a possible CPU or not) at the current areas. */
static void sagafs_ring_reset(unsigned int cpu)
{
	struct sagafs_ring_ctrl *ctrl = sagafs.ctrl_area + (size_t)cpu * PAGE_SIZE;
	struct sagafs_cpu *c = NULL;

	if (cpu_possible(cpu)) {
		c = sagafs_cpu(cpu);
		c->ctrl = ctrl;
		c->data = sagafs.data_area + (size_t)cpu * sagafs.ring_size;
		WRITE_ONCE(c->head, 0);
	}
	WRITE_ONCE(ctrl->head, 0);
	WRITE_ONCE(ctrl->tail, 0);
	WRITE_ONCE(ctrl->ring_size, sagafs.ring_size);
	WRITE_ONCE(ctrl->next_seq, c ? c->seq : 0);
	WRITE_ONCE(ctrl->dropped, c ? c->dropped : 0);
	WRITE_ONCE(ctrl->logged, c ? c->logged : 0);
	WRITE_ONCE(ctrl->bad_tail, c ? c->bad_tail : 0);
	WRITE_ONCE(ctrl->cpu, cpu);
}

/*
 * Zeroed memory that remap_vmalloc_range() can map: pages allocated with
 * __GFP_RETRY_MAYFAIL (no OOM killer; vmalloc_user() takes no gfp flags),
 * mapped with vmap() as VM_USERMAP.  sagafs_area_free() releases it.
 */
static void *sagafs_area_alloc(u64 size)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
	unsigned long nr, n;
	struct page **pages;
	void *area;

	if (!size || size >> PAGE_SHIFT > UINT_MAX)
		return NULL;
	nr = size >> PAGE_SHIFT;
	/* Do not push the system into reclaim for rings it cannot hold. */
	if (nr > max(si_mem_available(), 0L))
		return NULL;
	pages = kvmalloc_array(nr, sizeof(*pages), gfp);
	if (!pages)
		return NULL;
	for (n = 0; n < nr; n++) {
		if (fatal_signal_pending(current))
			goto err;
		pages[n] = alloc_page(gfp | __GFP_ZERO);
		if (!pages[n])
			goto err;
		cond_resched();
	}
	/* With VM_MAP_PUT_PAGES, vfree() frees the pages and the array. */
	area = vmap(pages, nr, VM_MAP | VM_MAP_PUT_PAGES | VM_USERMAP,
		    PAGE_KERNEL);
	if (area)
		return area;
err:
	while (n--)
		__free_page(pages[n]);
	kvfree(pages);
	return NULL;
}

void sagafs_area_free(void *area)
{
	vfree(area);
}

int sagafs_rings_init(u64 ring_size)
{
	unsigned int nr = nr_cpu_ids, cpu;

	sagafs.nr_cpus = nr;
	sagafs.ring_size = ring_size;
	init_waitqueue_head(&sagafs.wq);
	atomic_set(&sagafs.nr_maps, 0);

	sagafs.cpus = alloc_percpu(struct sagafs_cpu);
	if (!sagafs.cpus)
		return -ENOMEM;
	sagafs.ctrl_area = sagafs_area_alloc((u64)nr * PAGE_SIZE);
	if (!sagafs.ctrl_area)
		goto err;
	sagafs.data_area = sagafs_area_alloc((u64)nr * ring_size);
	if (!sagafs.data_area)
		goto err;
	for_each_possible_cpu(cpu) {
		struct sagafs_cpu *c = sagafs_cpu(cpu);

		c->scratch = kmalloc_node(SAGAFS_SCRATCH_LEN, GFP_KERNEL,
					  cpu_to_node(cpu));
		if (!c->scratch)
			goto err;
		init_irq_work(&c->work, sagafs_wake_work);
	}
	for (cpu = 0; cpu < nr; cpu++)
		sagafs_ring_reset(cpu);
	return 0;
err:
	sagafs_rings_exit();
	return -ENOMEM;
}

void sagafs_rings_exit(void)
{
	unsigned int cpu;

	if (sagafs.cpus) {
		for_each_possible_cpu(cpu)
			kfree(sagafs_cpu(cpu)->scratch);
	}
	sagafs_area_free(sagafs.data_area);
	sagafs_area_free(sagafs.ctrl_area);
	free_percpu(sagafs.cpus);
	sagafs.data_area = NULL;
	sagafs.ctrl_area = NULL;
	sagafs.cpus = NULL;
}

/*
 * New data areas for rings of ring_size bytes, or NULL (no memory).
 * Nothing changes until sagafs_rings_commit().
 */
void *sagafs_rings_prepare(u64 ring_size)
{
	if (sagafs_fault(SAGAFS_FAULT_RING))
		return NULL;
	return sagafs_area_alloc((u64)sagafs.nr_cpus * ring_size);
}

/*
 * Switch to the prepared areas.  Caller holds sagafs.lock, no probe writes
 * (capture off or not yet on) and nothing maps the rings.  Sequence
 * numbers and the ever-counters carry on; head and tail restart at 0.
 */
void sagafs_rings_commit(void *area, u64 ring_size)
{
	void *old = sagafs.data_area;
	unsigned int cpu;

	lockdep_assert_held(&sagafs.lock);
	sagafs.data_area = area;
	WRITE_ONCE(sagafs.ring_size, ring_size);
	for (cpu = 0; cpu < sagafs.nr_cpus; cpu++)
		sagafs_ring_reset(cpu);
	sagafs_area_free(old);
}

/* Wait for queued wake-ups after the probes are gone. */
void sagafs_rings_sync(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		irq_work_sync(&sagafs_cpu(cpu)->work);
}

struct sagafs_pad {
	u16 size;
	u16 type;
	u32 zero;
};

static void sagafs_ring_publish(struct sagafs_cpu *c)
{
	struct sagafs_ring_ctrl *ctrl = c->ctrl;

	/* Record bytes before head; head before next_seq (see the UAPI). */
	smp_store_release(&ctrl->head, c->head);
	/* Pairs with the reader's acquire of next_seq. */
	smp_store_release(&ctrl->next_seq, c->seq);
	WRITE_ONCE(ctrl->dropped, c->dropped);
	WRITE_ONCE(ctrl->logged, c->logged);
	WRITE_ONCE(ctrl->bad_tail, c->bad_tail);
}

static void sagafs_ring_maybe_wake(struct sagafs_cpu *c, u64 tail,
				   u32 wakeup_bytes)
{
	/* Pairs with the barrier in sagafs_poll() after setting waiter. */
	smp_mb();
	if (!READ_ONCE(c->waiter) || c->head - tail <= wakeup_bytes)
		return;
	WRITE_ONCE(c->waiter, 0);
	irq_work_queue(&c->work);
}

/*
 * Append one record (header, then path bytes, then zero padding up to
 * rec->size) to this CPU's ring, or count it as dropped.  Runs in the probe
 * with preemption disabled: the only producer of this ring.  rec->seq is
 * assigned here.  Returns 0 if written, -ENOSPC if the ring was full,
 * -EINVAL if the consumer's tail was bogus (also dropped).
 */
int sagafs_ring_write(struct sagafs_cpu *c, struct sagafs_record *rec,
		      const char *p0, const char *p1, u32 wakeup_bytes)
{
	u64 size = sagafs.ring_size, head = c->head, tail, used, off, pad;
	u32 len = rec->size, hlen = sizeof(*rec);
	u8 *dst;
	int ret = 0;

	rec->seq = c->seq;
	WRITE_ONCE(c->seq, c->seq + 1);
	/* The consumer is done reading below tail before publishing it. */
	tail = smp_load_acquire(&c->ctrl->tail);
	used = head - tail;
	if (used > size || (tail & (SAGAFS_RECORD_ALIGN - 1))) {
		sagafs_inc(c->dropped);
		sagafs_inc(c->bad_tail);
		ret = -EINVAL;
		goto publish;
	}
	off = head & (size - 1);
	pad = size - off;
	if (pad >= len)
		pad = 0;
	if (pad + len > size - used) {
		sagafs_inc(c->dropped);
		ret = -ENOSPC;
		goto publish;
	}
	if (pad) {
		struct sagafs_pad p = { .size = pad, .type = SAGAFS_REC_PAD };

		memcpy(c->data + off, &p, sizeof(p));
		head += pad;
		off = 0;
	}
	dst = c->data + off;
	memcpy(dst, rec, hlen);
	memcpy(dst + hlen, p0, rec->path_len[0]);
	hlen += rec->path_len[0];
	memcpy(dst + hlen, p1, rec->path_len[1]);
	hlen += rec->path_len[1];
	memset(dst + hlen, 0, len - hlen);
	WRITE_ONCE(c->head, head + len);
	sagafs_inc(c->logged);
publish:
	sagafs_ring_publish(c);
	if (!ret)
		sagafs_ring_maybe_wake(c, tail, wakeup_bytes);
	return ret;
}

/* Unread bytes of one ring, 0 when the consumer's tail is bogus. */
u64 sagafs_ring_used(unsigned int cpu)
{
	struct sagafs_cpu *c;
	u64 head, tail, used;

	if (!cpu_possible(cpu))
		return 0;
	c = sagafs_cpu(cpu);
	head = READ_ONCE(c->head);
	/* Pairs with the consumer's store-release of tail. */
	tail = smp_load_acquire(&c->ctrl->tail);
	used = head - tail;

	if (used > READ_ONCE(sagafs.ring_size) ||
	    (tail & (SAGAFS_RECORD_ALIGN - 1)))
		return 0;
	return used;
}

static u32 sagafs_wakeup_bytes(void)
{
	const struct sagafs_kconf *k;
	u32 w;

	rcu_read_lock();
	k = rcu_dereference(sagafs.conf);
	w = k->user.wakeup_bytes;
	rcu_read_unlock();
	return w;
}

__poll_t sagafs_poll(struct file *file, poll_table *pt)
{
	u32 wakeup = sagafs_wakeup_bytes();
	unsigned int cpu;

	poll_wait(file, &sagafs.wq, pt);
	for_each_possible_cpu(cpu)
		WRITE_ONCE(sagafs_cpu(cpu)->waiter, 1);
	/* Pairs with the barrier in sagafs_ring_maybe_wake(). */
	smp_mb();
	for (cpu = 0; cpu < sagafs.nr_cpus; cpu++) {
		if (sagafs_ring_used(cpu) > wakeup)
			return EPOLLIN | EPOLLRDNORM;
	}
	return 0;
}
