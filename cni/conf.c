/* sluice-cni: configuration parsing and validation, and the helpers shared by the plugin's
 * modules (see conf.h, cni.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

const char *const sl_cni_versions[] = { "0.4.0", "1.0.0", "1.1.0", NULL };

/* Shared helpers (cni.h). */

int sl_cni_fail(struct sl_cni_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->details[0] = 0;
	return -EINVAL;
}

void sl_cni_detail(struct sl_cni_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->details, sizeof(err->details), fmt, ap);
	va_end(ap);
}

const char *sl_cni_fmt_ip(uint32_t ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, 16);
}

int sl_cni_parse_ip(const char *s, uint32_t *ret_ip)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ret_ip = a.s_addr;
	return 0;
}

uint32_t sl_cni_mask(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

int sl_cni_parse_cidr(const char *s, uint32_t *ret_ip, uint8_t *ret_len)
{
	char buf[32], *end;
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (!slash || !isdigit((unsigned char)slash[1]))
		return -EINVAL;
	*slash = 0;
	long len = strtol(slash + 1, &end, 10);
	if (*end || len < 0 || len > 32 || sl_cni_parse_ip(buf, ret_ip))
		return -EINVAL;
	*ret_len = (uint8_t)len;
	return 0;
}

/* Versions. */

bool sl_cni_version_supported(const char *v)
{
	for (int i = 0; sl_cni_versions[i]; i++)
		if (!strcmp(v, sl_cni_versions[i]))
			return true;
	return false;
}

/* Configuration. */

/* Copy string field key of o into buf. Absent: error when required, else buf untouched. */
static int get_str(const cJSON *o, const char *key, bool required, char *buf, size_t n,
		   struct sl_cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsNull(v))
		return required ? sl_cni_fail(err, SL_CNI_E_CONFIG, "%s: required", key) : 0;
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "%s: must be a non-empty string", key);
	if (strlen(v->valuestring) >= n)
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "%s: longer than %zu bytes", key, n - 1);
	memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int parse_version(const cJSON *root, enum sl_cni_cmd cmd, struct sl_cni_conf *c,
			 struct sl_cni_err *err)
{
	int rc = get_str(root, "cniVersion", true, c->version, sizeof(c->version), err);
	if (rc < 0)
		return rc;
	if (sl_cni_version_supported(c->version))
		return 0;
	char list[64] = "";
	for (int i = 0; sl_cni_versions[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 sl_cni_versions[i]);
	sl_cni_fail(err, SL_CNI_E_VERSION, "cniVersion: \"%s\" is not supported (plugin supports "
		    "%s)", c->version, list);
	sl_cni_detail(err, "incompatible CNI versions: config is \"%s\", plugin supports [%s]",
		      c->version, list);
	snprintf(c->version, sizeof(c->version), "%s", SL_CNI_SPEC_VERSION);
	return -EINVAL;
}

/* The "interface" values. */
static int iface_value(const char *s, enum sl_cni_iface *ret)
{
	if (!strcmp(s, "veth"))
		*ret = SL_CNI_IFACE_VETH;
	else if (!strcmp(s, "vhost-user"))
		*ret = SL_CNI_IFACE_VHOST_USER;
	else if (!strcmp(s, "tap"))
		*ret = SL_CNI_IFACE_TAP;
	else
		return -EINVAL;
	return 0;
}

/* An "interface"-like field key of o, named field in messages. Returns 1 when set, 0 when
 * absent (*ret untouched), or -EINVAL (code 2). */
static int parse_iface(const cJSON *o, const char *key, const char *field,
		       enum sl_cni_iface *ret, struct sl_cni_err *err)
{
	char iface[32] = "";
	if (get_str(o, key, false, iface, sizeof(iface), err) < 0)
		return sl_cni_fail(err, SL_CNI_E_UNSUPPORTED,
				   "%s: must be \"veth\", \"vhost-user\" or \"tap\"", field);
	if (iface[0] && iface_value(iface, ret) < 0)
		return sl_cni_fail(err, SL_CNI_E_UNSUPPORTED, "%s: unsupported value \"%s\" "
				   "(\"veth\", \"vhost-user\" or \"tap\")", field, iface);
	return iface[0] != 0;
}

int sl_cni_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char sep[5], end;
	if (!s || strlen(s) != 17 ||
	    sscanf(s, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &v[0], &sep[0], &v[1], &sep[1], &v[2],
		   &sep[2], &v[3], &sep[3], &v[4], &sep[4], &v[5], &end) != 11)
		return -EINVAL;
	for (int i = 0; i < 5; i++)
		if (sep[i] != sep[0] || (sep[i] != ':' && sep[i] != '-'))
			return -EINVAL;
	for (int i = 0; i < 17; i++)
		if (i % 3 != 2 && !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	if ((v[0] & 1) || !(v[0] | v[1] | v[2] | v[3] | v[4] | v[5]))
		return -EINVAL; /* multicast/broadcast, or zero */
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* Whether path has a "." or ".." component. */
static bool has_dot_component(const char *path)
{
	for (const char *p = path; (p = strchr(p, '/')); p++) {
		const char *c = p + 1;
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return true;
	}
	return false;
}

/* An owner id (uid or gid) key of o: an integer 0..4294967294 (-1 is "no change" to
 * chown). Returns 1 when set, 0 when absent, or -EINVAL (code 7, field named). */
static int get_id(const cJSON *o, const char *key, const char *field, uint32_t *ret,
		  struct sl_cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
	    v->valuedouble < 0 || v->valuedouble > 4294967294.0)
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "%s: must be an integer between 0 and "
				   "4294967294", field);
	*ret = (uint32_t)v->valuedouble;
	return 1;
}

