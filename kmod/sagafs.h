/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sagafs: internal declarations shared by the module's files.
 *
 * main.c     module init/exit, parameters, misc device, file operations
 * capture.c  tracepoint probes, filtering, record building
 * table.c    the per-ABI slot table: call kinds and path arguments
 * marks.c    per-task marks between probes: skipped calls, exec numbers
 * paths.c    path names: user copies, resolved files, exec argv
 * ident.c    the identity of the calling task
 * ring.c     per-CPU rings: allocation, producer, poll, wake-ups
 * mmap.c     mapping the rings: the consumer and its privileges
 * config.c   configuration: validation, normal form, default
 * control.c  ioctls, RCU publication of a configuration, enable/disable
 * stats.c    per-CPU counters and their summation
 */
#ifndef _SAGAFS_INTERNAL_H
#define _SAGAFS_INTERNAL_H

#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/fs.h>
#include <linux/limits.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
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

/*
 * A fault injecting test build (make SAGAFS_FAULT_INJECT=1; never install
 * it) fails the steps whose bits are set in its fault_mask parameter, so
 * that the error paths can be tested.
 */
enum sagafs_fault_site {
	SAGAFS_FAULT_CONF,	/* a new configuration's memory */
	SAGAFS_FAULT_RING,	/* new rings */
	SAGAFS_FAULT_TP_ENTER,	/* attaching sys_enter */
	SAGAFS_FAULT_TP_EXIT,	/* attaching sys_exit */
	SAGAFS_FAULT_KRETPROBE,	/* the seccomp return probe */
};

#ifdef SAGAFS_FAULT_INJECT
bool sagafs_fault(enum sagafs_fault_site site);
#else
static inline bool sagafs_fault(enum sagafs_fault_site site)
{
	return false;
}
#endif

#define SAGAFS_ERR_MIN	(-4095L)

/*
 * Per-CPU scratch of the probe: path 0 and path 1 copies (snaplen + 1
 * bytes each), then the buffer d_path() builds a resolved path in.
 */
#define SAGAFS_RESOLVE_LEN	PATH_MAX
#define SAGAFS_SCRATCH_LEN	(2 * (SAGAFS_SNAPLEN_MAX + 1) + SAGAFS_RESOLVE_LEN)

/* The call a probe is recording. */
struct sagafs_call {
	u8 abi;
	u32 slot;
	int nr;
	long ret;
	u32 flags;
	unsigned long args[6];
	u16 len[2];
	const char *path[2];
};

static inline bool sagafs_is_error(s64 ret)
{
	return ret >= SAGAFS_ERR_MIN && ret < 0;
}

/* What the probes do with a call (the slot table, table.c). */
enum sagafs_kind {
	SAGAFS_KIND_PLAIN = 0,	/* logged at sys_exit */
	SAGAFS_KIND_NORETURN,	/* exit, exit_group: logged at sys_enter */
	SAGAFS_KIND_SIGRETURN,	/* (rt_)sigreturn: logged at sys_enter */
	SAGAFS_KIND_EXEC,	/* execve */
	SAGAFS_KIND_EXECAT,	/* execveat */
	SAGAFS_KIND_FORK,	/* fork, vfork, clone, clone3 */
	SAGAFS_KIND_OPEN,	/* open, openat, openat2, creat */
};

struct sagafs_slot_info {
	u8 kind;
	s8 path[2];	/* argument index of path 0 / path 1, -1: none */
};

extern struct sagafs_slot_info sagafs_slots[SAGAFS_NR_ABIS][SAGAFS_NR_SLOTS];

/* x32 numbers (without the x32 bit) of calls whose x32 entry differs. */
#define SAGAFS_X32_RT_SIGRETURN	513
#define SAGAFS_X32_EXECVE	520
#define SAGAFS_X32_EXECVEAT	545

/* Add one to a counter that other CPUs read with READ_ONCE(). */
#define sagafs_inc(x)		WRITE_ONCE((x), (x) + 1)
#define sagafs_add(x, n)	WRITE_ONCE((x), (x) + (n))

/*
 * Per-CPU counters; one writer (the probe on that CPU).  A page-aligned
 * block of its own per CPU (kvzalloc of more than a page).
 */
struct sagafs_pcpu_stats {
	u64 calls;
	u64 errors;
	u64 logged;
	u64 filtered;
	u64 dropped;
	u64 bytes;
	u64 bad_tail;
	u64 skipped;
	struct sagafs_counts slot[SAGAFS_NR_ABIS][SAGAFS_NR_SLOTS];
	/* reset generation the counters above belong to; must stay last */
	unsigned long gen;
};

