// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the kernel module test programs (abi_test, trust_test):
 * device requests, the ring consumer, child processes and record matching.
 */
#include "common.h"

int dev = -1;
struct sagafs_info info;
struct sagafs_config base;	/* the configuration found at start */
int nr_run, nr_failed;
char tmpdir[64];

/*
 * The running kernel is PREEMPT_RT: the module resolves no paths there
 * (SAGAFS_RF_UNRESOLVED), and the tests expect that instead.
 */
int preempt_rt(void)
{
	static int rt = -1;
	struct utsname u;

	if (rt < 0)
		rt = !uname(&u) && strstr(u.version, "PREEMPT_RT") != NULL;
	return rt;
}

void run(const char *name, int (*fn)(void))
{
	int r;

	fflush(stdout);
	r = fn();
	nr_run++;
	if (r)
		nr_failed++;
	printf("%s %d - %s\n", r ? "not ok" : "ok", nr_run, name);
	fflush(stdout);
}

/* ---- device helpers ---- */

int get_info(int fd, struct sagafs_info *i)
{
	memset(i, 0, sizeof(*i));
	i->size = sizeof(*i);
	return ioctl(fd, SAGAFS_IOC_GET_INFO, i);
}

int get_config(struct sagafs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	return ioctl(dev, SAGAFS_IOC_GET_CONFIG, c);
}

int set_config(struct sagafs_config *c)
{
	c->size = sizeof(*c);
	return ioctl(dev, SAGAFS_IOC_SET_CONFIG, c);
}

int get_stats(struct sagafs_stats *s, struct sagafs_counts *slots,
		     struct sagafs_cpu_stats *cpus, unsigned int nr_cpus)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->syscalls = (uintptr_t)slots;
	s->nr_slots = slots ? SAGAFS_NR_SLOTS : 0;
	s->cpus = (uintptr_t)cpus;
	s->nr_cpus = cpus ? nr_cpus : 0;
	return ioctl(dev, SAGAFS_IOC_GET_STATS, s);
}

struct sagafs_counts *slot_stats(void)
{
	static struct sagafs_counts s[SAGAFS_NR_ABIS * SAGAFS_NR_SLOTS];
	struct sagafs_stats st;

	if (get_stats(&st, s, NULL, 0))
		return NULL;
	return s;
}

void cfg_default(struct sagafs_config *c)
{
	*c = base;
	c->flags &= ~SAGAFS_CFG_ENABLED;
}

void bm_set(__u64 *bm, int slot)
{
	bm[slot / 64] |= 1ULL << (slot % 64);
}

/* Only syscall nr (x86_64) passes the bitmap. */
void cfg_only(struct sagafs_config *c, int nr)
{
	memset(c->syscalls, 0, sizeof(c->syscalls));
	bm_set(c->syscalls[SAGAFS_ABI_X86_64], nr);
}

void cfg_pid(struct sagafs_config *c, pid_t pid)
{
	c->nr_pids = 1;
	c->pids[0] = pid;
}

int restore_base(void)
{
	struct sagafs_config c;

	cfg_default(&c);
	return set_config(&c);
}

/* ---- rings: the consumer protocol ---- */


struct rings rg;

struct sagafs_ring_ctrl *ctrl_of(unsigned int cpu)
{
	return (struct sagafs_ring_ctrl *)(rg.ctrl + cpu * info.ctrl_stride);
}

int map_rings(void)
{
	if (get_info(dev, &info))
		return -1;
	rg.ctrl_len = info.ctrl_len;
	rg.data_len = info.data_len;
	rg.ctrl = mmap(NULL, rg.ctrl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       dev, info.ctrl_offset);
	if (rg.ctrl == MAP_FAILED)
		return -1;
	rg.data = mmap(NULL, rg.data_len, PROT_READ, MAP_SHARED, dev,
		       info.data_offset);
	if (rg.data == MAP_FAILED) {
		munmap(rg.ctrl, rg.ctrl_len);
		return -1;
	}
	return 0;
}

void unmap_rings(void)
{
	munmap(rg.ctrl, rg.ctrl_len);
	munmap(rg.data, rg.data_len);
	rg.ctrl = rg.data = NULL;
}

