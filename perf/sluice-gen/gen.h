/* sluice-gen: one-lcore DPDK traffic generator and receiver for benchmarking a forwarder.
 *
 *   [tx port] --(UDP/IPv4 probes, N flows)--> DUT --(maybe VXLAN-encapsulated)--> [rx port]
 *
 * With --tso the tx port sends TCP/IPv4 frames larger than the MTU for the device (or the
 * vhost-user peer) to segment, and the rx port counts the TCP segments that come out.
 *
 * Everything here runs on the main lcore; nothing is shared between threads except the
 * quit counter set by the signal handler. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#define SL_GEN_MAGIC 0x51C3E6E7u
#define SL_GEN_VXLAN_PORT 4789 /* RFC 7348 5: IANA-assigned VXLAN UDP port. */
#define SL_GEN_MIN_SIZE 64
#define SL_GEN_MAX_SIZE 1514
#define SL_GEN_MAX_BURST 512
#define SL_GEN_SPORT_BASE 1024 /* flow i uses UDP source port SL_GEN_SPORT_BASE + i */
#define SL_GEN_MAX_FLOWS (65536 - SL_GEN_SPORT_BASE)
#define SL_GEN_HDR_LEN 42 /* Ethernet 14 + IPv4 20 + UDP 8 */
#define SL_GEN_MAX_QUEUES 8 /* --queues limit */

/* --vxlan: frames leave inside RFC 7348 VXLAN, as from a remote node's VTEP. --size is the
 * outer frame; the inner frame is SL_GEN_VXLAN_OVERHEAD bytes shorter. */
#define SL_GEN_VXLAN_OVERHEAD 50 /* outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 */
#define SL_GEN_VXLAN_MIN_SIZE (SL_GEN_MIN_SIZE + SL_GEN_VXLAN_OVERHEAD)
#define SL_GEN_MAX_DST_IPS 256 /* --dst-ip-count limit */
#define SL_GEN_MAX_DST_LIST (1u << 20) /* --dst-file: most destinations */

/* --tso: TCP frames up to a 9000-byte IP packet, cut into MSS-byte segments by the device. */
#define SL_GEN_TCP_HDR_LEN 54 /* Ethernet 14 + IPv4 20 + TCP 20, no options */
#define SL_GEN_TSO_MAX_SIZE 9014
#define SL_GEN_TSO_MIN_MSS 88
#define SL_GEN_TSO_MAX_MSS 9000

/* The probe follows the UDP header; all fields in network byte order.
 * Full form (UDP payload >= 24 bytes, frames >= 66 bytes):
 *   u32 magic | u32 run id | u64 sequence | u64 TSC at send
 * Short form (64- and 65-byte frames only have 22 payload bytes):
 *   u32 magic | u32 run id | u48 sequence | u48 TSC at send
 * The receiver picks the form from the UDP length.
 * With --tso the full form opens each frame's TCP payload, and every later payload byte is
 * the low byte of its own TCP sequence number, so any segment can be checked on its own. */
#define SL_GEN_PROBE_FULL 24
#define SL_GEN_PROBE_SHORT 20
#define SL_GEN_TSC48_MASK ((UINT64_C(1) << 48) - 1)
#define SL_GEN_TSO_MIN_SIZE (SL_GEN_TCP_HDR_LEN + SL_GEN_PROBE_FULL)

/* Exit codes. */
#define SL_GEN_EXIT_OK 0
#define SL_GEN_EXIT_USAGE 1
#define SL_GEN_EXIT_RUNTIME 2

/* ---- args.c ---- */

/* One --tx-port / --rx-port value, "NETNS:DEVARGS". */
struct sl_gen_port_spec {
	char netns[256];   /* name under /var/run/netns, an absolute path, or "-" (current) */
	char devargs[512]; /* vdev string, e.g. "net_af_xdp0,iface=eth0" */
};

