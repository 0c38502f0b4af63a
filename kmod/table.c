// SPDX-License-Identifier: GPL-2.0
/*
 * sagafs: the per-ABI slot table.  For every system call slot: what kind
 * of call it is for the probes (see enum sagafs_kind) and which arguments
 * are path names.
 */
#include <linux/kernel.h>
#include <asm/unistd.h>
#include <asm/unistd_32_ia32.h>
#include "sagafs.h"

struct sagafs_slot_info sagafs_slots[SAGAFS_NR_ABIS][SAGAFS_NR_SLOTS];

struct sagafs_path_call {
	int nr;
	s8 p0;
	s8 p1;
};

#define PC(nr, a, b)	{ nr, a, b }

static const struct sagafs_path_call sagafs_paths_64[] = {
	PC(__NR_open, 0, -1), PC(__NR_openat, 1, -1), PC(__NR_openat2, 1, -1),
	PC(__NR_creat, 0, -1), PC(__NR_execve, 0, -1),
	PC(__NR_execveat, 1, -1), PC(__NR_unlink, 0, -1),
	PC(__NR_unlinkat, 1, -1), PC(__NR_rename, 0, 1),
	PC(__NR_renameat, 1, 3), PC(__NR_renameat2, 1, 3),
	PC(__NR_mkdir, 0, -1), PC(__NR_mkdirat, 1, -1), PC(__NR_rmdir, 0, -1),
	PC(__NR_link, 0, 1), PC(__NR_linkat, 1, 3), PC(__NR_symlink, 0, 1),
	PC(__NR_symlinkat, 0, 2), PC(__NR_chmod, 0, -1),
	PC(__NR_fchmodat, 1, -1), PC(__NR_chown, 0, -1),
	PC(__NR_lchown, 0, -1), PC(__NR_fchownat, 1, -1),
	PC(__NR_truncate, 0, -1), PC(__NR_mknod, 0, -1),
	PC(__NR_mknodat, 1, -1), PC(__NR_mount, 0, 1), PC(__NR_umount2, 0, -1),
};

static const struct sagafs_path_call sagafs_paths_32[] = {
	PC(__NR_ia32_open, 0, -1), PC(__NR_ia32_openat, 1, -1),
	PC(__NR_ia32_openat2, 1, -1), PC(__NR_ia32_creat, 0, -1),
	PC(__NR_ia32_execve, 0, -1), PC(__NR_ia32_execveat, 1, -1),
	PC(__NR_ia32_unlink, 0, -1), PC(__NR_ia32_unlinkat, 1, -1),
	PC(__NR_ia32_rename, 0, 1), PC(__NR_ia32_renameat, 1, 3),
	PC(__NR_ia32_renameat2, 1, 3), PC(__NR_ia32_mkdir, 0, -1),
	PC(__NR_ia32_mkdirat, 1, -1), PC(__NR_ia32_rmdir, 0, -1),
	PC(__NR_ia32_link, 0, 1), PC(__NR_ia32_linkat, 1, 3),
	PC(__NR_ia32_symlink, 0, 1), PC(__NR_ia32_symlinkat, 0, 2),
	PC(__NR_ia32_chmod, 0, -1), PC(__NR_ia32_fchmodat, 1, -1),
	PC(__NR_ia32_chown, 0, -1), PC(__NR_ia32_chown32, 0, -1),
	PC(__NR_ia32_lchown, 0, -1), PC(__NR_ia32_lchown32, 0, -1),
	PC(__NR_ia32_fchownat, 1, -1), PC(__NR_ia32_truncate, 0, -1),
	PC(__NR_ia32_truncate64, 0, -1), PC(__NR_ia32_mknod, 0, -1),
	PC(__NR_ia32_mknodat, 1, -1), PC(__NR_ia32_mount, 0, 1),
	PC(__NR_ia32_umount, 0, -1), PC(__NR_ia32_umount2, 0, -1),
};

struct sagafs_kind_call {
	int nr;
	u8 kind;
};

#define KC(nr, k)	{ nr, SAGAFS_KIND_##k }

