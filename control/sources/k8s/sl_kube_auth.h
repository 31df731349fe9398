/* Where the API server is and how sluiced proves who it is, as client-go's rest.Config:
 *   in-cluster: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the service
 *     account's token and CA bundle (/var/run/secrets/kubernetes.io/serviceaccount/);
 *   a kubeconfig (YAML or JSON): the current context's cluster (server,
 *     certificate-authority or certificate-authority-data) and user (token, tokenFile,
 *     client-certificate(-data) + client-key(-data)). Relative paths are relative to the
 *     kubeconfig's folder, as kubectl reads them.
 * TLS is always verified (peer and host name); insecure-skip-tls-verify is refused. A token
 * file is read again whenever it changes (bound service-account tokens rotate hourly), at
 * the next request. No DPDK; control thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>

#define SL_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define SL_KUBE_TOKEN_MAX 16384 /* bytes of a bearer token */

struct sl_kube_auth {
	char server[512];     /* "https://host:port", no trailing slash */
	char *ca_file;        /* PEM file, or NULL */
	char *ca_data;        /* PEM bytes (certificate-authority-data), or NULL */
	size_t ca_len;
	char *cert_file, *key_file; /* client certificate and key, PEM files, or NULL */
	char *cert_data, *key_data; /* the same as bytes (-data), or NULL */
	size_t cert_len, key_len;
	char *token;          /* the bearer token in use (static, or the file's), or NULL */
	char *token_file;     /* read again when it changes, or NULL */
	ino_t token_ino;      /* what the file was when last read */
	long long token_mtime_ns;
	off_t token_size;
	unsigned token_reads; /* how often the token file was read (show sync) */
};

/* Fill ret from a kubeconfig. Returns 0 or -errno with err naming the file and the field. */
int sl_kube_auth_kubeconfig(const char *path, struct sl_kube_auth *ret, char *err,
			    size_t errlen);
/* Fill ret for in-cluster use from the environment and the service account folder sa_dir
 * (SL_KUBE_SA_DIR). Returns 0 or -errno with err set. */
int sl_kube_auth_incluster(const char *sa_dir, struct sl_kube_auth *ret, char *err,
			   size_t errlen);
void sl_kube_auth_free(struct sl_kube_auth *a);

/* Set easy's TLS options and add the Authorization header to *hdrs (the token file is read
 * again first if it changed). Returns 0 or -errno with err set (an unreadable token file). */
int sl_kube_auth_setup(struct sl_kube_auth *a, CURL *easy, struct curl_slist **hdrs, char *err,
		       size_t errlen);
