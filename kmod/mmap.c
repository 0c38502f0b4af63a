// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: mapping the rings.  Two regions, the control pages (read-write:
 * the consumer writes tail there) and the data areas (read-only), and one
 * consumer: the open file that maps them.
 *
 * The rings hold every user's paths and argument registers, so mapping
 * them takes a descriptor opened for writing by a holder of
 * CAP_SYS_ADMIN in the initial user namespace (the opener's credentials,
 * as for other capabilities tied to an open file).  The consumer's
 * process is held by its struct pid, never by its number, so that
 * exclude_self cannot pass to a process that gets the number later.
 */
#include <linux/kernel.h>
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/vmalloc.h>
#include <linux/version.h>
#include "sagafs.h"

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
	u64 ctrl_len = (u64)sagafs.nr_cpus * PAGE_SIZE;
	u64 data_len = (u64)sagafs.nr_cpus * sagafs.ring_size;
	u64 off;

	if (check_shl_overflow((u64)vma->vm_pgoff, PAGE_SHIFT, &off))
		return -EINVAL;

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

/* Who may map, and how: the rules that do not depend on the region. */
static int sagafs_mmap_allowed(struct file *file, struct vm_area_struct *vma)
{
	if (!(file->f_mode & FMODE_WRITE))
		return -EACCES;
	if (!file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN))
		return -EPERM;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	return 0;
}

/* file maps the rings first: it is the consumer.  Holds sagafs.lock. */
static void sagafs_consumer_set(struct file *file)
{
	sagafs.consumer = file;
	/* A reference while it is the consumer: the probe compares pointers. */
	WRITE_ONCE(sagafs.consumer_pid, get_pid(task_tgid(current)));
}

/* file is released: if it was the consumer, there is none any more. */
void sagafs_consumer_release(struct file *file)
{
	struct pid *pid;

	mutex_lock(&sagafs.lock);
	if (sagafs.consumer != file) {
		mutex_unlock(&sagafs.lock);
		return;
	}
	pid = sagafs.consumer_pid;
	sagafs.consumer = NULL;
	WRITE_ONCE(sagafs.consumer_pid, NULL);
	mutex_unlock(&sagafs.lock);
	/*
	 * The probes compare against the pointer with preemption off: wait
	 * until none can still do so before the struct pid may be freed and
	 * its memory reused for another process.
	 */
	synchronize_rcu();
	put_pid(pid);
}

int sagafs_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long pgoff;
	void *area;
	int ret;

	ret = sagafs_mmap_allowed(file, vma);
	if (ret)
		return ret;
	mutex_lock(&sagafs.lock);
	ret = sagafs_mmap_region(vma, &area, &pgoff);
	if (ret)
		goto out;
	if (sagafs.consumer && sagafs.consumer != file) {
		ret = -EBUSY;
		goto out;
	}
	sagafs_vma_flags(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP,
			 VM_MAYEXEC);
	ret = remap_vmalloc_range(vma, area, pgoff);
	if (ret)
		goto out;
	vma->vm_ops = &sagafs_vm_ops;
	atomic_inc(&sagafs.nr_maps);
	if (!sagafs.consumer)
		sagafs_consumer_set(file);
out:
	mutex_unlock(&sagafs.lock);
	return ret;
}
