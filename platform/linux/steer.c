/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The express queue of a multi-queue tun/tap: a steering program
 * (TUNSETSTEERINGEBPF, Linux 4.16) that the kernel runs for every packet it
 * hands to the device, in place of its own choice (the queue that last wrote
 * the packet's flow). Short packets (a ping, a TCP ACK, DNS, a call's audio)
 * go to the last queue, one more than the workers', which every worker also
 * reads (common/datapath/dataplane-worker.c), so that one takes them at once
 * instead of after the bulk of a stream standing in the same ring; every other
 * packet goes to one of the workers' queues by its flow hash.
 *
 * A TCP segment that carries data is bulk whatever its length, so that no
 * segment of a connection overtakes an earlier one (a pure ACK may: harmless).
 *
 * The program is 52 eBPF instructions, loaded with bpf(2) as a socket filter
 * (what tun accepts); nothing else of eBPF is used.
 */
#include "platform/linux/linux.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Linux 4.16 */
#ifndef TUNSETSTEERINGEBPF
#define TUNSETSTEERINGEBPF _IOR('T', 224, int)
#endif

static struct bpf_insn
insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
	        .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* The legacy packet loads (from the start of the frame, r6 the packet; r0-r5 are lost). */
static struct bpf_insn
load_byte(int32_t off)
{
	return insn(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, off);
}

static struct bpf_insn
load_word(int32_t off)
{
	return insn(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, off);
}

static struct bpf_insn
load_byte_at(uint8_t reg, int32_t off)
{
	return insn(BPF_LD | BPF_IND | BPF_B, 0, reg, 0, off);
}

int
tr_linux_express_program(TrDeviceType type, unsigned n_queues, unsigned max_len, TrPlatError *err)
{
	/* r1 = r6: the packet (struct __sk_buff *); r0: the queue (the kernel takes it
	 * modulo the queues). A packet longer than max_len, or a TCP segment with data
	 * (so that no segment of a connection overtakes another: only pure ACKs go
	 * ahead), is bulk: by flow hash over the queues but the last (a packet the
	 * stack gave none, a forwarded one: its addresses and ports). Any other
	 * packet (ICMP, UDP, a pure ACK, what is not IP) is express: the last queue.
	 * r7: the length, later the hash; r9: the end of the IPv4 and TCP headers. A
	 * load past the end returns 0: queue 0. */
	const int32_t l3 = type == TR_DEVICE_TAP ? 14 : 0; /* (a VLAN tag: not IP, express) */
	struct bpf_insn prog[] = {
	        /*  0 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
	        /*  1 */
	        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_6,
	             (int16_t)offsetof(struct __sk_buff, len), 0),
	        /*  2 */ insn(BPF_JMP | BPF_JGT | BPF_K, BPF_REG_0, 0, 29, (int32_t)max_len),
	        /*  3 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0),
	        /*  4 */ load_byte(l3),
	        /*  5 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_8, BPF_REG_0, 0, 0),
	        /*  6 */ insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_8, 0, 0, 4),
	        /*  7 */ insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_8, 0, 2, 4),
	        /*  8 */ insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_8, 0, 14, 6),
	        /*  9 */ insn(BPF_JMP | BPF_JA, 0, 0, 20, 0),
	        /* 10: IPv4 */ load_byte(l3 + 9),
	        /* 11 */ insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 18, 6),
	        /* 12 */ load_byte(l3),
	        /* 13 */ insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_0, 0, 0, 0xf),
	        /* 14 */ insn(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_0, 0, 0, 2),
	        /* 15 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_9, BPF_REG_0, 0, 0),
	        /* 16 */ load_byte_at(BPF_REG_9, l3 + 12),
	        /* 17 */ insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_0, 0, 0, 4),
	        /* 18 */ insn(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_0, 0, 0, 2),
	        /* 19 */ insn(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_9, BPF_REG_0, 0, 0),
	        /* 20 */ insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_9, 0, 0, l3),
	        /* 21 */ insn(BPF_JMP | BPF_JGT | BPF_X, BPF_REG_7, BPF_REG_9, 10, 0),
	        /* 22 */ insn(BPF_JMP | BPF_JA, 0, 0, 7, 0),
	        /* 23: IPv6 (no extension headers looked through) */ load_byte(l3 + 6),
	        /* 24 */ insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 5, 6),
	        /* 25 */ load_byte(l3 + 40 + 12),
	        /* 26 */ insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_0, 0, 0, 4),
	        /* 27 */ insn(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_0, 0, 0, 2),
	        /* 28 */ insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, l3 + 40),
	        /* 29 */ insn(BPF_JMP | BPF_JGT | BPF_X, BPF_REG_7, BPF_REG_0, 2, 0),
	        /* 30: express */
	        insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, (int32_t)(n_queues - 1)),
	        /* 31 */ insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	        /* 32: bulk, by the flow hash the stack gave the packet */
	        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_6,
	             (int16_t)offsetof(struct __sk_buff, hash), 0),
	        /* 33 */ insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 16, 0),
	        /* 34: none (a forwarded packet): addresses and ports */ load_byte(l3),
	        /* 35 */ insn(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_0, 0, 0, 4),
	        /* 36 */ insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 7, 6),
	        /* 37 */ load_word(l3 + 12),
	        /* 38 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0),
	        /* 39 */ load_word(l3 + 16),
	        /* 40 */ insn(BPF_ALU64 | BPF_XOR | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0),
	        /* 41 */ load_word(l3 + 20),
	        /* 42 */ insn(BPF_ALU64 | BPF_XOR | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0),
	        /* 43 */ insn(BPF_JMP | BPF_JA, 0, 0, 6, 0),
	        /* 44: IPv6 */ load_word(l3 + 20),
	        /* 45 */ insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0),
	        /* 46 */ load_word(l3 + 36),
	        /* 47 */ insn(BPF_ALU64 | BPF_XOR | BPF_X, BPF_REG_7, BPF_REG_0, 0, 0),
	        /* 48 */ load_word(l3 + 40),
	        /* 49 */ insn(BPF_ALU64 | BPF_XOR | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0),
	        /* 50 */ insn(BPF_ALU | BPF_MOD | BPF_K, BPF_REG_0, 0, 0, (int32_t)(n_queues - 1)),
	        /* 51 */ insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	union bpf_attr attr;
	int fd;

	if (n_queues < 2 || n_queues > TR_DEVICE_MAX_QUEUES || max_len == 0)
		return tr_plat_error_set(err, EINVAL,
		                         "an express queue needs two queues or more (%u asked for) "
		                         "and a length (%u)",
		                         n_queues, max_len);
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = (uint32_t)(sizeof(prog) / sizeof(prog[0]));
	attr.license = (uint64_t)(uintptr_t) "GPL";
	fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0) {
		char ebuf[128];
		int e = errno;

		return tr_plat_error_set(
		        err, e, "cannot load the express queue's steering program (bpf): %s%s",
		        tr_plat_strerror(e, ebuf, sizeof(ebuf)),
		        e == EPERM ? " (needs root or CAP_BPF when it starts)" : "");
	}
	return fd;
}

int
tr_linux_set_express_queue(TrDevice *dev, int program, TrPlatError *err)
{
	/* Set through one queue for the device, which keeps its own reference. */
	if (ioctl((int)dev->fds[0], TUNSETSTEERINGEBPF, &program) < 0) {
		char ebuf[128];
		int e = errno;

		return tr_plat_error_set(err, e,
		                         "cannot steer %s's queues (TUNSETSTEERINGEBPF): %s",
		                         dev->ifname, tr_plat_strerror(e, ebuf, sizeof(ebuf)));
	}
	return 0;
}