/* Command line, immutable once parsed. */
struct sl_gen_config {
	struct sl_gen_port_spec tx;     /* --tx-port */
	struct sl_gen_port_spec rx;     /* --rx-port */
	bool has_src_mac;               /* --src-mac given; else the tx port's MAC */
	bool has_dst_mac;               /* --dst-mac given; else the rx port's MAC */
	struct rte_ether_addr src_mac;  /* --src-mac */
	struct rte_ether_addr dst_mac;  /* --dst-mac */
	uint32_t src_ip;                /* --src-ip, network order */
	uint32_t dst_ip;                /* --dst-ip, network order */
	uint16_t dst_port;              /* --dst-port, host order */
	uint32_t flows;                 /* --flows: distinct UDP source ports */
	uint16_t size;                  /* --size: frame bytes without FCS */
	uint64_t rate;                  /* --rate: packets per second, 0 = unpaced */
	double duration;                /* --duration: measured window, seconds */
	double warmup;                  /* --warmup: seconds before the window opens */
	uint16_t burst;                 /* --burst */
	uint16_t queues;                /* --queues: on the tx port; the rx port takes at most
					 * this many */
	bool l4_csum;                   /* --l4-csum: UDP checksum offloaded to the tx port */
	uint16_t tso_mss;               /* --tso: TCP segment size, 0 = UDP probes */
	int32_t expect_vni;             /* --expect-vxlan: a probe counts only inside VXLAN
					 * with this VNI and inner IPv4 dst --dst-ip; -1 = off */
	bool quiet;                     /* --quiet: no progress lines */
	/* What is sent (tx.c vxlan_init, dst_ips_init); the receive side does not use these. */
	uint16_t dst_ip_count;          /* --dst-ip-count: flow i goes to dst_ip + i % count */
	/* --dst-file: flow i goes to (dst_list_ip, dst_list_port)[i % dst_list_n]; read and
	 * checked by the argument parser, the checksums filled by sl_gen_tx_init() */
	uint32_t dst_list_n;            /* 0 = no --dst-file */
	uint32_t *dst_list_ip;          /* network order */
	uint16_t *dst_list_port;        /* network order */
	uint16_t *dst_list_csum;        /* IPv4 header checksum for destination i */
	uint32_t vni;                   /* --vxlan VNI, valid when vxlan */
	bool vxlan;                     /* --vxlan given */
	uint32_t outer_src_ip;          /* --outer-src-ip, network order */
	uint32_t outer_dst_ip;          /* --outer-dst-ip, network order */
	bool has_inner_dst_mac;         /* --inner-dst-mac given; else the outer dst MAC */
	struct rte_ether_addr inner_dst_mac;
	const char *json_path;          /* --json, or NULL */
	const char *label;              /* --label */
};

/* Parse the application options (argv[0] is the program name, the rest follows "--").
 * Returns 0, 1 when --help was printed, or -EINVAL after printing a message naming the
 * bad option. */
int sl_gen_args_parse(int argc, char **argv, struct sl_gen_config *ret_cfg);
void sl_gen_usage(FILE *f, const char *prog);

/* ---- ports.c ---- */

/* An ethdev brought up inside a network namespace. */
struct sl_gen_port {
	struct sl_gen_port_spec spec; /* what the user asked for */
	char name[64];                /* ethdev name: devargs up to the first comma */
	int ns_fd;                    /* namespace fd, -1 for the current namespace */
	uint16_t port_id;             /* valid when probed */
	uint16_t nb_queues;           /* rx and tx queues configured */
	bool probed;                  /* rte_dev_probe succeeded */
	bool started;                 /* rte_eth_dev_start succeeded */
	bool restore_promisc;         /* we turned promiscuous mode on: turn it off at close */
	struct rte_ether_addr mac;    /* the port's MAC address */
};

