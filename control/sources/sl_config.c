/* sluiced configuration parsing and validation (see sl_config.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>

#include "sl_config.h"
#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_k8s_policy.h"
#include "model/sl_model.h"

const char sl_config_default[] =
	"{\n"
	"  \"node\": {\"name\": \"node1\", \"ip\": \"198.18.0.1\",\n"
	"           \"pod_cidr\": \"10.244.1.0/24\", \"cluster_cidr\": \"10.244.0.0/16\"},\n"
	"  \"uplink\": {\"devargs\": \"net_af_xdp0,iface=sl-up0\", \"mtu\": 1500},\n"
	"  \"host\": {\"enabled\": true, \"ifname\": \"sl-host\"},\n"
	"  \"vxlan\": {\"vni\": 1, \"port\": 4789},\n"
	"  \"workers\": {\"idle_backoff\": true, \"idle_sleep_max_us\": 200},\n"
	"  \"pods\": [], \"nodes\": [], \"routes\": []\n"
	"}\n";

static int fail(char *err, size_t n, const char *path, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, n, "%s: %s", path, why);
	return -EINVAL;
}

const char *sl_fmt_ip4(uint32_t ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, 16);
}

int sl_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			 &tail) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		return -EINVAL; /* multicast */
	return 0;
}

const char *sl_ifname_invalid(const char *s)
{
	static const char *const reserved[] = { ".", "..", "all", "default", "lo", NULL };
	size_t n = strlen(s);
	if (n == 0 || n >= SL_IFNAME_MAX)
		return "must be 1 to 15 characters";
	for (const char *const *r = reserved; *r; r++)
		if (!strcmp(s, *r))
			return "is a reserved name (\".\", \"..\", \"all\", \"default\", \"lo\")";
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ',' || *p == '=' || *p == ':' || *p == ';' ||
		    !isgraph((unsigned char)*p))
			return "has a character not allowed in an interface name ('/', ',', '=', ':', "
			       "';', whitespace or a control character)";
	return NULL;
}

/* Field readers. Each returns 0 when absent and optional, -EINVAL with err set otherwise. */

#define TRY_(x)                                                                        \
	do {                                                                           \
		int rc_ = (x);                                                         \
		if (rc_)                                                               \
			return rc_;                                                    \
	} while (0)

static int check_fields(const cJSON *o, const char *path, const char *const *known, char *err,
			size_t n)
{
	if (!cJSON_IsObject(o))
		return fail(err, n, path, "must be an object");
	for (const cJSON *f = o->child; f; f = f->next) {
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, f->string) == 0;
		if (!ok)
			return fail(err, n, path, "unknown field '%.40s'", f->string);
	}
	return 0;
}

static int get_str(const cJSON *o, const char *path, const char *key, bool required, char *out,
		   size_t max, char *err, size_t n)
{
	char fp[128];
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return required ? fail(err, n, fp, "missing") : 0;
	if (!cJSON_IsString(v))
		return fail(err, n, fp, "must be a string");
	if (strlen(v->valuestring) == 0)
		return fail(err, n, fp, "must not be empty");
	if (strlen(v->valuestring) >= max)
		return fail(err, n, fp, "longer than %zu characters", max - 1);
	snprintf(out, max, "%s", v->valuestring);
	return 0;
}

static int get_ip(const cJSON *o, const char *path, const char *key, bool required,
		  struct sl_ip *out, char *err, size_t n)
{
	char s[64] = "", fp[128];
	int rc = get_str(o, path, key, required, s, sizeof(s), err, n);
	if (rc || !s[0])
		return rc;
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	if (sl_ip_parse(s, false, out))
		return fail(err, n, fp, "'%s' is not an IPv4 address", s);
	return 0;
}

static int get_cidr(const cJSON *o, const char *path, const char *key, bool required,
		    struct sl_cidr *out, char *err, size_t n)
{
	char s[64] = "", fp[128];
	int rc = get_str(o, path, key, required, s, sizeof(s), err, n);
	if (rc || !s[0])
		return rc;
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	if (sl_cidr_parse(s, false, out))
		return fail(err, n, fp, "'%s' is not an IPv4 prefix a.b.c.d/len without host bits",
			    s);
	return 0;
}

static int get_mac(const cJSON *o, const char *path, const char *key, bool required,
		   uint8_t out[6], char *err, size_t n)
{
	char s[64] = "", fp[128];
	int rc = get_str(o, path, key, required, s, sizeof(s), err, n);
	if (rc || !s[0])
		return rc;
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	if (sl_parse_mac(s, out))
		return fail(err, n, fp, "'%s' is not a unicast MAC aa:bb:cc:dd:ee:ff", s);
	return 0;
}

/* An optional "vtep_mac": a unicast MAC, not 00:00:00:00:00:00 (the dataplane's "none"). */
static int get_vtep_mac(const cJSON *o, const char *path, uint8_t out[6], bool *ret_has,
			char *err, size_t n)
{
	static const uint8_t zero[6];
	char fp[128];
	TRY_(get_mac(o, path, "vtep_mac", false, out, err, n));
	*ret_has = cJSON_GetObjectItemCaseSensitive(o, "vtep_mac") != NULL;
	snprintf(fp, sizeof(fp), "%s.vtep_mac", path);
	if (*ret_has && !memcmp(out, zero, 6))
		return fail(err, n, fp, "must not be 00:00:00:00:00:00");
	return 0;
}

