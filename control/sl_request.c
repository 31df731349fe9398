/* API request parsing (see sl_request.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sl_request.h"

static const struct {
	const char *name;
	enum sl_cmd cmd;
} cmds[] = {
	{ "version", SL_CMD_VERSION },       { "show", SL_CMD_SHOW },
	{ "pod.add", SL_CMD_POD_ADD },       { "pod.del", SL_CMD_POD_DEL },
	{ "node.add", SL_CMD_NODE_ADD },     { "node.del", SL_CMD_NODE_DEL },
	{ "route.add", SL_CMD_ROUTE_ADD },   { "route.del", SL_CMD_ROUTE_DEL },
	{ "trace.start", SL_CMD_TRACE_START }, { "trace.show", SL_CMD_TRACE_SHOW },
};

static const char *str_field(const cJSON *root, const char *key, size_t max, char *err,
			     size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsString(v) || !v->valuestring[0]) {
		snprintf(err, n, "%s: missing or not a non-empty string", key);
		return NULL;
	}
	if (strlen(v->valuestring) >= max) {
		snprintf(err, n, "%s: longer than %zu characters", key, max - 1);
		return NULL;
	}
	return v->valuestring;
}

static const cJSON *obj_field(const cJSON *root, const char *key, char *err, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsObject(v))
		snprintf(err, n, "%s: missing or not an object", key);
	return cJSON_IsObject(v) ? v : NULL;
}

static int parse(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const char *s;
	const cJSON *o;
	if (!cJSON_IsObject(root))
		return snprintf(err, n, "request: must be a JSON object"), -EINVAL;
	if (!(s = str_field(root, "cmd", 32, err, n)))
		return -EINVAL;
	size_t i;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, s))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return snprintf(err, n, "cmd: unknown command '%.32s'", s), -EINVAL;
	r->cmd = cmds[i].cmd;

	switch (r->cmd) {
	case SL_CMD_SHOW:
		if (!(s = str_field(root, "what", sizeof(r->what), err, n)))
			return -EINVAL;
		snprintf(r->what, sizeof(r->what), "%s", s);
		return 0;
	case SL_CMD_POD_ADD:
		if (!(o = obj_field(root, "pod", err, n)))
			return -EINVAL;
		return sl_pod_parse(o, "pod", &r->pod, err, n);
	case SL_CMD_POD_DEL:
		snprintf(r->namespace, sizeof(r->namespace), "default");
		if (cJSON_GetObjectItemCaseSensitive(root, "namespace")) {
			if (!(s = str_field(root, "namespace", sizeof(r->namespace), err, n)))
				return -EINVAL;
			snprintf(r->namespace, sizeof(r->namespace), "%s", s);
		}
		/* fall through */
	case SL_CMD_NODE_DEL:
		if (!(s = str_field(root, "name", sizeof(r->name), err, n)))
			return -EINVAL;
		snprintf(r->name, sizeof(r->name), "%s", s);
		return 0;
	case SL_CMD_NODE_ADD:
		if (!(o = obj_field(root, "node", err, n)))
			return -EINVAL;
		return sl_node_parse(o, "node", &r->node, err, n);
	case SL_CMD_ROUTE_ADD:
		if (!(o = obj_field(root, "route", err, n)))
			return -EINVAL;
		return sl_route_parse(o, "route", &r->route, err, n);
	case SL_CMD_ROUTE_DEL:
		if (!(s = str_field(root, "prefix", 32, err, n)))
			return -EINVAL;
		if (sl_parse_cidr(s, &r->prefix))
			return snprintf(err, n, "prefix: '%s' is not an IPv4 prefix", s), -EINVAL;
		return 0;
	case SL_CMD_TRACE_START: {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "count");
		if (!cJSON_IsNumber(c) || c->valuedouble < 1 ||
		    c->valuedouble > SL_TRACE_MAX_COUNT)
			return snprintf(err, n, "count: must be a number from 1 to %d",
					SL_TRACE_MAX_COUNT), -EINVAL;
		r->count = (unsigned)c->valuedouble;
		return 0;
	}
	default:
		return 0;
	}
}

int sl_request_parse(const char *text, size_t len, struct sl_request *r, char *err, size_t n)
{
	memset(r, 0, sizeof(*r));
	if (len > SL_API_MAX_REQUEST)
		return snprintf(err, n, "request: larger than %d bytes", SL_API_MAX_REQUEST),
		       -EINVAL;
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!root)
		return snprintf(err, n, "request: invalid JSON"), -EINVAL;
	int rc = parse(root, r, err, n);
	cJSON_Delete(root);
	return rc;
}
