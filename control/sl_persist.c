/* Persisted run-time state (see sl_persist.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_persist.h"
#include "sl_state.h"

int sl_persist_save(const char *path)
{
	cJSON *doc = sl_state_export();
	char *text = doc ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	int rc = sl_persist_write(path, text);
	free(text);
	return rc;
}

int sl_persist_load(const char *path, char *err, size_t n)
{
	char *buf;
	size_t len;
	int rc = sl_persist_read(path, &buf, &len, SL_CONFIG_MAX_BYTES);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		snprintf(err, n, "%s: %s", path, rc == -ELOOP ? "is a symbolic link (never followed)"
			 : rc == -EINVAL ? "not a regular file" : strerror(-rc));
		return rc;
	}
	cJSON *doc = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!doc) {
		snprintf(err, n, "%s: not valid JSON", path);
		return -EINVAL;
	}
	int restored = 0;
	static const char *const lists[] = { "nodes", "routes", "pods" };
	for (unsigned l = 0; l < 3; l++) {
		const cJSON *e;
		unsigned i = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, lists[l]))
		{
			char p[48], why[320] = "";
			int rc;
			snprintf(p, sizeof(p), "%s[%u]", lists[l], i++);
			if (l == 0) {
				struct sl_node_spec s;
				rc = sl_node_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_state_node_add(&s, why, sizeof(why));
			} else if (l == 1) {
				struct sl_route_spec s;
				rc = sl_route_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_state_route_add(&s, why, sizeof(why));
			} else {
				struct sl_pod_spec s;
				rc = sl_pod_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_state_pod_add(&s, why, sizeof(why));
			}
			if (rc == 0)
				restored++;
			else if (rc != -EEXIST)
				fprintf(stderr, "sluiced: state %s %s not restored: %s\n", path, p, why);
		}
	}
	cJSON_Delete(doc);
	return restored;
}
