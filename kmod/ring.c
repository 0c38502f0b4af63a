// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: per-CPU rings shared with user space.
 *
 * Producer state (head, seq, counters) lives in struct sagafs_cpu, kernel
 * memory.  The control pages only receive copies; the kernel reads nothing
 * back from them except tail, which it never trusts.  Data areas are one
 * vmalloc_user() region mapped read-only; control pages are a second one.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/version.h>
#include "sagafs.h"

#define SAGAFS_SCRATCH_LEN	(2 * (SAGAFS_SNAPLEN_MAX + 1))

static void sagafs_wake_work(struct irq_work *work)
{
	wake_up_interruptible_all(&sagafs.wq);
}

static void sagafs_ring_reset_cpu(unsigned int cpu)
{
	struct sagafs_cpu *c = &sagafs.cpus[cpu];

	c->ctrl = sagafs.ctrl_area + (size_t)cpu * PAGE_SIZE;
	c->data = sagafs.data_area + (size_t)cpu * sagafs.ring_size;
	WRITE_ONCE(c->head, 0);
	WRITE_ONCE(c->ctrl->head, 0);
	WRITE_ONCE(c->ctrl->tail, 0);
	WRITE_ONCE(c->ctrl->ring_size, sagafs.ring_size);
	WRITE_ONCE(c->ctrl->next_seq, c->seq);
	WRITE_ONCE(c->ctrl->dropped, c->dropped);
	WRITE_ONCE(c->ctrl->logged, c->logged);
	WRITE_ONCE(c->ctrl->bad_tail, c->bad_tail);
	WRITE_ONCE(c->ctrl->cpu, cpu);
}

static void *sagafs_area_alloc(u64 size)
{
	if (size > ULONG_MAX)
		return NULL;
	return vmalloc_user(size);
}

int sagafs_rings_init(u64 ring_size)
{
	unsigned int nr = nr_cpu_ids, cpu;

	sagafs.nr_cpus = nr;
	sagafs.ring_size = ring_size;
	init_waitqueue_head(&sagafs.wq);
	atomic_set(&sagafs.nr_maps, 0);

	sagafs.cpus = kcalloc(nr, sizeof(*sagafs.cpus), GFP_KERNEL);
	if (!sagafs.cpus)
		return -ENOMEM;
	sagafs.ctrl_area = sagafs_area_alloc((u64)nr * PAGE_SIZE);
	if (!sagafs.ctrl_area)
		goto err;
	sagafs.data_area = sagafs_area_alloc((u64)nr * ring_size);
	if (!sagafs.data_area)
		goto err;
	for (cpu = 0; cpu < nr; cpu++) {
		struct sagafs_cpu *c = &sagafs.cpus[cpu];

		c->scratch = kmalloc(SAGAFS_SCRATCH_LEN, GFP_KERNEL);
		if (!c->scratch)
			goto err;
		init_irq_work(&c->work, sagafs_wake_work);
		sagafs_ring_reset_cpu(cpu);
	}
	return 0;
err:
	sagafs_rings_exit();
	return -ENOMEM;
}

void sagafs_rings_exit(void)
{
	unsigned int cpu;

	if (sagafs.cpus) {
		for (cpu = 0; cpu < sagafs.nr_cpus; cpu++)
			kfree(sagafs.cpus[cpu].scratch);
	}
	vfree(sagafs.data_area);
	vfree(sagafs.ctrl_area);
	kfree(sagafs.cpus);
	sagafs.data_area = NULL;
	sagafs.ctrl_area = NULL;
	sagafs.cpus = NULL;
}

/*
 * Replace the data areas.  Caller holds sagafs.lock, capture is off (probes
 * detached and synchronised) and nothing maps the rings.  Sequence numbers
 * and the ever-counters carry on; head and tail restart at 0.
 */
int sagafs_rings_resize(u64 ring_size)
{
	void *area, *old;
	unsigned int cpu;

	lockdep_assert_held(&sagafs.lock);
	if (ring_size == sagafs.ring_size)
		return 0;
	if (sagafs.enabled || atomic_read(&sagafs.nr_maps))
		return -EBUSY;
	area = sagafs_area_alloc((u64)sagafs.nr_cpus * ring_size);
	if (!area)
		return -ENOMEM;
	old = sagafs.data_area;
	sagafs.data_area = area;
	WRITE_ONCE(sagafs.ring_size, ring_size);
	for (cpu = 0; cpu < sagafs.nr_cpus; cpu++)
		sagafs_ring_reset_cpu(cpu);
	vfree(old);
	return 0;
}

