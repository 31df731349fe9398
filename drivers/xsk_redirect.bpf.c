// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The XDP program sluiced attaches to a pod veth's host end: every frame into the AF_XDP
 * socket bound to its receive queue (sluice opens queue 0 only), nothing to the kernel
 * stack (a frame with no socket, e.g. during setup, goes to the stack: XDP_PASS).
 *
 * Two entry points, the same code: xsk_redirect_frags is multi-buffer aware (section
 * "xdp.frags", BPF_F_XDP_HAS_FRAGS): veth then accepts a peer MTU above one page and hands
 * the program frames spread over several pages, which the socket (bound with XDP_USE_SG)
 * receives as several descriptors. xsk_redirect is for kernels or sockets without
 * multi-buffer (before 6.6). Built with clang -target bpf; embedded in sluiced
 * (drivers/meson.build, bpf_embed.py). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp.frags")
int xsk_redirect_frags(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "Dual BSD/GPL";
