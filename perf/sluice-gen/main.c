/* sluice-gen: set up, run the one-lcore send/receive loop, report, tear down.
 *
 * Timeline (TSC):  t0 --warm-up--> win_t0 --duration--> win_t1 --200 ms drain--> end
 * Sequence numbers are dense (unsent frames give theirs back), so the window is the seq
 * range [win_lo, win_hi) and loss = (win_hi - win_lo) - unique probes received from it.
 * With --tso the device turns each frame into segments the receiver cannot match to a seq,
 * so rx counts TCP segments and payload bytes from win_t0 to the end of the drain. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "drivers/sl_mbuf_pool.h"
#include "gen.h"

#define NB_MBUF 16383 /* two ports' rx rings + af_xdp tx completions + bursts in flight */
#define NB_DESC_EST 1024 /* ring size ports.c asks for, to size the pool for --queues */
#define NB_TSO_MBUF 4095 /* --tso: big tx frames, ~9 KiB each; rx still uses the main pool */
#define MBUF_CACHE 256
#define DRAIN_MS 200
#define RX_BURSTS_PER_LOOP 4

/* Incremented by SIGINT/SIGTERM: first stops sending (then drains and reports), second
 * skips the drain. */
static volatile sig_atomic_t quit_count;

static void
on_signal(int sig)
{
	(void)sig;
	quit_count++;
}

/* Enough mbufs to fill every queue's rx and tx ring on both ports, plus bursts in flight:
 * NB_MBUF for one queue, more for --queues (a power of two minus one suits the ring). */
static unsigned
pool_size(uint16_t queues)
{
	unsigned need = 2u * queues * 2u * NB_DESC_EST + 8192u;

	return RTE_MAX((unsigned)NB_MBUF, rte_align32pow2(need) - 1);
}

static uint32_t
new_run_id(void)
{
	uint32_t id = 0;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint32_t)rte_rand();
	return id != 0 ? id : 1;
}

static void
run(const struct sl_gen_config *cfg, struct sl_gen_tx *tx, struct sl_gen_rx *rx,
    struct sl_gen_result *res)
{
	const uint64_t hz = rte_get_tsc_hz();
	const double pkts_per_cycle = (double)cfg->rate / (double)hz;
	/* 10 ms worth of packets, at least one burst. */
	const uint64_t max_backlog = RTE_MAX(cfg->rate / 100, (uint64_t)cfg->burst);
	const uint64_t t0 = rte_rdtsc();
	const uint64_t warm_end = t0 + (uint64_t)(cfg->warmup * (double)hz);
	const uint64_t end = warm_end + (uint64_t)(cfg->duration * (double)hz);
	uint64_t win_t0 = 0, win_t1 = 0, win_lo = 0, win_hi = 0, drain_end = 0;
	uint64_t dropped0 = 0, foreign0 = 0, attempted = 0;
	uint64_t next_report = t0 + hz, last_report = t0, last_tx = 0, last_rx = 0;
	uint64_t last_rx_bytes = 0, q0[SL_GEN_MAX_QUEUES] = {0}, q1[SL_GEN_MAX_QUEUES] = {0};
	bool sending = true, in_window = false;

	for (;;) {
		uint64_t now = rte_rdtsc();

		if (sending) {
			if (!in_window && (now >= warm_end || quit_count > 0)) {
				in_window = true;
				win_t0 = now;
				win_lo = tx->next_seq;
				rx->win_lo = win_lo;
				dropped0 = tx->dropped;
				foreign0 = rx->foreign;
				memcpy(q0, tx->queue_packets, sizeof(q0));
			}
			if (now >= end || quit_count > 0) {
				sending = false;
				win_t1 = now;
				win_hi = tx->next_seq;
				memcpy(q1, tx->queue_packets, sizeof(q1));
				drain_end = now + hz * DRAIN_MS / 1000;
			}
		} else if (now >= drain_end || quit_count > 1) {
			break;
		}

		if (sending) {
			uint64_t n = cfg->burst;

			if (cfg->rate != 0) {
				uint64_t due = (uint64_t)((double)(now - t0) * pkts_per_cycle);

				/* After a stall, catch up (a burst per loop) on at most
				 * max_backlog packets; forget older debt. */
				if (due > attempted + max_backlog)
					attempted = due - max_backlog;
				n = due > attempted ? RTE_MIN(due - attempted, n) : 0;
			}
			if (n != 0) {
				uint64_t fails = tx->alloc_fail;

				sl_gen_tx_burst(tx, (uint16_t)n);
				if (tx->alloc_fail == fails)
					attempted += n;
				rx->seq_limit = tx->next_seq;
			}
		}

		for (int i = 0; i < RX_BURSTS_PER_LOOP; i++)
			if (sl_gen_rx_burst(rx) < rx->burst)
				break;

		if (sending && now >= next_report) {
			uint64_t sent = tx->next_seq - (in_window ? win_lo : 0);
			double dt = (double)(now - last_report) / (double)hz;
			double loss = 0;

			/* Window loss so far; frames still in flight count as lost here. */
			if (in_window && sent > 0)
				loss = 100.0 * (double)(sent - rx->win) / (double)sent;
			if (!cfg->quiet && cfg->tso_mss == 0)
				sl_gen_report_progress((unsigned)((now - t0) / hz),
						       (double)(tx->next_seq - last_tx) / dt,
						       (double)(rx->ours - last_rx) / dt, in_window,
						       loss);
			else if (!cfg->quiet)
				sl_gen_report_progress_tso(
					(unsigned)((now - t0) / hz),
					(double)(tx->next_seq - last_tx) / dt,
					(double)(tx->next_seq - last_tx) * tx->payload_len * 8 / dt / 1e9,
					(double)(rx->ours - last_rx) / dt,
					(double)(rx->ours_bytes - last_rx_bytes) * 8 / dt / 1e9,
					in_window);
			last_tx = tx->next_seq;
			last_rx = rx->ours;
			last_rx_bytes = rx->ours_bytes;
			last_report = now;
			while (next_report <= now)
				next_report += hz;
		}
	}

