// SPDX-License-Identifier: GPL-2.0
/*
 * Raw ABI tests for /dev/sagafs (kselftest style, TAP output).
 *
 * Runs as root inside the test VM with sagafs.ko loaded:
 *   make -C kmod && tests/vm/kmod/build.sh && \
 *       tests/vm/run -- tests/vm/kmod/run-in-guest.sh
 *
 * abi_test             all test cases
 * abi_test --info      one GET_INFO + GET_STATS round (device alive?)
 * abi_test --enable    turn capture on (all syscalls) and exit
 * abi_test --hold FILE map the rings, create FILE, sleep until killed
 */
#include "common.h"

/* ==================================================================== */
/* ioctl tests                                                           */

static int t_abi_version(void)
{
	__u32 v = 0;

	EXPECT_OK(ioctl(dev, SAGAFS_IOC_ABI_VERSION, &v));
	CHECK(v == SAGAFS_ABI_VERSION, "version %u", v);
	return 0;
}

static unsigned int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	char buf[256], *p;
	unsigned int last = 0;

	if (!f || !fgets(buf, sizeof(buf), f))
		return 0;
	fclose(f);
	/* nr_cpu_ids is the highest possible CPU + 1 */
	for (p = buf; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			unsigned int v = strtoul(p, &p, 10);

			if (v > last)
				last = v;
			p--;
		}
	}
	return last + 1;
}

static int t_get_info(void)
{
	struct sagafs_info i;
	long pg = sysconf(_SC_PAGESIZE);

	EXPECT_OK(get_info(dev, &i));
	CHECK(i.size == sizeof(i), "size %u", i.size);
	CHECK(i.abi_version == SAGAFS_ABI_VERSION, "%u", i.abi_version);
	CHECK(i.nr_cpus == possible_cpus(), "nr_cpus %u possible %u",
	      i.nr_cpus, possible_cpus());
	CHECK(i.page_size == pg, "page %u", i.page_size);
	CHECK(i.ring_size >= SAGAFS_RING_KB_MIN * 1024ULL &&
	      !(i.ring_size & (i.ring_size - 1)), "ring %llu",
	      (unsigned long long)i.ring_size);
	CHECK(i.ctrl_offset == 0, "ctrl_offset");
	CHECK(i.ctrl_stride == (__u64)pg, "stride");
	CHECK(i.ctrl_len == i.nr_cpus * i.ctrl_stride, "ctrl_len");
	CHECK(i.data_offset == i.ctrl_offset + i.ctrl_len, "data_offset");
	CHECK(i.data_offset % pg == 0, "data_offset aligned");
	CHECK(i.data_len == i.nr_cpus * i.ring_size, "data_len");
	CHECK(i.record_align == SAGAFS_RECORD_ALIGN, "align");
	CHECK(i.record_max == SAGAFS_RECORD_MAX, "record_max");
	CHECK(i.nr_slots == SAGAFS_NR_SLOTS && i.nr_abis == SAGAFS_NR_ABIS,
	      "slots");
	CHECK(i.snaplen_max == SAGAFS_SNAPLEN_MAX, "snaplen_max");
	return 0;
}

static int t_default_config(void)
{
	struct sagafs_config c;
	int abi, w;

	EXPECT_OK(get_config(&c));
	CHECK(c.size == sizeof(c), "size");
	CHECK(!(c.flags & SAGAFS_CFG_ENABLED), "capture on at load");
	CHECK(c.flags & SAGAFS_CFG_EXCLUDE_SELF, "exclude self off");
	CHECK(c.snaplen == SAGAFS_SNAPLEN_DEFAULT, "snaplen %u", c.snaplen);
	CHECK(c.result == SAGAFS_RESULT_ANY, "result");
	CHECK((__u64)c.ring_kb * 1024 == info.ring_size, "ring_kb %u", c.ring_kb);
	for (abi = 0; abi < SAGAFS_NR_ABIS; abi++)
		for (w = 0; w < SAGAFS_BITMAP_WORDS; w++)
			CHECK(c.syscalls[abi][w] == ~0ULL &&
			      !c.exclude_syscalls[abi][w], "bitmap %d %d", abi, w);
	CHECK(!c.nr_pids && !c.nr_uids && !c.nr_comms && !c.nr_exclude_pids,
	      "lists");
	return 0;
}

static int t_config_roundtrip(void)
{
	struct sagafs_config c, g;

	cfg_default(&c);
	c.result = SAGAFS_RESULT_FAILURE;
	c.snaplen = 100;
	c.wakeup_bytes = 4096;
	c.nr_pids = 2;
	c.pids[0] = 1;
	c.pids[1] = 77;
	c.nr_exclude_uids = 1;
	c.exclude_uids[0] = 1000;
	c.nr_comms = 1;
	memcpy(c.comms[0], "abc\0garbage", 12);	/* normalised to NUL padding */
	c.nr_exclude_comms = 1;
	strcpy(c.exclude_comms[0], "sshd");
	c.flags &= ~SAGAFS_CFG_EXCLUDE_SELF;
	bm_set(c.exclude_syscalls[SAGAFS_ABI_I386], 5);
	c.pids[5] = 9;		/* beyond nr_pids: reads back as 0 */
	EXPECT_OK(set_config(&c));
	EXPECT_OK(get_config(&g));
	CHECK(g.result == 2 && g.snaplen == 100 && g.wakeup_bytes == 4096, "scalars");
	CHECK(g.nr_pids == 2 && g.pids[0] == 1 && g.pids[1] == 77 && !g.pids[5],
	      "pids");
	CHECK(g.nr_exclude_uids == 1 && g.exclude_uids[0] == 1000, "uids");
	CHECK(!memcmp(g.comms[0], "abc\0\0\0\0\0\0\0\0\0\0\0\0\0", 16), "comm");
	CHECK(!strcmp(g.exclude_comms[0], "sshd"), "exclude comm");
	CHECK(!(g.flags & SAGAFS_CFG_EXCLUDE_SELF), "flags %#x", g.flags);
	CHECK(g.exclude_syscalls[SAGAFS_ABI_I386][0] == 1ULL << 5, "exclude bm");
	CHECK(!memcmp(g.syscalls, c.syscalls, sizeof(c.syscalls)), "bitmap");
	EXPECT_OK(restore_base());
	EXPECT_OK(get_config(&g));
	CHECK(!memcmp(&g, &base, sizeof(g)), "restore");
	return 0;
}

