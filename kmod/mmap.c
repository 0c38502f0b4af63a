// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: mapping the rings.  Two regions, the control pages (read-write:
 * the consumer writes tail there) and the data areas (read-only), and one
 * consumer: the open file that maps them.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
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