/* An optional "a.b.c.d:port" listen address (IPv4, port 1-65535). */
static int get_listen(const cJSON *o, const char *path, const char *key, uint32_t *ret_addr,
		      uint16_t *ret_port, char *err, size_t n)
{
	char s[32] = "", fp[128], ip[24], tail;
	unsigned port;
	TRY_(get_str(o, path, key, true, s, sizeof(s), err, n));
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	const char *colon = strrchr(s, ':');
	struct sl_ip a;
	if (!colon || (size_t)(colon - s) >= sizeof(ip) ||
	    sscanf(colon + 1, "%u%c", &port, &tail) != 1 || port < 1 || port > 65535 ||
	    !isdigit((unsigned char)colon[1]))
		return fail(err, n, fp, "'%s' is not an IPv4 address and port a.b.c.d:port (port "
			    "1-65535)", s);
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - s), s);
	if (sl_ip_parse(ip, false, &a))
		return fail(err, n, fp, "'%s' is not an IPv4 address and port a.b.c.d:port", s);
	*ret_addr = a.v4;
	*ret_port = (uint16_t)port;
	return 0;
}

/* An optional "LO-HI" port range (min <= LO <= HI, at least size ports); absent: *lo and
 * *hi unchanged. */
static int get_port_range(const cJSON *o, const char *path, const char *key, unsigned min,
			  unsigned size, uint16_t *lo, uint16_t *hi, char *err, size_t n)
{
	char fp[128], s[16], tail;
	unsigned a, b;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return 0;
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof(s) ||
	    sscanf(v->valuestring, "%u-%u%c", &a, &b, &tail) != 2)
		return fail(err, n, fp, "must be a port range \"LO-HI\"");
	if (a < min || b > 65535 || a > b || b - a + 1 < size)
		return fail(err, n, fp, "'%s': need %u-65535 with LO <= HI and at least %u ports",
			    v->valuestring, min, size);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int get_uint(const cJSON *o, const char *path, const char *key, unsigned min,
		    unsigned max, unsigned *out, char *err, size_t n)
{
	char fp[128];
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return fail(err, n, fp, "must be an integer");
	if (!(v->valuedouble >= min && v->valuedouble <= max)) /* also NaN; before any cast */
		return fail(err, n, fp, "must be between %u and %u", min, max);
	if (v->valuedouble != (double)(unsigned)v->valuedouble)
		return fail(err, n, fp, "must be an integer");
	*out = (unsigned)v->valuedouble;
	return 0;
}

