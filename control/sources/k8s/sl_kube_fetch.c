/* This node's Node read once at start (see sl_kube_node_fetch in sl_kube_sync.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/sl_loop.h"
#include "sl_kube_auth.h"
#include "sl_kube_http.h"
#include "sl_kube_sync.h"

struct body {
	char *buf;
	size_t len;
};

static size_t collect(char *d, size_t sz, size_t n, void *arg)
{
	struct body *b = arg;
	if (b->len + sz * n > (1u << 20))
		return 0; /* a Node is a few KiB */
	char *nb = realloc(b->buf, b->len + sz * n + 1);
	if (!nb)
		return 0;
	memcpy(nb + b->len, d, sz * n);
	b->buf = nb;
	b->len += sz * n;
	b->buf[b->len] = '\0';
	return sz * n;
}

/* One GET; 0 with *ret decoded, or -errno with err set. */
static int get_once(struct sl_kube_auth *a, const char *name, struct sl_kube_node *ret,
		    char *err, size_t errlen)
{
	char url[1024], esc[3 * SL_NAME_MAX + 1], cerr[CURL_ERROR_SIZE] = "";
	struct body b = { 0 };
	struct curl_slist *h = NULL;
	CURL *e = curl_easy_init();
	int rc;
	long status = 0;
	if (!e || !sl_kube_http_escape(name, esc, sizeof(esc))) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	snprintf(url, sizeof(url), "%s/api/v1/nodes/%s", a->server, esc);
	if ((rc = sl_kube_auth_setup(a, e, &h, err, errlen)) < 0)
		goto out;
	h = curl_slist_append(h, "Accept: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
	CURLcode cc = curl_easy_perform(e);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "GET node %s: %s", name, cerr[0] ? cerr : curl_easy_strerror(cc));
		rc = -EIO;
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, errlen, "GET node %s: HTTP %ld", name, status);
		rc = status == 404 ? -ENOENT : -EIO;
		goto out;
	}
	cJSON *o = cJSON_ParseWithLength(b.buf ? b.buf : "", b.len);
	char why[256];
	rc = sl_kube_node_decode(o, ret, why, sizeof(why));
	cJSON_Delete(o);
	if (rc < 0)
		snprintf(err, errlen, "node %s: %s", name, why);
	else if (!ret->has_pod_cidr)
		snprintf(err, errlen, "node %s: no spec.podCIDR yet", name), rc = -EAGAIN;
out:
	curl_slist_free_all(h);
	if (e)
		curl_easy_cleanup(e);
	free(b.buf);
	return rc;
}

int sl_kube_node_fetch(const struct sl_kube_sync_conf *conf, unsigned wait_s,
		       struct sl_kube_node *ret, char *err, size_t errlen)
{
	struct sl_kube_auth a;
	int rc = conf->kubeconfig
		 ? sl_kube_auth_kubeconfig(conf->kubeconfig, &a, err, errlen)
		 : sl_kube_auth_incluster(conf->sa_dir ? conf->sa_dir : SL_KUBE_SA_DIR, &a, err,
					  errlen);
	if (rc < 0)
		return rc;
	if (!conf->node_name || !conf->node_name[0]) {
		sl_kube_auth_free(&a);
		snprintf(err, errlen, "node name: required (--node-name or NODE_NAME)");
		return -EINVAL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	uint64_t end = sl_loop_now_ns() + (uint64_t)wait_s * 1000000000ull;
	for (;;) {
		rc = get_once(&a, conf->node_name, ret, err, errlen);
		if (rc == 0 || rc == -EINVAL || rc == -ENOMEM || sl_loop_now_ns() >= end)
			break;
		sleep(1); /* at start, before the loop: nothing else waits on this thread */
	}
	sl_kube_auth_free(&a);
	return rc == -EAGAIN ? -ETIMEDOUT : rc;
}
