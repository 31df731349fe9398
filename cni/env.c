/* sluice-cni: the CNI_* environment, and the names derived from it (see conf.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

/* Environment. */

static const char *env_get(char *const *envp, const char *key)
{
	size_t kl = strlen(key);
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, key, kl) && (*envp)[kl] == '=')
			return *envp + kl + 1;
	return NULL;
}

static const struct {
	const char *name;
	enum sl_cni_cmd cmd;
} commands[] = {
	{ "ADD", SL_CNI_ADD },         { "DEL", SL_CNI_DEL },       { "CHECK", SL_CNI_CHECK },
	{ "VERSION", SL_CNI_VERSION }, { "STATUS", SL_CNI_STATUS }, { "GC", SL_CNI_GC },
};

/* Copy env var key into buf (size n). required: absent or empty is an error. */
static int env_copy(char *const *envp, const char *key, bool required, char *buf, size_t n,
		    struct sl_cni_err *err)
{
	const char *v = env_get(envp, key);
	buf[0] = 0;
	if (!v || !*v)
		return required ? sl_cni_fail(err, SL_CNI_E_ENV, "%s: required but not set", key)
				: 0;
	if (strlen(v) >= n)
		return sl_cni_fail(err, SL_CNI_E_ENV, "%s: longer than %zu bytes", key, n - 1);
	memcpy(buf, v, strlen(v) + 1);
	return 0;
}

/* SPEC.md "Parameters": starts with an alphanumeric, then alphanumerics, '_', '.', '-'. */
static bool valid_container_id(const char *s)
{
	if (!isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

/* Linux dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or whitespace. */
static bool valid_ifname(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

/* CNI_ARGS: "K=V;K=V" (SPEC.md "Parameters"); K8S_POD_NAMESPACE, K8S_POD_NAME,
 * K8S_POD_UID, MAC and SLUICE_INTERFACE are read, the rest ignored. */
static int parse_cni_args(const char *args, struct sl_cni_env *e, struct sl_cni_err *err)
{
	char buf[4096];
	if (strlen(args) >= sizeof(buf))
		return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_ARGS: longer than %zu bytes",
				   sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", args);
	char *save = NULL;
	for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv)
			return sl_cni_fail(err, SL_CNI_E_ENV,
					   "CNI_ARGS: \"%.64s\" is not a KEY=VALUE pair", kv);
		*eq = 0;
		const char *v = eq + 1;
		char *dst = NULL;
		size_t n = 0;
		if (!strcmp(kv, "K8S_POD_NAMESPACE"))
			dst = e->k8s_namespace, n = sizeof(e->k8s_namespace);
		else if (!strcmp(kv, "K8S_POD_NAME"))
			dst = e->k8s_name, n = sizeof(e->k8s_name);
		else if (!strcmp(kv, "MAC"))
			dst = e->arg_mac, n = sizeof(e->arg_mac);
		else if (!strcmp(kv, "SLUICE_INTERFACE"))
			dst = e->arg_iface, n = sizeof(e->arg_iface);
		else if (!strcmp(kv, "K8S_POD_UID"))
			dst = e->k8s_uid, n = sizeof(e->k8s_uid);
		if (!dst)
			continue;
		if (strlen(v) >= n)
			return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_ARGS: %s longer than %zu bytes",
					   kv, n - 1);
		memcpy(dst, v, strlen(v) + 1);
	}
	/* The pod UID names a directory: a UUID (or a static pod's hash) has nothing else. */
	for (const char *p = e->k8s_uid; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_ARGS: K8S_POD_UID: \"%.64s\" has "
					   "characters outside [A-Za-z0-9-]", e->k8s_uid);
	return 0;
}

int sl_cni_env_parse(char *const *envp, struct sl_cni_env *e, struct sl_cni_err *err)
{
	char cmd[16];
	int rc;
	memset(e, 0, sizeof(*e));
	if ((rc = env_copy(envp, "CNI_COMMAND", true, cmd, sizeof(cmd), err)) < 0)
		return rc;
	size_t i;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_COMMAND: unknown command \"%s\"", cmd);
	e->cmd = commands[i].cmd;
	if (e->cmd == SL_CNI_VERSION)
		return 0;
	/* ADD, DEL, CHECK need the attachment; netns is optional for DEL only. GC and
	 * STATUS need CNI_PATH to reach the IPAM plugin. */
	bool attach = e->cmd == SL_CNI_ADD || e->cmd == SL_CNI_DEL || e->cmd == SL_CNI_CHECK;
	if ((rc = env_copy(envp, "CNI_PATH", e->cmd != SL_CNI_DEL, e->path, sizeof(e->path),
			   err)) < 0)
		return rc;
	if (!attach)
		return 0;
	if ((rc = env_copy(envp, "CNI_CONTAINERID", true, e->container_id,
			   sizeof(e->container_id), err)) < 0)
		return rc;
	if (!valid_container_id(e->container_id))
		return sl_cni_fail(err, SL_CNI_E_ENV,
				   "CNI_CONTAINERID: \"%.64s\" has characters outside [A-Za-z0-9_.-] "
				   "or does not start with an alphanumeric", e->container_id);
	if ((rc = env_copy(envp, "CNI_IFNAME", true, e->ifname, sizeof(e->ifname), err)) < 0)
		return rc;
	if (!valid_ifname(e->ifname))
		return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_IFNAME: \"%s\" is not a valid interface "
				   "name", e->ifname);
	if ((rc = env_copy(envp, "CNI_NETNS", e->cmd != SL_CNI_DEL, e->netns, sizeof(e->netns),
			   err)) < 0)
		return rc;
	const char *args = env_get(envp, "CNI_ARGS");
	if (args && (rc = parse_cni_args(args, e, err)) < 0)
		return rc;
	return 0;
}

/* Names. */

uint64_t sl_cni_attach_hash(const char *container_id, const char *ifname)
{
	/* FNV-1a 64 over "<id>:<ifname>" (':' cannot occur in either), then the splitmix64
	 * finaliser so that all kept bits depend on every input byte. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = container_id; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	h = (h ^ ':') * 0x100000001b3ull;
	for (const char *p = ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

void sl_cni_host_ifname(const char *container_id, const char *ifname,
			char ret[SL_CNI_IFNAME_MAX])
{
	uint64_t h = sl_cni_attach_hash(container_id, ifname);
	snprintf(ret, SL_CNI_IFNAME_MAX, "sl%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

bool sl_cni_is_host_ifname(const char *name)
{
	if (strncmp(name, "sl", 2) || strlen(name) != 14)
		return false;
	for (const char *p = name + 2; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return false;
	return true;
}

void sl_cni_pod_name(const char *container_id, const char *ifname, char ret[SL_CNI_NAME_MAX])
{
	int idmax = SL_CNI_NAME_MAX - 2 - (int)strlen(ifname);
	snprintf(ret, SL_CNI_NAME_MAX, "%.*s:%s", idmax, container_id, ifname);
}

const char *sl_cni_pod_namespace(const struct sl_cni_env *e)
{
	return e->k8s_namespace[0] ? e->k8s_namespace : "cni";
}