/* Remember the namespace we start in. Call once, before any sl_gen_port_open(). */
int sl_gen_ports_init(void);
/* Enter spec's namespace, probe, configure nb_queues rx and tx queues (rx buffers from mp)
 * with tx_offloads (RTE_ETH_TX_OFFLOAD_*) enabled, start, enable promiscuous mode, and
 * return to the original namespace. opt names the option for messages; a port without
 * enough queues or offloads is refused naming --queues, --l4-csum or --tso. Returns 0 or
 * -errno after printing why. On failure call sl_gen_port_close(). */
int sl_gen_port_open(struct sl_gen_port *p, const struct sl_gen_port_spec *spec,
		     struct rte_mempool *mp, uint16_t nb_queues, uint64_t tx_offloads,
		     const char *opt);
/* Stop, close and remove the device inside its namespace (af_xdp detaches its XDP program
 * there). Safe on a partly opened port. */
void sl_gen_port_close(struct sl_gen_port *p);
void sl_gen_ports_fini(void);

/* ---- tx.c ---- */

/* Flow i (source port SL_GEN_SPORT_BASE + i) is sent on tx queue i % nb_queues. Each call
 * of sl_gen_tx_burst() fills one queue, in turn, with consecutive sequence numbers. */
struct sl_gen_tx {
	/* immutable after sl_gen_tx_init() */
	uint8_t tmpl[SL_GEN_MAX_SIZE]; /* UDP: template frame, probe seq/tsc zero; TSO: headers */
	uint8_t pattern[SL_GEN_TSO_MAX_SIZE + 256]; /* TSO: byte i is i & 0xff */
	uint16_t size;                 /* frame length */
	bool short_probe;              /* 48-bit seq/tsc form */
	bool tso;                      /* TCP frames for the device to segment */
	uint16_t payload_len;          /* TSO: TCP payload bytes per frame */
	uint32_t flows;
	uint16_t port_id;
	uint16_t nb_queues;
	uint64_t ol_flags;             /* RTE_MBUF_F_TX_* for every frame, 0 = no offload */
	uint64_t tx_offload;           /* l2/l3/l4 lengths and TSO segment size, packed */
	uint16_t inner_off;            /* 0, or SL_GEN_VXLAN_OVERHEAD with --vxlan */
	uint16_t dst_ip_count;         /* 1: every frame to --dst-ip */
	uint32_t dst_ips[SL_GEN_MAX_DST_IPS];    /* (inner) destination i, network order */
	uint16_t dst_ip_csum[SL_GEN_MAX_DST_IPS]; /* (inner) IPv4 header checksum for it */
	uint32_t dst_list_n;                      /* --dst-file: 0 = off */
	const uint32_t *dst_list_ip;              /* --dst-file destinations (config's arrays) */
	const uint16_t *dst_list_port;
	const uint16_t *dst_list_csum;
	struct rte_mempool *mp;
	/* mutable, tx lcore only */
	uint64_t next_seq;   /* sequence of the next frame; every seq below it was accepted */
	uint16_t next_queue; /* queue the next burst goes to */
	uint32_t next_flow[SL_GEN_MAX_QUEUES];     /* per queue: its next flow */
	uint64_t queue_packets[SL_GEN_MAX_QUEUES]; /* per queue: frames accepted */
	uint64_t dropped;    /* frames tx_prepare/tx_burst did not accept, freed, not sent */
	uint64_t alloc_fail; /* bursts skipped because the mempool was empty */
	uint32_t tcp_seq[SL_GEN_MAX_FLOWS]; /* TSO: per flow, TCP sequence of its next frame */
};

/* Build the template frame. mp must hold frames of cfg->size bytes. */
void sl_gen_tx_init(struct sl_gen_tx *tx, const struct sl_gen_config *cfg, uint32_t run_id,
		   const struct rte_ether_addr *src_mac, const struct rte_ether_addr *dst_mac,
		   uint16_t port_id, struct rte_mempool *mp);
/* Send up to n (<= SL_GEN_MAX_BURST) frames on the next queue. Returns the number accepted
 * by the driver. */
uint16_t sl_gen_tx_burst(struct sl_gen_tx *tx, uint16_t n);
/* Write a probe at p (full or short form). Exposed for tests. */
void sl_gen_probe_write(uint8_t *p, bool short_form, uint32_t run_id, uint64_t seq,
			uint64_t tsc);

