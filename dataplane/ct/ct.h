/* Connection tracking: one table shared by every worker, for the flows the load balancer
 * translates (grout's modules/policy conntrack is the model).
 *
 * One entry per flow, reachable under two keys: the forward key (the 5-tuple the client
 * sends: client -> VIP:port) and the reverse key (the 5-tuple of the replies: backend ->
 * client, or backend -> a node address and port when the source is translated too, see
 * sl_ct_create_snat). It stores addresses (the backend chosen), never pointers or indexes into the
 * Service table, which is replaced under it.
 *
 * Concurrency: an rte_hash with lock-free readers (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF)
 * and several writers (MULTI_WRITER_ADD: workers insert new flows; rte_hash serialises
 * writers among themselves, readers never wait). Only the control thread deletes (ageing,
 * flush): it removes both keys, then frees the entry through sl_dp_defer() after a grace
 * period; rte_hash reuses key slots after a grace period too (rte_hash_rcu_qsbr_add). An
 * entry's keys and backend are immutable; its state and last-seen time are atomics written
 * by the workers that see its packets. A flow's forward packets are handled by one worker
 * at a time (one receive queue per flow), so two workers never create the same flow. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <netinet/in.h>

#include <rte_hash.h>
#include <rte_tcp.h>
#include <rte_mempool.h>

/* Default flows held (sl_ct_conf.size = 0): a large node. See sl_ct_memsize(). */
#define SL_CT_DEFAULT_SIZE (1u << 20)

/* A flow's 5-tuple as seen on the wire. 16 bytes, the hash key. */
struct sl_ct_key {
	uint32_t src, dst;     /* network order */
	uint16_t sport, dport; /* network order (ICMP echo: the identifier in both) */
	uint8_t proto;
	uint8_t pad[3];        /* 0 */
} __attribute__((aligned(8))); /* rte_hash_crc() reads it 8 bytes at a time */

enum sl_ct_state {
	SL_CT_NEW,         /* UDP, SCTP, ICMP: only the client has spoken */
	SL_CT_REPLIED,     /* UDP, SCTP, ICMP: the backend answered */
	SL_CT_SYN_SENT,    /* TCP: SYN seen */
	SL_CT_SYN_RECV,    /* TCP: SYN-ACK seen */
	SL_CT_ESTABLISHED, /* TCP: handshake done (or picked up mid-stream) */
	SL_CT_FIN_WAIT,    /* TCP: one side sent FIN */
	SL_CT_CLOSED,      /* TCP: both FINs, or a RST */
	SL_CT_STATE_COUNT
};

enum sl_ct_dir {
	SL_CT_FWD = 0, /* client -> frontend: DNAT to the backend */
	SL_CT_REV = 1, /* backend -> client: source back to the frontend */
};

/* Marks of an entry whose backend left (TCP; sl_ct_mark_gone). */
enum sl_ct_mark {
	/* Control: the backend was removed from the frontend. The client's next packet gets a
	 * RST (tcp-reset) and the entry goes to CLOSED; the backend's packets are dropped; a
	 * new SYN with the same 5-tuple starts a new flow (sl_ct_reopen). Ages with the FIN
	 * timeout at most. */
	SL_CT_GONE = 1 << 0,
	/* Worker: a new flow took over the forward key (sl_ct_reopen); the entry is reachable
	 * by its reverse key only, and ageing frees it. */
	SL_CT_REPLACED = 1 << 1,
	/* Control: being removed; no worker may replace it any more. */
	SL_CT_REMOVING = 1 << 2,
};

struct sl_ct_entry {
	/* Immutable once inserted. */
	struct sl_ct_key fwd;      /* as the client sent it: dst, dport = the frontend */
	struct sl_ct_key rev;      /* the replies: src, sport = the backend */
	uint32_t lb_slot;          /* the frontend's counters (dataplane/lb/lb_stats.h), 0: none */
	/* Mutable: workers (atomics). */
	_Atomic uint8_t state;     /* enum sl_ct_state */
	_Atomic uint8_t fin;       /* TCP: bit (1 << dir) once that direction sent FIN */
	_Atomic uint8_t mark;      /* enum sl_ct_mark */
	uint8_t policy_only;       /* immutable: made by ip4-policy (no translation) */
	_Atomic uint32_t aff;      /* the client affinity entry that placed it + 1, 0: none
				    * (dataplane/lb/lb_affinity.h) */
	/* NetworkPolicy (dataplane/policy): the generation stamp (sl_pol_dp.stamp) the flow was
	 * last allowed under, 0: never checked. A flow whose stamp is not the published one is
	 * classified again on its next packet (ip4-policy). */
	_Atomic uint32_t pol_stamp;
	_Atomic uint64_t last_tsc; /* last packet (refreshed at most every 1/16 s) */
};