/*
 * Producer state of one CPU's ring: per-CPU memory (alloc_percpu), never
 * shared with user space.  Other CPUs read head and waiter only.
 */
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
};

/* The published configuration (RCU). */
struct sagafs_kconf {
	struct rcu_head rcu;
	u64 eff[SAGAFS_NR_ABIS][SAGAFS_BITMAP_WORDS];	/* syscalls & ~exclude */
	struct sagafs_config user;	/* as set (normalised), for GET_CONFIG */
};

struct sagafs_dev {
	struct mutex lock;	/* config, enable, resize, consumer */
	bool enabled;		/* probes attached */
	int enabled_flag;	/* the probes act: see sagafs_on() */
	struct sagafs_kconf __rcu *conf;
	struct sagafs_cpu __percpu *cpus;	/* possible CPUs */
	unsigned int nr_cpus;		/* rings: nr_cpu_ids */
	u64 ring_size;
	void *ctrl_area;	/* nr_cpus pages (sagafs_area_alloc) */
	void *data_area;	/* nr_cpus * ring_size (sagafs_area_alloc) */
	struct file *consumer;	/* file that maps the rings */
	struct pid *consumer_pid;	/* its first mapper's process, held */
	atomic_t nr_maps;	/* live VMAs */
	wait_queue_head_t wq;
	unsigned long stats_gen;	/* bumped by RESET_STATS */
	u64 reset_ns;
	u64 enabled_sum_ns;
	u64 enabled_since_ns;
};

extern struct sagafs_dev sagafs;

/* Capture is on: the probes act. */
static inline bool sagafs_on(void)
{
	/*
	 * Pairs with the release in sagafs_capture_go(): a probe that sees
	 * capture on sees the rings and configuration it was turned on with.
	 */
	return smp_load_acquire(&sagafs.enabled_flag);
}

/* The state of CPU cpu, which must be possible. */
static inline struct sagafs_cpu *sagafs_cpu(unsigned int cpu)
{
	return per_cpu_ptr(sagafs.cpus, cpu);
}

/* ring.c */
int sagafs_rings_init(u64 ring_size);
void sagafs_rings_exit(void);
void *sagafs_rings_prepare(u64 ring_size);
void sagafs_rings_commit(void *area, u64 ring_size);
void sagafs_area_free(void *area);
int sagafs_ring_write(struct sagafs_cpu *c, struct sagafs_record *rec,
		      const char *p0, const char *p1, u32 wakeup_bytes);
void sagafs_rings_sync(void);
__poll_t sagafs_poll(struct file *file, poll_table *pt);
u64 sagafs_ring_used(unsigned int cpu);

/* mmap.c */
int sagafs_mmap(struct file *file, struct vm_area_struct *vma);
void sagafs_consumer_release(struct file *file);

/* capture.c */
int sagafs_capture_init(void);
void sagafs_capture_exit(void);
int sagafs_capture_attach(void);
void sagafs_capture_go(void);
void sagafs_capture_stop(void);

/* config.c */
int sagafs_config_check(struct sagafs_kconf *k);
void sagafs_config_default(struct sagafs_kconf *k, u32 ring_kb);

/* table.c */
void sagafs_table_init(void);

/* marks.c */
int sagafs_marks_init(void);
void sagafs_marks_exit(void);
void sagafs_marks_clear(void);
int sagafs_marks_attach(void);
void sagafs_marks_detach(void);
u64 sagafs_marks_missed(void);
void sagafs_marks_missed_reset(void);
void sagafs_skip_mark(void);
bool sagafs_skip_take(void);
void sagafs_exec_mark(u8 abi, bool at);
bool sagafs_exec_take(u8 *abi, bool *at);

/* paths.c */
void sagafs_paths_user(struct sagafs_call *call, char *scratch, u32 snaplen);
bool sagafs_path_fd(struct sagafs_call *call, char *scratch, u32 snaplen);
void sagafs_paths_exec(struct sagafs_call *call, char *scratch, u32 snaplen);

/* ident.c */
void sagafs_ident_init(void);
void sagafs_fill_ident(struct sagafs_record *r);

/* control.c */
int sagafs_control_init(u32 ring_kb);
void sagafs_control_exit(void);
long sagafs_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
void sagafs_disable_locked(void);

/* stats.c */
int sagafs_stats_init(void);
void sagafs_stats_exit(void);
struct sagafs_pcpu_stats *sagafs_stats_this_cpu(struct sagafs_cpu *c);
void sagafs_stats_reset(void);
int sagafs_stats_get(struct sagafs_stats *st, struct sagafs_counts *slots,
		     struct sagafs_cpu_stats *cpus);

#endif /* _SAGAFS_INTERNAL_H */