void drain(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		struct sagafs_ring_ctrl *c = ctrl_of(cpu);

		__atomic_store_n(&c->tail, __atomic_load_n(&c->head,
				 __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	}
}


/*
 * Read every ring from tail to head, call fn for each syscall record and
 * advance tail.  Validates framing; returns records seen or -1.
 */
long consume(rec_fn fn, void *ctx)
{
	unsigned int cpu;
	long n = 0;

	for (cpu = 0; cpu < info.nr_cpus; cpu++) {
		struct sagafs_ring_ctrl *c = ctrl_of(cpu);
		unsigned char *base_p = rg.data + cpu * info.ring_size;
		__u64 head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
		__u64 tail = c->tail;
		__u64 last_seq = 0;
		int have_seq = 0;

		if (head - tail > info.ring_size) {
			printf("#   cpu %u: head %llu tail %llu\n", cpu,
			       (unsigned long long)head,
			       (unsigned long long)tail);
			return -1;
		}
		while (tail != head) {
			__u64 off = tail & (info.ring_size - 1);
			const struct sagafs_record *r = (const void *)(base_p + off);

			if (r->size < 8 || r->size % 8 || r->size > info.record_max ||
			    off + r->size > info.ring_size ||
			    r->size > head - tail) {
				printf("#   cpu %u: bad record size %u at %llu\n",
				       cpu, r->size, (unsigned long long)off);
				return -1;
			}
			if (r->type == SAGAFS_REC_SYSCALL) {
				const char *p = (const char *)(r + 1);

				if (r->size < sizeof(*r) ||
				    sizeof(*r) + r->path_len[0] + r->path_len[1] > r->size ||
				    r->cpu != cpu ||
				    (have_seq && r->seq <= last_seq)) {
					printf("#   cpu %u: malformed record\n", cpu);
					return -1;
				}
				last_seq = r->seq;
				have_seq = 1;
				if (fn)
					fn(r, p, p + r->path_len[0], ctx);
				n++;
			}
			tail += r->size;
		}
		__atomic_store_n(&c->tail, tail, __ATOMIC_RELEASE);
	}
	return n;
}

/* ---- children ---- */


/* Fork a child that runs fn(arg) once told to go; it exits with fn's value. */
int spawn(struct child *ch, int (*fn)(void *), void *arg,
		 int (*prep)(void *))
{
	int p[2], ready[2];
	char b;

	if (pipe(p) || pipe(ready))
		return -1;
	ch->pid = fork();
	if (ch->pid < 0)
		return -1;
	if (ch->pid == 0) {
		close(p[1]);
		close(ready[0]);
		if (prep && prep(arg))
			_exit(101);
		if (write(ready[1], "r", 1) != 1)
			_exit(102);
		if (read(p[0], &b, 1) != 1)
			_exit(103);
		_exit(fn(arg));
	}
	close(p[0]);
	close(ready[1]);
	if (read(ready[0], &b, 1) != 1) {
		close(ready[0]);
		close(p[1]);
		waitpid(ch->pid, NULL, 0);
		return -1;
	}
	close(ready[0]);
	ch->go = p[1];
	return 0;
}

int finish(struct child *ch)
{
	int st;

	if (write(ch->go, "g", 1) != 1)
		return -1;
	close(ch->go);
	if (waitpid(ch->pid, &st, 0) != ch->pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int prep_mark(void *arg)
{
	(void)arg;
	if (prctl(PR_SET_NAME, MARK_COMM))
		return -1;
	if (setgid(MARK_GID) || setuid(MARK_UID))
		return -1;
	return 0;
}


int do_loop(void *arg)
{
	struct loop *l = arg;
	long i;

	for (i = 0; i < l->count; i++) {
		if (l->nr == SYS_openat) {
			long fd = syscall(SYS_openat, AT_FDCWD, l->path, O_RDONLY);

			if (fd >= 0)
				close(fd);
		} else {
			syscall(l->nr);
		}
	}
	return 0;
}

/* ---- counting records ---- */


void match_fn(const struct sagafs_record *r, const char *p0,
		     const char *p1, void *ctx)
{
	struct match *m = ctx;

	(void)p1;
	if ((pid_t)r->pid != m->pid || r->nr != m->nr || r->abi != m->abi)
		return;
	if (m->path && (!(r->flags & SAGAFS_RF_PATH0) ||
			r->path_len[0] != strlen(m->path) ||
			memcmp(p0, m->path, r->path_len[0]))) {
		snprintf(m->why, sizeof(m->why), "path len %u flags %#x",
			 r->path_len[0], r->flags);
		m->bad++;
		return;
	}
	if (r->ret < m->ret_min || r->ret > m->ret_max) {
		snprintf(m->why, sizeof(m->why), "ret %lld", (long long)r->ret);
		m->bad++;
		return;
	}
	if (m->comm && strncmp(r->comm, m->comm, SAGAFS_COMM_LEN)) {
		snprintf(m->why, sizeof(m->why), "comm %.16s", r->comm);
		m->bad++;
		return;
	}
	if (m->uid >= 0 && (r->uid != (__u32)m->uid || r->euid != (__u32)m->uid)) {
		snprintf(m->why, sizeof(m->why), "uid %u euid %u", r->uid, r->euid);
		m->bad++;
		return;
	}
	if ((r->flags & m->flags_set) != m->flags_set) {
		snprintf(m->why, sizeof(m->why), "flags %#x", r->flags);
		m->bad++;
		return;
	}
	if (r->tid != r->pid || (pid_t)r->ppid != getpid()) {
		snprintf(m->why, sizeof(m->why), "tid %u ppid %u", r->tid, r->ppid);
		m->bad++;
		return;
	}
	m->hits++;
}

void match_init(struct match *m, pid_t pid, int nr)
{
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->nr = nr;
	m->abi = SAGAFS_ABI_X86_64;
	m->ret_min = -4095;
	m->ret_max = 0x7fffffff;
	m->uid = -1;
}

int open_dev(void)
{
	dev = open(DEV, O_RDWR);
	if (dev < 0) {
		printf("Bail out! cannot open %s: %s\n", DEV, strerror(errno));
		return -1;
	}
	return 0;
}

int set_ring_kb(__u32 kb)
{
	struct sagafs_config c;

	unmap_rings();
	cfg_default(&c);
	c.ring_kb = kb;
	if (set_config(&c))
		return -1;
	base.ring_kb = kb;
	return map_rings();
}