	memset(res, 0, sizeof(*res));
	res->label = cfg->label;
	res->size = cfg->size;
	res->flows = cfg->flows;
	res->queues = cfg->queues;
	res->l4_csum = cfg->l4_csum;
	res->tso_mss = cfg->tso_mss;
	res->interrupted = quit_count > 0;
	res->duration_s = (double)(win_t1 - win_t0) / (double)hz;
	res->tx_packets = win_hi - win_lo;
	res->rx_packets = rx->win;
	if (res->duration_s > 0) {
		res->tx_pps = (double)res->tx_packets / res->duration_s;
		res->rx_pps = (double)res->rx_packets / res->duration_s;
	}
	/* Line rate view: each frame also costs 20 bytes of preamble, SFD and gap. */
	res->rx_gbps = res->rx_pps * (cfg->size + 20) * 8 / 1e9;
	if (res->tx_packets > 0)
		res->loss_pct = 100.0 * (double)(res->tx_packets - res->rx_packets) /
				(double)res->tx_packets;
	res->p50 = sl_gen_hist_quantile(&rx->lat, 0.50);
	res->p99 = sl_gen_hist_quantile(&rx->lat, 0.99);
	res->p999 = sl_gen_hist_quantile(&rx->lat, 0.999);
	res->max = rx->lat.max;
	res->out_of_order = rx->ooo;
	res->duplicates = rx->dup;
	res->foreign = rx->foreign - foreign0;
	res->tx_dropped = tx->dropped - dropped0;
	res->late = rx->late;
	res->vxlan = rx->vxlan;
	res->expect_vni = cfg->expect_vni;
	res->rx_all_packets = rx->ours;
	res->wrong_encap = rx->wrong_encap;
	res->alloc_fail = tx->alloc_fail;
	for (uint16_t q = 0; q < cfg->queues; q++)
		res->tx_queue_packets[q] = q1[q] - q0[q];
	res->rx_bad_l4_csum = rx->bad_l4_csum;
	if (cfg->tso_mss != 0) {
		res->tx_bytes = res->tx_packets * tx->payload_len;
		res->rx_tcp_segments = rx->tcp_segs;
		res->rx_tcp_bytes = rx->tcp_bytes;
		res->rx_tcp_bad_payload = rx->tcp_bad;
		if (res->duration_s > 0) {
			res->tx_gbps = (double)res->tx_bytes * 8 / res->duration_s / 1e9;
			res->rx_tcp_gbps = (double)res->rx_tcp_bytes * 8 / res->duration_s / 1e9;
		}
	}
}

