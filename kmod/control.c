// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: control.  The ioctls, validation of a new configuration and its
 * publication with RCU, enabling and disabling capture.
 *
 * sagafs.lock serialises every change.  No user memory is touched while it
 * is held (mmap takes it under mmap_lock).
 */
#include <linux/kernel.h>
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include "sagafs.h"

/*
 * Read a size-prefixed structure: size below the kernel's (there is no
 * older version) is EINVAL; a larger one must have a zero tail and be at
 * most a page (E2BIG otherwise).
 */
static int sagafs_copy_in(void *dst, size_t ksize, void __user *src)
{
	u32 usize;

	if (get_user(usize, (u32 __user *)src))
		return -EFAULT;
	if (usize < ksize)
		return -EINVAL;
	/* Bound the zero-tail scan, as sched_setattr() does. */
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, src, usize);
}

/* Capture on, probes attached and acting.  Caller holds sagafs.lock. */
static void sagafs_enable_go(void)
{
	sagafs_capture_go();
	sagafs.enabled = true;
	sagafs.enabled_since_ns = ktime_get_real_ns();
}

void sagafs_disable_locked(void)
{
	lockdep_assert_held(&sagafs.lock);
	if (!sagafs.enabled)
		return;
	sagafs_capture_stop();
	sagafs.enabled = false;
	sagafs.enabled_sum_ns += ktime_get_real_ns() - sagafs.enabled_since_ns;
}

static struct sagafs_kconf *sagafs_conf_locked(void)
{
	return rcu_dereference_protected(sagafs.conf,
					 lockdep_is_held(&sagafs.lock));
}

/*
 * Apply a validated configuration, all of it or nothing: every step that
 * can fail (new rings, attaching the probes) comes before the first
 * change, so a failure leaves the device exactly as it was.  Takes k on
 * success; the replaced configuration is freed after a grace period
 * (poll() and the probes read it under RCU).
 */
static int sagafs_apply(struct sagafs_kconf *k)
{
	bool want = k->user.flags & SAGAFS_CFG_ENABLED;
	u64 ring_size = (u64)k->user.ring_kb * 1024;
	struct sagafs_kconf *old;
	void *area = NULL;
	bool attach;
	int ret;

	mutex_lock(&sagafs.lock);
	if (ring_size != sagafs.ring_size) {
		ret = -EBUSY;
		if (sagafs.enabled || atomic_read(&sagafs.nr_maps)) {
			pr_debug("SET_CONFIG: ring_kb changes only while capture is off and nothing maps the rings\n");
			goto out;
		}
		ret = -ENOMEM;
		area = sagafs_rings_prepare(ring_size);
		if (!area)
			goto out;
	}
	attach = want && !sagafs.enabled;
	if (attach) {
		ret = sagafs_capture_attach();
		if (ret)
			goto out_area;
	}
	/* Nothing fails from here on. */
	if (area)
		sagafs_rings_commit(area, ring_size);
	old = sagafs_conf_locked();
	rcu_assign_pointer(sagafs.conf, k);
	if (attach)
		sagafs_enable_go();
	else if (!want)
		sagafs_disable_locked();
	mutex_unlock(&sagafs.lock);
	kfree_rcu(old, rcu);
	return 0;
out_area:
	sagafs_area_free(area);
out:
	mutex_unlock(&sagafs.lock);
	return ret;
}

static int sagafs_set_config(void __user *arg)
{
	struct sagafs_kconf *k;
	int ret;

	k = sagafs_fault(SAGAFS_FAULT_CONF) ? NULL : kzalloc(sizeof(*k), GFP_KERNEL);
	if (!k)
		return -ENOMEM;
	ret = sagafs_copy_in(&k->user, sizeof(k->user), arg);
	if (ret)
		goto err;
	ret = sagafs_config_check(k);
	if (ret)
		goto err;
	ret = sagafs_apply(k);
	if (ret)
		goto err;
	return 0;
err:
	kfree(k);
	return ret;
}

static int sagafs_get_config(void __user *arg)
{
	struct sagafs_config *c;
	int ret;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	ret = sagafs_copy_in(c, sizeof(*c), arg);
	if (ret)
		goto out;
	mutex_lock(&sagafs.lock);
	*c = sagafs_conf_locked()->user;
	if (sagafs.enabled)
		c->flags |= SAGAFS_CFG_ENABLED;
	else
		c->flags &= ~SAGAFS_CFG_ENABLED;
	mutex_unlock(&sagafs.lock);
	c->size = sizeof(*c);
	if (copy_to_user(arg, c, sizeof(*c)))
		ret = -EFAULT;
out:
	kfree(c);
	return ret;
}

