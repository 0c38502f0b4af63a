// SPDX-License-Identifier: GPL-2.0
/* Device helpers shared by the stress and fault-injection programs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ring.h"

#define MAX_CPUS 4096

int sg_get_info(int fd, struct sagafs_info *i)
{
	memset(i, 0, sizeof(*i));
	i->size = sizeof(*i);
	return ioctl(fd, SAGAFS_IOC_GET_INFO, i);
}

int sg_get_config(int fd, struct sagafs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	return ioctl(fd, SAGAFS_IOC_GET_CONFIG, c);
}

int sg_set_config_retry(int fd, struct sagafs_config *c)
{
	int k;

	for (k = 0; k < 100; k++) {
		c->size = sizeof(*c);
		if (!ioctl(fd, SAGAFS_IOC_SET_CONFIG, c))
			return 0;
		if (errno != EBUSY)
			return -1;
		usleep(50000);
	}
	return -1;
}

int sg_disable(int fd)
{
	struct sagafs_config c;

	if (sg_get_config(fd, &c))
		return -1;
	c.flags &= ~SAGAFS_CFG_ENABLED;
	return sg_set_config_retry(fd, &c);
}

void sg_config_all(struct sagafs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->flags = SAGAFS_CFG_ENABLED;
	c->snaplen = SAGAFS_SNAPLEN_DEFAULT;
	c->ring_kb = SAGAFS_RING_KB_DEFAULT;
	memset(c->syscalls, 0xff, sizeof(c->syscalls));
}

int consumer_map(struct consumer *c, int fd)
{
	struct sagafs_info again;
	int e;

	c->fd = fd;
	if (sg_get_info(fd, &c->info))
		return -1;
	if (!c->info.nr_cpus || c->info.nr_cpus > MAX_CPUS || !c->info.ring_size ||
	    (c->info.ring_size & (c->info.ring_size - 1)) ||
	    c->info.ctrl_stride < sizeof(struct sagafs_ring_ctrl) ||
	    c->info.data_len < c->info.nr_cpus * c->info.ring_size) {
		printf("# GET_INFO geometry makes no sense: %u CPUs, ring %llu\n",
		       c->info.nr_cpus, (unsigned long long)c->info.ring_size);
		errno = EPROTO;
		return -1;
	}
	c->ctrl = mmap(NULL, c->info.ctrl_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, c->info.ctrl_offset);
	if (c->ctrl == MAP_FAILED)
		return -1;
	c->data = mmap(NULL, c->info.data_len, PROT_READ, MAP_SHARED, fd,
		       c->info.data_offset);
	if (c->data == MAP_FAILED) {
		e = errno;
		munmap(c->ctrl, c->info.ctrl_len);
		errno = e;
		return -1;
	}
	/* the geometry may have changed between GET_INFO and mmap */
	if (sg_get_info(fd, &again) || again.ring_size != c->info.ring_size ||
	    again.data_len != c->info.data_len) {
		consumer_unmap(c);
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

void consumer_unmap(struct consumer *c)
{
	munmap(c->ctrl, c->info.ctrl_len);
	munmap(c->data, c->info.data_len);
}

void drain(struct consumer *c, rec_fn fn, void *ctx, struct drain_stats *st)
{
	const struct sagafs_info *i = &c->info;
	unsigned int cpu;

	for (cpu = 0; cpu < i->nr_cpus; cpu++) {
		struct sagafs_ring_ctrl *rc = (void *)(c->ctrl + cpu * i->ctrl_stride);
		const unsigned char *base = c->data + cpu * i->ring_size;
		__u64 head = __atomic_load_n(&rc->head, __ATOMIC_ACQUIRE);
		__u64 tail = rc->tail;

		if (head - tail > i->ring_size)
			tail = head;	/* a tail the last mapper left bogus */
		while (tail != head) {
			__u64 off = tail & (i->ring_size - 1);
			const struct sagafs_record *r = (const void *)(base + off);
			unsigned int size = r->size;

			if (size < 8 || size % SAGAFS_RECORD_ALIGN ||
			    size > i->record_max || off + size > i->ring_size ||
			    size > head - tail ||
			    (r->type == SAGAFS_REC_SYSCALL && size < sizeof(*r))) {
				printf("# cpu %u: malformed record: size %u type %u at %llu (head %llu)\n",
				       cpu, size, r->type, (unsigned long long)off,
				       (unsigned long long)head);
				st->malformed++;
				tail = head;
				break;
			}
			if (r->type == SAGAFS_REC_SYSCALL) {
				st->records++;
				if (fn)
					fn((const unsigned char *)r, size, ctx);
			} else if (r->type == SAGAFS_REC_PAD) {
				st->pads++;
			} else {
				st->unknown++;
			}
			tail += size;
		}
		__atomic_store_n(&rc->tail, tail, __ATOMIC_RELEASE);
	}
}

struct mark {
	char prefix[64];
	size_t len;
	long n, strange;
	unsigned char *seen;
};

static void mark_fn(const unsigned char *rec, unsigned int size, void *ctx)
{
	struct mark *m = ctx;
	const unsigned char *p = memmem(rec, size, m->prefix, m->len);
	char num[8];
	long k;

	if (!p)
		return;
	if (p + m->len + 6 > rec + size) {
		m->strange++;
		return;
	}
	memcpy(num, p + m->len, 6);
	num[6] = 0;
	k = strtol(num, NULL, 10);
	if (k < 0 || k >= m->n) {
		m->strange++;
		return;
	}
	if (m->seen[k] < 255)
		m->seen[k]++;
}

static unsigned long long dropped_total(int fd)
{
	struct sagafs_stats st;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (ioctl(fd, SAGAFS_IOC_GET_STATS, &st))
		return ~0ULL;
	return st.total.dropped;
}

int marked_run(int fd, long n, const char *comm, struct marked_result *res)
{
	struct sagafs_config c;
	struct consumer con;
	struct mark m = { .n = n };
	unsigned long long d0;
	long k;
	pid_t pid;
	int st;

	memset(res, 0, sizeof(*res));
	res->n = n;
	if (sg_disable(fd)) {
		printf("# marked: turning capture off: %s\n", strerror(errno));
		return -1;
	}
	sg_config_all(&c);
	c.nr_comms = 1;
	snprintf(c.comms[0], SAGAFS_COMM_LEN, "%s", comm);
	if (sg_set_config_retry(fd, &c)) {
		printf("# marked: SET_CONFIG: %s\n", strerror(errno));
		return -1;
	}
	if (consumer_map(&con, fd)) {
		printf("# marked: mmap: %s\n", strerror(errno));
		return -1;
	}
	drain(&con, NULL, NULL, &res->st);
	d0 = dropped_total(fd);
	m.seen = calloc(n, 1);
	snprintf(m.prefix, sizeof(m.prefix), "/tmp/sgmark-%d-", (int)getpid());
	m.len = strlen(m.prefix);
	pid = fork();
	if (pid == 0) {
		char path[96];

		prctl(PR_SET_NAME, comm);
		for (k = 0; k < n; k++) {
			snprintf(path, sizeof(path), "/tmp/sgmark-%d-%06ld",
				 (int)getppid(), k);
			syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
		}
		_exit(0);
	}
	/* drain while the child runs: the rings stay far from full */
	while (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
		drain(&con, mark_fn, &m, &res->st);
		usleep(20000);
	}
	drain(&con, mark_fn, &m, &res->st);
	res->dropped = dropped_total(fd) - d0;
	for (k = 0; k < n; k++) {
		res->found += m.seen[k];
		res->once += m.seen[k] == 1;
	}
	res->strange = m.strange;
	free(m.seen);
	consumer_unmap(&con);
	c.flags = 0;
	c.nr_comms = 0;
	sg_set_config_retry(fd, &c);
	printf("# marked: %ld calls, %ld records found, %ld paths logged exactly once, %ld strange, dropped %llu\n",
	       n, res->found, res->once, res->strange, res->dropped);
	return pid > 0 ? 0 : -1;
}
