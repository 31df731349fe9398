/* libFuzzer target: the packet input path. The first byte picks the port the frame arrives
 * on (uplink, host, pod), the rest is the frame; the real graph runs it (eth, ARP, IPv4,
 * ICMP, VXLAN decap/encap) and whatever it sends is freed. Byte 1 = 0xff wraps the frame as
 * VXLAN from the known remote VTEP so the inner path is reached too. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "tests/unit/pktbuild.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return th_setup(NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *out[32];
	if (size < 2 || size > 2000)
		return 0;
	unsigned port = data[0] % TH_PORTS;
	struct rte_mbuf *m = rte_pktmbuf_alloc(sl_dp.pool);
	if (!m)
		return 0;
	char *p = rte_pktmbuf_append(m, (uint16_t)(size - 2));
	if (!p) {
		rte_pktmbuf_free(m);
		return 0;
	}
	memcpy(p, data + 2, size - 2);
	if (data[1] == 0xff) {
		struct rte_mbuf *v = pb_vxlan(sl_dp.pool, th_uplink_mac, "198.18.0.2", "198.18.0.1",
					      4789, 42, 0x08, m);
		rte_pktmbuf_free(m);
		m = v;
		port = TH_UPLINK;
	}
	th_run(port, m, 0, out, 0);
	for (unsigned i = 0; i < TH_PORTS; i++) {
		unsigned n;
		while ((n = th_run(i, NULL, i, out, 32)) > 0)
			rte_pktmbuf_free_bulk(out, n);
	}
	return 0;
}
