/* API request parsing (see sl_request.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sl_json.h"
#include "sl_request.h"
#include "core/sl_show_pol.h"


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

/* One parser per command: fill r from root's fields, or set err and return -EINVAL. */
static int parse_VERSION(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	return 0;
}

static int parse_SHOW(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const char *s = str_field(root, "what", sizeof(r->what), err, n);
	if (!s)
		return -EINVAL;
#define SL_SHOW_IS_(t) !strcmp(s, t) ||
	if (!(SL_FOREACH_SHOW(SL_SHOW_IS_) 0))
		return snprintf(err, n, "what: unknown table '%.32s' (%s)", s, SL_SHOW_LIST),
		       -EINVAL;
#undef SL_SHOW_IS_
	snprintf(r->what, sizeof(r->what), "%s", s);
	return 0;
}

static int parse_POD_ADD(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const cJSON *o = obj_field(root, "pod", err, n);
	return o ? sl_pod_parse(o, "pod", &r->pod, err, n) : -EINVAL;
}

static int parse_NODE_DEL(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const char *s = str_field(root, "name", SL_NAME_MAX, err, n);
	if (!s)
		return -EINVAL;
	snprintf(r->name, sizeof(r->name), "%s", s);
	return 0;
}

static int parse_POD_DEL(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	snprintf(r->namespace, sizeof(r->namespace), "default");
	if (cJSON_GetObjectItemCaseSensitive(root, "namespace")) {
		const char *s = str_field(root, "namespace", sizeof(r->namespace), err, n);
		if (!s)
			return -EINVAL;
		snprintf(r->namespace, sizeof(r->namespace), "%s", s);
	}
	return parse_NODE_DEL(root, r, err, n);
}

static int parse_NODE_ADD(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const cJSON *o = obj_field(root, "node", err, n);
	return o ? sl_node_parse(o, "node", &r->node, err, n) : -EINVAL;
}

static int parse_ROUTE_ADD(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const cJSON *o = obj_field(root, "route", err, n);
	return o ? sl_route_parse(o, "route", &r->route, err, n) : -EINVAL;
}

static int parse_ROUTE_DEL(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const char *s = str_field(root, "prefix", 32, err, n);
	if (!s)
		return -EINVAL;
	if (sl_cidr_parse(s, false, &r->prefix))
		return snprintf(err, n, "prefix: '%s' is not an IPv4 prefix", s), -EINVAL;
	return 0;
}

/* The List in "objects", decoded while the request was read (sl_request_parse). */
static struct sl_k8s_stream *apply_stream;
static bool apply_streamed;

static int parse_APPLY(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const cJSON *o = obj_field(root, "objects", err, n);
	if (o && apply_stream)
		return sl_k8s_stream_finish(apply_stream, apply_streamed, o, &r->ops, &r->n_ops,
					    err, n);
	return o ? sl_k8s_decode(o, &r->ops, &r->n_ops, err, n) : -EINVAL;
}

/* "namespace" (default "default") and "name" of a Service or EndpointSlice. */
static int parse_SVC_DEL(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	snprintf(r->namespace, sizeof(r->namespace), "default");
	if (cJSON_GetObjectItemCaseSensitive(root, "namespace")) {
		const char *s = str_field(root, "namespace", SL_K8S_NS_MAX, err, n);
		if (!s)
			return -EINVAL;
		snprintf(r->namespace, sizeof(r->namespace), "%s", s);
	}
	const char *s = str_field(root, "name", SL_K8S_NAME_MAX, err, n);
	if (!s)
		return -EINVAL;
	snprintf(r->name, sizeof(r->name), "%s", s);
	return 0;
}

static int parse_SLICE_DEL(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	return parse_SVC_DEL(root, r, err, n);
}

static int parse_TRACE_START(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "count");
	if (!cJSON_IsNumber(c) || c->valuedouble < 1 || c->valuedouble > SL_TRACE_MAX_COUNT)
		return snprintf(err, n, "count: must be a number from 1 to %d", SL_TRACE_MAX_COUNT),
		       -EINVAL;
	r->count = (unsigned)c->valuedouble;
	return 0;
}

static int parse_TRACE_SHOW(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	return 0;
}

static int parse_CT_SHOW(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	return sl_ct_filter_parse(root, &r->ct, err, n);
}

static int parse_CT_FLUSH(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	return sl_ct_filter_parse(root, &r->ct, err, n);
}