/* x86_64; x32 shares these numbers except where noted below. */
static const struct sagafs_kind_call sagafs_kinds_64[] = {
	KC(__NR_exit, NORETURN), KC(__NR_exit_group, NORETURN),
	KC(__NR_rt_sigreturn, SIGRETURN),
	KC(__NR_execve, EXEC), KC(__NR_execveat, EXECAT),
	KC(__NR_clone, FORK), KC(__NR_fork, FORK), KC(__NR_vfork, FORK),
	KC(__NR_clone3, FORK),
	KC(__NR_open, OPEN), KC(__NR_openat, OPEN), KC(__NR_openat2, OPEN),
	KC(__NR_creat, OPEN),
};

static const struct sagafs_kind_call sagafs_kinds_x32[] = {
	KC(__NR_exit, NORETURN), KC(__NR_exit_group, NORETURN),
	KC(SAGAFS_X32_RT_SIGRETURN, SIGRETURN),
	KC(SAGAFS_X32_EXECVE, EXEC), KC(SAGAFS_X32_EXECVEAT, EXECAT),
	KC(__NR_clone, FORK), KC(__NR_fork, FORK), KC(__NR_vfork, FORK),
	KC(__NR_clone3, FORK),
	KC(__NR_open, OPEN), KC(__NR_openat, OPEN), KC(__NR_openat2, OPEN),
	KC(__NR_creat, OPEN),
};

static const struct sagafs_kind_call sagafs_kinds_32[] = {
	KC(__NR_ia32_exit, NORETURN), KC(__NR_ia32_exit_group, NORETURN),
	KC(__NR_ia32_sigreturn, SIGRETURN),
	KC(__NR_ia32_rt_sigreturn, SIGRETURN),
	KC(__NR_ia32_execve, EXEC), KC(__NR_ia32_execveat, EXECAT),
	KC(__NR_ia32_clone, FORK), KC(__NR_ia32_fork, FORK),
	KC(__NR_ia32_vfork, FORK), KC(__NR_ia32_clone3, FORK),
	KC(__NR_ia32_open, OPEN), KC(__NR_ia32_openat, OPEN),
	KC(__NR_ia32_openat2, OPEN), KC(__NR_ia32_creat, OPEN),
};

static void sagafs_table_paths(u8 abi, const struct sagafs_path_call *pc,
			       size_t n)
{
	size_t i;

	for (i = 0; i < SAGAFS_NR_SLOTS; i++) {
		sagafs_slots[abi][i].path[0] = -1;
		sagafs_slots[abi][i].path[1] = -1;
	}
	for (i = 0; i < n; i++) {
		if (pc[i].nr < 0 || pc[i].nr >= SAGAFS_SLOT_OTHER)
			continue;
		sagafs_slots[abi][pc[i].nr].path[0] = pc[i].p0;
		sagafs_slots[abi][pc[i].nr].path[1] = pc[i].p1;
	}
}

static void sagafs_table_kinds(u8 abi, const struct sagafs_kind_call *kc,
			       size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (kc[i].nr < 0 || kc[i].nr >= SAGAFS_SLOT_OTHER)
			continue;
		sagafs_slots[abi][kc[i].nr].kind = kc[i].kind;
	}
}

void sagafs_table_init(void)
{
	u8 x64 = SAGAFS_ABI_X86_64, x32 = SAGAFS_ABI_X32;
	u8 i32 = SAGAFS_ABI_I386;

	memset(sagafs_slots, 0, sizeof(sagafs_slots));
	sagafs_table_paths(x64, sagafs_paths_64, ARRAY_SIZE(sagafs_paths_64));
	sagafs_table_paths(x32, sagafs_paths_64, ARRAY_SIZE(sagafs_paths_64));
	sagafs_table_paths(i32, sagafs_paths_32, ARRAY_SIZE(sagafs_paths_32));
	/* x32 has its own execve/execveat; the x86_64 numbers are unused. */
	sagafs_slots[x32][__NR_execve].path[0] = -1;
	sagafs_slots[x32][__NR_execveat].path[0] = -1;
	sagafs_slots[x32][SAGAFS_X32_EXECVE].path[0] = 0;
	sagafs_slots[x32][SAGAFS_X32_EXECVEAT].path[0] = 1;

	sagafs_table_kinds(x64, sagafs_kinds_64, ARRAY_SIZE(sagafs_kinds_64));
	sagafs_table_kinds(x32, sagafs_kinds_x32, ARRAY_SIZE(sagafs_kinds_x32));
	sagafs_table_kinds(i32, sagafs_kinds_32, ARRAY_SIZE(sagafs_kinds_32));
}
