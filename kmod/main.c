// SPDX-License-Identifier: GPL-2.0
/*
 * sagafs: module init/exit, the ring_kb parameter and /dev/sagafs.
 *
 * Every open file and every mapping holds a module reference through
 * fops.owner (a mapping holds its file), so rmmod is refused while the
 * device is in use.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/log2.h>
#include <linux/fs.h>
#include "sagafs.h"

struct sagafs_dev sagafs = {
	.lock = __MUTEX_INITIALIZER(sagafs.lock),
};

static unsigned int ring_kb = SAGAFS_RING_KB_DEFAULT;
module_param(ring_kb, uint, 0444);
MODULE_PARM_DESC(ring_kb, "KiB of ring per CPU: power of two in [32, 262144]");

#ifdef SAGAFS_FAULT_INJECT
static unsigned int fault_mask;
module_param(fault_mask, uint, 0644);
MODULE_PARM_DESC(fault_mask, "test build: bit n fails step n (enum sagafs_fault_site)");

bool sagafs_fault(enum sagafs_fault_site site)
{
	return READ_ONCE(fault_mask) & BIT(site);
}
#endif

static int sagafs_open(struct inode *inode, struct file *file)
{
	return nonseekable_open(inode, file);
}

static int sagafs_release(struct inode *inode, struct file *file)
{
	sagafs_consumer_release(file);
	return 0;
}

static const struct file_operations sagafs_fops = {
	.owner = THIS_MODULE,
	.open = sagafs_open,
	.release = sagafs_release,
	.unlocked_ioctl = sagafs_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = sagafs_mmap,
	.poll = sagafs_poll,
};

static struct miscdevice sagafs_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = SAGAFS_DEVICE_NAME,
	.fops = &sagafs_fops,
	.mode = 0600,
};

static int __init sagafs_init(void)
{
	int ret;

	if (ring_kb < SAGAFS_RING_KB_MIN || ring_kb > SAGAFS_RING_KB_MAX ||
	    !is_power_of_2(ring_kb)) {
		pr_err("ring_kb=%u: must be a power of two in [%u, %u]\n",
		       ring_kb, SAGAFS_RING_KB_MIN, SAGAFS_RING_KB_MAX);
		return -EINVAL;
	}
	ret = sagafs_rings_init((u64)ring_kb * 1024);
	if (ret) {
		pr_err("cannot allocate %u KiB rings for %u CPUs\n", ring_kb,
		       nr_cpu_ids);
		return ret;
	}
	ret = sagafs_stats_init();
	if (ret)
		goto err_rings;
	ret = sagafs_capture_init();
	if (ret)
		goto err_stats;
	ret = sagafs_control_init(ring_kb);
	if (ret)
		goto err_capture;
	ret = misc_register(&sagafs_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", SAGAFS_DEVICE_NAME, ret);
		goto err_control;
	}
	return 0;

err_control:
	sagafs_control_exit();
err_capture:
	sagafs_capture_exit();
err_stats:
	sagafs_stats_exit();
err_rings:
	sagafs_rings_exit();
	return ret;
}

static void __exit sagafs_exit(void)
{
	misc_deregister(&sagafs_misc);
	mutex_lock(&sagafs.lock);
	sagafs_disable_locked();
	mutex_unlock(&sagafs.lock);
	/* Configurations replaced earlier are freed by RCU callbacks. */
	rcu_barrier();
	sagafs_control_exit();
	sagafs_capture_exit();
	sagafs_stats_exit();
	sagafs_rings_exit();
}

module_init(sagafs_init);
module_exit(sagafs_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("sagafs: system call capture into per-CPU rings");