/* Timeouts in seconds; 0 picks the default (in brackets). */
struct sl_ct_conf {
	uint32_t size;             /* flows held [SL_CT_DEFAULT_SIZE] */
	uint32_t tcp_syn;          /* SYN_SENT, SYN_RECV [60] */
	uint32_t tcp_established;  /* [21600, Cilium's] */
	uint32_t tcp_fin;          /* FIN_WAIT [120] */
	uint32_t tcp_closed;       /* CLOSED [10] */
	uint32_t udp;              /* UDP and SCTP, NEW and REPLIED [60] */
	uint32_t icmp;             /* [30] */
};

struct sl_ct {
	struct rte_hash *hash;     /* key -> entry pointer | dir (bit 0) */
	struct rte_mempool *pool;  /* entries */
	struct sl_ct_conf conf;    /* with the defaults filled in */
	uint64_t tsc_hz;
	uint64_t timeout_tsc[3][SL_CT_STATE_COUNT]; /* [TCP, UDP/SCTP, ICMP][state] */
	_Atomic uint64_t insert_failed; /* workers: new flows refused, table full */
	_Atomic uint64_t snat_no_port;  /* workers: new SNAT flows refused, no free port */
	/* Control only. */
	uint32_t age_cursor;       /* rte_hash_iterate position of the next ageing pass */
	uint64_t aged, flushed;    /* entries removed */
	uint64_t marked_gone;      /* entries marked SL_CT_GONE */
};

extern struct sl_ct sl_ct;

/* Create the table (after sl_dp_init). Returns 0 or -errno. Control thread, once. */
int sl_ct_init(const struct sl_ct_conf *conf);
/* Free it (workers stopped, after sl_dp_drain). Control thread. */
void sl_ct_fini(void);
/* Bytes the table takes for size flows (hash, key store, entries): measured, not
 * estimated, by creating one. Control thread. */
size_t sl_ct_memsize(uint32_t size);

/* The entry of the flow with key k (either direction) or NULL; *ret_dir says which key
 * matched. Worker (valid until its next quiescent state) or control. */
static inline struct sl_ct_entry *sl_ct_lookup(const struct sl_ct_key *k, enum sl_ct_dir *ret_dir)
{
	void *data;
	if (rte_hash_lookup_data(sl_ct.hash, k, &data) < 0)
		return NULL;
	*ret_dir = (enum sl_ct_dir)((uintptr_t)data & 1);
	return (struct sl_ct_entry *)((uintptr_t)data & ~(uintptr_t)1);
}

/* Whether tagged lookup data (entry | dir) is an entry marked SL_CT_GONE. Worker. */
static inline bool sl_ct_data_gone(void *data)
{
	const struct sl_ct_entry *e = (const struct sl_ct_entry *)((uintptr_t)data & ~(uintptr_t)1);
	return atomic_load_explicit(&e->mark, memory_order_relaxed) & SL_CT_GONE;
}

/* Create the entry of a new flow: fwd as the client sent it, translated to nat_ip:nat_port
 * (network order), counted in the frontend counters of lb_slot. tcp_flags: the first packet's (TCP), to pick the first state. Returns the
 * entry or NULL when the table is full (counted in insert_failed; existing flows are not
 * touched). Worker (not two workers for one flow, see the file comment). */
struct sl_ct_entry *sl_ct_create_ex(const struct sl_ct_key *fwd, uint32_t nat_ip,
				    uint16_t nat_port, uint8_t tcp_flags, uint64_t now_tsc,
				    uint32_t lb_slot);
/* A flow of an isolated pod that ip4-policy allowed (no translation: its reverse key is the
 * forward one turned around), marked policy_only, allowed under stamp (sl_ct_entry.pol_stamp).
 * Returns the entry or NULL when the table is full (counted in insert_failed). Worker. */
struct sl_ct_entry *sl_ct_create_policy(const struct sl_ct_key *fwd, uint8_t tcp_flags,
					uint64_t now_tsc, uint32_t stamp);
/* The same, without a counter slot (lb_slot 0). Worker. */
static inline struct sl_ct_entry *sl_ct_create(const struct sl_ct_key *fwd, uint32_t nat_ip,
					       uint16_t nat_port, uint8_t tcp_flags,
					       uint64_t now_tsc)
{
	return sl_ct_create_ex(fwd, nat_ip, nat_port, tcp_flags, now_tsc, 0);
}

/* Source translation of a new flow: to ip and a port of [port_lo, port_lo + n_ports) (host
 * order), a range the caller owns alone (a worker's share, sl_lb_snat_range), so no other
 * writer can take the same reply key between the check and the insert. */
struct sl_ct_snat {
	uint32_t ip;       /* network order */
	uint16_t port_lo, n_ports;
};
/* Result of sl_ct_create_snat when it returns NULL. */
enum sl_ct_snat_fail { SL_CT_SNAT_FULL, SL_CT_SNAT_NO_PORT };

/* The same, with the source translated too (SNAT): on a port of snat's range no flow to
 * nat_ip:nat_port uses, tried from a point the 5-tuple hash picks, at most SL_CT_SNAT_TRIES
 * ports. Returns the entry, or NULL with *ret_why: table full (counted in insert_failed) or
 * no free port (counted in snat_no_port). Worker. */