static int t_bad_pointers(void)
{
	void *bad = (void *)8;
	struct sagafs_stats st;

	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_ABI_VERSION, NULL));
	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_GET_INFO, NULL));
	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_GET_INFO, bad));
	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_GET_CONFIG, bad));
	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_SET_CONFIG, bad));
	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_GET_STATS, bad));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.syscalls = 8;
	st.nr_slots = SAGAFS_NR_SLOTS;
	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_GET_STATS, &st));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.cpus = (uintptr_t)bad;
	st.nr_cpus = 1;
	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_GET_STATS, &st));
	/* a pointer into kernel space */
	EXPECT_ERR(EFAULT, ioctl(dev, SAGAFS_IOC_GET_INFO,
				 (void *)0xffffffff81000000UL));
	return 0;
}

/* Each size-prefixed request with sizes 0, too small, big+junk, big+zero. */
static int t_bad_sizes(void)
{
	static const struct { unsigned long req; size_t sz; const char *n; } r[] = {
		{ SAGAFS_IOC_GET_INFO, sizeof(struct sagafs_info), "GET_INFO" },
		{ SAGAFS_IOC_GET_CONFIG, sizeof(struct sagafs_config), "GET_CONFIG" },
		{ SAGAFS_IOC_SET_CONFIG, sizeof(struct sagafs_config), "SET_CONFIG" },
		{ SAGAFS_IOC_GET_STATS, sizeof(struct sagafs_stats), "GET_STATS" },
	};
	unsigned char *buf = calloc(1, sizeof(struct sagafs_config) + 64);
	__u32 sz;
	size_t i;

	CHECK(buf, "oom");
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		/* a valid structure to start from */
		if (r[i].req == SAGAFS_IOC_SET_CONFIG) {
			memcpy(buf, &base, sizeof(base));
			((struct sagafs_config *)buf)->flags &= ~SAGAFS_CFG_ENABLED;
		} else {
			memset(buf, 0, r[i].sz + 64);
		}
		sz = 0;
		memcpy(buf, &sz, 4);
		EXPECT_ERR(EINVAL, ioctl(dev, r[i].req, buf));
		sz = r[i].sz - 8;
		memcpy(buf, &sz, 4);
		EXPECT_ERR(EINVAL, ioctl(dev, r[i].req, buf));
		sz = r[i].sz + 64;
		memcpy(buf, &sz, 4);
		buf[r[i].sz + 10] = 1;
		EXPECT_ERR(E2BIG, ioctl(dev, r[i].req, buf));
		buf[r[i].sz + 10] = 0;
		if (ioctl(dev, r[i].req, buf))
			FAIL("%s with zero tail: %s", r[i].n, strerror(errno));
		memcpy(&sz, buf, 4);
		if (r[i].req != SAGAFS_IOC_SET_CONFIG && sz != r[i].sz)
			FAIL("%s: size out %u", r[i].n, sz);
	}
	free(buf);
	return 0;
}

static int t_invalid_values(void)
{
	struct sagafs_config c, before, after;
	int i;

	EXPECT_OK(get_config(&before));
	for (i = 0; i < 19; i++) {
		cfg_default(&c);
		switch (i) {
		case 0: c.flags = 1U << 5; break;
		case 1: c.result = 3; break;
		case 2: c.snaplen = SAGAFS_SNAPLEN_MAX + 1; break;
		case 3: c.ring_kb = 48; break;
		case 4: c.ring_kb = SAGAFS_RING_KB_MIN / 2; break;
		case 5: c.ring_kb = SAGAFS_RING_KB_MAX * 2; break;
		case 6: c.nr_pids = SAGAFS_MAX_IDS + 1; break;
		case 7: c.nr_exclude_pids = 1; c.exclude_pids[0] = 0; break;
		case 8: c.nr_pids = 1; c.pids[0] = 0; break;
		case 9: c.nr_uids = 1; c.uids[0] = (__u32)-1; break;
		case 10: c.nr_exclude_uids = 1; c.exclude_uids[0] = (__u32)-1; break;
		case 11: c.nr_uids = SAGAFS_MAX_IDS + 1; break;
		case 12: c.nr_comms = 1; break;	/* empty */
		case 13: c.nr_comms = 1; memset(c.comms[0], 'a', 16); break;
		case 14: c.nr_exclude_comms = SAGAFS_MAX_COMMS + 1; break;
		case 15: c.nr_exclude_comms = 1; break;
		case 16: c.ring_kb = 0; break;
		case 17: c.nr_exclude_uids = 0xffffffff; break;
		case 18: c.flags |= 1U << 31; break;
		}
		/* a valid change alongside must not be applied either */
		c.snaplen = i == 2 ? c.snaplen : 17;
		if (set_config(&c) != -1 || errno != EINVAL)
			FAIL("case %d: not EINVAL (%s)", i, strerror(errno));
		EXPECT_OK(get_config(&after));
		if (memcmp(&before, &after, sizeof(after)))
			FAIL("case %d: config changed", i);
	}
	return 0;
}

