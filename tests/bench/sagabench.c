// SPDX-License-Identifier: GPL-2.0
/*
 * sagabench: the programs behind `make bench`, built on the host against
 * the UAPI header and run inside the test VM.
 *
 *   sagabench loop [-n CALLS] [-r RUNS] [-p RATE]
 *       Time a getppid loop: RUNS runs of CALLS calls each, printing
 *       "run ns_per_call" for each and "best ns_per_call" last.  With -p
 *       the calls are paced to RATE per second (bursts of 100 calls on a
 *       fixed schedule) and "rate calls_per_s" gives the rate achieved.
 *
 *   sagabench consume [-x NR]... [-k RING_KB] [-w WAKEUP_BYTES]
 *                     [-t POLL_MS] [-R READY_FILE] [-d DEV]
 *       Configure capture of every system call of every ABI (minus the
 *       x86_64 numbers given with -x), map the rings, enable capture and
 *       drain the rings with the protocol of the header (load-acquire head,
 *       walk [tail, head), store-release tail) until SIGTERM or SIGINT.
 *       Then disable capture, drain what is left and print key=value lines:
 *       records and bytes drained, sequence gaps seen, the kernel's
 *       dropped and filtered counts, drained records per second.  The
 *       consumer's own calls are excluded (SAGAFS_CFG_EXCLUDE_SELF).
 *       READY_FILE is created once capture is on.
 *
 *   sagabench ctl enable|disable|reset [-d DEV]
 *       One ioctl on the device.
 *
 * Every value read from the rings is checked before use: a record whose
 * size or type is impossible stops the consumer with an error (exit 3)
 * rather than being skipped silently.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sagafs.h"

#define DEFAULT_DEV "/dev/" SAGAFS_DEVICE_NAME

static void die(const char *what)
{
	fprintf(stderr, "sagabench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sagabench loop [-n CALLS] [-r RUNS] [-p RATE]\n"
		"       sagabench consume [-x NR]... [-k RING_KB] [-w WAKEUP_BYTES] [-t POLL_MS] [-R READY_FILE] [-d DEV]\n"
		"       sagabench ctl enable|disable|reset [-d DEV]\n");
	exit(1);
}

static unsigned long parse_num(const char *s, const char *name,
			       unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > max || s[0] == '-') {
		fprintf(stderr, "sagabench: %s: '%s' is not a number in [0, %lu]\n",
			name, s, max);
		exit(1);
	}
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---------------------------------------------------------------- loop */

/* CALLS getppid calls at RATE per second: bursts of 100 on a schedule. */
static int paced_loop(unsigned long calls, unsigned long rate)
{
	uint64_t t0 = now_ns(), t1;
	unsigned long i;

	for (i = 0; i < calls; i++) {
		if (i % 100 == 0) {
			uint64_t due = t0 + (uint64_t)((double)i * 1e9 / rate);
			struct timespec ts = {
				.tv_sec = due / 1000000000ull,
				.tv_nsec = due % 1000000000ull,
			};

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					       &ts, NULL) == EINTR)
				;
		}
		syscall(SYS_getppid);
	}
	t1 = now_ns();
	printf("rate %.0f\n", calls / ((t1 - t0) / 1e9));
	return 0;
}

static int cmd_loop(int argc, char **argv)
{
	unsigned long calls = 2000000, runs = 5, rate = 0, i, r;
	double best = 0;
	int c;

	while ((c = getopt(argc, argv, "n:r:p:")) != -1) {
		switch (c) {
		case 'p':
			rate = parse_num(optarg, "-p", 1ul << 32);
			break;
		case 'n':
			calls = parse_num(optarg, "-n", 1ul << 40);
			break;
		case 'r':
			runs = parse_num(optarg, "-r", 1000);
			break;
		default:
			usage();
		}
	}
	if (!calls || !runs)
		usage();
	if (rate)
		return paced_loop(calls, rate);
	/* One short warm-up so the first run does not pay for cold caches. */
	for (i = 0; i < calls / 20; i++)
		syscall(SYS_getppid);
	for (r = 0; r < runs; r++) {
		uint64_t t0 = now_ns(), t1;
		double ns;

		for (i = 0; i < calls; i++)
			syscall(SYS_getppid);
		t1 = now_ns();
		ns = (double)(t1 - t0) / calls;
		printf("run %.1f\n", ns);
		if (r == 0 || ns < best)
			best = ns;
	}
	printf("best %.1f\n", best);
	return 0;
}

/* ---------------------------------------------------------------- ctl */

static int open_dev(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "sagabench: open %s: %s (is sagafs.ko loaded?)\n",
			dev, strerror(errno));
		exit(2);
	}
	return fd;
}

