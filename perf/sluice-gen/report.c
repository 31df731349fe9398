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
sl_gen_report_summary(FILE *f, const struct sl_gen_result *r)
{
	fprintf(f, "--- %s: %u-byte frames, %u flows, %.3f s window%s ---\n", r->label, r->size,
		r->flows, r->duration_s, r->interrupted ? " (interrupted)" : "");
	fprintf(f, "tx  %12" PRIu64 " pkts  %12.1f pps  (tx_dropped %" PRIu64
		", mempool empty %" PRIu64 " bursts)\n",
		r->tx_packets, r->tx_pps, r->tx_dropped, r->alloc_fail);
	fprintf(f, "rx  %12" PRIu64 " pkts  %12.1f pps  %.3f Gbit/s  loss %.3f%%\n",
		r->rx_packets, r->rx_pps, r->rx_gbps, r->loss_pct);
	fprintf(f, "lat p50 %" PRIu64 " ns  p99 %" PRIu64 " ns  p99.9 %" PRIu64 " ns  max %" PRIu64
		" ns\n", r->p50, r->p99, r->p999, r->max);
	fprintf(f, "out_of_order %" PRIu64 "  duplicates %" PRIu64 "  foreign %" PRIu64
		"  vxlan %" PRIu64 "  too_late_for_dedup %" PRIu64 "\n",
		r->out_of_order, r->duplicates, r->foreign, r->vxlan, r->late);
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
	fprintf(f,
		", \"size\": %u, \"flows\": %u, \"duration_s\": %.6f"
		", \"tx_packets\": %" PRIu64 ", \"rx_packets\": %" PRIu64
		", \"tx_pps\": %.3f, \"rx_pps\": %.3f, \"rx_gbps\": %.6f, \"loss_pct\": %.6f"
		", \"lat_ns\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"p999\": %" PRIu64
		", \"max\": %" PRIu64 "}"
		", \"out_of_order\": %" PRIu64 ", \"duplicates\": %" PRIu64
		", \"foreign\": %" PRIu64 ", \"tx_dropped\": %" PRIu64 "}\n",
		r->size, r->flows, r->duration_s, r->tx_packets, r->rx_packets, r->tx_pps,
		r->rx_pps, r->rx_gbps, r->loss_pct, r->p50, r->p99, r->p999, r->max,
		r->out_of_order, r->duplicates, r->foreign, r->tx_dropped);
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
