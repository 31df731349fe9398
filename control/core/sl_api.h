/* The API socket: a Unix stream socket (mode 0600) served on the control thread's event
 * loop. One JSON request per connection (sl_request.h), one JSON response, then the daemon
 * closes the connection. Clients are served without blocking the loop:
 * - each has SL_API_REQUEST_TIMEOUT_MS from accept() to send its whole request (it ends
 *   with a newline or the client's end of the stream, at most SL_API_MAX_REQUEST bytes,
 *   4 MiB for `apply`'s Lists; the request buffers of all clients together are capped at
 *   32 MiB, beyond which a growing request gets "api: busy" and is closed);
 *   later it gets {"ok":false,"error":"request: incomplete (timed out)"} and is closed;
 * - then SL_API_WRITE_TIMEOUT_MS to read its response, or it is closed;
 * - at most SL_API_MAX_CLIENTS are open at once; beyond that sluiced stops accepting and
 *   new connections wait in the listen backlog (SL_API_BACKLOG; the kernel refuses more)
 *   until a client is closed, which the deadlines bound: a burst of CNI ADDs queues rather
 *   than fails, and stalled clients delay others by at most SL_API_REQUEST_TIMEOUT_MS.
 * Requests are handled one at a time on the loop; a handler that blocks (a pod attach opens
 * its AF_XDP socket synchronously) holds every client and timer meanwhile, and is logged
 * when it takes over 100 ms. `show stats` counts requests, errors, open clients, time-outs,
 * times the limit was reached ("full"), the longest request ("max_request_ms"), and
 * connections refused for want of memory ("refused"). */
#pragma once
#include <stddef.h>

#include "model/sl_model.h"

#include "core/sl_loop.h"

#define SL_API_MAX_CLIENTS 128          /* connections open at once */
#define SL_API_BACKLOG 128              /* connections waiting to be accepted */
#define SL_API_REQUEST_TIMEOUT_MS 1000  /* accept() to the end of the request */
#define SL_API_WRITE_TIMEOUT_MS 5000    /* response ready to read fully by the client */

/* Create the socket at path (a stale one is replaced) and serve it on loop. After every
 * successful change of persisted state (SL_CMD_F_PERSIST) the state is saved to state_path
 * (NULL: not saved) before the response is sent, once per loop round however many changes
 * it saw (sl_api_round_end); a failed save is retried every second.
 * Returns 0 or -errno with err set. Control thread. */
int sl_api_open(struct sl_loop *loop, struct sl_model *model, const char *path,
		const char *state_path, char *err, size_t errlen);
/* End of a loop round: save the state once if requests of this round changed it, then send
 * their responses (a client learns of a change only once it is saved; concurrent changes
 * share one save). Call after every sl_loop_run_once. Control thread. */
void sl_api_round_end(void);
/* Close every client and the socket, unlink it. Control thread. */
void sl_api_close(void);