/* ---- stats.c ---- */

/* Log-linear latency histogram: exact below 64 ns, then 32 buckets per power of two
 * (<= 3.2% relative error), up to 2^40 ns. */
#define SL_GEN_HIST_SUB 32
#define SL_GEN_HIST_MAX_EXP 40
#define SL_GEN_HIST_BUCKETS (64 + (SL_GEN_HIST_MAX_EXP - 6 + 1) * SL_GEN_HIST_SUB)
struct sl_gen_hist {
	uint64_t count;
	uint64_t max;
	uint64_t bucket[SL_GEN_HIST_BUCKETS];
};
void sl_gen_hist_add(struct sl_gen_hist *h, uint64_t ns);
/* The q-quantile (0 < q <= 1), as its bucket's midpoint, capped at max; 0 when empty. */
uint64_t sl_gen_hist_quantile(const struct sl_gen_hist *h, double q);

/* Sliding bitmap of received sequence numbers, for duplicate detection. */
struct sl_gen_seqwin {
	uint64_t *bits;  /* nbits bits, seq s at bit s % nbits */
	uint64_t nbits;  /* power of two */
	uint64_t top;    /* highest seq seen + 1, 0 when none */
};
enum sl_gen_seq_mark { SL_GEN_SEQ_NEW, SL_GEN_SEQ_DUP, SL_GEN_SEQ_LATE };
int sl_gen_seqwin_init(struct sl_gen_seqwin *w, unsigned log2_bits);
void sl_gen_seqwin_fini(struct sl_gen_seqwin *w);
/* Record seq. LATE means seq is older than the window and could not be checked. */
enum sl_gen_seq_mark sl_gen_seqwin_mark(struct sl_gen_seqwin *w, uint64_t seq);

/* ---- rx.c ---- */

/* What the parser found in one frame. */
struct sl_gen_probe {
	uint64_t seq;
	uint64_t tsc;    /* 48 bits in the short form */
	bool short_form;
	bool vxlan;      /* it was inside a VXLAN tunnel */
	uint32_t vni;    /* its VNI, when vxlan */
	uint32_t ip_off; /* offset of the IPv4 header of the datagram holding the probe */
};

/* Parse Ethernet (with up to two VLAN tags) -> IPv4 -> UDP, and once through VXLAN
 * (UDP dst 4789) -> Ethernet -> IPv4 -> UDP, then the probe. Returns 0 when the frame
 * carries a probe with our magic and run_id, -1 otherwise (foreign). Never reads past len. */
int sl_gen_parse(const uint8_t *pkt, uint32_t len, uint32_t run_id,
		 struct sl_gen_probe *ret_probe);

struct sl_gen_rx {
	/* immutable */
	uint16_t port_id;
	uint16_t nb_queues;
	uint16_t burst;
	uint32_t run_id;
	double ns_per_cycle;
	bool check_l4;        /* verify L4 checksums (--l4-csum, --tso) */
	bool tso;             /* count TCP segments instead of probes */
	uint16_t dst_port;    /* TSO: TCP destination port of ours, host order */
	int32_t expect_vni;   /* --expect-vxlan VNI, -1 = off */
	uint32_t expect_dst;  /* with it: the inner IPv4 destination (--dst-ip), network order */
	/* mutable, rx lcore only */
	uint64_t win_lo;      /* first in-window seq; UINT64_MAX before the window opens */
	uint64_t seq_limit;   /* tx next_seq: probes at or above it are bogus (foreign) */
	uint64_t ours;        /* unique probes (TSO: our TCP segments), any time (progress) */
	uint64_t ours_bytes;  /* their received frame bytes (TSO: TCP payload bytes) */
	uint64_t win;         /* unique probes with seq in the window */
	uint64_t ooo;         /* in-window probes older than one already seen */
	uint64_t dup;         /* in-window probes seen before */
	uint64_t late;        /* probes too old for the dedup bitmap (counted as unique) */
	uint64_t vxlan;       /* probes that arrived VXLAN-encapsulated */
	uint64_t wrong_encap; /* --expect-vxlan: our probes not in that VNI or not to --dst-ip,
			       * any time; not counted as received */
	uint64_t foreign;     /* frames without our magic/run id (TSO: not our TCP port) */
	uint64_t bad_l4_csum; /* in-window probes or segments whose L4 checksum is wrong */
	/* TSO mode, counted from the window's opening on */
	uint64_t tcp_segs;    /* TCP frames to our port */
	uint64_t tcp_bytes;   /* their TCP payload bytes */
	uint64_t tcp_bad;     /* of them, with payload bytes other than we sent */
	struct sl_gen_seqwin seen;
	struct sl_gen_hist lat; /* in-window one-way latency, ns */
};

