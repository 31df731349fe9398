/* sluice-gen output: progress lines, the human summary and the JSON result. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "gen.h"

void
sl_gen_report_progress(unsigned t, double tx_pps, double rx_pps, bool in_window, double loss_pct)
{
	if (in_window)
		printf("t=%us tx %.1f kpps rx %.1f kpps loss %.2f%%\n", t, tx_pps / 1e3,
		       rx_pps / 1e3, loss_pct);
	else
		printf("t=%us tx %.1f kpps rx %.1f kpps (warm-up)\n", t, tx_pps / 1e3,
		       rx_pps / 1e3);
	fflush(stdout);
}

void
sl_gen_report_progress_tso(unsigned t, double tx_pps, double tx_gbps, double rx_pps,
			   double rx_gbps, bool in_window)
{
	printf("t=%us tx %.1f kpps %.3f Gbit/s rx %.1f kseg/s %.3f Gbit/s%s\n", t, tx_pps / 1e3,
	       tx_gbps, rx_pps / 1e3, rx_gbps, in_window ? "" : " (warm-up)");
	fflush(stdout);
}

static void
summary_queues(FILE *f, const struct sl_gen_result *r)
{
	if (r->queues <= 1)
		return;
	fprintf(f, "tx queues");
	for (uint16_t q = 0; q < r->queues; q++)
		fprintf(f, "  q%u %" PRIu64, q, r->tx_queue_packets[q]);
	fprintf(f, "\n");
}

/* TSO mode: frames out, TCP segments in, payload bytes both ways. */
static void
summary_tso(FILE *f, const struct sl_gen_result *r)
{
	fprintf(f, "--- %s: %u-byte TCP frames, TSO MSS %u, %u flows, %.3f s window%s ---\n",
		r->label, r->size, r->tso_mss, r->flows, r->duration_s,
		r->interrupted ? " (interrupted)" : "");
	fprintf(f, "tx  %12" PRIu64 " frames   %12.1f pps  %" PRIu64 " payload bytes  %.3f Gbit/s"
		"  (tx_dropped %" PRIu64 ", mempool empty %" PRIu64 " bursts)\n",
		r->tx_packets, r->tx_pps, r->tx_bytes, r->tx_gbps, r->tx_dropped, r->alloc_fail);
	summary_queues(f, r);
	fprintf(f, "rx  %12" PRIu64 " segments %12.1f seg/s  %" PRIu64 " payload bytes  %.3f Gbit/s"
		"  (window open to drain end)\n", r->rx_tcp_segments,
		r->duration_s > 0 ? (double)r->rx_tcp_segments / r->duration_s : 0.0,
		r->rx_tcp_bytes, r->rx_tcp_gbps);
	fprintf(f, "bad_payload %" PRIu64 "  bad_l4_csum %" PRIu64 "  foreign %" PRIu64
		"  (loss and latency: not measured with --tso)\n", r->rx_tcp_bad_payload,
		r->rx_bad_l4_csum, r->foreign);
	fflush(f);
}