/* socketUid, socketGid: of the config, overridden by args.cni (CONVENTIONS.md "args":
 * Multus puts a pod's "cni-args" there). */
static int parse_owner(const cJSON *root, struct sl_cni_conf *c, struct sl_cni_err *err)
{
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "args");
	const cJSON *cni = cJSON_IsObject(args) ? cJSON_GetObjectItemCaseSensitive(args, "cni")
						: NULL;
	int rc;
	if ((rc = get_id(root, "socketUid", "socketUid", &c->uid, err)) < 0)
		return rc;
	c->has_uid = rc;
	if ((rc = get_id(root, "socketGid", "socketGid", &c->gid, err)) < 0)
		return rc;
	c->has_gid = rc;
	if (!cJSON_IsObject(cni))
		return 0;
	if ((rc = get_id(cni, "socketUid", "args.cni.socketUid", &c->uid, err)) < 0)
		return rc;
	c->has_uid |= rc;
	if ((rc = get_id(cni, "socketGid", "args.cni.socketGid", &c->gid, err)) < 0)
		return rc;
	c->has_gid |= rc;
	return 0;
}

/* vhostMode, socketDir. Parsed whatever "interface" says: runtimeConfig or CNI_ARGS may
 * switch an attachment to vhost-user. */
static int parse_vhost(const cJSON *root, struct sl_cni_conf *c, struct sl_cni_err *err)
{
	char mode[16] = "client";
	int rc;
	if (get_str(root, "vhostMode", false, mode, sizeof(mode), err) < 0 ||
	    (strcmp(mode, "client") && strcmp(mode, "server")))
		return sl_cni_fail(err, SL_CNI_E_CONFIG,
				   "vhostMode: must be \"client\" (sluiced connects to the socket "
				   "the pod creates) or \"server\" (sluiced creates it)");
	c->vhost_server = !strcmp(mode, "server");
	if ((rc = get_str(root, "socketDir", false, c->socket_dir, sizeof(c->socket_dir),
			  err)) < 0)
		return rc;
	if (c->socket_dir[0] != '/')
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "socketDir: \"%s\" is not an absolute "
				   "path", c->socket_dir);
	if (has_dot_component(c->socket_dir))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "socketDir: \"%s\" has a \".\" or \"..\" "
				   "component", c->socket_dir);
	size_t n = strlen(c->socket_dir);
	while (n > 1 && c->socket_dir[n - 1] == '/')
		c->socket_dir[--n] = 0;
	if (n == 1)
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "socketDir: must not be \"/\"");
	return parse_owner(root, c, err);
}

