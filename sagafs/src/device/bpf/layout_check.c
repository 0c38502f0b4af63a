// SPDX-License-Identifier: GPL-2.0
/*
 * The maps of the capture program as the C compiler sees bpf/sagafs_bpf.h:
 * sizes and offsets for the Rust test device::bpf::layout_check.
 */
#include <stddef.h>
#include <stdint.h>

#include "sagafs_bpf.h"

struct sagafs_bpf_entry {
	const char *name;
	uint64_t value;
};

#define E(n, v) { (n), (uint64_t)(v) }
#define STRUCT(T) E("sizeof " #T, sizeof(struct T))
#define FIELD(T, f) E(#T "." #f, offsetof(struct T, f))
#define CONST(c) E(#c, c)

const struct sagafs_bpf_entry sagafs_bpf_layout[] = {
	CONST(SAGAFS_BPF_SLOTS),
	CONST(SAGAFS_BPF_PLAIN),
	CONST(SAGAFS_BPF_NORETURN),
	CONST(SAGAFS_BPF_EXEC),
	CONST(SAGAFS_BPF_SIGRETURN),
	CONST(SAGAFS_BPF_FORK),
	CONST(SAGAFS_BPF_FD_PATH),
	CONST(SAGAFS_BPF_TRACK),
	STRUCT(sagafs_bpf_slot),
	FIELD(sagafs_bpf_slot, kind),
	FIELD(sagafs_bpf_slot, flags),
	FIELD(sagafs_bpf_slot, path),
	STRUCT(sagafs_bpf_cpu),
	FIELD(sagafs_bpf_cpu, next_seq),
	FIELD(sagafs_bpf_cpu, calls),
	FIELD(sagafs_bpf_cpu, errors),
	FIELD(sagafs_bpf_cpu, logged),
	FIELD(sagafs_bpf_cpu, filtered),
	FIELD(sagafs_bpf_cpu, dropped),
	FIELD(sagafs_bpf_cpu, bytes),
	FIELD(sagafs_bpf_cpu, untracked),
	STRUCT(sagafs_bpf_config),
	FIELD(sagafs_bpf_config, eff),
	FIELD(sagafs_bpf_config, self_tgid),
	FIELD(sagafs_bpf_config, user),
	STRUCT(sagafs_bpf_ctl),
	FIELD(sagafs_bpf_ctl, active),
	FIELD(sagafs_bpf_ctl, epoch),
	FIELD(sagafs_bpf_ctl, tai_offset_ns),
	FIELD(sagafs_bpf_ctl, mono_offset_ns),
	STRUCT(sagafs_bpf_task),
	FIELD(sagafs_bpf_task, epoch),
	FIELD(sagafs_bpf_task, key),
	FIELD(sagafs_bpf_task, nr),
	FIELD(sagafs_bpf_task, state),
};

const size_t sagafs_bpf_layout_len =
	sizeof(sagafs_bpf_layout) / sizeof(sagafs_bpf_layout[0]);