static int sagafs_get_info(void __user *arg)
{
	struct sagafs_info info;
	int ret;

	ret = sagafs_copy_in(&info, sizeof(info), arg);
	if (ret)
		return ret;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.abi_version = SAGAFS_ABI_REPORTED;
	info.nr_cpus = sagafs.nr_cpus;
	info.page_size = PAGE_SIZE;
	info.ctrl_offset = 0;
	info.ctrl_stride = PAGE_SIZE;
	info.ctrl_len = (u64)sagafs.nr_cpus * PAGE_SIZE;
	info.data_offset = info.ctrl_len;
	info.record_align = SAGAFS_RECORD_ALIGN;
	info.record_max = SAGAFS_RECORD_MAX;
	info.nr_slots = SAGAFS_NR_SLOTS;
	info.nr_abis = SAGAFS_NR_ABIS;
	info.snaplen_max = SAGAFS_SNAPLEN_MAX;
	mutex_lock(&sagafs.lock);
	info.ring_size = sagafs.ring_size;
	info.consumer_pid = pid_vnr(sagafs.consumer_pid);
	mutex_unlock(&sagafs.lock);
	info.data_len = info.ring_size * sagafs.nr_cpus;
	if (copy_to_user(arg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int sagafs_copy_slots(u64 uptr, u32 cap,
			     const struct sagafs_counts *slots)
{
	struct sagafs_counts __user *u = u64_to_user_ptr(uptr);
	u32 n = min_t(u32, cap, SAGAFS_NR_SLOTS);
	int abi;

	for (abi = 0; abi < SAGAFS_NR_ABIS; abi++) {
		if (copy_to_user(u + (size_t)abi * cap,
				 slots + abi * SAGAFS_NR_SLOTS,
				 n * sizeof(*slots)))
			return -EFAULT;
	}
	return 0;
}

static int sagafs_get_stats(void __user *arg)
{
	struct sagafs_counts *slots = NULL;
	struct sagafs_cpu_stats *cpus = NULL;
	struct sagafs_stats st;
	int ret;

	ret = sagafs_copy_in(&st, sizeof(st), arg);
	if (ret)
		return ret;
	if (st.__pad0)
		return -EINVAL;
	ret = -ENOMEM;
	if (st.syscalls && st.nr_slots) {
		slots = kvcalloc(SAGAFS_NR_ABIS * SAGAFS_NR_SLOTS,
				 sizeof(*slots), GFP_KERNEL);
		if (!slots)
			goto out;
	}
	if (st.cpus && st.nr_cpus) {
		cpus = kvcalloc(sagafs.nr_cpus, sizeof(*cpus), GFP_KERNEL);
		if (!cpus)
			goto out;
	}
	sagafs_stats_get(&st, slots, cpus);
	mutex_lock(&sagafs.lock);
	st.reset_ns = sagafs.reset_ns;
	st.skip_unflagged = sagafs_marks_missed();
	st.enabled_ns = sagafs.enabled_sum_ns;
	if (sagafs.enabled)
		st.enabled_ns += ktime_get_real_ns() - sagafs.enabled_since_ns;
	mutex_unlock(&sagafs.lock);
	ret = -EFAULT;
	if (slots && sagafs_copy_slots(st.syscalls, st.nr_slots, slots))
		goto out;
	if (cpus && copy_to_user(u64_to_user_ptr(st.cpus), cpus,
				 min(st.nr_cpus, sagafs.nr_cpus) * sizeof(*cpus)))
		goto out;
	st.size = sizeof(st);
	st.nr_cpus = sagafs.nr_cpus;
	st.nr_slots = SAGAFS_NR_SLOTS;
	ret = copy_to_user(arg, &st, sizeof(st)) ? -EFAULT : 0;
out:
	kvfree(slots);
	kvfree(cpus);
	return ret;
}

/* A change: needs a descriptor opened for writing and CAP_SYS_ADMIN. */
static int sagafs_change(struct file *file, unsigned int cmd,
			 void __user *arg)
{
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (cmd == SAGAFS_IOC_SET_CONFIG)
		return sagafs_set_config(arg);
	mutex_lock(&sagafs.lock);
	sagafs_stats_reset();
	mutex_unlock(&sagafs.lock);
	return 0;
}

/*
 * The size rule: requests that carry a size-prefixed structure match on
 * type and number only.  The structure's own size field says how much the
 * caller passed, so a newer caller with a larger structure (whose _IOC
 * size, and so request number, differs) is served.  Requests without such
 * a structure match exactly.
 */
long sagafs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != SAGAFS_IOC_MAGIC)
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(SAGAFS_IOC_ABI_VERSION):
		if (cmd != SAGAFS_IOC_ABI_VERSION)
			return -ENOTTY;
		return put_user((u32)SAGAFS_ABI_REPORTED, (u32 __user *)uarg);
	case _IOC_NR(SAGAFS_IOC_GET_INFO):
		return sagafs_get_info(uarg);
	case _IOC_NR(SAGAFS_IOC_GET_CONFIG):
		return sagafs_get_config(uarg);
	case _IOC_NR(SAGAFS_IOC_GET_STATS):
		return sagafs_get_stats(uarg);
	case _IOC_NR(SAGAFS_IOC_SET_CONFIG):
		return sagafs_change(file, SAGAFS_IOC_SET_CONFIG, uarg);
	case _IOC_NR(SAGAFS_IOC_RESET_STATS):
		if (cmd != SAGAFS_IOC_RESET_STATS)
			return -ENOTTY;
		return sagafs_change(file, cmd, uarg);
	default:
		return -ENOTTY;
	}
}

int sagafs_control_init(u32 ring_kb)
{
	struct sagafs_kconf *k;

	k = kmalloc(sizeof(*k), GFP_KERNEL);
	if (!k)
		return -ENOMEM;
	sagafs_config_default(k, ring_kb);
	RCU_INIT_POINTER(sagafs.conf, k);
	return 0;
}

/* Capture is off and no probe runs. */
void sagafs_control_exit(void)
{
	kfree(rcu_dereference_protected(sagafs.conf, 1));
	RCU_INIT_POINTER(sagafs.conf, NULL);
}