static int t_unknown_requests(void)
{
	__u64 v;

	EXPECT_ERR(ENOTTY, ioctl(dev, _IO(SAGAFS_IOC_MAGIC, 0x08)));
	EXPECT_ERR(ENOTTY, ioctl(dev, _IO(SAGAFS_IOC_MAGIC, 0xff)));
	EXPECT_ERR(ENOTTY, ioctl(dev, _IOR(SAGAFS_IOC_MAGIC, 0x00, __u64), &v));
	EXPECT_ERR(ENOTTY, ioctl(dev, _IOR('X', 0x00, __u32), &v));
	EXPECT_ERR(ENOTTY, ioctl(dev, _IO(0xE5, 0x06)));
	EXPECT_ERR(ENOTTY, ioctl(dev, _IOW(SAGAFS_IOC_MAGIC, 0x05, __u32), &v));
	return 0;
}

static int eperm_child(void *arg)
{
	struct sagafs_config c;
	struct sagafs_info i;

	(void)arg;
	cfg_default(&c);
	if (setgid(65534) || setuid(65534))
		return 10;
	if (set_config(&c) != -1 || errno != EPERM)
		return 11;
	if (ioctl(dev, SAGAFS_IOC_RESET_STATS) != -1 || errno != EPERM)
		return 12;
	c.flags |= SAGAFS_CFG_ENABLED;
	if (set_config(&c) != -1 || errno != EPERM)
		return 13;
	if (get_info(dev, &i) || get_config(&c))	/* queries stay open */
		return 15;
	if (open(DEV, O_RDWR) != -1 || errno != EACCES)	/* mode 0600 */
		return 16;
	return 0;
}

static int t_eperm(void)
{
	struct child ch;
	struct sagafs_config c;
	int st;

	CHECK(!spawn(&ch, eperm_child, NULL, NULL), "spawn");
	st = finish(&ch);
	CHECK(st == 0, "child failed at step %d", st);
	EXPECT_OK(get_config(&c));
	CHECK(!(c.flags & SAGAFS_CFG_ENABLED), "capture was enabled");
	return 0;
}

/* ==================================================================== */
/* mmap                                                                   */

static int t_mmap(void)
{
	struct sagafs_info i;
	long pg = sysconf(_SC_PAGESIZE);
	volatile __u64 *tailp;
	void *p, *q;
	int fd2;

	EXPECT_OK(get_info(dev, &i));
	p = mmap(NULL, i.ctrl_len, PROT_READ | PROT_WRITE, MAP_SHARED, dev, 0);
	CHECK(p != MAP_FAILED, "ctrl RW: %s", strerror(errno));
	tailp = &((struct sagafs_ring_ctrl *)p)->tail;
	*tailp = ((struct sagafs_ring_ctrl *)p)->head;	/* writable */
	CHECK(((struct sagafs_ring_ctrl *)p)->ring_size == i.ring_size, "ring_size copy");
	CHECK(((struct sagafs_ring_ctrl *)((char *)p + pg))->cpu == 1 || i.nr_cpus == 1,
	      "cpu field of ring 1");
	EXPECT_OK(get_info(dev, &i));
	CHECK(i.consumer_pid == (__u32)getpid(), "consumer_pid %u", i.consumer_pid);

	q = mmap(NULL, i.data_len, PROT_READ, MAP_SHARED, dev, i.data_offset);
	CHECK(q != MAP_FAILED, "data RO: %s", strerror(errno));
	errno = 0;
	CHECK(mprotect(q, pg, PROT_READ | PROT_WRITE) == -1, "mprotect RW on data");
	CHECK(munmap(q, i.data_len) == 0, "munmap");

	q = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, dev, i.data_offset);
	CHECK(q == MAP_FAILED && errno == EPERM, "data RW: %s", strerror(errno));
	q = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, dev, 0);
	CHECK(q == MAP_FAILED && errno == EINVAL, "private: %s", strerror(errno));
	q = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, dev, i.data_offset);
	CHECK(q == MAP_FAILED && errno == EINVAL, "private data: %s", strerror(errno));
	q = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, dev, i.data_offset - pg);
	CHECK(q == MAP_FAILED && errno == EINVAL, "straddle: %s", strerror(errno));
	q = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, dev,
		 i.data_offset + i.data_len - pg);
	CHECK(q == MAP_FAILED && errno == EINVAL, "past end: %s", strerror(errno));
	q = mmap(NULL, pg, PROT_READ, MAP_SHARED, dev,
		 i.data_offset + i.data_len);
	CHECK(q == MAP_FAILED && errno == EINVAL, "beyond: %s", strerror(errno));

	fd2 = open(DEV, O_RDWR);
	CHECK(fd2 >= 0, "open 2");
	q = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd2, 0);
	CHECK(q == MAP_FAILED && errno == EBUSY, "second consumer: %s", strerror(errno));
	CHECK(munmap(p, i.ctrl_len) == 0, "munmap ctrl");
	/* still EBUSY: the consumer's file is open */
	q = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd2, 0);
	CHECK(q == MAP_FAILED && errno == EBUSY, "consumer file open: %s", strerror(errno));

	/* a consumer in another file, released: another can map */
	{
		int fd3 = open(DEV, O_RDWR);

		CHECK(fd3 >= 0, "open 3");
		close(dev);
		dev = fd3;
	}
	q = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd2, i.data_offset);
	CHECK(q != MAP_FAILED, "after release: %s", strerror(errno));
	EXPECT_OK(get_info(fd2, &i));
	CHECK(i.consumer_pid == (__u32)getpid(), "consumer pid");
	munmap(q, pg);
	close(fd2);
	EXPECT_OK(get_info(dev, &i));
	CHECK(i.consumer_pid == 0, "consumer after close %u", i.consumer_pid);
	return 0;
}

