/* Shared by the Service unit tests through the real graph (test_lb.c, test_lb_tables.c,
 * test_lb_snat.c): the group setup, conntrack cleared between tests, a TCP frame from a pod,
 * and the checks of a translated frame (lb_test.c). Topology and Services: harness.h.
 * Test code: the test's thread. */
#pragma once
#include <stdint.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

/* The group setup: the harness, then its Services (th_lb_setup). */
int lb_setup(void **st);
/* Forget every flow: age everything, run the deferred frees. */
void ct_clear(void);
/* A TCP segment (12 bytes of payload, seq 1000, flags) from smac to the gateway. */
struct rte_mbuf *tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
		     uint8_t flags, struct rte_ether_addr smac);
/* The IPv4 header of an Ethernet frame, and the L4 ports after it. */
struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m);
uint16_t *ports_of(struct rte_ipv4_hdr *ip);
/* Check the frame m: addresses, ports and every checksum. */
void expect(struct rte_mbuf *m, const char *src, uint16_t sport, const char *dst,
	    uint16_t dport);
/* The last test of a group: every mbuf is back in the pool. */
void test_lb_no_mbuf_leak(void **st);
