// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * sagafs: identity of the task that makes a call: ids, credentials,
 * namespaces and cgroup, as the record carries them.
 */
#include <linux/kernel.h>
#include <linux/audit.h>
#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/init_task.h>
#include <linux/nsproxy.h>
#include <linux/ns_common.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uidgid.h>
#include "sagafs.h"

/*
 * struct mnt_namespace is private to fs/; its first member is its struct
 * ns_common (6.1 fs/mount.h).  sagafs_ident_init() checks that what this
 * reads for the initial namespace looks like a proc inode number: those
 * are allocated from 0xf0000000 up (fs/proc/generic.c).
 */
#define SAGAFS_PROC_DYNAMIC_FIRST	0xF0000000U

static bool sagafs_mntns_ok;

static u32 sagafs_mntns_inum(struct task_struct *t)
{
	struct nsproxy *nsp = t->nsproxy;

	/* NULL once the task is past exit_task_namespaces(). */
	if (!sagafs_mntns_ok || !nsp || !nsp->mnt_ns)
		return 0;
	return ((struct ns_common *)nsp->mnt_ns)->inum;
}

/* Namespaces and cgroup of current; runs under RCU (preemption off). */
static void sagafs_fill_ns(struct sagafs_record *r, struct task_struct *t)
{
	struct pid_namespace *pidns = task_active_pid_ns(t);

	r->ns_pid = task_tgid_vnr(t);
	r->ns_tid = task_pid_vnr(t);
	r->pidns = pidns ? pidns->ns.inum : 0;
	r->mntns = sagafs_mntns_inum(t);
#ifdef CONFIG_CGROUPS
	rcu_read_lock();
	r->cgroup_id = cgroup_id(task_dfl_cgroup(t));
	rcu_read_unlock();
#endif
}

/* Who makes the current call. */
void sagafs_fill_ident(struct sagafs_record *r)
{
	struct task_struct *t = current;
	const struct cred *cred = current_cred();

	r->pid = task_tgid_nr(t);
	r->tid = task_pid_nr(t);
	rcu_read_lock();
	r->ppid = task_tgid_nr(rcu_dereference(t->real_parent));
	rcu_read_unlock();
	r->uid = from_kuid(&init_user_ns, cred->uid);
	r->gid = from_kgid(&init_user_ns, cred->gid);
	r->euid = from_kuid(&init_user_ns, cred->euid);
	r->egid = from_kgid(&init_user_ns, cred->egid);
#ifdef CONFIG_AUDIT
	r->loginuid = from_kuid(&init_user_ns, audit_get_loginuid(t));
#else
	r->loginuid = (u32)-1;
#endif
	/* comm is NUL padded by set_task_comm(); a racing rename may cut it. */
	memcpy(r->comm, t->comm, SAGAFS_COMM_LEN);
	sagafs_fill_ns(r, t);
}

void sagafs_ident_init(void)
{
	sagafs_mntns_ok = ((struct ns_common *)init_task.nsproxy->mnt_ns)->inum >=
			  SAGAFS_PROC_DYNAMIC_FIRST;
	if (!sagafs_mntns_ok)
		pr_warn("mount namespace layout not recognised: mntns reads 0\n");
}