void
sl_gen_report_summary(FILE *f, const struct sl_gen_result *r)
{
	if (r->tso_mss != 0) {
		summary_tso(f, r);
		return;
	}
	fprintf(f, "--- %s: %u-byte frames, %u flows, %.3f s window%s ---\n", r->label, r->size,
		r->flows, r->duration_s, r->interrupted ? " (interrupted)" : "");
	fprintf(f, "tx  %12" PRIu64 " pkts  %12.1f pps  (tx_dropped %" PRIu64
		", mempool empty %" PRIu64 " bursts)\n",
		r->tx_packets, r->tx_pps, r->tx_dropped, r->alloc_fail);
	summary_queues(f, r);
	fprintf(f, "rx  %12" PRIu64 " pkts  %12.1f pps  %.3f Gbit/s  loss %.3f%%\n",
		r->rx_packets, r->rx_pps, r->rx_gbps, r->loss_pct);
	fprintf(f, "lat p50 %" PRIu64 " ns  p99 %" PRIu64 " ns  p99.9 %" PRIu64 " ns  max %" PRIu64
		" ns\n", r->p50, r->p99, r->p999, r->max);
	fprintf(f, "out_of_order %" PRIu64 "  duplicates %" PRIu64 "  foreign %" PRIu64
		"  vxlan %" PRIu64 "  too_late_for_dedup %" PRIu64 "\n",
		r->out_of_order, r->duplicates, r->foreign, r->vxlan, r->late);
	if (r->expect_vni >= 0)
		fprintf(f, "expect vxlan vni %d: %" PRIu64 " probes refused (not in that VNI or not "
			"to --dst-ip)\n", r->expect_vni, r->wrong_encap);
	if (r->l4_csum)
		fprintf(f, "l4 checksum offload: %" PRIu64 " probes arrived with a wrong or no "
			"UDP checksum\n", r->rx_bad_l4_csum);
	fflush(f);
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The fields that only apply to UDP probes; null with --tso. */
static void
json_probe_fields(FILE *f, const struct sl_gen_result *r)
{
	if (r->tso_mss != 0) {
		fputs(", \"rx_packets\": null, \"rx_pps\": null, \"rx_gbps\": null"
		      ", \"loss_pct\": null, \"lat_ns\": null, \"out_of_order\": null"
		      ", \"duplicates\": null", f);
		return;
	}
	fprintf(f,
		", \"rx_packets\": %" PRIu64 ", \"rx_pps\": %.3f, \"rx_gbps\": %.6f"
		", \"loss_pct\": %.6f"
		", \"lat_ns\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"p999\": %" PRIu64
		", \"max\": %" PRIu64 "}"
		", \"out_of_order\": %" PRIu64 ", \"duplicates\": %" PRIu64,
		r->rx_packets, r->rx_pps, r->rx_gbps, r->loss_pct, r->p50, r->p99, r->p999, r->max,
		r->out_of_order, r->duplicates);
}

/* --queues, --l4-csum and --tso results; null where the option is off. */
static void
json_option_fields(FILE *f, const struct sl_gen_result *r)
{
	fprintf(f, ", \"queues\": %u, \"tx_queue_packets\": [", r->queues);
	for (uint16_t q = 0; q < r->queues; q++)
		fprintf(f, "%s%" PRIu64, q == 0 ? "" : ", ", r->tx_queue_packets[q]);
	fprintf(f, "], \"l4_csum\": %s", r->l4_csum ? "true" : "false");
	if (r->l4_csum || r->tso_mss != 0)
		fprintf(f, ", \"rx_bad_l4_csum\": %" PRIu64, r->rx_bad_l4_csum);
	else
		fputs(", \"rx_bad_l4_csum\": null", f);
	if (r->tso_mss == 0) {
		fputs(", \"tso_mss\": null, \"tx_bytes\": null, \"tx_gbps\": null"
		      ", \"rx_tcp_segments\": null, \"rx_tcp_bytes\": null, \"rx_tcp_gbps\": null"
		      ", \"rx_tcp_bad_payload\": null", f);
		return;
	}
	fprintf(f,
		", \"tso_mss\": %u, \"tx_bytes\": %" PRIu64 ", \"tx_gbps\": %.6f"
		", \"rx_tcp_segments\": %" PRIu64 ", \"rx_tcp_bytes\": %" PRIu64
		", \"rx_tcp_gbps\": %.6f, \"rx_tcp_bad_payload\": %" PRIu64,
		r->tso_mss, r->tx_bytes, r->tx_gbps, r->rx_tcp_segments, r->rx_tcp_bytes,
		r->rx_tcp_gbps, r->rx_tcp_bad_payload);
}

int
sl_gen_report_json(const char *path, const struct sl_gen_result *r)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (f == NULL) {
		err = errno;
		fprintf(stderr, "sluice-gen: --json %s: %s\n", path, strerror(err));
		return -err;
	}
	fputs("{\"label\": ", f);
	json_string(f, r->label);
	fprintf(f, ", \"size\": %u, \"flows\": %u, \"duration_s\": %.6f"
		", \"tx_packets\": %" PRIu64 ", \"tx_pps\": %.3f",
		r->size, r->flows, r->duration_s, r->tx_packets, r->tx_pps);
	json_probe_fields(f, r);
	fprintf(f, ", \"foreign\": %" PRIu64 ", \"tx_dropped\": %" PRIu64, r->foreign,
		r->tx_dropped);
	json_option_fields(f, r);
	if (r->tso_mss == 0)
		fprintf(f, ", \"rx_all_packets\": %" PRIu64 ", \"rx_vxlan_packets\": %" PRIu64,
			r->rx_all_packets, r->vxlan);
	if (r->expect_vni >= 0)
		fprintf(f, ", \"expect_vxlan\": %d, \"wrong_encap\": %" PRIu64, r->expect_vni,
			r->wrong_encap);
	else
		fputs(", \"expect_vxlan\": null, \"wrong_encap\": null", f);
	fputs("}\n", f);
	if (ferror(f))
		err = EIO;
	if (fclose(f) != 0 && err == 0)
		err = errno;
	if (err != 0) {
		fprintf(stderr, "sluice-gen: --json %s: %s\n", path, strerror(err));
		return -err;
	}
	return 0;
}
