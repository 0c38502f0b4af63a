// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: configuration values.  Validation of a SET_CONFIG structure
 * (every rule of the UAPI header), its normalised form and the default.
 *
 * A rejection reaches the caller as errno only: the kernel log gets it at
 * debug level (dynamic debug), so that nobody can fill the log with
 * rejected requests.
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>
#include "sagafs.h"

#define sagafs_reject(fmt, ...) \
	pr_debug("SET_CONFIG rejected: " fmt "\n", ##__VA_ARGS__)

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
	/*
	 * A waiter must wake before a record is dropped.  Once the unread
	 * bytes pass wakeup_bytes a wake-up is queued, after a write that
	 * took at most a padding record plus one record (together below
	 * 2 * SAGAFS_RECORD_MAX); a write only fails when fewer bytes than
	 * that are free.  So wakeup_bytes + 2 * SAGAFS_RECORD_MAX must not
	 * exceed the ring: a quarter of the smallest ring satisfies it.
	 */
	BUILD_BUG_ON(SAGAFS_RING_KB_MIN * 1024 / 4 + 2 * SAGAFS_RECORD_MAX >
		     SAGAFS_RING_KB_MIN * 1024);
	if (c->wakeup_bytes > c->ring_kb * 1024 / 4) {
		sagafs_reject("wakeup_bytes %u above a quarter of the ring (%u KiB)",
			      c->wakeup_bytes, c->ring_kb);
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

/*
 * Validate a configuration from user space and bring it into the form the
 * probes use (k->user normalised, k->eff computed).  Nothing is changed
 * on error (-EINVAL).
 */
int sagafs_config_check(struct sagafs_kconf *k)
{
	int ret = sagafs_validate(&k->user);

	if (ret)
		return ret;
	k->user.size = sizeof(k->user);
	sagafs_clear_unused(&k->user);
	sagafs_compute_eff(k);
	return 0;
}

/* The configuration at load: everything logged, capture off. */
void sagafs_config_default(struct sagafs_kconf *k, u32 ring_kb)
{
	int abi;

	memset(k, 0, sizeof(*k));
	k->user.size = sizeof(k->user);
	k->user.flags = SAGAFS_CFG_EXCLUDE_SELF;
	k->user.result = SAGAFS_RESULT_ANY;
	k->user.snaplen = SAGAFS_SNAPLEN_DEFAULT;
	k->user.ring_kb = ring_kb;
	for (abi = 0; abi < SAGAFS_NR_ABIS; abi++)
		memset(k->user.syscalls[abi], 0xff,
		       sizeof(k->user.syscalls[abi]));
	sagafs_compute_eff(k);
}