int
main(int argc, char **argv)
{
	static struct sl_gen_config cfg;
	static struct sl_gen_tx tx;
	static struct sl_gen_rx rx;
	struct sl_gen_port tx_port, rx_port, *rxp = &rx_port;
	struct rte_mempool *mp = NULL, *tso_mp = NULL;
	uint64_t tx_offloads = 0;
	unsigned nb_mbuf;
	struct sl_gen_result res;
	char *app_argv[argc + 1];
	int app_argc = 1, eal_argc = argc, rc, ret = SL_GEN_EXIT_RUNTIME;
	bool rx_ok = false;
	uint32_t run_id;

	/* Application options follow "--"; parse them first so usage errors need no EAL. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			eal_argc = i;
			break;
		}
	}
	app_argv[0] = argv[0];
	for (int i = eal_argc + 1; i < argc; i++)
		app_argv[app_argc++] = argv[i];
	app_argv[app_argc] = NULL;
	rc = sl_gen_args_parse(app_argc, app_argv, &cfg);
	if (rc == 1)
		return SL_GEN_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "(try '%s -- --help')\n", argv[0]);
		return SL_GEN_EXIT_USAGE;
	}

	optind = 1;
	if (rte_eal_init(eal_argc, argv) < 0) {
		fprintf(stderr, "sluice-gen: EAL init failed: %s\n", rte_strerror(rte_errno));
		return SL_GEN_EXIT_USAGE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	memset(&tx_port, 0, sizeof(tx_port));
	memset(&rx_port, 0, sizeof(rx_port));
	tx_port.ns_fd = rx_port.ns_fd = -1;
	run_id = new_run_id();
	if (sl_gen_ports_init() < 0)
		goto out;
	nb_mbuf = pool_size(cfg.queues);
	/* Laid out so that net_af_xdp's zero-copy UMEM covers every mbuf (sl_mbuf_pool.h). */
	mp = sl_mbuf_pool_create("sl_gen_pool", nb_mbuf, MBUF_CACHE, 0);
	if (mp == NULL) {
		fprintf(stderr, "sluice-gen: mbuf pool (%u mbufs): %s (try a larger -m)\n",
			nb_mbuf, rte_strerror(rte_errno));
		goto out;
	}
	if (cfg.tso_mss != 0) {
		/* One mbuf per frame: the whole frame in one data room. */
		tso_mp = rte_pktmbuf_pool_create("sl_gen_tso_pool", NB_TSO_MBUF, MBUF_CACHE, 0,
						 RTE_PKTMBUF_HEADROOM + cfg.size,
						 (int)rte_socket_id());
		if (tso_mp == NULL) {
			fprintf(stderr, "sluice-gen: --tso mbuf pool (%u mbufs of %u bytes): %s "
				"(try a larger -m)\n", NB_TSO_MBUF, RTE_PKTMBUF_HEADROOM + cfg.size,
				rte_strerror(rte_errno));
			goto out;
		}
		tx_offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	}
	if (cfg.l4_csum)
		tx_offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if (sl_gen_port_open(&tx_port, &cfg.tx, mp, cfg.queues, tx_offloads, "--tx-port") < 0)
		goto out;
	if (strcmp(cfg.tx.netns, cfg.rx.netns) == 0 &&
	    strcmp(cfg.tx.devargs, cfg.rx.devargs) == 0)
		rxp = &tx_port;
	else if (sl_gen_port_open(&rx_port, &cfg.rx, mp, cfg.queues, 0, "--rx-port") < 0)
		goto out;
	if (quit_count > 0) {
		ret = SL_GEN_EXIT_OK; /* interrupted during set-up: nothing to report */
		goto out;
	}

	sl_gen_tx_init(&tx, &cfg, run_id, cfg.has_src_mac ? &cfg.src_mac : &tx_port.mac,
		       cfg.has_dst_mac ? &cfg.dst_mac : &rxp->mac, tx_port.port_id,
		       tso_mp != NULL ? tso_mp : mp);
	if (sl_gen_rx_init(&rx, &cfg, rxp, run_id) < 0) {
		fprintf(stderr, "sluice-gen: out of memory for the sequence bitmap\n");
		goto out;
	}
	rx_ok = true;
	if (!cfg.quiet) {
		printf("sluice-gen: run %08x, tx %s (port %u) -> rx %s (port %u), %u bytes, %u flows, "
		       "rate %" PRIu64 " pps (0 = max), warm-up %.1f s, duration %.1f s",
		       run_id, tx_port.name, tx_port.port_id, rxp->name, rxp->port_id, cfg.size,
		       cfg.flows, cfg.rate, cfg.warmup, cfg.duration);
		if (cfg.queues > 1)
			printf(", %u queues", cfg.queues);
		if (cfg.l4_csum)
			printf(", UDP checksum offload");
		if (cfg.tso_mss != 0)
			printf(", TCP with TSO, MSS %u", cfg.tso_mss);
		printf("\n");
	}

	run(&cfg, &tx, &rx, &res);
	sl_gen_report_summary(stdout, &res);
	ret = SL_GEN_EXIT_OK;
	if (cfg.json_path != NULL && sl_gen_report_json(cfg.json_path, &res) < 0)
		ret = SL_GEN_EXIT_RUNTIME;
out:
	if (rxp != &tx_port)
		sl_gen_port_close(&rx_port);
	sl_gen_port_close(&tx_port);
	if (rx_ok)
		sl_gen_rx_fini(&rx);
	rte_mempool_free(tso_mp);
	rte_mempool_free(mp);
	free(cfg.dst_list_ip);
	free(cfg.dst_list_port);
	free(cfg.dst_list_csum);
	sl_gen_ports_fini();
	rte_eal_cleanup();
	return ret;
}