/* port: the receive port, whose queues (possibly fewer than --queues) are polled. */
int sl_gen_rx_init(struct sl_gen_rx *rx, const struct sl_gen_config *cfg,
		   const struct sl_gen_port *port, uint32_t run_id);
void sl_gen_rx_fini(struct sl_gen_rx *rx);
/* Account one received UDP-mode frame at TSC now. */
void sl_gen_rx_account(struct sl_gen_rx *rx, const uint8_t *pkt, uint32_t len, uint64_t now);
/* Receive and account one burst from each queue. Returns the most frames one queue gave
 * (a full burst means more may be waiting). */
uint16_t sl_gen_rx_burst(struct sl_gen_rx *rx);

/* ---- report.c ---- */

struct sl_gen_result {
	const char *label;
	uint16_t size;
	uint32_t flows;
	uint16_t queues;
	bool l4_csum;
	uint16_t tso_mss;      /* 0: UDP probes; else the probe fields below do not apply */
	double duration_s;     /* measured window length */
	uint64_t tx_packets;   /* accepted by the tx driver in the window */
	uint64_t rx_packets;   /* unique in-window probes received */
	double tx_pps, rx_pps, rx_gbps, loss_pct;
	uint64_t p50, p99, p999, max; /* latency, ns */
	uint64_t out_of_order, duplicates, foreign, tx_dropped;
	uint64_t late, vxlan, alloc_fail; /* summary only */
	int32_t expect_vni;       /* --expect-vxlan, -1 = off */
	uint64_t rx_all_packets;  /* unique probes received at any time (warm-up, window,
				   * drain): what the device under test must have sent at least */
	uint64_t wrong_encap;     /* --expect-vxlan: probes refused, any time */
	uint64_t tx_queue_packets[SL_GEN_MAX_QUEUES]; /* per tx queue, in the window */
	uint64_t rx_bad_l4_csum;                       /* with --l4-csum or --tso */
	/* --tso only */
	uint64_t tx_bytes;        /* TCP payload bytes sent in the window */
	double tx_gbps;           /* tx_bytes as Gbit/s */
	uint64_t rx_tcp_segments; /* TCP frames received from window open to end of drain */
	uint64_t rx_tcp_bytes;    /* their TCP payload bytes */
	double rx_tcp_gbps;       /* rx_tcp_bytes over the window length, as Gbit/s */
	uint64_t rx_tcp_bad_payload; /* segments whose payload is not what was sent */
	bool interrupted;
};

/* One progress line; the _tso form shows payload Gbit/s and rx segments instead of loss. */
void sl_gen_report_progress(unsigned t, double tx_pps, double rx_pps, bool in_window,
			    double loss_pct);
void sl_gen_report_progress_tso(unsigned t, double tx_pps, double tx_gbps, double rx_pps,
				double rx_gbps, bool in_window);
void sl_gen_report_summary(FILE *f, const struct sl_gen_result *r);
/* Write r as one JSON object. Returns 0 or -errno after printing why. */
int sl_gen_report_json(const char *path, const struct sl_gen_result *r);
