/* Dataplane ports from the control side: opening the uplink and host ethdevs, pod ports
 * (AF_XDP, vhost-user), which worker polls which receive queue, and publishing both to the
 * workers (sl_dp.ports and each worker's receive-queue list, RCU). Control thread only. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "dataplane/core/sl_dp.h"
#include "sl_config.h"

#define SL_PORT_UPLINK_ID 0
#define SL_PORT_HOST_ID 1

/* Open the uplink (and the host port when c->host_enabled) and publish every worker's
 * receive-queue list. c->uplink_rx_queues may be raised to what the device gives; the
 * caller's copy is updated. Returns 0 or -errno with err set. */
int sl_ports_open(struct sl_config *c, char *err, size_t errlen);
/* Close every port (workers stopped). */
void sl_ports_close(void);

/* A new, unpublished port of this kind, id and name; NULL when out of memory. */
struct sl_port *sl_port_new(uint16_t id, enum sl_port_kind kind, const char *name);
/* Free a port never published, or published and then sl_port_unpublish'ed. */
void sl_port_free(struct sl_port *p);
/* Give tap port p the n queues q[0..n) of its tap (q copied): one per worker
 * (p->tap_queue) when n > 1, else q[0] alone, the owner's. Returns 0, or -ENOMEM with the
 * queues closed. */
int sl_port_set_tap(struct sl_port *p, struct sl_tap **q, unsigned n);
/* Add tap port p's queues to (add) or remove them from the epoll sets of the workers that
 * poll them (each its queue, or the owner alone), which port-rx asks which taps have
 * frames (struct sl_worker). Adding is all or nothing. Returns 0 or -errno. */
int sl_port_tap_poll(const struct sl_port *p, bool add);
/* Give p the ring other workers hand its packets to (dataplane/port/port_send.h).
 * Returns 0 or -ENOMEM. */
int sl_port_add_tx_ring(struct sl_port *p);
/* How many withdrawn vhost-user ports wait for their close. */
unsigned sl_port_vhost_closing(void);
/* A free pod port id (2..SL_MAX_PORTS-1), or 0 when every id is taken. */
uint16_t sl_port_free_id(void);
/* The worker with the fewest pod ports. */
unsigned sl_port_least_loaded_worker(void);
/* Publish p (already filled in) under p->id and add its receive queues to the workers that
 * poll it. Returns 0 or -errno; on error some workers may see p: take it back with
 * sl_port_unpublish. */
int sl_port_publish(struct sl_port *p);
/* Withdraw p from the workers and free it once none can hold it (deferred, no wait). */
void sl_port_unpublish(struct sl_port *p);

/* The worker that polls receive queue q of the uplink (RSS queues spread round-robin). */
unsigned sl_port_uplink_queue_worker(uint16_t q);
/* The number of uplink receive queues. */
uint16_t sl_port_uplink_rx_queues(void);
