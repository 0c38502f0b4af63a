/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the kernel module test programs (TAP output): the
 * device requests, the ring consumer, child processes, record matching.
 */
#ifndef SAGAFS_KMOD_TEST_COMMON_H
#define SAGAFS_KMOD_TEST_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "sagafs.h"

#define DEV "/dev/" SAGAFS_DEVICE_NAME
#define MARK_UID 4242
#define MARK_GID 4243
#define MARK_COMM "sgt-mark"

#define FAIL(...) do {							\
		printf("#   %s:%d: ", __func__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		return -1;						\
	} while (0)

#define CHECK(cond, ...) do {						\
		if (!(cond)) {						\
			printf("#   check '%s' failed\n", #cond);		\
			FAIL(__VA_ARGS__);				\
		}							\
	} while (0)

/* An ioctl that must fail with errno e. */
#define EXPECT_ERR(e, call) do {					\
		errno = 0;						\
		int __r = (call);					\
		if (__r != -1 || errno != (e))				\
			FAIL("%s: got %d errno %d (%s), want %s",	\
			     #call, __r, errno, strerror(errno), #e);	\
	} while (0)

#define EXPECT_OK(call) do {						\
		int __r = (call);					\
		if (__r == -1)						\
			FAIL("%s: %s", #call, strerror(errno));	\
	} while (0)

struct rings {
	unsigned char *ctrl;
	unsigned char *data;
	size_t ctrl_len, data_len;
};

typedef void (*rec_fn)(const struct sagafs_record *r, const char *p0,
		       const char *p1, void *ctx);

struct child {
	pid_t pid;
	int go;
};

struct loop {
	int nr;		/* SYS_openat or SYS_getppid */
	long count;
	const char *path;
};

struct match {
	pid_t pid;
	int nr;
	int abi;
	const char *path;	/* path 0 must equal, if set */
	long ret_min, ret_max;
	const char *comm;
	int uid;
	unsigned int flags_set;
	/* results */
	long hits;
	long bad;		/* matched pid+nr but some field was wrong */
	char why[160];
};

extern int dev;			/* O_RDWR descriptor of the device */
extern struct sagafs_info info;	/* geometry, refreshed by map_rings() */
extern struct sagafs_config base;	/* the configuration found at start */
extern int nr_run, nr_failed;
extern char tmpdir[64];
int preempt_rt(void);
extern struct rings rg;

void run(const char *name, int (*fn)(void));
int open_dev(void);
int get_info(int fd, struct sagafs_info *i);
int get_config(struct sagafs_config *c);
int set_config(struct sagafs_config *c);
int get_stats(struct sagafs_stats *s, struct sagafs_counts *slots,
	      struct sagafs_cpu_stats *cpus, unsigned int nr_cpus);
struct sagafs_counts *slot_stats(void);
void cfg_default(struct sagafs_config *c);
void bm_set(__u64 *bm, int slot);
void cfg_only(struct sagafs_config *c, int nr);
void cfg_pid(struct sagafs_config *c, pid_t pid);
int restore_base(void);
int set_ring_kb(__u32 kb);

struct sagafs_ring_ctrl *ctrl_of(unsigned int cpu);
int map_rings(void);
void unmap_rings(void);
void drain(void);
long consume(rec_fn fn, void *ctx);

int spawn(struct child *ch, int (*fn)(void *), void *arg,
	  int (*prep)(void *));
int finish(struct child *ch);
int prep_mark(void *arg);
int do_loop(void *arg);

void match_fn(const struct sagafs_record *r, const char *p0,
	      const char *p1, void *ctx);
void match_init(struct match *m, pid_t pid, int nr);

#endif