static int get_bool(const cJSON *o, const char *path, const char *key, bool *out, char *err,
		    size_t n)
{
	char fp[128];
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return fail(err, n, fp, "must be true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

/* Read interface name key of o into out (get_str), then check it with sl_ifname_invalid. */
static int get_ifname(const cJSON *o, const char *path, const char *key, bool required,
		      char *out, size_t max, char *err, size_t n)
{
	char fp[128];
	int rc = get_str(o, path, key, required, out, max, err, n);
	if (rc || !cJSON_GetObjectItemCaseSensitive(o, key))
		return rc;
	const char *why = sl_ifname_invalid(out);
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	return why ? fail(err, n, fp, "'%.15s' %s", out, why) : 0;
}

#define TRY(x)                                                                         \
	do {                                                                           \
		int rc_ = (x);                                                         \
		if (rc_)                                                               \
			return rc_;                                                    \
	} while (0)

/* One "host_ports" entry: {"host_port", "container_port", "protocol" ("tcp", "udp", "sctp";
 * default "tcp"), "host_ip" (IPv4; absent, "" or "0.0.0.0": the node address)}. */
static int host_port_parse(const cJSON *o, const char *path, struct sl_host_port *h, char *err,
			   size_t n)
{
	static const char *const known[] = { "host_port", "container_port", "protocol", "host_ip",
					     NULL };
	char proto[8] = "tcp", fp[160];
	unsigned hp = 0, cp = 0;
	TRY(check_fields(o, path, known, err, n));
	snprintf(fp, sizeof(fp), "%s.host_port", path);
	if (!cJSON_GetObjectItemCaseSensitive(o, "host_port"))
		return fail(err, n, fp, "missing");
	TRY(get_uint(o, path, "host_port", 1, 65535, &hp, err, n));
	snprintf(fp, sizeof(fp), "%s.container_port", path);
	if (!cJSON_GetObjectItemCaseSensitive(o, "container_port"))
		return fail(err, n, fp, "missing");
	TRY(get_uint(o, path, "container_port", 1, 65535, &cp, err, n));
	TRY(get_str(o, path, "protocol", false, proto, sizeof(proto), err, n));
	snprintf(fp, sizeof(fp), "%s.protocol", path);
	if (!strcasecmp(proto, "tcp"))
		h->protocol = IPPROTO_TCP;
	else if (!strcasecmp(proto, "udp"))
		h->protocol = IPPROTO_UDP;
	else if (!strcasecmp(proto, "sctp"))
		h->protocol = IPPROTO_SCTP;
	else
		return fail(err, n, fp, "'%s' must be \"tcp\", \"udp\" or \"sctp\"", proto);
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(o, "host_ip");
	struct sl_ip a = { 0 };
	if (ip && !(cJSON_IsString(ip) && !ip->valuestring[0]))
		TRY(get_ip(o, path, "host_ip", false, &a, err, n));
	h->host_ip = a.af == AF_INET ? a.v4 : 0;
	h->host_port = (uint16_t)hp;
	h->container_port = (uint16_t)cp;
	return 0;
}

static int host_ports_parse(const cJSON *o, const char *path, struct sl_pod_spec *p, char *err,
			    size_t n)
{
	char fp[128];
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "host_ports");
	if (!a)
		return 0;
	snprintf(fp, sizeof(fp), "%s.host_ports", path);
	if (!cJSON_IsArray(a))
		return fail(err, n, fp, "must be an array");
	if (cJSON_GetArraySize(a) > SL_POD_MAX_HOST_PORTS)
		return fail(err, n, fp, "more than %d entries", SL_POD_MAX_HOST_PORTS);
	unsigned i = 0;
	for (const cJSON *e = a->child; e; e = e->next, i++) {
		char ep[128];
		snprintf(ep, sizeof(ep), "%.100s[%u]", fp, i);
		TRY(host_port_parse(e, ep, &p->host_ports[i], err, n));
		for (unsigned k = 0; k < i; k++)
			if (p->host_ports[k].host_port == p->host_ports[i].host_port &&
			    p->host_ports[k].protocol == p->host_ports[i].protocol)
				return fail(err, n, ep, "host_port %u/%s repeats %s[%u]",
					    p->host_ports[i].host_port,
					    sl_host_proto_name(p->host_ports[i].protocol), fp, k);
	}
	p->n_host_ports = (uint8_t)i;
	return 0;
}

/* "netns" (a tap pod's namespace, an absolute path) and what sluiced learned of its tap,
 * "netns_cookie" (decimal string: 64 bits do not fit a JSON number) and "tap_ifindex" (both
 * or neither, only with netns): see struct sl_pod_spec. */
static int tap_netns_parse(const cJSON *o, const char *path, struct sl_pod_spec *p, char *err,
			   size_t n)
{
	char fp[128], cookie[24] = "";
	unsigned ifindex = 0;
	TRY(get_str(o, path, "netns", false, p->netns, sizeof(p->netns), err, n));
	TRY(get_str(o, path, "netns_cookie", false, cookie, sizeof(cookie), err, n));
	TRY(get_uint(o, path, "tap_ifindex", 1, INT32_MAX, &ifindex, err, n));
	snprintf(fp, sizeof(fp), "%s.netns", path);
	if (p->netns[0] && !p->tap)
		return fail(err, n, fp, "only with \"interface\": \"tap\"");
	if (p->netns[0] && p->netns[0] != '/')
		return fail(err, n, fp, "must be an absolute path");
	if ((cookie[0] || ifindex) && !p->netns[0])
		return fail(err, n, fp, "missing (netns_cookie and tap_ifindex need it)");
	if (cookie[0] && !ifindex) {
		snprintf(fp, sizeof(fp), "%s.tap_ifindex", path);
		return fail(err, n, fp, "missing (netns_cookie needs it)");
	}
	if (ifindex && !cookie[0]) {
		snprintf(fp, sizeof(fp), "%s.netns_cookie", path);
		return fail(err, n, fp, "missing (tap_ifindex needs it)");
	}
	if (cookie[0]) {
		char *end;
		snprintf(fp, sizeof(fp), "%s.netns_cookie", path);
		errno = 0;
		unsigned long long c = strtoull(cookie, &end, 10);
		if (*end || errno || !c || cookie[0] < '0' || cookie[0] > '9')
			return fail(err, n, fp, "must be a decimal number above 0, as a string");
		p->netns_cookie = c;
		p->tap_ifindex = ifindex;
	}
	return 0;
}

int sl_pod_parse(const cJSON *o, const char *path, struct sl_pod_spec *p, char *err, size_t n)
{
	static const char *const known[] = { "name", "namespace", "interface", "ifname", "socket",
					     "vhost_mode", "ip", "mac", "host_ports", "netns",
					     "netns_cookie", "tap_ifindex", NULL };
	char kind[16] = "veth", mode[16] = "client", fp[128];
	memset(p, 0, sizeof(*p));
	TRY(check_fields(o, path, known, err, n));
	TRY(get_str(o, path, "name", true, p->name, sizeof(p->name), err, n));
	snprintf(p->namespace, sizeof(p->namespace), "default");
	TRY(get_str(o, path, "namespace", false, p->namespace, sizeof(p->namespace), err, n));
	TRY(get_str(o, path, "interface", false, kind, sizeof(kind), err, n));
	snprintf(fp, sizeof(fp), "%s.interface", path);
	if (strcmp(kind, "veth") && strcmp(kind, "vhost-user") && strcmp(kind, "tap"))
		return fail(err, n, fp, "must be \"veth\", \"vhost-user\" or \"tap\"");
	p->vhost = !strcmp(kind, "vhost-user");
	p->tap = !strcmp(kind, "tap");
	if (p->vhost) {
		TRY(get_str(o, path, "socket", true, p->socket, sizeof(p->socket), err, n));
		snprintf(fp, sizeof(fp), "%s.socket", path);
		if (p->socket[0] != '/')
			return fail(err, n, fp, "must be an absolute path");
		TRY(get_str(o, path, "vhost_mode", false, mode, sizeof(mode), err, n));
		snprintf(fp, sizeof(fp), "%s.vhost_mode", path);
		if (strcmp(mode, "client") && strcmp(mode, "server"))
			return fail(err, n, fp, "must be \"client\" or \"server\"");
		p->vhost_server = !strcmp(mode, "server");
		/* The port is named after the socket's file name in tables. */
		const char *base = strrchr(p->socket, '/') + 1;
		snprintf(p->ifname, sizeof(p->ifname), "%.15s", base);
	} else {
		TRY(get_ifname(o, path, "ifname", true, p->ifname, sizeof(p->ifname), err, n));
	}
	TRY(tap_netns_parse(o, path, p, err, n));
	TRY(get_ip(o, path, "ip", true, &p->ip, err, n));
	TRY(get_mac(o, path, "mac", true, p->mac, err, n));
	TRY(host_ports_parse(o, path, p, err, n));
	return 0;
}

int sl_node_parse(const cJSON *o, const char *path, struct sl_node_spec *p, char *err, size_t n)
{
	static const char *const known[] = { "name", "ip", "pod_cidr", "mac", "vtep_mac", NULL };
	memset(p, 0, sizeof(*p));
	TRY(check_fields(o, path, known, err, n));
	TRY(get_str(o, path, "name", true, p->name, sizeof(p->name), err, n));
	TRY(get_ip(o, path, "ip", true, &p->ip, err, n));
	TRY(get_cidr(o, path, "pod_cidr", true, &p->pod_cidr, err, n));
	TRY(get_mac(o, path, "mac", false, p->mac, err, n));
	p->has_mac = cJSON_GetObjectItemCaseSensitive(o, "mac") != NULL;
	/* The remote VTEP's own MAC (a flannel node's VtepMAC), apart from its underlay MAC. */
	TRY(get_vtep_mac(o, path, p->vtep_mac, &p->has_vtep_mac, err, n));
	return 0;
}

int sl_route_parse(const cJSON *o, const char *path, struct sl_route_spec *p, char *err,
		   size_t n)
{
	static const char *const known[] = { "prefix", "via", NULL };
	memset(p, 0, sizeof(*p));
	TRY(check_fields(o, path, known, err, n));
	TRY(get_cidr(o, path, "prefix", true, &p->prefix, err, n));
	TRY(get_ip(o, path, "via", true, &p->via, err, n));
	return 0;
}

static int parse_list(const cJSON *root, const char *key, unsigned max, size_t elem,
		      void **ret, unsigned *ret_n,
		      int (*parse)(const cJSON *, const char *, void *, char *, size_t), char *err,
		      size_t n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return fail(err, n, key, "must be an array");
	unsigned count = (unsigned)cJSON_GetArraySize(a);
	if (count > max)
		return fail(err, n, key, "more than %u entries", max);
	*ret = calloc(count ? count : 1, elem);
	if (!*ret)
		return -ENOMEM;
	unsigned i = 0;
	for (const cJSON *e = a->child; e; e = e->next, i++) {
		char path[64];
		snprintf(path, sizeof(path), "%s[%u]", key, i);
		TRY(parse(e, path, (char *)*ret + i * elem, err, n));
	}
	*ret_n = count;
	return 0;
}

void sl_config_self(const struct sl_config *c, struct sl_model_self *ret)
{
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->node_name, sizeof(ret->node_name), "%s", c->node_name);
	ret->node_ip = c->node_ip;
	ret->pod_cidr = c->pod_cidr;
	ret->gateway_ip = c->gateway_ip;
	if (c->host_enabled)
		snprintf(ret->host_ifname, sizeof(ret->host_ifname), "%s", c->host_ifname);
	const char *at = strstr(c->uplink_devargs, "iface=");
	if (c->uplink_tap)
		snprintf(ret->uplink_ifname, sizeof(ret->uplink_ifname), "%s",
			 c->uplink_tap_ifname);
	else if (at) {
		at += strlen("iface=");
		snprintf(ret->uplink_ifname, sizeof(ret->uplink_ifname), "%.*s",
			 (int)strcspn(at, ","), at);
	}
}