/* runtimeConfig.portMappings (with the portMappings capability only): at most
 * SL_CNI_MAX_PORT_MAPS {hostPort, containerPort, protocol (default "tcp"), hostIP (IPv4,
 * "" or absent: any)}. */
static int parse_port_maps(const cJSON *rc_, struct sl_cni_conf *c, struct sl_cni_err *err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(rc_, "portMappings"), *e;
	if (!a || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.portMappings: must be an "
				   "array");
	if (cJSON_GetArraySize(a) > SL_CNI_MAX_PORT_MAPS)
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.portMappings: more than %d "
				   "entries", SL_CNI_MAX_PORT_MAPS);
	unsigned i = 0;
	cJSON_ArrayForEach(e, a)
	{
		struct sl_cni_port_map *m = &c->port_maps[i];
		static const char *const ports[] = { "hostPort", "containerPort" };
		if (!cJSON_IsObject(e))
			return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.portMappings[%u]: must "
					   "be an object", i);
		for (unsigned k = 0; k < 2; k++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, ports[k]);
			if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 65535) ||
			    v->valuedouble != (double)(int)v->valuedouble)
				return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.portMappings[%u]."
						   "%s: must be an integer from 1 to 65535", i,
						   ports[k]);
			*(k ? &m->container_port : &m->host_port) = (uint16_t)v->valuedouble;
		}
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "protocol");
		snprintf(m->protocol, sizeof(m->protocol), "tcp");
		if (p && !cJSON_IsNull(p) && !(cJSON_IsString(p) && !p->valuestring[0])) {
			if (!cJSON_IsString(p) || (strcasecmp(p->valuestring, "tcp") &&
						   strcasecmp(p->valuestring, "udp") &&
						   strcasecmp(p->valuestring, "sctp")))
				return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.portMappings[%u]."
						   "protocol: must be \"tcp\", \"udp\" or \"sctp\"",
						   i);
			for (unsigned k = 0; k < 4 && p->valuestring[k]; k++)
				m->protocol[k] = (char)tolower((unsigned char)p->valuestring[k]);
			m->protocol[strlen(p->valuestring)] = '\0';
		}
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "hostIP");
		if (h && !cJSON_IsNull(h) && !(cJSON_IsString(h) && !h->valuestring[0]) &&
		    (!cJSON_IsString(h) || sl_cni_parse_ip(h->valuestring, &m->host_ip) < 0))
			return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.portMappings[%u].hostIP: "
					   "must be an IPv4 address (\"\" or \"0.0.0.0\": the node's)",
					   i);
		for (unsigned k = 0; k < i; k++)
			if (c->port_maps[k].host_port == m->host_port &&
			    !strcmp(c->port_maps[k].protocol, m->protocol))
				return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.portMappings[%u]."
						   "hostPort: %u/%s repeats portMappings[%u]", i,
						   m->host_port, m->protocol, k);
		i++;
	}
	c->n_port_maps = i;
	return 0;
}

/* runtimeConfig (SPEC.md "Section 3", CONVENTIONS.md): interface, mac,
 * CNIDeviceInfoFile (NPWG device-info spec 5.1), portMappings (ADD, with the capability);
 * other keys (deviceID, ...) are ignored. */