/* "kind" (namespace, k8spod, networkpolicy), "namespace" (not for a namespace) and "name". */
static int parse_K8S_DEL(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const char *k = str_field(root, "kind", 32, err, n);
	if (!k)
		return -EINVAL;
	if (!strcmp(k, "namespace"))
		r->k8s_kind = SL_K8S_NAMESPACE;
	else if (!strcmp(k, "k8spod"))
		r->k8s_kind = SL_K8S_POD;
	else if (!strcmp(k, "networkpolicy"))
		r->k8s_kind = SL_K8S_POLICY;
	else
		return snprintf(err, n, "kind: '%.32s' is not namespace, k8spod or networkpolicy",
				k), -EINVAL;
	int rc = parse_SVC_DEL(root, r, err, n);
	if (r->k8s_kind == SL_K8S_NAMESPACE)
		r->namespace[0] = 0;
	return rc;
}

/* "src", "dst" (addresses or NS/POD, resolved by the handler), "port" ("80/TCP"). */
static int parse_POLICY_CHECK(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const char *s = str_field(root, "src", sizeof(r->src), err, n);
	if (!s)
		return -EINVAL;
	snprintf(r->src, sizeof(r->src), "%s", s);
	if (!(s = str_field(root, "dst", sizeof(r->dst), err, n)))
		return -EINVAL;
	snprintf(r->dst, sizeof(r->dst), "%s", s);
	if (!(s = str_field(root, "port", 16, err, n)))
		return -EINVAL;
	if (sl_policy_check_port(s, &r->port, &r->proto))
		return snprintf(err, n, "port: '%s' is not PORT[/TCP|UDP|SCTP]", s), -EINVAL;
	return 0;
}

const struct sl_cmd_info sl_cmds[SL_CMD_COUNT] = {
#define CMD_INFO(id, nm, fl, us, hl) [SL_CMD_##id] = { .name = nm, .flags = fl, .usage = us, .help = hl },
	SL_FOREACH_CMD(CMD_INFO)
#undef CMD_INFO
};

static int (*const parsers[SL_CMD_COUNT])(const cJSON *, struct sl_request *, char *, size_t) = {
#define CMD_PARSER(id, nm, fl, us, hl) [SL_CMD_##id] = parse_##id,
	SL_FOREACH_CMD(CMD_PARSER)
#undef CMD_PARSER
};

static int parse(const cJSON *root, struct sl_request *r, char *err, size_t n)
{
	const char *s;
	if (!cJSON_IsObject(root))
		return snprintf(err, n, "request: must be a JSON object"), -EINVAL;
	if (!(s = str_field(root, "cmd", 32, err, n)))
		return -EINVAL;
	unsigned i;
	for (i = 0; i < SL_CMD_COUNT; i++)
		if (!strcmp(sl_cmds[i].name, s))
			break;
	if (i == SL_CMD_COUNT)
		return snprintf(err, n, "cmd: unknown command '%.32s'", s), -EINVAL;
	r->cmd = (enum sl_cmd)i;
	return parsers[i](root, r, err, n);
}

int sl_request_parse(const char *text, size_t len, struct sl_request *r, char *err, size_t n)
{
	memset(r, 0, sizeof(*r));
	if (len > SL_API_MAX_REQUEST)
		return snprintf(err, n, "request: larger than %d bytes", SL_API_MAX_REQUEST),
		       -EINVAL;
	/* An apply's List items are decoded as they are read (see sl_k8s_stream). */
	static const char *const path[] = { "objects", "items" };
	struct sl_k8s_stream st = { 0 };
	struct sl_json_watch w = { .path = path, .depth = 2, .elem = sl_k8s_stream_elem,
				   .ctx = &st };
	struct sl_json_arena a = { 0 };
	cJSON *root = sl_json_parse_watch(&a, text, len, NULL, &w);
	if (!root) {
		sl_k8s_stream_free(&st);
		sl_json_arena_free(&a);
		return snprintf(err, n, "request: invalid JSON"), -EINVAL;
	}
	apply_stream = &st;
	apply_streamed = w.streamed && w.n;
	int rc = parse(root, r, err, n);
	apply_stream = NULL;
	sl_k8s_stream_free(&st); /* not an apply: unused */
	if (rc == -EAGAIN || (rc && apply_streamed)) {
		/* The objects' items were dropped from the tree and the stream could not
		 * stand for them (or the request failed before using it: read again for the
		 * error the whole tree gives). */
		sl_request_free(r);
		memset(r, 0, sizeof(*r));
		sl_json_arena_free(&a);
		root = sl_json_parse(&a, text, len, NULL);
		rc = root ? parse(root, r, err, n)
			  : (snprintf(err, n, "request: invalid JSON"), -EINVAL);
	}
	sl_json_arena_free(&a);
	if (rc)
		sl_request_free(r);
	return rc;
}

void sl_request_free(struct sl_request *r)
{
	sl_k8s_ops_free(r->ops, r->n_ops);
	r->ops = NULL;
	r->n_ops = 0;
}