/* Add one list's objects to m; errors get the entry's path ("pods[1]."). */
#define LOAD_LIST(list, count, add, what)                                                   \
	for (unsigned i = 0; i < (count); i++) {                                            \
		char why[320] = "";                                                         \
		int rc_ = add(m, &(list)[i], why, sizeof(why));                             \
		if (rc_ < 0) {                                                              \
			char path_[32];                                                     \
			snprintf(path_, sizeof(path_), "%s[%u]", what, i);                  \
			sl_model_err_path(err, n, path_, why, false);                       \
			return rc_;                                                         \
		}                                                                           \
	}

/* The config's Kubernetes lists, applied as one batch: Services, EndpointSlices, and for
 * NetworkPolicy "namespaces", "k8s_pods" (cluster pods) and "networkpolicies". */
static int load_k8s(const cJSON *k8s, struct sl_model *m, char *err, size_t n)
{
	static const struct {
		const char *key;
		enum sl_k8s_kind kind;
	} lists[] = { { "services", SL_K8S_SERVICE },   { "endpointslices", SL_K8S_SLICE },
		      { "namespaces", SL_K8S_NAMESPACE }, { "k8s_pods", SL_K8S_POD },
		      { "networkpolicies", SL_K8S_POLICY } };
	unsigned count = 0, i = 0;
	for (unsigned l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		count += (unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(k8s, lists[l].key));
	struct sl_k8s_op *ops = calloc(count ? count : 1, sizeof(*ops));
	const cJSON *e;
	int rc = 0;
	if (!ops)
		return -ENOMEM;
	for (unsigned l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		unsigned k = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(k8s, lists[l].key))
		{
			struct sl_k8s_op *op = &ops[i++];
			snprintf(op->path, sizeof(op->path), "%s[%u]", lists[l].key, k++);
			op->kind = lists[l].kind;
			switch (lists[l].kind) {
			case SL_K8S_SERVICE:
				rc = sl_k8s_parse_service(e, op->path, &op->svc, err, n);
				break;
			case SL_K8S_SLICE:
				rc = sl_k8s_parse_slice(e, op->path, &op->slice, err, n);
				break;
			case SL_K8S_NAMESPACE:
				rc = sl_k8s_parse_namespace(e, op->path, &op->ns, err, n);
				break;
			case SL_K8S_POD:
				rc = sl_k8s_parse_pod(e, op->path, &op->pod, err, n);
				break;
			case SL_K8S_POLICY:
				rc = sl_k8s_parse_policy(e, op->path, &op->policy, err, n);
				break;
			}
			if (rc < 0)
				goto out;
		}
	}
	rc = sl_model_k8s_apply(m, ops, count, err, n);
out:
	sl_k8s_ops_free(ops, count);
	return rc;
}