static int parse_runtime(const cJSON *root, enum sl_cni_cmd cmd, struct sl_cni_conf *c,
			 struct sl_cni_err *err)
{
	const cJSON *rc_ = cJSON_GetObjectItemCaseSensitive(root, "runtimeConfig");
	char mac[32] = "";
	int rc;
	if (!rc_ || cJSON_IsNull(rc_))
		return 0;
	if (!cJSON_IsObject(rc_))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig: must be an object");
	if ((rc = parse_iface(rc_, "interface", "runtimeConfig.interface", &c->iface, err)) < 0)
		return rc;
	c->iface_pinned = rc == 1;
	c->iface_set |= c->iface_pinned;
	if (get_str(rc_, "mac", false, mac, sizeof(mac), err) < 0 ||
	    (mac[0] && sl_cni_parse_mac(mac, c->mac) < 0))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.mac: must be a unicast MAC "
				   "address \"xx:xx:xx:xx:xx:xx\"");
	if (mac[0])
		c->has_mac = c->mac_pinned = true;
	if (get_str(rc_, "CNIDeviceInfoFile", false, c->devinfo_file, sizeof(c->devinfo_file),
		    err) < 0 || (c->devinfo_file[0] && c->devinfo_file[0] != '/'))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "runtimeConfig.CNIDeviceInfoFile: must be "
				   "an absolute path");
	return c->cap_port_mappings && cmd == SL_CNI_ADD ? parse_port_maps(rc_, c, err) : 0;
}

/* "capabilities": {"portMappings": bool}; other capabilities are ignored. */
static int parse_caps(const cJSON *root, struct sl_cni_conf *c, struct sl_cni_err *err)
{
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(root, "capabilities");
	if (!caps || cJSON_IsNull(caps))
		return 0;
	if (!cJSON_IsObject(caps))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "capabilities: must be an object");
	const cJSON *pm = cJSON_GetObjectItemCaseSensitive(caps, "portMappings");
	if (pm && !cJSON_IsBool(pm))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "capabilities.portMappings: must be true "
				   "or false");
	c->cap_port_mappings = cJSON_IsTrue(pm);
	return 0;
}

int sl_cni_conf_apply_args(struct sl_cni_conf *c, const struct sl_cni_env *e,
			   struct sl_cni_err *err)
{
	enum sl_cni_iface iface;
	uint8_t mac[6];
	if (e->arg_iface[0]) {
		if (iface_value(e->arg_iface, &iface) < 0)
			return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_ARGS: SLUICE_INTERFACE: unsupported "
					   "value \"%s\" (\"veth\", \"vhost-user\" or \"tap\")",
					   e->arg_iface);
		if (!c->iface_pinned)
			c->iface = iface;
		c->iface_set = true;
	}
	if (e->arg_mac[0]) {
		if (sl_cni_parse_mac(e->arg_mac, mac) < 0)
			return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_ARGS: MAC: \"%s\" is not a unicast "
					   "MAC address", e->arg_mac);
		if (!c->mac_pinned) {
			memcpy(c->mac, mac, 6);
			c->has_mac = true;
		}
	}
	return 0;
}