static void get_stats(int fd, struct sagafs_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (ioctl(fd, SAGAFS_IOC_GET_STATS, st))
		die("SAGAFS_IOC_GET_STATS");
}

static int cmd_ctl(int argc, char **argv)
{
	const char *dev = DEFAULT_DEV;
	struct sagafs_config cfg;
	int c, fd, on;

	while ((c = getopt(argc, argv, "d:")) != -1) {
		if (c == 'd')
			dev = optarg;
		else
			usage();
	}
	if (optind + 1 != argc)
		usage();
	fd = open_dev(dev);
	if (!strcmp(argv[optind], "reset")) {
		if (ioctl(fd, SAGAFS_IOC_RESET_STATS))
			die(argv[optind]);
		close(fd);
		return 0;
	}
	if (!strcmp(argv[optind], "enable"))
		on = 1;
	else if (!strcmp(argv[optind], "disable"))
		on = 0;
	else
		usage();
	/* SET_CONFIG's ENABLED flag is the one switch */
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	if (ioctl(fd, SAGAFS_IOC_GET_CONFIG, &cfg))
		die("SAGAFS_IOC_GET_CONFIG");
	cfg.size = sizeof(cfg);
	if (on)
		cfg.flags |= SAGAFS_CFG_ENABLED;
	else
		cfg.flags &= ~SAGAFS_CFG_ENABLED;
	if (ioctl(fd, SAGAFS_IOC_SET_CONFIG, &cfg))
		die(argv[optind]);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------ consume */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct ring {
	struct sagafs_ring_ctrl *ctrl;
	const unsigned char *data;
	uint64_t tail;
	uint64_t next_seq;	/* seq expected next; valid once seen_seq */
	int seen_seq;
};

struct tally {
	uint64_t records;
	uint64_t pads;
	uint64_t bytes;
	uint64_t gaps;		/* records missing from seq, summed */
	uint64_t getppid;
};

/*
 * Drain one ring.  Returns the bytes consumed.  Any record that breaks the
 * protocol is a fatal error: the benchmark must not count garbage.
 */
static uint64_t drain(struct ring *r, uint64_t ring_size, uint32_t rec_max,
		      unsigned int cpu, struct tally *t)
{
	uint64_t head = __atomic_load_n(&r->ctrl->head, __ATOMIC_ACQUIRE);
	uint64_t start = r->tail;
	uint64_t mask = ring_size - 1;

	if (head - r->tail > ring_size) {
		fprintf(stderr, "sagabench: cpu %u: head %" PRIu64
			" is more than a ring ahead of tail %" PRIu64 "\n",
			cpu, head, r->tail);
		exit(3);
	}
	while (r->tail != head) {
		uint64_t off = r->tail & mask;
		const struct sagafs_record *rec =
			(const struct sagafs_record *)(r->data + off);
		uint16_t size = rec->size, type = rec->type;

		if (size < 8 || size % SAGAFS_RECORD_ALIGN || size > rec_max ||
		    size > head - r->tail || off + size > ring_size) {
			fprintf(stderr, "sagabench: cpu %u: bad record size %u at %"
				PRIu64 " (head %" PRIu64 ")\n",
				cpu, size, r->tail, head);
			exit(3);
		}
		if (type == SAGAFS_REC_SYSCALL) {
			if (size < sizeof(*rec)) {
				fprintf(stderr, "sagabench: cpu %u: record of %u bytes is shorter than its header\n",
					cpu, size);
				exit(3);
			}
			if (r->seen_seq && rec->seq != r->next_seq) {
				if (rec->seq < r->next_seq) {
					fprintf(stderr, "sagabench: cpu %u: seq went back from %"
						PRIu64 " to %" PRIu64 "\n",
						cpu, r->next_seq, (uint64_t)rec->seq);
					exit(3);
				}
				t->gaps += rec->seq - r->next_seq;
			}
			r->next_seq = rec->seq + 1;
			r->seen_seq = 1;
			t->records++;
			if (rec->abi == SAGAFS_ABI_X86_64 && rec->nr == SYS_getppid)
				t->getppid++;
		} else if (type == SAGAFS_REC_PAD) {
			t->pads++;
		}
		/* Unknown types are skipped by size, as the header asks. */
		r->tail += size;
	}
	if (r->tail != start) {
		__atomic_store_n(&r->ctrl->tail, r->tail, __ATOMIC_RELEASE);
		t->bytes += r->tail - start;
	}
	return r->tail - start;
}

static int cmd_consume(int argc, char **argv)
{
	const char *dev = DEFAULT_DEV, *ready = NULL;
	unsigned long ring_kb = 0, wakeup = 0, poll_ms = 10;
	int exclude[64], nr_exclude = 0, have_wakeup = 0;
	struct sagafs_info info;
	struct sagafs_config cfg;
	struct sagafs_stats st;
	struct tally t = { 0 };
	struct ring *rings;
	unsigned char *ctrl_map;
	const unsigned char *data_map;
	uint64_t t0, t1, busy_polls = 0;
	uint64_t lost_before = 0, lost_after = 0;
	int c, fd, a, i, w;
	unsigned int cpu;
	struct sigaction sa;

	while ((c = getopt(argc, argv, "x:k:w:t:R:d:")) != -1) {
		switch (c) {
		case 'x':
			if (nr_exclude == 64)
				usage();
			exclude[nr_exclude++] = parse_num(optarg, "-x",
							  SAGAFS_SLOT_OTHER - 1);
			break;
		case 'k':
			ring_kb = parse_num(optarg, "-k", SAGAFS_RING_KB_MAX);
			break;
		case 'w':
			wakeup = parse_num(optarg, "-w", UINT32_MAX);
			have_wakeup = 1;
			break;
		case 't':
			poll_ms = parse_num(optarg, "-t", 10000);
			break;
		case 'R':
			ready = optarg;
			break;
		case 'd':
			dev = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	fd = open_dev(dev);
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	if (ioctl(fd, SAGAFS_IOC_GET_CONFIG, &cfg))
		die("SAGAFS_IOC_GET_CONFIG");
	/* capture off first: ring_kb changes only while it is */
	cfg.size = sizeof(cfg);
	cfg.flags &= ~SAGAFS_CFG_ENABLED;
	if (ioctl(fd, SAGAFS_IOC_SET_CONFIG, &cfg))
		die("SAGAFS_IOC_SET_CONFIG (disable)");
	cfg.flags = SAGAFS_CFG_EXCLUDE_SELF;
	cfg.result = SAGAFS_RESULT_ANY;
	if (ring_kb)
		cfg.ring_kb = ring_kb;
	if (have_wakeup)
		cfg.wakeup_bytes = wakeup;
	cfg.nr_pids = cfg.nr_exclude_pids = 0;
	cfg.nr_uids = cfg.nr_exclude_uids = 0;
	cfg.nr_comms = cfg.nr_exclude_comms = 0;
	for (a = 0; a < SAGAFS_NR_ABIS; a++) {
		for (w = 0; w < SAGAFS_BITMAP_WORDS; w++) {
			cfg.syscalls[a][w] = ~0ull;
			cfg.exclude_syscalls[a][w] = 0;
		}
	}
	for (i = 0; i < nr_exclude; i++)
		cfg.exclude_syscalls[SAGAFS_ABI_X86_64][exclude[i] / 64] |=
			1ull << (exclude[i] % 64);
	if (ioctl(fd, SAGAFS_IOC_SET_CONFIG, &cfg))
		die("SAGAFS_IOC_SET_CONFIG");
	if (ioctl(fd, SAGAFS_IOC_RESET_STATS))
		die("SAGAFS_IOC_RESET_STATS");

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (ioctl(fd, SAGAFS_IOC_GET_INFO, &info))
		die("SAGAFS_IOC_GET_INFO");
	if (info.abi_version != SAGAFS_ABI_VERSION) {
		fprintf(stderr, "sagabench: module ABI %u, this program knows %u\n",
			info.abi_version, SAGAFS_ABI_VERSION);
		return 2;
	}
	if (!info.nr_cpus || !info.ring_size ||
	    (info.ring_size & (info.ring_size - 1)) ||
	    info.ctrl_stride < sizeof(struct sagafs_ring_ctrl) ||
	    info.ctrl_len < (uint64_t)info.nr_cpus * info.ctrl_stride ||
	    info.data_len < (uint64_t)info.nr_cpus * info.ring_size ||
	    info.record_max < sizeof(struct sagafs_record)) {
		fprintf(stderr, "sagabench: SAGAFS_IOC_GET_INFO gave an impossible layout\n");
		return 2;
	}

	ctrl_map = mmap(NULL, info.ctrl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, info.ctrl_offset);
	if (ctrl_map == MAP_FAILED)
		die("mmap ctrl");
	data_map = mmap(NULL, info.data_len, PROT_READ, MAP_SHARED, fd,
			info.data_offset);
	if (data_map == MAP_FAILED)
		die("mmap data");

	rings = calloc(info.nr_cpus, sizeof(*rings));
	if (!rings)
		die("calloc");
	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		struct ring *r = &rings[cpu];

		r->ctrl = (struct sagafs_ring_ctrl *)(ctrl_map +
						      cpu * info.ctrl_stride);
		r->data = data_map + cpu * info.ring_size;
		/*
		 * Start from whatever is already there: skip it.  Capture is
		 * off, so next_seq is stable: the first record must take it,
		 * and a gap before the first one read counts too.
		 */
		r->tail = __atomic_load_n(&r->ctrl->head, __ATOMIC_ACQUIRE);
		__atomic_store_n(&r->ctrl->tail, r->tail, __ATOMIC_RELEASE);
		r->next_seq = __atomic_load_n(&r->ctrl->next_seq,
					      __ATOMIC_ACQUIRE);
		r->seen_seq = 1;
		lost_before += __atomic_load_n(&r->ctrl->dropped, __ATOMIC_ACQUIRE);
	}

	cfg.size = sizeof(cfg);
	cfg.flags |= SAGAFS_CFG_ENABLED;
	if (ioctl(fd, SAGAFS_IOC_SET_CONFIG, &cfg))
		die("SAGAFS_IOC_SET_CONFIG (enable)");
	t0 = now_ns();
	if (ready) {
		int rfd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (rfd < 0)
			die(ready);
		close(rfd);
	}

	while (!stop) {
		uint64_t got = 0;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		for (cpu = 0; cpu < info.nr_cpus; cpu++)
			got += drain(&rings[cpu], info.ring_size,
				     info.record_max, cpu, &t);
		if (got)
			continue;
		n = poll(&pfd, 1, poll_ms);
		if (n < 0 && errno != EINTR)
			die("poll");
		if (n > 0 && (pfd.revents & (POLLERR | POLLNVAL))) {
			fprintf(stderr, "sagabench: poll: revents %#x\n",
				pfd.revents);
			return 2;
		}
		/*
		 * A poll that says "readable" while every ring was empty a
		 * moment ago is normal once in a while; if the device has no
		 * poll at all it says so every time, and the loop would spin:
		 * sleep a millisecond then.
		 */
		if (n > 0) {
			got = 0;
			for (cpu = 0; cpu < info.nr_cpus; cpu++)
				got += drain(&rings[cpu], info.ring_size,
					     info.record_max, cpu, &t);
			if (!got) {
				struct timespec ms = { 0, 1000000 };

				busy_polls++;
				nanosleep(&ms, NULL);
			}
		}
	}
	t1 = now_ns();

	cfg.flags &= ~SAGAFS_CFG_ENABLED;
	if (ioctl(fd, SAGAFS_IOC_SET_CONFIG, &cfg))
		die("SAGAFS_IOC_SET_CONFIG (disable)");
	for (cpu = 0; cpu < info.nr_cpus; cpu++)
		drain(&rings[cpu], info.ring_size, info.record_max, cpu, &t);
	/* Records dropped after the last one read show only in next_seq. */
	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		struct ring *r = &rings[cpu];
		uint64_t next = __atomic_load_n(&r->ctrl->next_seq,
						__ATOMIC_ACQUIRE);

		if (r->seen_seq && next > r->next_seq)
			t.gaps += next - r->next_seq;
		lost_after += __atomic_load_n(&r->ctrl->dropped, __ATOMIC_ACQUIRE);
	}
	get_stats(fd, &st);

	printf("ring_kb=%" PRIu64 "\n", (uint64_t)info.ring_size / 1024);
	printf("nr_cpus=%u\n", info.nr_cpus);
	printf("seconds=%.3f\n", (t1 - t0) / 1e9);
	printf("records=%" PRIu64 "\n", t.records);
	printf("getppid_records=%" PRIu64 "\n", t.getppid);
	printf("pads=%" PRIu64 "\n", t.pads);
	printf("bytes=%" PRIu64 "\n", t.bytes);
	printf("seq_gaps=%" PRIu64 "\n", t.gaps);
	printf("ctrl_lost=%" PRIu64 "\n", lost_after - lost_before);
	printf("calls=%" PRIu64 "\n", (uint64_t)st.total.calls);
	printf("logged=%" PRIu64 "\n", (uint64_t)st.total.logged);
	printf("filtered=%" PRIu64 "\n", (uint64_t)st.total.filtered);
	printf("dropped=%" PRIu64 "\n", (uint64_t)st.total.dropped);
	printf("bad_tail=%" PRIu64 "\n", (uint64_t)st.bad_tail);
	printf("empty_polls=%" PRIu64 "\n", busy_polls);
	printf("records_per_s=%.0f\n",
	       t1 > t0 ? t.records / ((t1 - t0) / 1e9) : 0.0);
	munmap((void *)data_map, info.data_len);
	munmap(ctrl_map, info.ctrl_len);
	free(rings);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "loop"))
		return cmd_loop(argc - 1, argv + 1);
	if (!strcmp(argv[1], "consume"))
		return cmd_consume(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return cmd_ctl(argc - 1, argv + 1);
	usage();
	return 1;
}
