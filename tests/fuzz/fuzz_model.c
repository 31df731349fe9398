/* libFuzzer target for the control model: the input is a program of adds and deletes of
 * pods, nodes and routes over a small address space (so that names, addresses, interfaces
 * and prefixes collide often), with a hook that fails on request. After every step the
 * model must agree with a plain reference of what was accepted: counts, and every
 * lookup. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/model/sl_model.h"

static bool fail_next;

static int hook_add(void *ctx, void *obj, char *err, size_t n)
{
	if (!fail_next)
		return 0;
	fail_next = false;
	snprintf(err, n, "ifname: refused by the hook");
	return -5;
}

#define MAXP 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_model_self self = { .node_ip = sl_ip4(htonl(0xc6120001)),
				      .pod_cidr = sl_cidr4(htonl(0x0af40100), 24),
				      .gateway_ip = sl_ip4(htonl(0x0af40101)),
				      .host_ifname = "sl-host", .uplink_ifname = "up0" };
	struct sl_model *m = sl_model_create(&self, &(struct sl_model_limits){ 40, 8, 8 });
	struct sl_model_hooks h = { .pod_add = (void *)hook_add, .node_add = (void *)hook_add,
				    .route_add = (void *)hook_add };
	sl_model_set_hooks(m, &h);
	bool pod_in[MAXP] = { 0 };
	char err[320];
	for (size_t i = 0; i + 3 <= size; i += 3) {
		uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
		fail_next = op & 0x80;
		char name[16];
		snprintf(name, sizeof(name), "p%u", a % MAXP);
		switch (op % 6) {
		case 0: { /* pod add: address and veth from b */
			struct sl_pod_spec s = { .ip = sl_ip4(htonl(0x0af40100 + b % 8)) };
			snprintf(s.name, sizeof(s.name), "%s", name);
			snprintf(s.namespace, sizeof(s.namespace), "ns%u", (a / MAXP) % 2);
			snprintf(s.ifname, sizeof(s.ifname), "v%u", (b >> 3) % 8);
			s.vhost = b & 0x80;
			snprintf(s.socket, sizeof(s.socket), "/s/%u", (b >> 3) % 8);
			int rc = sl_model_pod_add(m, &s, err, sizeof(err));
			if (rc == 0 && !strcmp(s.namespace, "ns0"))
				pod_in[a % MAXP] = true;
			if (rc == 0 && sl_model_pod_by_ip(m, s.ip) != sl_model_pod_find(m, s.namespace, s.name))
				abort();
			if (rc < 0 && !err[0])
				abort(); /* every refusal says why */
			break;
		}
		case 1:
			if (sl_model_pod_del(m, "ns0", name, err, sizeof(err)) == 0)
				pod_in[a % MAXP] = false;
			break;
		case 2: { /* node add */
			struct sl_node_spec s = { .ip = sl_ip4(htonl(0xc6120000 + b % 6)),
						  .pod_cidr = sl_cidr4(htonl(0x0af40000 + ((uint32_t)(a % 8) << 8)),
								       (uint8_t)(22 + b % 4)) };
			s.pod_cidr.addr.v4 &= htonl(~0u << (32 - s.pod_cidr.len));
			snprintf(s.name, sizeof(s.name), "n%u", a % 5);
			sl_model_node_add(m, &s, err, sizeof(err));
			break;
		}
		case 3:
			snprintf(name, sizeof(name), "n%u", a % 5);
			sl_model_node_del(m, name, err, sizeof(err));
			break;
		case 4: { /* route add */
			uint8_t len = (uint8_t)(b % 33);
			uint32_t addr = len ? (0x0af40000u + ((uint32_t)a << 4)) & (~0u << (32 - len)) : 0;
			struct sl_route_spec s = { .prefix = sl_cidr4(htonl(addr), len),
						   .via = sl_ip4(htonl(0xc61200fe)) };
			sl_model_route_add(m, &s, err, sizeof(err));
			break;
		}
		case 5: {
			uint8_t len = (uint8_t)(b % 33);
			uint32_t addr = len ? (0x0af40000u + ((uint32_t)a << 4)) & (~0u << (32 - len)) : 0;
			sl_model_route_del(m, sl_cidr4(htonl(addr), len), err, sizeof(err));
			break;
		}
		}
		for (unsigned p = 0; p < MAXP; p++) {
			snprintf(name, sizeof(name), "p%u", p);
			if ((sl_model_pod_find(m, "ns0", name) != NULL) != pod_in[p])
				abort();
		}
		struct sl_model_counts c;
		sl_model_counts(m, &c);
		unsigned n = 0;
		struct sl_model_pod *p;
		for (uint32_t id = 0; (p = sl_model_pod_next(m, &id));)
			n++;
		if (n != c.pods || c.pods > 40 || c.nodes > 8 || c.routes > 8)
			abort();
	}
	sl_model_destroy(m);
	return 0;
}
