/* API server address and credentials (see sl_kube_auth.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "sl_kube_auth.h"

#define KUBECONFIG_MAX (4 << 20)

static int fail(char *err, size_t n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t n, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return rc;
}

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
static int slurp(const char *path, size_t max, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, len = 0;
	char *b = malloc(cap + 1);
	for (;;) {
		if (!b) {
			close(fd);
			return -ENOMEM;
		}
		ssize_t n = read(fd, b + len, cap - len);
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			free(b);
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(b);
			close(fd);
			return -EFBIG;
		}
		if (len == cap) {
			char *nb = realloc(b, (cap *= 2) + 1);
			if (!nb)
				free(b);
			b = nb;
		}
	}
	close(fd);
	b[len] = '\0';
	*ret = b;
	if (ret_len)
		*ret_len = len;
	return 0;
}

/* RFC 4648 base64 (kubeconfig *-data fields), whitespace ignored. */
static int b64_decode(const char *s, char **ret, size_t *ret_len)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	if (!out)
		return -ENOMEM;
	for (; *s; s++) {
		int v;
		char c = *s;
		if (c >= 'A' && c <= 'Z') v = c - 'A';
		else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
		else if (c >= '0' && c <= '9') v = c - '0' + 52;
		else if (c == '+') v = 62;
		else if (c == '/') v = 63;
		else if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
		else {
			free(out);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits);
		}
	}
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	return 0;
}

/* The YAML tree (libyaml's document API). */
static yaml_node_t *ymap(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *yscalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The entry of list `key` (clusters, users, contexts) whose name is `name`; its inner
 * object (`inner`: cluster, user, context). */
static yaml_node_t *named(yaml_document_t *d, const char *key, const char *inner,
			  const char *name)
{
	yaml_node_t *seq = ymap(d, yaml_document_get_root_node(d), key);
	if (!seq || seq->type != YAML_SEQUENCE_NODE || !name)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *e = yaml_document_get_node(d, *i);
		const char *n = yscalar(ymap(d, e, "name"));
		if (n && !strcmp(n, name))
			return ymap(d, e, inner);
	}
	return NULL;
}

/* A path from the kubeconfig, relative to its folder (dir) unless absolute. */
static char *rel_path(const char *dir, const char *p)
{
	char *r;
	if (p[0] == '/' || !dir[0])
		return strdup(p);
	return asprintf(&r, "%s/%s", dir, p) < 0 ? NULL : r;
}

static int file_or_data(yaml_document_t *d, yaml_node_t *o, const char *key, const char *dir,
			char **ret_file, char **ret_data, size_t *ret_len, const char *path,
			char *err, size_t errlen)
{
	char dkey[64];
	snprintf(dkey, sizeof(dkey), "%s-data", key);
	const char *f = yscalar(ymap(d, o, key)), *v = yscalar(ymap(d, o, dkey));
	if (v && v[0]) {
		if (b64_decode(v, ret_data, ret_len) < 0)
			return fail(err, errlen, -EINVAL, "%s: %s: not base64", path, dkey);
	} else if (f && f[0]) {
		if (!(*ret_file = rel_path(dir, f)))
			return -ENOMEM;
		if (access(*ret_file, R_OK) < 0)
			return fail(err, errlen, -errno, "%s: %s: %s: %s", path, key, *ret_file,
				    strerror(errno));
	}
	return 0;
}

int sl_kube_auth_kubeconfig(const char *path, struct sl_kube_auth *ret, char *err, size_t errlen)
{
	struct sl_kube_auth a = { 0 };
	char *text, dir[512];
	size_t len;
	int rc = slurp(path, KUBECONFIG_MAX, &text, &len);
	if (rc < 0)
		return fail(err, errlen, rc, "kubeconfig %s: %s", path, strerror(-rc));
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	yaml_parser_t p;
	yaml_document_t d;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &d)) {
		rc = fail(err, errlen, -EINVAL, "kubeconfig %s: line %zu: %s", path,
			  p.problem_mark.line + 1, p.problem ? p.problem : "not YAML");
		yaml_parser_delete(&p);
		free(text);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&d);
	const char *cur = yscalar(ymap(&d, root, "current-context"));
	yaml_node_t *ctx = named(&d, "contexts", "context", cur);
	const char *cl_name = yscalar(ymap(&d, ctx, "cluster")), *u_name = yscalar(ymap(&d, ctx, "user"));
	yaml_node_t *cl = named(&d, "clusters", "cluster", cl_name);
	yaml_node_t *user = named(&d, "users", "user", u_name);
	const char *server = yscalar(ymap(&d, cl, "server"));
	const char *insecure = yscalar(ymap(&d, cl, "insecure-skip-tls-verify"));
	const char *tok = yscalar(ymap(&d, user, "token")), *tokf = yscalar(ymap(&d, user, "tokenFile"));
	if (!ctx) {
		rc = fail(err, errlen, -EINVAL, "kubeconfig %s: current-context: %s", path,
			  cur ? "names no context" : "missing");
	} else if (!cl) {
		rc = fail(err, errlen, -EINVAL, "kubeconfig %s: context %s: cluster: names no "
			  "cluster", path, cur);
	} else if (!server || strncmp(server, "https://", 8) ||
		   strlen(server) >= sizeof(a.server)) {
		rc = fail(err, errlen, -EINVAL, "kubeconfig %s: cluster %s: server: must be an "
			  "https:// URL", path, cl_name);
	} else if (insecure && strcmp(insecure, "false")) {
		rc = fail(err, errlen, -EINVAL, "kubeconfig %s: cluster %s: insecure-skip-tls-verify:"
			  " refused (TLS is always verified)", path, cl_name);
	} else if (ymap(&d, user, "exec") || ymap(&d, user, "auth-provider")) {
		rc = fail(err, errlen, -ENOTSUP, "kubeconfig %s: user %s: exec and auth-provider "
			  "credentials are not supported", path, u_name);
	} else {
		snprintf(a.server, sizeof(a.server), "%s", server);
		size_t l = strlen(a.server);
		while (l > 8 && a.server[l - 1] == '/')
			a.server[--l] = '\0';
		char where[300];
		snprintf(where, sizeof(where), "kubeconfig %s: cluster %s", path, cl_name);
		rc = file_or_data(&d, cl, "certificate-authority", dir, &a.ca_file, &a.ca_data,
				  &a.ca_len, where, err, errlen);
		snprintf(where, sizeof(where), "kubeconfig %s: user %s", path, u_name ? u_name : "");
		if (!rc)
			rc = file_or_data(&d, user, "client-certificate", dir, &a.cert_file,
					  &a.cert_data, &a.cert_len, where, err, errlen);
		if (!rc)
			rc = file_or_data(&d, user, "client-key", dir, &a.key_file, &a.key_data,
					  &a.key_len, where, err, errlen);
		if (!rc && tok && tok[0] && !(a.token = strdup(tok)))
			rc = -ENOMEM;
		if (!rc && !a.token && tokf && tokf[0] && !(a.token_file = rel_path(dir, tokf)))
			rc = -ENOMEM;
		if (!rc && !(a.cert_file || a.cert_data) != !(a.key_file || a.key_data))
			rc = fail(err, errlen, -EINVAL, "%s: client-certificate and client-key go "
				  "together", where);
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	free(text);
	if (rc == -ENOMEM)
		fail(err, errlen, rc, "kubeconfig %s: out of memory", path);
	if (rc < 0) {
		sl_kube_auth_free(&a);
		return rc;
	}
	*ret = a;
	return 0;
}