int sl_config_load_objects(const struct sl_config *c, struct sl_model *m, char *err, size_t n)
{
	LOAD_LIST(c->nodes, c->n_nodes, sl_model_node_add, "nodes");
	LOAD_LIST(c->routes, c->n_routes, sl_model_route_add, "routes");
	LOAD_LIST(c->pods, c->n_pods, sl_model_pod_add, "pods");
	return c->k8s ? load_k8s(c->k8s, m, err, n) : 0;
}

void sl_config_model_limits(const struct sl_config *c, struct sl_model_limits *ret)
{
	memset(ret, 0, sizeof(*ret)); /* 0: the default */
	ret->pods = SL_MODEL_MAX_PODS;
	ret->nodes = c->limit_nodes ? c->limit_nodes : SL_CONFIG_DEFAULT_NODE_LIMIT;
	ret->routes = c->limit_routes ? c->limit_routes : SL_CONFIG_DEFAULT_ROUTE_LIMIT;
}

/* Cross-object checks, so that --check catches what the daemon would refuse at start. */
static int check_lists(const struct sl_config *c, char *err, size_t n)
{
	struct sl_model_self self;
	struct sl_model_limits lim;
	sl_config_self(c, &self);
	sl_config_model_limits(c, &lim);
	struct sl_model *m = sl_model_create(&self, &lim);
	if (!m)
		return -ENOMEM;
	int rc = sl_config_load_objects(c, m, err, n);
	sl_model_destroy(m);
	return rc == -ENOMEM ? rc : rc < 0 ? -EINVAL : 0; /* a bad config, whatever the cause */
}

/* Check the Kubernetes lists; sl_config_parse keeps the tree they are in for
 * sl_config_load_objects (decoded there: check_lists). */
static int keep_k8s(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const struct {
		const char *key;
		int max;
	} lists[] = { { "services", SL_CONFIG_MAX_SERVICES },
		      { "endpointslices", SL_CONFIG_MAX_SLICES },
		      { "namespaces", SL_MODEL_MAX_NAMESPACES },
		      { "k8s_pods", SL_MODEL_MAX_K8S_PODS },
		      { "networkpolicies", SL_MODEL_MAX_POLICIES } };
	for (unsigned l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, lists[l].key);
		if (!a)
			continue;
		if (!cJSON_IsArray(a))
			return fail(err, n, lists[l].key, "must be an array");
		if (cJSON_GetArraySize(a) > lists[l].max)
			return fail(err, n, lists[l].key, "more than %d entries", lists[l].max);
		c->k8s = root;
	}
	return 0;
}