/* ==================================================================== */
/* capture                                                                */

static int t_poll(void)
{
	struct pollfd pfd = { .fd = dev, .events = POLLIN };
	struct sagafs_config c;
	struct child ch;
	struct loop l = { .nr = SYS_getppid, .count = 50 };
	int r;

	drain();
	r = poll(&pfd, 1, 200);
	CHECK(r == 0, "poll with capture off: %d revents %#x", r, pfd.revents);
	cfg_default(&c);
	c.flags |= SAGAFS_CFG_ENABLED;
	CHECK(!spawn(&ch, do_loop, &l, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 0, "child");
	r = poll(&pfd, 1, 5000);
	CHECK(r == 1 && (pfd.revents & POLLIN), "poll after calls: %d %#x",
	      r, pfd.revents);
	EXPECT_OK(restore_base());
	drain();
	return 0;
}

/* poll sleeps, then is woken by a record made on another process. */
static int t_poll_wakeup(void)
{
	struct pollfd pfd = { .fd = dev, .events = POLLIN };
	struct sagafs_config c;
	struct child ch;
	struct loop l = { .nr = SYS_getppid, .count = 10 };
	int r;
	pid_t w;

	drain();
	cfg_default(&c);
	c.flags |= SAGAFS_CFG_ENABLED;
	cfg_only(&c, SYS_getppid);
	CHECK(!spawn(&ch, do_loop, &l, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(set_config(&c));
	w = fork();
	if (w == 0) {
		usleep(300 * 1000);
		_exit(finish(&ch));
	}
	close(ch.go);
	r = poll(&pfd, 1, 10000);
	CHECK(r == 1 && (pfd.revents & POLLIN), "poll: %d %#x", r, pfd.revents);
	waitpid(w, NULL, 0);
	waitpid(ch.pid, NULL, 0);
	EXPECT_OK(restore_base());
	drain();
	return 0;
}

static char mark_path[128];

static int run_marked(struct sagafs_config *c, long n, pid_t *pid)
{
	struct child ch;
	struct loop l = { .nr = SYS_openat, .count = n, .path = mark_path };

	if (spawn(&ch, do_loop, &l, prep_mark))
		return -1;
	*pid = ch.pid;
	cfg_pid(c, ch.pid);
	c->flags |= SAGAFS_CFG_ENABLED;
	if (set_config(c))
		return -1;
	if (finish(&ch))
		return -1;
	return restore_base();
}

static int t_marked_openat(void)
{
	struct sagafs_config c;
	struct sagafs_stats st;
	struct match m;
	pid_t pid;
	const long n = 1000;

	drain();
	cfg_default(&c);
	EXPECT_OK(ioctl(dev, SAGAFS_IOC_RESET_STATS));
	CHECK(!run_marked(&c, n, &pid), "workload");
	match_init(&m, pid, SYS_openat);
	m.path = mark_path;
	m.ret_min = 0;
	m.comm = MARK_COMM;
	m.uid = MARK_UID;
	CHECK(consume(match_fn, &m) >= 0, "ring framing");
	CHECK(m.hits == n && m.bad == 0, "hits %ld bad %ld (%s)", m.hits, m.bad,
	      m.why);
	EXPECT_OK(get_stats(&st, NULL, NULL, 0));
	CHECK(st.total.dropped == 0, "dropped %llu", (unsigned long long)st.total.dropped);
	return 0;
}

static int t_filter_exclude(void)
{
	struct sagafs_config c;
	struct sagafs_counts *s, a;
	struct match m;
	pid_t pid;
	const long n = 500;

	drain();
	cfg_default(&c);
	bm_set(c.exclude_syscalls[SAGAFS_ABI_X86_64], SYS_openat);
	EXPECT_OK(ioctl(dev, SAGAFS_IOC_RESET_STATS));
	CHECK(!run_marked(&c, n, &pid), "workload");
	match_init(&m, pid, SYS_openat);
	CHECK(consume(match_fn, &m) >= 0, "ring framing");
	CHECK(m.hits == 0 && m.bad == 0, "openat records: %ld", m.hits + m.bad);
	s = slot_stats();
	CHECK(s, "stats");
	a = s[SAGAFS_ABI_X86_64 * SAGAFS_NR_SLOTS + SYS_openat];
	CHECK(a.calls >= (__u64)n && a.filtered >= (__u64)n, "calls %llu filtered %llu",
	      (unsigned long long)a.calls, (unsigned long long)a.filtered);
	CHECK(a.logged + a.filtered + a.dropped == a.calls, "invariant");
	return 0;
}

/* uid, comm and result filters on the marked workload */
static int t_filter_ident(void)
{
	struct sagafs_config c;
	struct match m;
	pid_t pid;
	int i;

	for (i = 0; i < 5; i++) {
		long want;

		drain();
		cfg_default(&c);
		switch (i) {
		case 0: c.nr_uids = 1; c.uids[0] = MARK_UID + 1; want = 0; break;
		case 1: c.nr_exclude_uids = 1; c.exclude_uids[0] = MARK_UID; want = 0; break;
		case 2: c.nr_comms = 1; strcpy(c.comms[0], MARK_COMM); want = 20; break;
		case 3: c.nr_exclude_comms = 1; strcpy(c.exclude_comms[0], MARK_COMM); want = 0; break;
		default: c.result = SAGAFS_RESULT_FAILURE; want = 0; break;
		}
		CHECK(!run_marked(&c, 20, &pid), "workload %d", i);
		match_init(&m, pid, SYS_openat);
		CHECK(consume(match_fn, &m) >= 0, "framing");
		if (m.hits != want || m.bad)
			FAIL("case %d: %ld records, want %ld", i, m.hits, want);
	}
	return 0;
}

static int t_paths(void)
{
	char nl[128], longp[300];
	struct sagafs_config c;
	struct child ch;
	struct loop l = { .nr = SYS_openat, .count = 1, .path = nl };
	struct match m;

	snprintf(nl, sizeof(nl), "%s/new\nline-%d", tmpdir, getpid());
	drain();
	cfg_default(&c);
	cfg_only(&c, SYS_openat);
	c.flags |= SAGAFS_CFG_ENABLED;
	CHECK(!spawn(&ch, do_loop, &l, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 0, "child");
	match_init(&m, ch.pid, SYS_openat);
	m.path = nl;
	m.ret_min = m.ret_max = -ENOENT;
	CHECK(consume(match_fn, &m) >= 0, "framing");
	CHECK(m.hits == 1 && !m.bad, "newline path: %ld %ld %s", m.hits, m.bad, m.why);

	/* longer than snaplen: cut, flagged */
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	l.path = longp;
	c.snaplen = 32;
	CHECK(!spawn(&ch, do_loop, &l, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 0, "child");
	longp[32] = 0;
	match_init(&m, ch.pid, SYS_openat);
	m.path = longp;
	m.flags_set = SAGAFS_RF_PATH0_TRUNC;
	CHECK(consume(match_fn, &m) >= 0, "framing");
	CHECK(m.hits == 1 && !m.bad, "truncated: %ld %ld %s", m.hits, m.bad, m.why);

	/* unreadable pointer: fault flag, no bytes */
	l.path = (const char *)16;
	CHECK(!spawn(&ch, do_loop, &l, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 0, "child");
	match_init(&m, ch.pid, SYS_openat);
	m.ret_min = m.ret_max = -EFAULT;
	m.flags_set = SAGAFS_RF_PATH0_FAULT;
	CHECK(consume(match_fn, &m) >= 0, "framing");
	CHECK(m.hits == 1 && !m.bad, "fault: %ld %ld %s", m.hits, m.bad, m.why);
	EXPECT_OK(restore_base());
	return 0;
}

/* i386 calls made with int $0x80 from this 64-bit process's child. */
static int i386_child(void *arg)
{
	const char *p = arg;
	long ret;

	/* getppid, then open(p, O_RDONLY) with the i386 numbers */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(64)
			 : "memory", "r8", "r9", "r10", "r11");
	__asm__ volatile("int $0x80" : "=a"(ret)
			 : "a"(5), "b"(p), "c"(0), "d"(0)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret == -ENOENT ? 0 : 1;
}

struct any {
	pid_t pid;
	int n_getppid, n_open, ok_open;
	const char *path;
};

static void any_fn(const struct sagafs_record *r, const char *p0,
		   const char *p1, void *ctx)
{
	struct any *a = ctx;

	(void)p1;
	if ((pid_t)r->pid != a->pid || r->abi != SAGAFS_ABI_I386)
		return;
	if (r->nr == 64 && r->ret == getpid())
		a->n_getppid++;
	if (r->nr == 5) {
		a->n_open++;
		if ((r->flags & SAGAFS_RF_PATH0) && r->path_len[0] == strlen(a->path) &&
		    !memcmp(p0, a->path, r->path_len[0]) && r->ret == -ENOENT)
			a->ok_open++;
	}
}

static int t_i386(void)
{
	struct sagafs_config c;
	struct child ch;
	struct any a = { 0 };
	char *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CHECK(p != MAP_FAILED, "MAP_32BIT");
	snprintf(p, 4096, "%s/ia32-%d", tmpdir, getpid());
	drain();
	cfg_default(&c);
	c.flags |= SAGAFS_CFG_ENABLED;
	CHECK(!spawn(&ch, i386_child, p, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 0, "child");
	EXPECT_OK(restore_base());
	a.pid = ch.pid;
	a.path = p;
	CHECK(consume(any_fn, &a) >= 0, "framing");
	CHECK(a.n_getppid == 1, "i386 getppid records %d", a.n_getppid);
	CHECK(a.n_open == 1 && a.ok_open == 1, "i386 open %d ok %d", a.n_open, a.ok_open);
	munmap(p, 4096);
	return 0;
}

struct execscan {
	pid_t pid;
	const char *exe;	/* the program, resolved */
	const char *arg0;	/* the only argument */
	int execs, exec_ok, exits, exit_ok, others;
	char why[128];
};

static void exec_fn(const struct sagafs_record *r, const char *p0,
		    const char *p1, void *ctx)
{
	struct execscan *e = ctx;

	static const __u64 zero[6];
	/* PREEMPT_RT: no program path (SAGAFS_RF_UNRESOLVED) */
	__u32 want = preempt_rt() ? SAGAFS_RF_UNRESOLVED : SAGAFS_RF_PATH0_RESOLVED;
	const char *exe = preempt_rt() ? "" : e->exe;

	if ((pid_t)r->pid != e->pid)
		return;
	if (r->nr == SYS_execve) {
		e->execs++;
		/* the program the kernel ran, its argv; no registers */
		if (r->ret == 0 && (r->flags & want) &&
		    (r->flags & SAGAFS_RF_ARGV) &&
		    r->path_len[0] == strlen(exe) &&
		    !memcmp(p0, exe, r->path_len[0]) &&
		    r->path_len[1] == strlen(e->arg0) + 1 &&
		    !memcmp(p1, e->arg0, r->path_len[1]) &&
		    !memcmp(r->args, zero, sizeof(zero)))
			e->exec_ok++;
		else
			snprintf(e->why, sizeof(e->why), "exec flags %#x ret %lld len %u",
				 r->flags, (long long)r->ret, r->path_len[0]);
	} else if (r->nr == SYS_exit_group) {
		e->exits++;
		if ((r->flags & SAGAFS_RF_NORETURN) && r->ret == 0 && r->args[0] == 0)
			e->exit_ok++;
	} else {
		e->others++;
	}
}

static int exec_child(void *arg)
{
	char *const argv[] = { (char *)arg, NULL };

	execv(arg, argv);
	return 99;
}

static int t_execve(void)
{
	char link[128], exe[4096];
	struct sagafs_config c;
	struct child ch;
	struct execscan e = { 0 };

	snprintf(link, sizeof(link), "%s/exec-true-%d", tmpdir, getpid());
	unlink(link);
	CHECK(!symlink("/bin/true", link), "symlink: %s", strerror(errno));
	CHECK(realpath("/bin/true", exe), "realpath");
	drain();
	cfg_default(&c);
	memset(c.syscalls, 0, sizeof(c.syscalls));
	bm_set(c.syscalls[SAGAFS_ABI_X86_64], SYS_execve);
	bm_set(c.syscalls[SAGAFS_ABI_X86_64], SYS_exit_group);
	c.flags |= SAGAFS_CFG_ENABLED;
	CHECK(!spawn(&ch, exec_child, link, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 0, "child status");
	EXPECT_OK(restore_base());
	e.pid = ch.pid;
	e.exe = exe;
	e.arg0 = link;
	CHECK(consume(exec_fn, &e) >= 0, "framing");
	CHECK(e.execs == 1 && e.exec_ok == 1, "execve records %d ok %d: %s",
	      e.execs, e.exec_ok, e.why);
	CHECK(e.exits == 1 && e.exit_ok == 1, "exit_group records %d ok %d",
	      e.exits, e.exit_ok);
	CHECK(e.others == 0, "other records %d", e.others);
	unlink(link);
	return 0;
}

/* exec of a path that does not exist: one record, error, path captured */
static int t_execve_fail(void)
{
	char path[128];
	struct sagafs_config c;
	struct child ch;
	struct match m;

	snprintf(path, sizeof(path), "%s/no-such-exec-%d", tmpdir, getpid());
	drain();
	cfg_default(&c);
	cfg_only(&c, SYS_execve);
	c.flags |= SAGAFS_CFG_ENABLED;
	CHECK(!spawn(&ch, exec_child, path, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 99, "child status");
	EXPECT_OK(restore_base());
	match_init(&m, ch.pid, SYS_execve);
	m.path = path;
	m.ret_min = m.ret_max = -ENOENT;
	CHECK(consume(match_fn, &m) >= 0, "framing");
	CHECK(m.hits == 1 && !m.bad, "records %ld bad %ld %s", m.hits, m.bad, m.why);
	return 0;
}

struct seqscan {
	pid_t pid;
	__u64 start[1024], end[1024];
	long found[1024];
	long recs;
};

static void seq_fn(const struct sagafs_record *r, const char *p0,
		   const char *p1, void *ctx)
{
	struct seqscan *s = ctx;

	(void)p0;
	(void)p1;
	if (r->cpu >= 1024 || r->seq < s->start[r->cpu] || r->seq >= s->end[r->cpu])
		return;
	s->found[r->cpu]++;
	if ((pid_t)r->pid == s->pid && r->nr == SYS_getppid)
		s->recs++;
}

static int t_flood(void)
{
	static struct seqscan s;
	struct sagafs_config c;
	struct sagafs_counts *sl, a;
	struct child ch;
	struct loop l = { .nr = SYS_getppid, .count = 5000 };
	__u64 lost0 = 0, lost1 = 0, gaps = 0;
	unsigned int cpu;

	CHECK(!set_ring_kb(SAGAFS_RING_KB_MIN), "resize to 32 KiB: %s", strerror(errno));
	CHECK(info.ring_size == SAGAFS_RING_KB_MIN * 1024, "ring %llu",
	      (unsigned long long)info.ring_size);
	drain();
	memset(&s, 0, sizeof(s));
	cfg_default(&c);
	cfg_only(&c, SYS_getppid);
	c.flags |= SAGAFS_CFG_ENABLED;
	CHECK(!spawn(&ch, do_loop, &l, NULL), "spawn");
	cfg_pid(&c, ch.pid);
	EXPECT_OK(ioctl(dev, SAGAFS_IOC_RESET_STATS));
	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		s.start[cpu] = __atomic_load_n(&ctrl_of(cpu)->next_seq, __ATOMIC_ACQUIRE);
		lost0 += ctrl_of(cpu)->dropped;
	}
	EXPECT_OK(set_config(&c));
	CHECK(finish(&ch) == 0, "child");
	EXPECT_OK(restore_base());
	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		s.end[cpu] = __atomic_load_n(&ctrl_of(cpu)->next_seq, __ATOMIC_ACQUIRE);
		lost1 += ctrl_of(cpu)->dropped;
	}
	s.pid = ch.pid;
	CHECK(consume(seq_fn, &s) >= 0, "framing");
	sl = slot_stats();
	CHECK(sl, "stats");
	a = sl[SAGAFS_ABI_X86_64 * SAGAFS_NR_SLOTS + SYS_getppid];
	for (cpu = 0; cpu < info.nr_cpus; cpu++)
		gaps += s.end[cpu] - s.start[cpu] - s.found[cpu];
	printf("#   calls %llu logged %llu dropped %llu gaps %llu\n",
	       (unsigned long long)a.calls, (unsigned long long)a.logged,
	       (unsigned long long)a.dropped, (unsigned long long)gaps);
	CHECK(a.calls == 5000, "calls %llu", (unsigned long long)a.calls);
	CHECK(a.logged + a.dropped == 5000 && a.filtered == 0, "logged+dropped");
	CHECK(a.dropped > 0, "nothing dropped with a 32 KiB ring");
	CHECK((__u64)s.recs == a.logged, "records %ld logged %llu", s.recs,
	      (unsigned long long)a.logged);
	CHECK(gaps == a.dropped, "seq gaps %llu dropped %llu",
	      (unsigned long long)gaps, (unsigned long long)a.dropped);
	CHECK(lost1 - lost0 == a.dropped, "ctrl lost delta %llu",
	      (unsigned long long)(lost1 - lost0));
	return 0;
}

static int bogus_round(__u64 (*tailf)(__u64 head), long n, __u64 *logged,
		       __u64 *bad)
{
	struct sagafs_config c;
	struct sagafs_stats st;
	struct child ch;
	struct loop l = { .nr = SYS_getppid, .count = n };
	unsigned int cpu;

	drain();
	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		struct sagafs_ring_ctrl *x = ctrl_of(cpu);

		if (tailf)
			__atomic_store_n(&x->tail, tailf(x->head), __ATOMIC_RELEASE);
	}
	cfg_default(&c);
	cfg_only(&c, SYS_getppid);
	c.flags |= SAGAFS_CFG_ENABLED;
	if (spawn(&ch, do_loop, &l, NULL))
		return -1;
	cfg_pid(&c, ch.pid);
	if (ioctl(dev, SAGAFS_IOC_RESET_STATS) || set_config(&c))
		return -1;
	if (finish(&ch) || restore_base())
		return -1;
	if (get_stats(&st, NULL, NULL, 0))
		return -1;
	*logged = st.total.logged;
	*bad = st.bad_tail;
	return 0;
}

static __u64 tail_ahead(__u64 h) { return h + 4096; }
static __u64 tail_junk(__u64 h) { (void)h; return 0xdeadbeefdeadbeefULL; }
static __u64 tail_behind(__u64 h) { return h - 3 * info.ring_size; }
static __u64 tail_unaligned(__u64 h) { return h - 4; }

static int t_bogus_tail(void)
{
	__u64 (*f[])(__u64) = { tail_ahead, tail_junk, tail_behind, tail_unaligned };
	__u64 logged, bad;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		CHECK(!bogus_round(f[i], 100, &logged, &bad), "round %u", i);
		CHECK(logged == 0 && bad == 100, "tail %u: logged %llu bad_tail %llu",
		      i, (unsigned long long)logged, (unsigned long long)bad);
	}
	/* sane tail back: logging resumes */
	CHECK(!bogus_round(NULL, 100, &logged, &bad), "sane round");
	CHECK(logged == 100 && bad == 0, "sane: logged %llu bad %llu",
	      (unsigned long long)logged, (unsigned long long)bad);
	CHECK(consume(NULL, NULL) == 100, "records after sane tail");
	return 0;
}

static int t_stats(void)
{
	static struct sagafs_cpu_stats cpus[1024];
	struct sagafs_config c;
	struct sagafs_counts *s;
	struct sagafs_stats st, st2;
	__u64 sum = 0;
	unsigned int i;

	cfg_default(&c);
	c.flags |= SAGAFS_CFG_ENABLED;
	EXPECT_OK(set_config(&c));
	usleep(200 * 1000);
	EXPECT_OK(restore_base());
	s = slot_stats();
	CHECK(s, "stats");
	for (i = 0; i < SAGAFS_NR_ABIS * SAGAFS_NR_SLOTS; i++) {
		if (s[i].logged + s[i].filtered + s[i].dropped != s[i].calls)
			FAIL("slot %u: invariant broken", i);
		if (s[i].errors > s[i].calls)
			FAIL("slot %u: errors > calls", i);
		sum += s[i].calls;
	}
	EXPECT_OK(get_stats(&st, NULL, cpus, info.nr_cpus));
	CHECK(st.nr_cpus == info.nr_cpus && st.nr_slots == SAGAFS_NR_SLOTS, "nr");
	CHECK(sum == st.total.calls, "slots sum %llu total %llu",
	      (unsigned long long)sum, (unsigned long long)st.total.calls);
	CHECK(st.total.calls > 0, "no calls counted while enabled");
	CHECK(st.enabled_ns >= 150000000ULL, "enabled_ns %llu",
	      (unsigned long long)st.enabled_ns);
	for (i = 0, sum = 0; i < info.nr_cpus; i++) {
		sum += cpus[i].calls;
		CHECK(cpus[i].ring_size == info.ring_size, "cpu ring size");
	}
	CHECK(sum == st.total.calls, "per-CPU sum");
	EXPECT_OK(ioctl(dev, SAGAFS_IOC_RESET_STATS));
	EXPECT_OK(get_stats(&st2, s, NULL, 0));
	CHECK(st2.total.calls == 0 && st2.enabled_ns == 0 && st2.bytes == 0,
	      "after reset calls %llu", (unsigned long long)st2.total.calls);
	CHECK(st2.reset_ns >= st.reset_ns, "reset_ns");
	for (i = 0; i < SAGAFS_NR_ABIS * SAGAFS_NR_SLOTS; i++)
		CHECK(!s[i].calls, "slot %u after reset", i);
	return 0;
}

/* Arrays are filled up to the caller's capacity and not one entry more. */
static int t_stats_capacity(void)
{
	struct sagafs_counts slots[3 * 10 + 4];
	struct sagafs_cpu_stats cpus[2];
	struct sagafs_stats st;
	unsigned char ff[sizeof(slots[0])];
	unsigned int i;

	memset(slots, 0xff, sizeof(slots));
	memset(cpus, 0xff, sizeof(cpus));
	memset(ff, 0xff, sizeof(ff));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.syscalls = (uintptr_t)slots;
	st.nr_slots = 10;
	st.cpus = (uintptr_t)cpus;
	st.nr_cpus = 1;
	EXPECT_OK(ioctl(dev, SAGAFS_IOC_GET_STATS, &st));
	CHECK(st.nr_slots == SAGAFS_NR_SLOTS && st.nr_cpus == info.nr_cpus,
	      "out %u %u", st.nr_slots, st.nr_cpus);
	for (i = 0; i < 30; i++)
		CHECK(memcmp(&slots[i], ff, sizeof(ff)), "slot %u not written", i);
	for (i = 30; i < 34; i++)
		CHECK(!memcmp(&slots[i], ff, sizeof(ff)), "slot %u overrun", i);
	CHECK(cpus[0].ring_size == info.ring_size, "cpu 0");
	CHECK(cpus[1].ring_size == ~0ULL, "cpu 1 overrun");
	return 0;
}

static int t_resize_busy(void)
{
	struct sagafs_config c;

	cfg_default(&c);
	c.ring_kb = base.ring_kb * 2;
	EXPECT_ERR(EBUSY, set_config(&c));	/* mapped */
	return 0;
}

/* ==================================================================== */

static int cmd_info(void)
{
	struct sagafs_info i;
	struct sagafs_stats st;

	if (open_dev() || get_info(dev, &i) || get_stats(&st, NULL, NULL, 0)) {
		perror("sagafs");
		return 1;
	}
	printf("nr_cpus %u ring_size %llu calls %llu consumer %u\n", i.nr_cpus,
	       (unsigned long long)i.ring_size,
	       (unsigned long long)st.total.calls, i.consumer_pid);
	return 0;
}

static int cmd_enable(void)
{
	struct sagafs_config c;

	if (open_dev() || get_config(&c))
		return 1;
	c.flags |= SAGAFS_CFG_ENABLED;
	if (set_config(&c)) {
		perror("sagafs enable");
		return 1;
	}
	return 0;
}

static int cmd_hold(const char *ready)
{
	int fd;

	if (open_dev() || map_rings()) {
		perror("sagafs map");
		return 1;
	}
	fd = open(ready, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return 1;
	close(fd);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	__u32 orig_kb;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "--info"))
		return cmd_info();
	if (argc > 1 && !strcmp(argv[1], "--enable"))
		return cmd_enable();
	if (argc > 2 && !strcmp(argv[1], "--hold"))
		return cmd_hold(argv[2]);

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sagafs-abi-%d", getpid());
	if (mkdir(tmpdir, 0755) && errno != EEXIST) {
		printf("Bail out! mkdir %s\n", tmpdir);
		return 1;
	}
	snprintf(mark_path, sizeof(mark_path), "%s/marked-%d", tmpdir, getpid());
	close(open(mark_path, O_CREAT | O_WRONLY, 0644));
	chmod(mark_path, 0644);

	printf("TAP version 13\n");
	if (open_dev())
		return 1;
	if (get_info(dev, &info) || get_config(&base)) {
		printf("Bail out! GET_INFO/GET_CONFIG: %s\n", strerror(errno));
		return 1;
	}
	orig_kb = base.ring_kb;
	run("abi_version", t_abi_version);
	run("get_info_geometry", t_get_info);
	run("default_config", t_default_config);
	run("config_roundtrip", t_config_roundtrip);
	run("bad_pointers_efault", t_bad_pointers);
	run("bad_sizes", t_bad_sizes);
	run("invalid_values_einval_unchanged", t_invalid_values);
	run("unknown_requests_enotty", t_unknown_requests);
	run("eperm_without_cap_sys_admin", t_eperm);
	run("mmap_rules", t_mmap);
	if (map_rings()) {
		printf("Bail out! cannot map the rings: %s\n", strerror(errno));
		return 1;
	}
	run("resize_while_mapped_ebusy", t_resize_busy);
	run("poll", t_poll);
	run("poll_wakeup", t_poll_wakeup);
	run("marked_openat", t_marked_openat);
	run("filter_exclude_openat", t_filter_exclude);
	run("filter_uid_comm_result", t_filter_ident);
	run("paths_newline_trunc_fault", t_paths);
	run("i386_int80", t_i386);
	run("execve_and_exit_group", t_execve);
	run("execve_failure", t_execve_fail);
	run("flood_32k", t_flood);
	run("bogus_tail", t_bogus_tail);
	run("stats_invariant_and_reset", t_stats);
	run("stats_array_capacity", t_stats_capacity);
	if (set_ring_kb(orig_kb))
		printf("# could not restore ring_kb: %s\n", strerror(errno));
	printf("1..%d\n", nr_run);
	printf("%d passed, %d failed\n", nr_run - nr_failed, nr_failed);
	return nr_failed ? 1 : 0;
}
