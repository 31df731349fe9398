/* What the state file's unit tests (test_persist.c, test_persist_child.c,
 * test_persist_text.c) share: a scratch directory per test binary, a model, and API
 * requests as sluiced's API handles them. Include cmocka.h first. */
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include "model/sl_model.h"

/* The scratch directory (/tmp/sl-persist-XXXXXX), made by th_setup, removed by th_teardown
 * (a cmocka group's setup and teardown). */
extern char th_dir[64];
int th_setup(void **s);
int th_teardown(void **s);

/* An empty model of node 198.18.0.1, pods 10.244.1.0/24 (fails the test when out of
 * memory). */
struct sl_model *th_new_model(void);
/* One API request (JSON text) as sluiced's API handles it: parsed, noted
 * (sl_persist_note_request), applied to m; the save of its round comes later. Fails the
 * test when the request is refused. */
void th_req_noted(struct sl_model *m, const char *text);
/* th_req_noted, then the round's save (sl_api_round_end): sl_persist_commit to path must
 * return 0. */
void th_req(struct sl_model *m, const char *path, const char *text);
/* An apply request (th_req): Services ns/svc-FIRST.. (count of them) with one slice of eps
 * endpoints each. */
void th_apply_svcs(struct sl_model *m, const char *path, unsigned first, unsigned count,
		   unsigned eps);
/* The size of path, its inode in *ino (ino may be NULL); -1 when it is missing. */
off_t th_file_size(const char *path, ino_t *ino);
/* How many endpoints the EndpointSlice ns/name has in m (0 when there is none). */
unsigned th_slice_eps(const struct sl_model *m, const char *name);