static int parse_root(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "node", "uplink", "host", "vxlan", "workers",
					     "icmp", "conntrack", "proxy", "pods", "nodes", "routes",
					     "services", "endpointslices", "af_xdp", "namespaces",
					     "k8s_pods", "networkpolicies", "metrics", "policy",
					     "kubernetes", "limits", "tap", NULL };
	static const char *const kubernetes_known[] = { "watch_list", NULL };
	static const char *const metrics_known[] = { "listen", NULL };
	static const char *const af_xdp_known[] = { "multi_buffer", "mode", NULL };
	static const char *const tap_known[] = { "offload", NULL };
	static const char *const node_known[] = { "name", "ip", "pod_cidr", "cluster_cidr",
						  "service_cidr", "gateway", "gateway_mac",
						  "pod_mtu", NULL };
	static const char *const uplink_known[] = { "devargs", "mtu", "rx_queues", "kind",
						    "ifname", "tunnel_gso", NULL };
	static const char *const host_known[] = { "enabled", "ifname", NULL };
	static const char *const vxlan_known[] = { "vni", "port", "vtep_mac", NULL };
	static const char *const workers_known[] = { "count", "idle_backoff",
						     "idle_sleep_max_us", NULL };
	static const char *const icmp_known[] = { "rate_per_sec", NULL };
	static const char *const ct_known[] = { "size", NULL };
	static const char *const proxy_known[] = { "node_port_range", "snat_port_range",
						   "masquerade", "node_local", NULL };
	static const char *const policy_known[] = { "deny_log", "deny_log_rate", NULL };
	static const char *const limits_known[] = { "nodes", "routes", NULL };
	const cJSON *o;
	unsigned u;

	TRY(check_fields(root, "config", known, err, n));

	o = cJSON_GetObjectItemCaseSensitive(root, "node");
	if (!o)
		return fail(err, n, "node", "missing");
	TRY(check_fields(o, "node", node_known, err, n));
	snprintf(c->node_name, sizeof(c->node_name), "node");
	TRY(get_str(o, "node", "name", false, c->node_name, sizeof(c->node_name), err, n));
	TRY(get_ip(o, "node", "ip", true, &c->node_ip, err, n));
	TRY(get_cidr(o, "node", "pod_cidr", true, &c->pod_cidr, err, n));
	if (c->pod_cidr.len > 30)
		return fail(err, n, "node.pod_cidr", "prefix longer than /30 leaves no pods");
	c->cluster_cidr = c->pod_cidr;
	TRY(get_cidr(o, "node", "cluster_cidr", false, &c->cluster_cidr, err, n));
	if (!sl_cidr_contains(c->cluster_cidr, c->pod_cidr.addr) ||
	    c->cluster_cidr.len > c->pod_cidr.len)
		return fail(err, n, "node.cluster_cidr", "must contain node.pod_cidr");
	c->service_cidr = (struct sl_cidr){ sl_ip4(htonl(0x0a600000)), 12 }; /* 10.96.0.0/12 */
	bool overlap = sl_cidr_contains(c->service_cidr, c->cluster_cidr.addr) ||
		       sl_cidr_contains(c->cluster_cidr, c->service_cidr.addr);
	if (cJSON_GetObjectItemCaseSensitive(o, "service_cidr")) {
		TRY(get_cidr(o, "node", "service_cidr", false, &c->service_cidr, err, n));
		if (sl_cidr_contains(c->service_cidr, c->cluster_cidr.addr) ||
		    sl_cidr_contains(c->cluster_cidr, c->service_cidr.addr))
			return fail(err, n, "node.service_cidr", "must not overlap node.cluster_cidr");
	} else if (overlap) {
		c->service_cidr.len = 0; /* a cluster CIDR holding Kubernetes' default: none */
	}
	c->gateway_ip = sl_ip4(htonl(ntohl(c->pod_cidr.addr.v4) + 1));
	TRY(get_ip(o, "node", "gateway", false, &c->gateway_ip, err, n));
	if (!sl_cidr_contains(c->pod_cidr, c->gateway_ip))
		return fail(err, n, "node.gateway", "must be inside node.pod_cidr");
	memcpy(c->gateway_mac, (uint8_t[]){ 0x02, 0x5c, 0x00, 0x00, 0x00, 0x01 }, 6);
	TRY(get_mac(o, "node", "gateway_mac", false, c->gateway_mac, err, n));
	u = 0;
	TRY(get_uint(o, "node", "pod_mtu", 576, SL_POD_MTU_MAX_MB, &u, err, n));
	c->pod_mtu = (uint16_t)u;

	o = cJSON_GetObjectItemCaseSensitive(root, "uplink");
	if (!o)
		return fail(err, n, "uplink", "missing");
	TRY(check_fields(o, "uplink", uplink_known, err, n));
	/* "kind": "ethdev" (the default: a DPDK device from devargs, e.g. net_af_xdp on a veth)
	 * or "tap" (issue 13: a tap sluiced creates as ifname; the node bridges it with the
	 * underlay; TCP crosses it in 64 KiB VXLAN frames where the kernel has UDP tunnel GSO
	 * for taps, Linux 6.17+, unless tunnel_gso is false). */
	char kind[8] = "";
	TRY(get_str(o, "uplink", "kind", false, kind, sizeof(kind), err, n));
	if (kind[0] && strcmp(kind, "ethdev") && strcmp(kind, "tap"))
		return fail(err, n, "uplink.kind", "must be \"ethdev\" or \"tap\"");
	c->uplink_tap = !strcmp(kind, "tap");
	c->uplink_tunnel_gso = true;
	if (c->uplink_tap) {
		TRY(get_str(o, "uplink", "ifname", true, c->uplink_tap_ifname,
			    sizeof(c->uplink_tap_ifname), err, n));
		TRY(get_bool(o, "uplink", "tunnel_gso", &c->uplink_tunnel_gso, err, n));
		if (cJSON_GetObjectItemCaseSensitive(o, "devargs"))
			return fail(err, n, "uplink.devargs", "not with kind \"tap\"");
		if (cJSON_GetObjectItemCaseSensitive(o, "rx_queues"))
			return fail(err, n, "uplink.rx_queues", "not with kind \"tap\" (one queue)");
	} else {
		if (cJSON_GetObjectItemCaseSensitive(o, "ifname"))
			return fail(err, n, "uplink.ifname", "only with kind \"tap\"");
		if (cJSON_GetObjectItemCaseSensitive(o, "tunnel_gso"))
			return fail(err, n, "uplink.tunnel_gso", "only with kind \"tap\"");
		TRY(get_str(o, "uplink", "devargs", true, c->uplink_devargs,
			    sizeof(c->uplink_devargs), err, n));
	}
	u = 1500;
	TRY(get_uint(o, "uplink", "mtu", 626, 9000, &u, err, n));
	c->uplink_mtu = (uint16_t)u;
	u = 0;
	TRY(get_uint(o, "uplink", "rx_queues", 0, 16, &u, err, n));
	c->uplink_rx_queues = (uint16_t)u;
	/* AF_XDP multi-buffer (issue 13): on by default; pods may then have a pod MTU above one
	 * mbuf and above the tunnel's (cross-node packets get "fragmentation needed": path MTU
	 * discovery). */
	c->xsk_multi_buffer = true;
	/* "native" by default: "skb" (generic XDP; the pods keep GSO, TCP reaches sluice in
	 * 64 KiB frames) gave 1.2-2x the TCP but ~0.76 of the 64-byte UDP rate here
	 * (docs/performance.md, "Which path a kernel pod gets"); it needs multi-buffer. */
	c->xsk_skb_mode = false;
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "af_xdp"))) {
		TRY(check_fields(o, "af_xdp", af_xdp_known, err, n));
		TRY(get_bool(o, "af_xdp", "multi_buffer", &c->xsk_multi_buffer, err, n));
		char mode[8] = "";
		TRY(get_str(o, "af_xdp", "mode", false, mode, sizeof(mode), err, n));
		if (mode[0] && strcmp(mode, "skb") && strcmp(mode, "native"))
			return fail(err, n, "af_xdp.mode", "must be \"skb\" or \"native\"");
		if (mode[0])
			c->xsk_skb_mode = mode[0] == 's';
	}
	/* Tap pods ("interface": "tap", issue 13): virtio-net offloads (checksum, TSO4) on
	 * by default, so their TCP moves in 64 KiB frames (drivers/sl_tap.h). */
	c->tap_offload = true;
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "tap"))) {
		TRY(check_fields(o, "tap", tap_known, err, n));
		TRY(get_bool(o, "tap", "offload", &c->tap_offload, err, n));
	}
	/* Generic XDP hands the program a pod's GSO frames whole only with multi-buffer. */
	if (c->xsk_skb_mode && !c->xsk_multi_buffer)
		return fail(err, n, "af_xdp.mode", "\"skb\" needs af_xdp.multi_buffer");
	if (c->pod_mtu == 0)
		c->pod_mtu = (uint16_t)(c->uplink_mtu - 50); /* RFC 7348 overhead */
	if (c->pod_mtu > SL_POD_MTU_MAX && !cJSON_GetObjectItemCaseSensitive(
						   cJSON_GetObjectItemCaseSensitive(root, "node"), "pod_mtu"))
		c->pod_mtu = SL_POD_MTU_MAX;
	else if (c->pod_mtu > SL_POD_MTU_MAX && !c->xsk_multi_buffer)
		return fail(err, n, "node.pod_mtu", "at most %d without af_xdp.multi_buffer",
			    SL_POD_MTU_MAX);
	else if (c->pod_mtu > c->uplink_mtu - 50 && !c->xsk_multi_buffer)
		return fail(err, n, "node.pod_mtu",
			    "must be at most uplink.mtu - 50 (%u) without af_xdp.multi_buffer",
			    c->uplink_mtu - 50);

	c->host_enabled = true;
	snprintf(c->host_ifname, sizeof(c->host_ifname), "sl-host");
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "host"))) {
		TRY(check_fields(o, "host", host_known, err, n));
		TRY(get_bool(o, "host", "enabled", &c->host_enabled, err, n));
		TRY(get_ifname(o, "host", "ifname", false, c->host_ifname,
				sizeof(c->host_ifname), err, n));
	}

	c->vni = 1;
	c->vxlan_port = 4789;
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "vxlan"))) {
		TRY(check_fields(o, "vxlan", vxlan_known, err, n));
		TRY(get_uint(o, "vxlan", "vni", 0, (1u << 24) - 1, &c->vni, err, n));
		u = c->vxlan_port;
		TRY(get_uint(o, "vxlan", "port", 1, 65535, &u, err, n));
		c->vxlan_port = (uint16_t)u;
		TRY(get_vtep_mac(o, "vxlan", c->vtep_mac, &c->has_vtep_mac, err, n));
	}

	c->idle_backoff = true;
	c->idle_sleep_max_us = 200;
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "workers"))) {
		TRY(check_fields(o, "workers", workers_known, err, n));
		TRY(get_uint(o, "workers", "count", 1, 16, &c->workers, err, n));
		TRY(get_bool(o, "workers", "idle_backoff", &c->idle_backoff, err, n));
		TRY(get_uint(o, "workers", "idle_sleep_max_us", 10, 100000, &c->idle_sleep_max_us,
			     err, n));
	}
	c->icmp_rate = 1000;
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "icmp"))) {
		TRY(check_fields(o, "icmp", icmp_known, err, n));
		TRY(get_uint(o, "icmp", "rate_per_sec", 1, 1000000, &c->icmp_rate, err, n));
	}
	c->limit_nodes = SL_CONFIG_DEFAULT_NODE_LIMIT;
	c->limit_routes = SL_CONFIG_DEFAULT_ROUTE_LIMIT;
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "limits"))) {
		TRY(check_fields(o, "limits", limits_known, err, n));
		TRY(get_uint(o, "limits", "nodes", 1, SL_CONFIG_MAX_LIMIT, &c->limit_nodes, err, n));
		TRY(get_uint(o, "limits", "routes", 1, SL_CONFIG_MAX_LIMIT, &c->limit_routes, err,
			     n));
	}
	c->ct_size = 0; /* the default (dataplane/ct/ct.h) */
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "conntrack"))) {
		TRY(check_fields(o, "conntrack", ct_known, err, n));
		TRY(get_uint(o, "conntrack", "size", 1024, 1u << 24, &c->ct_size, err, n));
	}
	c->node_port_lo = 30000; /* the API server's default --service-node-port-range */
	c->node_port_hi = 32767;
	c->snat_port_lo = c->snat_port_hi = 0; /* the default (dataplane/lb/lb_table.h) */
	c->masquerade = false;
	c->node_local = true;
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "proxy"))) {
		TRY(check_fields(o, "proxy", proxy_known, err, n));
		TRY(get_port_range(o, "proxy", "node_port_range", 1, 64, &c->node_port_lo,
				   &c->node_port_hi, err, n));
		TRY(get_port_range(o, "proxy", "snat_port_range", 1024, 256, &c->snat_port_lo,
				   &c->snat_port_hi, err, n));
		TRY(get_bool(o, "proxy", "masquerade", &c->masquerade, err, n));
		TRY(get_bool(o, "proxy", "node_local", &c->node_local, err, n));
	}

	c->metrics_enabled = false; /* no HTTP server unless asked for */
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "metrics"))) {
		TRY(check_fields(o, "metrics", metrics_known, err, n));
		TRY(get_listen(o, "metrics", "listen", &c->metrics_addr, &c->metrics_port, err, n));
		c->metrics_enabled = true;
	}
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "policy"))) {
		TRY(check_fields(o, "policy", policy_known, err, n));
		TRY(get_bool(o, "policy", "deny_log", &c->policy_deny_log, err, n));
		TRY(get_uint(o, "policy", "deny_log_rate", 1, 10000, &c->policy_deny_log_rate, err,
			     n));
	}

	c->k8s_watch_list = 0; /* auto */
	if ((o = cJSON_GetObjectItemCaseSensitive(root, "kubernetes"))) {
		char wl[8] = "";
		TRY(check_fields(o, "kubernetes", kubernetes_known, err, n));
		TRY(get_str(o, "kubernetes", "watch_list", false, wl, sizeof(wl), err, n));
		if (wl[0] && strcmp(wl, "auto") && strcmp(wl, "on") && strcmp(wl, "off"))
			return fail(err, n, "kubernetes.watch_list", "must be \"auto\", \"on\" or "
				    "\"off\"");
		c->k8s_watch_list = !strcmp(wl, "on") ? 1 : !strcmp(wl, "off") ? 2 : 0;
	}

	TRY(parse_list(root, "pods", SL_CONFIG_MAX_PODS, sizeof(struct sl_pod_spec),
		       (void **)&c->pods, &c->n_pods, (void *)sl_pod_parse, err, n));
	/* A static pod is made anew at every start, while a tap pod with a namespace must be
	 * re-attached from what the state file keeps (drivers/sl_tap.h): API pods only. */
	for (unsigned i = 0; i < c->n_pods; i++)
		if (c->pods[i].netns[0]) {
			char fp[48];
			snprintf(fp, sizeof(fp), "pods[%u].netns", i);
			return fail(err, n, fp, "only in pod.add (API, sluice-cni): a static pod "
				    "is made anew at every start");
		}
	TRY(parse_list(root, "nodes", SL_CONFIG_MAX_NODES, sizeof(struct sl_node_spec),
		       (void **)&c->nodes, &c->n_nodes, (void *)sl_node_parse, err, n));
	TRY(parse_list(root, "routes", SL_CONFIG_MAX_ROUTES, sizeof(struct sl_route_spec),
		       (void **)&c->routes, &c->n_routes, (void *)sl_route_parse, err, n));
	TRY(keep_k8s(root, c, err, n));
	return check_lists(c, err, n);
}

