// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI as the C compiler sees kmod/include/uapi/sagafs.h: every struct
 * size and alignment, every field's offset, size and alignment, every
 * constant and every request number, as a table the Rust test
 * abi::check compares with the #[repr(C)] mirror.
 */
#include <stddef.h>
#include <stdint.h>

#include "sagafs.h"

struct sagafs_abi_entry {
	const char *name;
	uint64_t value;
};

#define E(n, v) { (n), (uint64_t)(v) }
#define STRUCT(T) \
	E("sizeof " #T, sizeof(struct T)), \
	E("alignof " #T, __alignof__(struct T))
#define FIELD(T, f) \
	E(#T "." #f, offsetof(struct T, f)), \
	E(#T "." #f " size", sizeof(((struct T *)0)->f)), \
	E(#T "." #f " align", __alignof__(((struct T *)0)->f))
#define CONST(c) E(#c, c)

const struct sagafs_abi_entry sagafs_abi_table[] = {
	STRUCT(sagafs_record),
	FIELD(sagafs_record, size),
	FIELD(sagafs_record, type),
	FIELD(sagafs_record, flags),
	FIELD(sagafs_record, abi),
	FIELD(sagafs_record, key_len),
	FIELD(sagafs_record, __pad0),
	FIELD(sagafs_record, cpu),
	FIELD(sagafs_record, nr),
	FIELD(sagafs_record, ns_pid),
	FIELD(sagafs_record, seq),
	FIELD(sagafs_record, time_ns),
	FIELD(sagafs_record, pid),
	FIELD(sagafs_record, tid),
	FIELD(sagafs_record, ppid),
	FIELD(sagafs_record, uid),
	FIELD(sagafs_record, gid),
	FIELD(sagafs_record, euid),
	FIELD(sagafs_record, egid),
	FIELD(sagafs_record, loginuid),
	FIELD(sagafs_record, ns_tid),
	FIELD(sagafs_record, pidns),
	FIELD(sagafs_record, mntns),
	FIELD(sagafs_record, __pad1),
	FIELD(sagafs_record, cgroup_id),
	FIELD(sagafs_record, comm),
	FIELD(sagafs_record, args),
	FIELD(sagafs_record, ret),
	FIELD(sagafs_record, path_len),
	FIELD(sagafs_record, __pad2),

	STRUCT(sagafs_ring_ctrl),
	FIELD(sagafs_ring_ctrl, head),
	FIELD(sagafs_ring_ctrl, __pad0),
	FIELD(sagafs_ring_ctrl, tail),
	FIELD(sagafs_ring_ctrl, __pad1),
	FIELD(sagafs_ring_ctrl, ring_size),
	FIELD(sagafs_ring_ctrl, next_seq),
	FIELD(sagafs_ring_ctrl, dropped),
	FIELD(sagafs_ring_ctrl, logged),
	FIELD(sagafs_ring_ctrl, bad_tail),
	FIELD(sagafs_ring_ctrl, cpu),
	FIELD(sagafs_ring_ctrl, __pad2),

	STRUCT(sagafs_info),
	FIELD(sagafs_info, size),
	FIELD(sagafs_info, abi_version),
	FIELD(sagafs_info, nr_cpus),
	FIELD(sagafs_info, page_size),
	FIELD(sagafs_info, ring_size),
	FIELD(sagafs_info, ctrl_offset),
	FIELD(sagafs_info, ctrl_stride),
	FIELD(sagafs_info, ctrl_len),
	FIELD(sagafs_info, data_offset),
	FIELD(sagafs_info, data_len),
	FIELD(sagafs_info, record_align),
	FIELD(sagafs_info, record_max),
	FIELD(sagafs_info, nr_slots),
	FIELD(sagafs_info, nr_abis),
	FIELD(sagafs_info, snaplen_max),
	FIELD(sagafs_info, consumer_pid),

	STRUCT(sagafs_config),
	FIELD(sagafs_config, size),
	FIELD(sagafs_config, flags),
	FIELD(sagafs_config, result),
	FIELD(sagafs_config, snaplen),
	FIELD(sagafs_config, ring_kb),
	FIELD(sagafs_config, wakeup_bytes),
	FIELD(sagafs_config, nr_pids),
	FIELD(sagafs_config, nr_exclude_pids),
	FIELD(sagafs_config, nr_uids),
	FIELD(sagafs_config, nr_exclude_uids),
	FIELD(sagafs_config, nr_comms),
	FIELD(sagafs_config, nr_exclude_comms),
	FIELD(sagafs_config, syscalls),
	FIELD(sagafs_config, exclude_syscalls),
	FIELD(sagafs_config, pids),
	FIELD(sagafs_config, exclude_pids),
	FIELD(sagafs_config, uids),
	FIELD(sagafs_config, exclude_uids),
	FIELD(sagafs_config, comms),
	FIELD(sagafs_config, exclude_comms),

	STRUCT(sagafs_counts),
	FIELD(sagafs_counts, calls),
	FIELD(sagafs_counts, errors),
	FIELD(sagafs_counts, logged),
	FIELD(sagafs_counts, filtered),
	FIELD(sagafs_counts, dropped),
	FIELD(sagafs_counts, skipped),

	STRUCT(sagafs_cpu_stats),
	FIELD(sagafs_cpu_stats, calls),
	FIELD(sagafs_cpu_stats, logged),
	FIELD(sagafs_cpu_stats, filtered),
	FIELD(sagafs_cpu_stats, dropped),
	FIELD(sagafs_cpu_stats, bytes),
	FIELD(sagafs_cpu_stats, bad_tail),
	FIELD(sagafs_cpu_stats, ring_used),
	FIELD(sagafs_cpu_stats, ring_size),

	STRUCT(sagafs_stats),
	FIELD(sagafs_stats, size),
	FIELD(sagafs_stats, nr_cpus),
	FIELD(sagafs_stats, nr_slots),
	FIELD(sagafs_stats, __pad0),
	FIELD(sagafs_stats, cpus),
	FIELD(sagafs_stats, syscalls),
	FIELD(sagafs_stats, total),
	FIELD(sagafs_stats, bytes),
	FIELD(sagafs_stats, bad_tail),
	FIELD(sagafs_stats, reset_ns),
	FIELD(sagafs_stats, enabled_ns),
	FIELD(sagafs_stats, skip_unflagged),

	CONST(SAGAFS_ABI_VERSION),
	CONST(SAGAFS_ABI_X86_64),
	CONST(SAGAFS_ABI_I386),
	CONST(SAGAFS_ABI_X32),
	CONST(SAGAFS_NR_ABIS),
	CONST(SAGAFS_NR_SLOTS),
	CONST(SAGAFS_SLOT_OTHER),
	CONST(SAGAFS_BITMAP_WORDS),
	CONST(SAGAFS_COMM_LEN),
	CONST(SAGAFS_MAX_IDS),
	CONST(SAGAFS_MAX_COMMS),
	CONST(SAGAFS_SNAPLEN_DEFAULT),
	CONST(SAGAFS_SNAPLEN_MAX),
	CONST(SAGAFS_RING_KB_DEFAULT),
	CONST(SAGAFS_RING_KB_MIN),
	CONST(SAGAFS_RING_KB_MAX),
	CONST(SAGAFS_REC_SYSCALL),
	CONST(SAGAFS_REC_PAD),
	CONST(SAGAFS_RF_NORETURN),
	CONST(SAGAFS_RF_ENTRY_LOST),
	CONST(SAGAFS_RF_PATH0),
	CONST(SAGAFS_RF_PATH1),
	CONST(SAGAFS_RF_PATH0_TRUNC),
	CONST(SAGAFS_RF_PATH1_TRUNC),
	CONST(SAGAFS_RF_PATH0_FAULT),
	CONST(SAGAFS_RF_PATH1_FAULT),
	CONST(SAGAFS_RF_PATH0_RESOLVED),
	CONST(SAGAFS_RF_PATH1_RESOLVED),
	CONST(SAGAFS_RF_ARGV),
	CONST(SAGAFS_RF_SKIPPED),
	CONST(SAGAFS_RF_UNRESOLVED),
	CONST(SAGAFS_KEY_MAX),
	CONST(SAGAFS_RECORD_ALIGN),
	CONST(SAGAFS_RECORD_MAX),
	CONST(SAGAFS_CFG_ENABLED),
	CONST(SAGAFS_CFG_EXCLUDE_SELF),
	CONST(SAGAFS_CFG_FLAGS_ALL),
	CONST(SAGAFS_RESULT_ANY),
	CONST(SAGAFS_RESULT_SUCCESS),
	CONST(SAGAFS_RESULT_FAILURE),
	CONST(SAGAFS_IOC_MAGIC),
	CONST(SAGAFS_IOC_ABI_VERSION),
	CONST(SAGAFS_IOC_GET_INFO),
	CONST(SAGAFS_IOC_GET_CONFIG),
	CONST(SAGAFS_IOC_SET_CONFIG),
	CONST(SAGAFS_IOC_GET_STATS),
	CONST(SAGAFS_IOC_RESET_STATS),
};

const size_t sagafs_abi_table_len =
	sizeof(sagafs_abi_table) / sizeof(sagafs_abi_table[0]);

const char sagafs_abi_device_name[] = SAGAFS_DEVICE_NAME;
