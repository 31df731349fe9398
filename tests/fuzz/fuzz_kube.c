/* libFuzzer target: what the Kubernetes sync reads from the API server. The input is lines;
 * each line goes through the Node decoder, then to a reflector (fake transport, a counting
 * sink) as a watch event, and every 8th line as a list page; a line starting with '!' ends
 * the watch with the HTTP status that follows. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/sources/k8s/sl_kube_node.h"
#include "control/sources/k8s/sl_kube_reflector.h"

static int f_list(void *c, struct sl_kube_reflector *r, const char *cont, unsigned limit)
{
	return 0;
}
static int f_watch(void *c, struct sl_kube_reflector *r, const char *rv, unsigned t)
{
	return 0;
}
static void f_cancel(void *c, struct sl_kube_reflector *r) {}
static void f_retry(void *c, struct sl_kube_reflector *r, uint64_t ms) {}
static int f_apply(void *c, struct sl_kube_reflector *r, cJSON *o, char *err, size_t n)
{
	struct sl_kube_node node;
	return sl_kube_node_decode(o, &node, err, n);
}
static void f_del(void *c, struct sl_kube_reflector *r, const char *key, const cJSON *o) {}

static const struct sl_kube_reflector_ops ops = {
	.list = f_list, .watch = f_watch, .cancel = f_cancel, .retry_in = f_retry,
	.apply = f_apply, .del = f_del,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct sl_kube_reflector r;
	sl_kube_reflector_init(&r, "nodes", "Node", "v1", &ops, NULL, 1);
	sl_kube_reflector_start(&r, 1);
	uint64_t t = 1000000000ull;
	unsigned i = 0;
	for (char *line = text, *next; line; line = next, i++) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		t += 300000000ull;
		if (line[0] == '!') {
			sl_kube_reflector_watch_done(&r, t, strtol(line + 1, NULL, 10), NULL, "x");
			sl_kube_reflector_retry(&r, t);
			continue;
		}
		cJSON *j = cJSON_Parse(line);
		if (!j)
			continue;
		struct sl_kube_node n;
		char err[256];
		sl_kube_node_decode(j, &n, err, sizeof(err));
		if (r.state == SL_KUBE_LISTING || i % 8 == 7)
			sl_kube_reflector_list_done(&r, t, 200, j, NULL);
		else
			sl_kube_reflector_event(&r, t, j);
		if (r.state == SL_KUBE_RETRYING)
			sl_kube_reflector_retry(&r, t);
		cJSON_Delete(j);
	}
	sl_kube_reflector_fini(&r);
	free(text);
	return 0;
}