int sl_config_parse(const char *text, size_t len, struct sl_config *c, char *err, size_t n)
{
	memset(c, 0, sizeof(*c));
	if (len > SL_CONFIG_MAX_BYTES)
		return fail(err, n, "config", "larger than %d bytes", SL_CONFIG_MAX_BYTES);
	const char *end = NULL;
	struct sl_json_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	cJSON *root = sl_json_parse(a, text, len, &end);
	size_t off = end ? (size_t)(end - text) : 0;
	while (root && off < len && (text[off] == ' ' || text[off] == '\n' || text[off] == '\t' ||
				     text[off] == '\r'))
		off++;
	if (!root || (off < len && text[off] != '\0')) {
		sl_json_arena_free(a);
		free(a);
		return fail(err, n, "config", "invalid JSON near byte %zu", off);
	}
	c->json = a; /* the tree c->k8s points into */
	int rc = parse_root(root, c, err, n);
	if (!c->k8s) {
		sl_json_arena_free(a);
		free(a);
		c->json = NULL;
	}
	if (rc)
		sl_config_free(c);
	return rc;
}

int sl_config_load(const char *path, struct sl_config *c, char *err, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		return -errno;
	}
	char *buf = malloc(SL_CONFIG_MAX_BYTES + 1);
	size_t len = buf ? fread(buf, 1, SL_CONFIG_MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	int rc = sl_config_parse(buf, len, c, err, n);
	free(buf);
	return rc;
}

void sl_config_free(struct sl_config *c)
{
	free(c->pods);
	free(c->nodes);
	free(c->routes);
	if (c->json) {
		sl_json_arena_free(c->json);
		free(c->json);
	}
	c->json = NULL;
	c->k8s = NULL;
	c->pods = NULL;
	c->nodes = NULL;
	c->routes = NULL;
	c->n_pods = c->n_nodes = c->n_routes = 0;
}
