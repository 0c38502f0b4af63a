/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sagafs: internal declarations shared by the module's files.
 *
 * main.c     module init/exit, parameters, misc device, file operations
 * capture.c  tracepoint probes, filtering, record building, path table,
 *            execve stash
 * ring.c     per-CPU rings: allocation, producer, mmap, poll, wake-ups
 * control.c  ioctls, config validation and RCU publication, enable/disable
 * rules.c    rule sets: validation, RCU publication, SET/GET_RULES
 * rulematch.c  rule evaluation for the capture path
 * stats.c    per-CPU counters and their summation
 */
#ifndef _SAGAFS_INTERNAL_H
#define _SAGAFS_INTERNAL_H

#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/fs.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/wait.h>
#include <uapi/sagafs.h>

/*
 * A test build (make SAGAFS_TEST_ABI=N) claims ABI version N, so that user
 * space's handling of a mismatched module can be tested end to end.
 */
#ifdef SAGAFS_TEST_ABI
#define SAGAFS_ABI_REPORTED	SAGAFS_TEST_ABI
#else
#define SAGAFS_ABI_REPORTED	SAGAFS_ABI_VERSION
#endif

#define SAGAFS_ERR_MIN	(-4095L)

static inline bool sagafs_is_error(s64 ret)
{
	return ret >= SAGAFS_ERR_MIN && ret < 0;
}

/* Per-CPU counters; one writer (the probe on that CPU). */
struct sagafs_pcpu_stats {
	u64 calls;
	u64 errors;
	u64 logged;
	u64 filtered;
	u64 dropped;
	u64 bytes;
	u64 bad_tail;
	struct sagafs_counts slot[SAGAFS_NR_ABIS][SAGAFS_NR_SLOTS];
	/* reset generation the counters above belong to; must stay last */
	unsigned long gen;
};

/* Producer state of one CPU's ring: kernel memory, never shared. */
struct sagafs_cpu {
	u64 head;
	u64 seq;
	u64 logged;
	u64 dropped;
	u64 bad_tail;
	struct sagafs_ring_ctrl *ctrl;	/* page shared with user space */
	u8 *data;			/* ring_size bytes, read-only to users */
	int waiter;			/* a poller sleeps: wake via irq_work */
	struct irq_work work;
	char *scratch;			/* 2 * (SNAPLEN_MAX + 1) path bytes */
	struct sagafs_pcpu_stats *stats;
} ____cacheline_aligned_in_smp;

/* The published configuration (RCU). */
struct sagafs_kconf {
	struct rcu_head rcu;
	u64 eff[SAGAFS_NR_ABIS][SAGAFS_BITMAP_WORDS];	/* syscalls & ~exclude */
	struct sagafs_config user;	/* as set (normalised), for GET_CONFIG */
};

struct sagafs_dev {
	struct mutex lock;	/* config, enable, resize, consumer */
	bool enabled;		/* probes attached */
	int enabled_flag;	/* READ_ONCE in the probe: capture on */
	struct sagafs_kconf __rcu *conf;
	struct sagafs_cpu *cpus;	/* nr_cpu_ids entries */
	unsigned int nr_cpus;
	u64 ring_size;
	void *ctrl_area;	/* vmalloc_user, nr_cpus pages */
	void *data_area;	/* vmalloc_user, nr_cpus * ring_size */
	struct file *consumer;	/* file that maps the rings */
	pid_t consumer_tgid;	/* READ_ONCE in the probe */
	atomic_t nr_maps;	/* live VMAs */
	wait_queue_head_t wq;
	unsigned long stats_gen;	/* bumped by RESET_STATS */
	u64 reset_ns;
	u64 enabled_sum_ns;
	u64 enabled_since_ns;
};

extern struct sagafs_dev sagafs;

/* ring.c */
int sagafs_rings_init(u64 ring_size);
void sagafs_rings_exit(void);
int sagafs_rings_resize(u64 ring_size);
int sagafs_ring_write(struct sagafs_cpu *c, struct sagafs_record *rec,
		      const char *p0, const char *p1, const char *key,
		      u32 wakeup_bytes);
void sagafs_rings_sync(void);
int sagafs_mmap(struct file *file, struct vm_area_struct *vma);
__poll_t sagafs_poll(struct file *file, poll_table *pt);
u64 sagafs_ring_used(unsigned int cpu);

/* capture.c */
int sagafs_capture_init(void);
void sagafs_capture_exit(void);
int sagafs_capture_start(void);
void sagafs_capture_stop(void);

/* control.c */
int sagafs_control_init(u32 ring_kb);
void sagafs_control_exit(void);
long sagafs_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int sagafs_copy_in(void *dst, size_t ksize, void __user *src);
int sagafs_enable_locked(void);
void sagafs_disable_locked(void);

/*
 * rules.c.  What the rules see of one call.  The caller fills rec (ids,
 * comm, abi, nr, ret, namespaces), slot and fetch; fetch fills args, path,
 * len and flags (SAGAFS_RF_PATH* bits) and sets fetched, and is called at
 * most once, the first time a condition needs them.  On a "log" decision
 * key and key_len hold the deciding rule's key, valid until preemption is
 * enabled again.
 */
struct sagafs_rule_ctx {
	const struct sagafs_record *rec;
	u32 slot;
	void (*fetch)(struct sagafs_rule_ctx *ctx);
	bool fetched;
	const unsigned long *args;
	const char *path[2];
	u16 len[2];
	u32 flags;
	const char *key;
	u8 key_len;
};

int sagafs_rules_init(void);
void sagafs_rules_exit(void);
int sagafs_rules_set(void __user *arg);
int sagafs_rules_get(void __user *arg);
bool sagafs_rules_decide(struct sagafs_rule_ctx *ctx);

/* stats.c */
int sagafs_stats_init(void);
void sagafs_stats_exit(void);
struct sagafs_pcpu_stats *sagafs_stats_this_cpu(struct sagafs_cpu *c);
void sagafs_stats_reset(void);
int sagafs_stats_get(struct sagafs_stats *st, struct sagafs_counts *slots,
		     struct sagafs_cpu_stats *cpus);

#endif /* _SAGAFS_INTERNAL_H */