static int parse_fields(const cJSON *root, enum sl_cni_cmd cmd, struct sl_cni_conf *c,
			struct sl_cni_err *err)
{
	int rc;
	if ((rc = parse_version(root, cmd, c, err)) < 0)
		return rc;
	if ((rc = get_str(root, "name", true, c->name, sizeof(c->name), err)) < 0 ||
	    (rc = get_str(root, "type", true, c->type, sizeof(c->type), err)) < 0 ||
	    (rc = get_str(root, "socket", false, c->socket, sizeof(c->socket), err)) < 0)
		return rc;
	if (c->socket[0] != '/')
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "socket: \"%s\" is not an absolute path",
				   c->socket);

	const cJSON *mtu = cJSON_GetObjectItemCaseSensitive(root, "mtu");
	if (mtu && !cJSON_IsNull(mtu)) {
		if (!cJSON_IsNumber(mtu) || mtu->valuedouble != (double)(int)mtu->valuedouble ||
		    mtu->valuedouble < 68 || mtu->valuedouble > 65535)
			return sl_cni_fail(err, SL_CNI_E_CONFIG,
					   "mtu: must be an integer between 68 and 65535");
		c->mtu = (unsigned)mtu->valuedouble;
	}

	c->iface = SL_CNI_IFACE_VETH;
	if ((rc = parse_iface(root, "interface", "interface", &c->iface, err)) < 0)
		return rc;
	c->iface_set = rc == 1;
	if ((rc = parse_vhost(root, c, err)) < 0 || (rc = parse_caps(root, c, err)) < 0 ||
	    (rc = parse_runtime(root, cmd, c, err)) < 0)
		return rc;

	const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(root, "ipam");
	if (ipam && !cJSON_IsNull(ipam)) {
		char type[64];
		if (!cJSON_IsObject(ipam))
			return sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam: must be an object");
		if ((rc = get_str(ipam, "type", true, type, sizeof(type), err)) < 0) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", strchr(err->msg, ':') + 2);
			return sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam.type: %s", why);
		}
		if (strchr(type, '/') || type[0] == '.')
			return sl_cni_fail(err, SL_CNI_E_CONFIG,
					   "ipam.type: \"%s\" must be a plugin name, not a path", type);
	}

	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(root, "prevResult");
	if (prev && !cJSON_IsNull(prev)) {
		if (!cJSON_IsObject(prev))
			return sl_cni_fail(err, SL_CNI_E_CONFIG, "prevResult: must be an object");
		c->prev_result = prev;
	}

	const cJSON *va = cJSON_GetObjectItemCaseSensitive(root, "cni.dev/valid-attachments");
	if (cmd == SL_CNI_GC) {
		/* Without the list nothing can be told stale: refuse rather than delete all. */
		if (!cJSON_IsArray(va))
			return sl_cni_fail(err, SL_CNI_E_CONFIG,
					   "cni.dev/valid-attachments: required array for GC");
		const cJSON *a;
		int i = 0;
		cJSON_ArrayForEach(a, va)
		{
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "containerID");
			const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(a, "ifname");
			if (!cJSON_IsString(id) || !cJSON_IsString(ifn))
				return sl_cni_fail(err, SL_CNI_E_CONFIG,
						   "cni.dev/valid-attachments[%d]: needs string "
						   "\"containerID\" and \"ifname\"", i);
			i++;
		}
		c->valid_attachments = va;
	}
	return 0;
}

int sl_cni_conf_parse(const char *text, size_t len, enum sl_cni_cmd cmd,
		      struct sl_cni_conf *c, struct sl_cni_err *err)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->version, sizeof(c->version), "%s", SL_CNI_SPEC_VERSION);
	snprintf(c->socket, sizeof(c->socket), "%s", SL_CNI_DEFAULT_SOCKET);
	snprintf(c->socket_dir, sizeof(c->socket_dir), "%s", SL_CNI_DEFAULT_SOCKET_DIR);
	if (len > SL_CNI_MAX_STDIN)
		return sl_cni_fail(err, SL_CNI_E_IO, "stdin: config larger than %d bytes",
				   SL_CNI_MAX_STDIN);
	const char *end = NULL;
	c->root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	size_t off = end ? (size_t)(end - text) : 0;
	while (c->root && off < len && isspace((unsigned char)text[off]))
		off++;
	if (cmd == SL_CNI_VERSION) {
		/* VERSION only needs cniVersion, and answers even without it. */
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, "cniVersion");
		if (cJSON_IsString(v) && sl_cni_version_supported(v->valuestring))
			snprintf(c->version, sizeof(c->version), "%s", v->valuestring);
		return 0;
	}
	if (!c->root || (off < len && text[off]))
		return sl_cni_fail(err, SL_CNI_E_DECODE, "config: invalid JSON near byte %zu", off);
	if (!cJSON_IsObject(c->root))
		return sl_cni_fail(err, SL_CNI_E_DECODE, "config: must be a JSON object");
	return parse_fields(c->root, cmd, c, err);
}

void sl_cni_conf_free(struct sl_cni_conf *c)
{
	cJSON_Delete(c->root);
	c->root = NULL;
	c->prev_result = c->valid_attachments = NULL;
}
