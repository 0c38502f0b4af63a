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
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include "sagafs.h"

#define sagafs_reject(fmt, ...) \
	pr_info_ratelimited("SET_CONFIG rejected: " fmt "\n", ##__VA_ARGS__)

/*
 * Read a size-prefixed structure: size below the kernel's (there is no
 * older version) is EINVAL; a larger one must have a zero tail and be at
 * most a page (E2BIG otherwise).
 */
int sagafs_copy_in(void *dst, size_t ksize, void __user *src)
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

static int sagafs_check_ids(const u32 *ids, u32 n, u32 bad, const char *what)
{
	u32 i;

	if (n > SAGAFS_MAX_IDS) {
		sagafs_reject("%s: %u entries, at most %u", what, n,
			      SAGAFS_MAX_IDS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (ids[i] == bad) {
			sagafs_reject("%s[%u] = %u is not valid", what, i, bad);
			return -EINVAL;
		}
	}
	return 0;
}

static int sagafs_check_comms(char (*comms)[SAGAFS_COMM_LEN], u32 n,
			      const char *what)
{
	u32 i;
	size_t len;

	if (n > SAGAFS_MAX_COMMS) {
		sagafs_reject("%s: %u entries, at most %u", what, n,
			      SAGAFS_MAX_COMMS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		len = strnlen(comms[i], SAGAFS_COMM_LEN);
		if (!len || len == SAGAFS_COMM_LEN) {
			sagafs_reject("%s[%u] is empty or not NUL terminated",
				      what, i);
			return -EINVAL;
		}
		/* Normalise to NUL padding: the probe compares 16 bytes. */
		memset(comms[i] + len, 0, SAGAFS_COMM_LEN - len);
	}
	return 0;
}

static int sagafs_validate(struct sagafs_config *c)
{
	int ret;

	if (c->flags & ~SAGAFS_CFG_FLAGS_ALL) {
		sagafs_reject("unknown flags %#x", c->flags & ~SAGAFS_CFG_FLAGS_ALL);
		return -EINVAL;
	}
	if (c->result > SAGAFS_RESULT_FAILURE) {
		sagafs_reject("result %u is not 0, 1 or 2", c->result);
		return -EINVAL;
	}
	if (c->snaplen > SAGAFS_SNAPLEN_MAX) {
		sagafs_reject("snaplen %u above %u", c->snaplen,
			      SAGAFS_SNAPLEN_MAX);
		return -EINVAL;
	}
	if (c->ring_kb < SAGAFS_RING_KB_MIN || c->ring_kb > SAGAFS_RING_KB_MAX ||
	    !is_power_of_2(c->ring_kb)) {
		sagafs_reject("ring_kb %u is not a power of two in [%u, %u]",
			      c->ring_kb, SAGAFS_RING_KB_MIN, SAGAFS_RING_KB_MAX);
		return -EINVAL;
	}
	ret = sagafs_check_ids(c->pids, c->nr_pids, 0, "pids");
	ret = ret ?: sagafs_check_ids(c->exclude_pids, c->nr_exclude_pids, 0,
				      "exclude_pids");
	ret = ret ?: sagafs_check_ids(c->uids, c->nr_uids, (u32)-1, "uids");
	ret = ret ?: sagafs_check_ids(c->exclude_uids, c->nr_exclude_uids,
				      (u32)-1, "exclude_uids");
	ret = ret ?: sagafs_check_comms(c->comms, c->nr_comms, "comms");
	ret = ret ?: sagafs_check_comms(c->exclude_comms, c->nr_exclude_comms,
					"exclude_comms");
	return ret;
}

/* Unused list entries read back as zero. */
static void sagafs_clear_unused(struct sagafs_config *c)
{
	memset(c->pids + c->nr_pids, 0,
	       (SAGAFS_MAX_IDS - c->nr_pids) * sizeof(u32));
	memset(c->exclude_pids + c->nr_exclude_pids, 0,
	       (SAGAFS_MAX_IDS - c->nr_exclude_pids) * sizeof(u32));
	memset(c->uids + c->nr_uids, 0,
	       (SAGAFS_MAX_IDS - c->nr_uids) * sizeof(u32));
	memset(c->exclude_uids + c->nr_exclude_uids, 0,
	       (SAGAFS_MAX_IDS - c->nr_exclude_uids) * sizeof(u32));
	memset(c->comms[c->nr_comms], 0,
	       (SAGAFS_MAX_COMMS - c->nr_comms) * SAGAFS_COMM_LEN);
	memset(c->exclude_comms[c->nr_exclude_comms], 0,
	       (SAGAFS_MAX_COMMS - c->nr_exclude_comms) * SAGAFS_COMM_LEN);
}

static void sagafs_compute_eff(struct sagafs_kconf *k)
{
	int abi, w;

	for (abi = 0; abi < SAGAFS_NR_ABIS; abi++)
		for (w = 0; w < SAGAFS_BITMAP_WORDS; w++)
			k->eff[abi][w] = k->user.syscalls[abi][w] &
					 ~k->user.exclude_syscalls[abi][w];
}

int sagafs_enable_locked(void)
{
	int ret;

	lockdep_assert_held(&sagafs.lock);
	if (sagafs.enabled)
		return 0;
	WRITE_ONCE(sagafs.enabled_flag, 1);
	ret = sagafs_capture_start();
	if (ret) {
		WRITE_ONCE(sagafs.enabled_flag, 0);
		pr_err("attaching the syscall tracepoints failed: %d\n", ret);
		return ret;
	}
	sagafs.enabled = true;
	sagafs.enabled_since_ns = ktime_get_real_ns();
	return 0;
}

void sagafs_disable_locked(void)
{
	lockdep_assert_held(&sagafs.lock);
	if (!sagafs.enabled)
		return;
	WRITE_ONCE(sagafs.enabled_flag, 0);
	sagafs_capture_stop();
	sagafs.enabled = false;
	sagafs.enabled_sum_ns += ktime_get_real_ns() - sagafs.enabled_since_ns;
}

static struct sagafs_kconf *sagafs_conf_locked(void)
{
	return rcu_dereference_protected(sagafs.conf,
					 lockdep_is_held(&sagafs.lock));
}

static int sagafs_apply(struct sagafs_kconf *k)
{
	struct sagafs_kconf *old;
	bool want = k->user.flags & SAGAFS_CFG_ENABLED;
	u64 ring_size = (u64)k->user.ring_kb * 1024;
	int ret = 0;

	mutex_lock(&sagafs.lock);
	if (ring_size != sagafs.ring_size) {
		if (sagafs.enabled || atomic_read(&sagafs.nr_maps)) {
			pr_info_ratelimited("SET_CONFIG: ring_kb changes only while capture is off and nothing maps the rings\n");
			ret = -EBUSY;
			goto out;
		}
		ret = sagafs_rings_resize(ring_size);
		if (ret)
			goto out;
	}
	old = sagafs_conf_locked();
	rcu_assign_pointer(sagafs.conf, k);
	if (want)
		ret = sagafs_enable_locked();
	else
		sagafs_disable_locked();
	if (ret) {
		rcu_assign_pointer(sagafs.conf, old);
		goto out;
	}
	mutex_unlock(&sagafs.lock);
	kfree_rcu(old, rcu);
	return 0;
out:
	mutex_unlock(&sagafs.lock);
	return ret;
}

static int sagafs_set_config(void __user *arg)
{
	struct sagafs_kconf *k;
	int ret;

	k = kzalloc(sizeof(*k), GFP_KERNEL);
	if (!k)
		return -ENOMEM;
	ret = sagafs_copy_in(&k->user, sizeof(k->user), arg);
	if (ret)
		goto err;
	ret = sagafs_validate(&k->user);
	if (ret)
		goto err;
	k->user.size = sizeof(k->user);
	sagafs_clear_unused(&k->user);
	sagafs_compute_eff(k);
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
	info.consumer_pid = sagafs.consumer ? sagafs.consumer_tgid : 0;
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

static int sagafs_change(unsigned int cmd, void __user *arg)
{
	int ret = 0;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (cmd == SAGAFS_IOC_SET_CONFIG)
		return sagafs_set_config(arg);
	if (cmd == SAGAFS_IOC_SET_RULES)
		return sagafs_rules_set(arg);
	mutex_lock(&sagafs.lock);
	switch (cmd) {
	case SAGAFS_IOC_RESET_STATS:
		sagafs_stats_reset();
		break;
	case SAGAFS_IOC_ENABLE:
		ret = sagafs_enable_locked();
		break;
	case SAGAFS_IOC_DISABLE:
		sagafs_disable_locked();
		break;
	}
	mutex_unlock(&sagafs.lock);
	return ret;
}

long sagafs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SAGAFS_IOC_ABI_VERSION:
		return put_user((u32)SAGAFS_ABI_REPORTED, (u32 __user *)uarg);
	case SAGAFS_IOC_GET_INFO:
		return sagafs_get_info(uarg);
	case SAGAFS_IOC_GET_CONFIG:
		return sagafs_get_config(uarg);
	case SAGAFS_IOC_GET_STATS:
		return sagafs_get_stats(uarg);
	case SAGAFS_IOC_GET_RULES:
		return sagafs_rules_get(uarg);
	case SAGAFS_IOC_SET_CONFIG:
	case SAGAFS_IOC_SET_RULES:
	case SAGAFS_IOC_RESET_STATS:
	case SAGAFS_IOC_ENABLE:
	case SAGAFS_IOC_DISABLE:
		return sagafs_change(cmd, uarg);
	default:
		return -ENOTTY;
	}
}

int sagafs_control_init(u32 ring_kb)
{
	struct sagafs_kconf *k;
	int abi;

	k = kzalloc(sizeof(*k), GFP_KERNEL);
	if (!k)
		return -ENOMEM;
	k->user.size = sizeof(k->user);
	k->user.flags = SAGAFS_CFG_EXCLUDE_SELF;
	k->user.result = SAGAFS_RESULT_ANY;
	k->user.snaplen = SAGAFS_SNAPLEN_DEFAULT;
	k->user.ring_kb = ring_kb;
	for (abi = 0; abi < SAGAFS_NR_ABIS; abi++)
		memset(k->user.syscalls[abi], 0xff,
		       sizeof(k->user.syscalls[abi]));
	sagafs_compute_eff(k);
	RCU_INIT_POINTER(sagafs.conf, k);
	return 0;
}

/* Capture is off and no probe runs. */
void sagafs_control_exit(void)
{
	kfree(rcu_dereference_protected(sagafs.conf, 1));
	RCU_INIT_POINTER(sagafs.conf, NULL);
}
