/* Minimal rtnetlink client (libmnl) for the host port: link up/MTU, addresses, routes.
 * Acts on the calling thread's network namespace. Control thread. Return 0 or -errno. */
#pragma once
#include <stdint.h>

int sl_nl_link_up(const char *ifname, unsigned mtu);
/* Add ip/len (network order) to ifname; an address already present is not an error. */
int sl_nl_addr_add(const char *ifname, uint32_t ip, uint8_t len);
/* Route prefix/len (network order) out of ifname, link scope; replaces an existing one. */
int sl_nl_route_add(const char *ifname, uint32_t prefix, uint8_t len);
