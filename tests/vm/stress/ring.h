/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device helpers shared by the stress and fault-injection programs,
 * written against the ioctl interface generically: the geometry comes
 * from GET_INFO, records are walked by their size field, and marked
 * records are found by their path bytes, whatever the record layout.
 */
#ifndef SAGAFS_TEST_RING_H
#define SAGAFS_TEST_RING_H

#include <stddef.h>
#include "sagafs.h"

#define DEV "/dev/" SAGAFS_DEVICE_NAME

int sg_get_info(int fd, struct sagafs_info *i);
int sg_get_config(int fd, struct sagafs_config *c);
/* SET_CONFIG, retried while the device says EBUSY (up to 5 s). */
int sg_set_config_retry(int fd, struct sagafs_config *c);
/* Capture off, the rest of the configuration kept. */
int sg_disable(int fd);
/* Capture on, every system call, default snaplen and ring size. */
void sg_config_all(struct sagafs_config *c);

/* A consumer: the rings mapped as the ABI describes. */
struct consumer {
	int fd;
	struct sagafs_info info;
	unsigned char *ctrl, *data;
};

struct drain_stats {
	unsigned long records, pads, unknown, malformed;
};

/* Map ctrl and data; -1 with errno (EAGAIN: the geometry changed). */
int consumer_map(struct consumer *c, int fd);
void consumer_unmap(struct consumer *c);

typedef void (*rec_fn)(const unsigned char *rec, unsigned int size, void *ctx);

/*
 * Drain every ring from tail to head, checking each record's framing
 * (size aligned, within the ring and record_max, syscall records at least
 * a header long); fn sees each syscall record.  A malformed record is
 * printed and counted, and its ring resynchronized to head.  Adds to st.
 */
void drain(struct consumer *c, rec_fn fn, void *ctx, struct drain_stats *st);

/*
 * The marked workload: a child named comm makes n openat calls of
 * distinct paths; with a consumer draining, count how many of those
 * paths were logged, how many exactly once, and what was dropped.
 */
struct marked_result {
	long n, found, once, strange;
	unsigned long long dropped;
	struct drain_stats st;
};

int marked_run(int fd, long n, const char *comm, struct marked_result *res);

#endif
