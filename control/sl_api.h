/* The API socket: a Unix stream socket (mode 0600) served by the control thread. One JSON
 * request per connection (sl_request.h), one JSON response. */
#pragma once
#include <stddef.h>

/* Create the socket at path (a stale one is replaced); after every successful change the
 * state is saved to state_path (NULL: not saved). Returns 0 or -errno. */
int sl_api_open(const char *path, const char *state_path, char *err, size_t errlen);
/* Serve the connections that arrive within timeout_ms. Control thread. */
void sl_api_poll(int timeout_ms);
/* Close and unlink the socket. */
void sl_api_close(void);