#define SL_CT_SNAT_TRIES 32
struct sl_ct_entry *sl_ct_create_snat(const struct sl_ct_key *fwd, uint32_t nat_ip,
				      uint16_t nat_port, const struct sl_ct_snat *snat,
				      uint8_t tcp_flags, uint64_t now_tsc, uint32_t lb_slot,
				      enum sl_ct_snat_fail *ret_why);

/* Whether e translates the source too (the replies go to a node address and port of ours,
 * not to the client). Worker or control. */
static inline bool sl_ct_snat(const struct sl_ct_entry *e)
{
	return e->rev.dst != e->fwd.src || e->rev.dport != e->fwd.sport;
}

/* Replace the entry old (marked SL_CT_GONE, under fwd) by a new flow translated to
 * nat_ip:nat_port (and with snat, not NULL, its source too), as sl_ct_create(_snat) does: a
 * SYN reusing the 5-tuple of a flow whose backend left. Returns the new entry, or NULL: the
 * control thread is removing old (the client will retransmit), no free SNAT port, or the
 * table is full (counted). Worker. */
struct sl_ct_entry *sl_ct_reopen(struct sl_ct_entry *old, const struct sl_ct_key *fwd,
				 uint32_t nat_ip, uint16_t nat_port, const struct sl_ct_snat *snat,
				 uint8_t tcp_flags, uint64_t now_tsc, uint32_t lb_slot);

/* Account one packet of the flow in direction dir: TCP state from its flags, last-seen
 * time. Worker. */
static inline void sl_ct_update(struct sl_ct_entry *e, enum sl_ct_dir dir, uint8_t tcp_flags,
		  uint64_t now_tsc)
{
	uint64_t last = atomic_load_explicit(&e->last_tsc, memory_order_relaxed);
	if (now_tsc - last > (sl_ct.tsc_hz >> 4)) /* keep the line clean between refreshes */
		atomic_store_explicit(&e->last_tsc, now_tsc, memory_order_relaxed);
	uint8_t s = atomic_load_explicit(&e->state, memory_order_relaxed), n;
again:
	n = s;
	if (e->fwd.proto != IPPROTO_TCP) {
		if (dir == SL_CT_REV && s == SL_CT_NEW)
			n = SL_CT_REPLIED;
	} else if (tcp_flags & RTE_TCP_RST_FLAG) {
		n = SL_CT_CLOSED;
	} else if (tcp_flags & RTE_TCP_FIN_FLAG) {
		uint8_t fin = atomic_fetch_or_explicit(&e->fin, (uint8_t)(1u << dir),
						       memory_order_relaxed) | (uint8_t)(1u << dir);
		n = fin == 3 ? SL_CT_CLOSED : SL_CT_FIN_WAIT;
	} else if (tcp_flags & RTE_TCP_SYN_FLAG) {
		if (dir == SL_CT_FWD && !(tcp_flags & RTE_TCP_ACK_FLAG) && s == SL_CT_CLOSED) {
			atomic_store_explicit(&e->fin, 0, memory_order_relaxed); /* reopened */
			n = SL_CT_SYN_SENT;
		} else if (dir == SL_CT_REV && (tcp_flags & RTE_TCP_ACK_FLAG) &&
			   s == SL_CT_SYN_SENT) {
			n = SL_CT_SYN_RECV;
		}
	} else if ((tcp_flags & RTE_TCP_ACK_FLAG) && dir == SL_CT_FWD && s == SL_CT_SYN_RECV) {
		n = SL_CT_ESTABLISHED;
	}
	if (n != s && !atomic_compare_exchange_weak_explicit(&e->state, &s, n,
							      memory_order_relaxed,
							      memory_order_relaxed))
		goto again;
}

/* Remove entries idle longer than their state's timeout, looking at no more than budget
 * entries from where the last call stopped (call it from a timer: it never waits, and never
 * stalls a worker). Returns how many were removed. Control thread. */
unsigned sl_ct_age(uint64_t now_tsc, unsigned budget);
/* Remove every entry whose backend is ip:port (network order; port 0: any port), e.g. a
 * UDP backend that went away. Returns how many. Control thread. */
unsigned sl_ct_flush_backend(uint32_t ip, uint16_t port);
/* Mark SL_CT_GONE every TCP entry of frontend vip:vport whose backend is ip:port (network
 * order): the backend left the frontend's endpoints. Returns how many. Control thread. */
unsigned sl_ct_mark_gone(uint32_t vip, uint16_t vport, uint32_t ip, uint16_t port);
/* Unlink entry e (both keys; the reverse one only if still e's) and free it after a grace
 * period. Not counted in aged or flushed: the caller counts. Control thread. */
void sl_ct_remove(struct sl_ct_entry *e);
/* Entries held (flows), those removed but waiting for a grace period included. Control
 * thread. */
uint32_t sl_ct_count(void);