/* Wait for queued wake-ups after the probes are gone. */
void sagafs_rings_sync(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < sagafs.nr_cpus; cpu++)
		irq_work_sync(&sagafs.cpus[cpu].work);
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
 * Append one record (header, path bytes, key bytes, then zero padding up
 * to rec->size) to this CPU's ring, or count it as dropped.  Runs in the probe
 * with preemption disabled: the only producer of this ring.  rec->seq is
 * assigned here.  Returns 0 if written, -ENOSPC if the ring was full,
 * -EINVAL if the consumer's tail was bogus (also dropped).
 */
int sagafs_ring_write(struct sagafs_cpu *c, struct sagafs_record *rec,
		      const char *p0, const char *p1, const char *key,
		      u32 wakeup_bytes)
{
	u64 size = sagafs.ring_size, head = c->head, tail, used, off, pad;
	u32 len = rec->size, hlen = sizeof(*rec);
	u8 *dst;
	int ret = 0;

	rec->seq = c->seq++;
	/* The consumer is done reading below tail before publishing it. */
	tail = smp_load_acquire(&c->ctrl->tail);
	used = head - tail;
	if (used > size || (tail & (SAGAFS_RECORD_ALIGN - 1))) {
		c->dropped++;
		c->bad_tail++;
		ret = -EINVAL;
		goto publish;
	}
	off = head & (size - 1);
	pad = size - off;
	if (pad >= len)
		pad = 0;
	if (pad + len > size - used) {
		c->dropped++;
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
	memcpy(dst + hlen, key, rec->key_len);
	hlen += rec->key_len;
	memset(dst + hlen, 0, len - hlen);
	WRITE_ONCE(c->head, head + len);
	c->logged++;
publish:
	sagafs_ring_publish(c);
	if (!ret)
		sagafs_ring_maybe_wake(c, tail, wakeup_bytes);
	return ret;
}

/* Unread bytes of one ring, 0 when the consumer's tail is bogus. */
u64 sagafs_ring_used(unsigned int cpu)
{
	struct sagafs_cpu *c = &sagafs.cpus[cpu];
	u64 head = READ_ONCE(c->head);
	/* Pairs with the consumer's store-release of tail. */
	u64 tail = smp_load_acquire(&c->ctrl->tail);
	u64 used = head - tail;

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
	for (cpu = 0; cpu < sagafs.nr_cpus; cpu++)
		WRITE_ONCE(sagafs.cpus[cpu].waiter, 1);
	/* Pairs with the barrier in sagafs_ring_maybe_wake(). */
	smp_mb();
	for (cpu = 0; cpu < sagafs.nr_cpus; cpu++) {
		if (sagafs_ring_used(cpu) > wakeup)
			return EPOLLIN | EPOLLRDNORM;
	}
	return 0;
}

/* ---- mmap ---- */

static void sagafs_vm_open(struct vm_area_struct *vma)
{
	atomic_inc(&sagafs.nr_maps);
}

static void sagafs_vm_close(struct vm_area_struct *vma)
{
	atomic_dec(&sagafs.nr_maps);
}

static const struct vm_operations_struct sagafs_vm_ops = {
	.open = sagafs_vm_open,
	.close = sagafs_vm_close,
};

static void sagafs_vma_flags(struct vm_area_struct *vma, unsigned long set,
			     unsigned long clear)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/* Which region [off, off + len) lies in: area and page offset in it. */
static int sagafs_mmap_region(struct vm_area_struct *vma, void **area,
			      unsigned long *pgoff)
{
	u64 len = vma->vm_end - vma->vm_start;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 ctrl_len = (u64)sagafs.nr_cpus * PAGE_SIZE;
	u64 data_len = (u64)sagafs.nr_cpus * sagafs.ring_size;

	if (off < ctrl_len && len <= ctrl_len - off) {
		*area = sagafs.ctrl_area;
		*pgoff = off >> PAGE_SHIFT;
		return 0;
	}
	if (off >= ctrl_len && off - ctrl_len < data_len &&
	    len <= data_len - (off - ctrl_len)) {
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		sagafs_vma_flags(vma, 0, VM_MAYWRITE);
		*area = sagafs.data_area;
		*pgoff = (off - ctrl_len) >> PAGE_SHIFT;
		return 0;
	}
	return -EINVAL;
}

int sagafs_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long pgoff;
	void *area;
	int ret;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&sagafs.lock);
	ret = sagafs_mmap_region(vma, &area, &pgoff);
	if (ret)
		goto out;
	if (sagafs.consumer && sagafs.consumer != file) {
		ret = -EBUSY;
		goto out;
	}
	sagafs_vma_flags(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP, 0);
	ret = remap_vmalloc_range(vma, area, pgoff);
	if (ret)
		goto out;
	vma->vm_ops = &sagafs_vm_ops;
	atomic_inc(&sagafs.nr_maps);
	if (!sagafs.consumer) {
		sagafs.consumer = file;
		WRITE_ONCE(sagafs.consumer_tgid, task_tgid_nr(current));
	}
out:
	mutex_unlock(&sagafs.lock);
	return ret;
}