int sl_kube_auth_incluster(const char *sa_dir, struct sl_kube_auth *ret, char *err,
			   size_t errlen)
{
	struct sl_kube_auth a = { 0 };
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !host[0] || !port || !port[0])
		return fail(err, errlen, -ENOENT, "not in a cluster: KUBERNETES_SERVICE_HOST and "
			    "KUBERNETES_SERVICE_PORT must be set (or pass --kubeconfig)");
	bool v6 = strchr(host, ':') != NULL;
	if ((size_t)snprintf(a.server, sizeof(a.server), "https://%s%s%s:%s", v6 ? "[" : "", host,
			     v6 ? "]" : "", port) >= sizeof(a.server))
		return fail(err, errlen, -EINVAL, "KUBERNETES_SERVICE_HOST: too long");
	if (asprintf(&a.ca_file, "%s/ca.crt", sa_dir) < 0 ||
	    asprintf(&a.token_file, "%s/token", sa_dir) < 0) {
		sl_kube_auth_free(&a);
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	if (access(a.ca_file, R_OK) < 0 || access(a.token_file, R_OK) < 0) {
		int e = errno;
		fail(err, errlen, -e, "in-cluster: %s: %s", access(a.ca_file, R_OK) < 0 ?
		     a.ca_file : a.token_file, strerror(e));
		sl_kube_auth_free(&a);
		return -e;
	}
	*ret = a;
	return 0;
}

void sl_kube_auth_free(struct sl_kube_auth *a)
{
	free(a->ca_file);
	free(a->ca_data);
	free(a->cert_file);
	free(a->key_file);
	free(a->cert_data);
	free(a->key_data);
	free(a->token);
	free(a->token_file);
	*a = (struct sl_kube_auth){ 0 };
}

/* Read the token file again if it changed since the last read. */
static int token_refresh(struct sl_kube_auth *a, char *err, size_t errlen)
{
	struct stat st;
	if (stat(a->token_file, &st) < 0)
		return fail(err, errlen, -errno, "token file %s: %s", a->token_file,
			    strerror(errno));
	long long mt = (long long)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
	if (a->token && st.st_ino == a->token_ino && mt == a->token_mtime_ns &&
	    st.st_size == a->token_size)
		return 0;
	char *t;
	int rc = slurp(a->token_file, SL_KUBE_TOKEN_MAX, &t, NULL);
	if (rc < 0)
		return fail(err, errlen, rc, "token file %s: %s", a->token_file, strerror(-rc));
	t[strcspn(t, "\r\n")] = '\0';
	free(a->token);
	a->token = t;
	a->token_ino = st.st_ino;
	a->token_mtime_ns = mt;
	a->token_size = st.st_size;
	a->token_reads++;
	return 0;
}

int sl_kube_auth_setup(struct sl_kube_auth *a, CURL *e, struct curl_slist **hdrs, char *err,
		       size_t errlen)
{
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	if (a->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, a->ca_file);
	if (a->ca_data) {
		struct curl_blob b = { .data = a->ca_data, .len = a->ca_len,
				       .flags = CURL_BLOB_NOCOPY };
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (a->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, a->cert_file);
	if (a->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, a->key_file);
	if (a->cert_data) {
		struct curl_blob b = { .data = a->cert_data, .len = a->cert_len,
				       .flags = CURL_BLOB_NOCOPY };
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (a->key_data) {
		struct curl_blob b = { .data = a->key_data, .len = a->key_len,
				       .flags = CURL_BLOB_NOCOPY };
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (a->token_file) {
		int rc = token_refresh(a, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (a->token) {
		char *h;
		if (asprintf(&h, "Authorization: Bearer %s", a->token) < 0)
			return fail(err, errlen, -ENOMEM, "out of memory");
		struct curl_slist *n = curl_slist_append(*hdrs, h);
		free(h);
		if (!n)
			return fail(err, errlen, -ENOMEM, "out of memory");
		*hdrs = n;
	}
	return 0;
}
