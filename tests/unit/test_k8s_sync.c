/* The Kubernetes sync (client, reflectors, sinks) against the stand-in API server
 * (tests/integration/kube_apiserver.py on 127.0.0.1, HTTPS with a CA made here by openssl),
 * driving a real event loop and a real model (no DPDK, no namespaces):
 *   initial list + watch of Nodes, Services, EndpointSlices into the model; bookmarks;
 *   a dropped watch resumed without a relist; a 410 mid-watch relisted; a relist across 600
 *   Services (two pages) whose continue token expires; the server down then back with
 *   objects deleted meanwhile; token-file rotation; a wrong CA refused; streaming lists, and
 *   the fallback when the server refuses them; 1,200 Pods in 3 model transactions.
 * Skipped (77) without python3 or openssl. Usage: test_k8s_sync SOURCE_ROOT */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "control/core/sl_loop.h"
#include "control/model/sl_model.h"
#include "control/model/sl_policy.h"
#include "control/model/sl_service.h"
#include "control/sources/k8s/sl_kube_sync.h"
#include "control/sources/sl_k8s.h"

static const char *src_root;
static char dir[64];
static int api_port, admin_port;
static pid_t server;
static struct sl_loop *loop;
static struct sl_model *model;

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	close(s);
	return ntohs(a.sin_port);
}

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

static size_t sink(char *d, size_t sz, size_t n, void *arg)
{
	return sz * n;
}

/* An admin command to the stand-in; returns the HTTP status. */
static long admin(const char *fmt, ...)
{
	char *body;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&body, fmt, ap) > 0);
	va_end(ap);
	for (char *p = body; *p; p++)
		if (*p == '\'')
			*p = '"';
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", admin_port);
	CURL *e = curl_easy_init();
	long code = 0;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	free(body);
	return code;
}

static void put_svc(const char *name, const char *ip)
{
	assert_int_equal(admin("{'op':'put','object':{'kind':'Service','metadata':{'name':'%s',"
			       "'namespace':'default'},'spec':{'clusterIP':'%s','clusterIPs':['%s'],"
			       "'ports':[{'port':80,'protocol':'TCP','targetPort':8080}]}}}",
			       name, ip, ip), 200);
}

static void del_svc(const char *name)
{
	assert_int_equal(admin("{'op':'delete','kind':'Service','namespace':'default','name':'%s'}",
			       name), 200);
}

/* The show-sync row of a resource ("node/self": the node object), detached (cJSON_Delete). */
static cJSON *row_of(const char *res)
{
	cJSON *top = sl_kube_sync_show(), *r, *ret = NULL;
	if (!strcmp(res, "node/self"))
		ret = cJSON_DetachItemFromObject(top, "node");
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(top, "resources"))
		if (!ret && !strcmp(cJSON_GetObjectItem(r, "resource")->valuestring, res))
			ret = cJSON_Duplicate(r, true);
	cJSON_Delete(top);
	return ret;
}

static double stat_of(const char *res, const char *field)
{
	cJSON *r = row_of(res), *f = cJSON_GetObjectItem(r, field);
	double v = cJSON_IsNumber(f) ? f->valuedouble : -1;
	cJSON_Delete(r);
	return v;
}

static const char *state_of(const char *res)
{
	static char st[32];
	cJSON *r = row_of(res), *f = cJSON_GetObjectItem(r, "state");
	snprintf(st, sizeof(st), "%s", cJSON_IsString(f) ? f->valuestring : "");
	cJSON_Delete(r);
	return st;
}

static const char *str_of(const char *res, const char *field)
{
	static char v[64];
	cJSON *r = row_of(res), *f = cJSON_GetObjectItem(r, field);
	snprintf(v, sizeof(v), "%s", cJSON_IsString(f) ? f->valuestring : "");
	cJSON_Delete(r);
	return v;
}

static void dump(void)
{
	cJSON *a = sl_kube_sync_show();
	char *t = cJSON_Print(a);
	fprintf(stderr, "show sync: %s\n", t);
	free(t);
	cJSON_Delete(a);
}

/* Run the loop until cond holds (true) or seconds pass (false). */
#define RUN_UNTIL(secs, cond)                                                              \
	({                                                                                 \
		uint64_t end_ = sl_loop_now_ns() + (uint64_t)((secs) * 1e9);               \
		bool ok_;                                                                  \
		while (!(ok_ = (cond)) && sl_loop_now_ns() < end_)                         \
			sl_loop_run_once(loop, 20);                                        \
		if (!ok_)                                                                  \
			dump();                                                            \
		ok_;                                                                       \
	})

static void run_for(double secs)
{
	uint64_t end = sl_loop_now_ns() + (uint64_t)(secs * 1e9);
	while (sl_loop_now_ns() < end)
		sl_loop_run_once(loop, 20);
}

static bool has_svc(const char *name)
{
	return sl_model_svc_find(model, "default", name) != NULL;
}

static void kubeconfig(const char *path, const char *ca)
{
	FILE *f = fopen(path, "w");
	fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
		   "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%d\n"
		   "    certificate-authority: %s\n"
		   "users:\n- name: u\n  user:\n    tokenFile: token\n"
		   "contexts:\n- name: t\n  context: {cluster: c, user: u}\n", api_port, ca);
	fclose(f);
}

static int setup(void **st)
{
	if (system("command -v openssl >/dev/null && command -v python3 >/dev/null") != 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/test_k8s_sync.XXXXXX");
	assert_non_null(mkdtemp(dir));
	sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 "
	   "-subj /CN=t-ca -addext basicConstraints=critical,CA:TRUE "
	   "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null && "
	   "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 1 "
	   "-subj /CN=other-ca 2>/dev/null && "
	   "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
	   "-subj /CN=kube-apiserver 2>/dev/null && "
	   "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' >ext && "
	   "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	   "-out server.crt -days 1 -extfile ext 2>/dev/null && printf tok-1 >token", dir);
	api_port = free_port();
	admin_port = free_port();
	char script[512], ap[16], adp[16], cert[128], key[128], ca[128];
	snprintf(script, sizeof(script), "%s/tests/integration/kube_apiserver.py", src_root);
	snprintf(ap, sizeof(ap), "%d", api_port);
	snprintf(adp, sizeof(adp), "%d", admin_port);
	snprintf(cert, sizeof(cert), "%s/server.crt", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	if ((server = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execlp("python3", "python3", script, "--port", ap, "--admin-port", adp, "--cert", cert,
		       "--key", key, "--ca", ca, "--tokens", "tok-1", (char *)NULL);
		_exit(127);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < 100 && admin("{'op':'state'}") != 200; i++)
		usleep(50000);
	assert_int_equal(admin("{'op':'state'}"), 200);
	return 0;
}

static int teardown(void **st)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	if (dir[0])
		sh("rm -rf %s", dir);
	return 0;
}

static void start_sync_with(const char *ca_file, const char *preload);

static void start_sync(const char *ca_file)
{
	start_sync_with(ca_file, NULL);
}

/* preload: a Service the model holds before the sync starts (restored from a state file). */
static void start_sync_with(const char *ca_file, const char *preload)
{
	struct sl_model_self self = { .node_name = "node1", .node_ip = sl_ip4(htonl(0xc6120001)),
				      .pod_cidr = sl_cidr4(htonl(0x0af40100), 24) };
	char kc[128], ca[128], err[512] = "";
	loop = sl_loop_create();
	model = sl_model_create(&self, NULL);
	snprintf(ca, sizeof(ca), "%s/%s", dir, ca_file);
	snprintf(kc, sizeof(kc), "%s/kubeconfig", dir);
	kubeconfig(kc, ca);
	if (preload) {
		struct sl_k8s_op *ops = calloc(1, sizeof(*ops));
		ops->kind = SL_K8S_SERVICE;
		ops->svc = calloc(1, sizeof(*ops->svc));
		snprintf(ops->svc->namespace, sizeof(ops->svc->namespace), "default");
		snprintf(ops->svc->name, sizeof(ops->svc->name), "%s", preload);
		ops->svc->type = SL_SVC_CLUSTER_IP;
		assert_int_equal(sl_model_k8s_apply(model, ops, 1, err, sizeof(err)), 0);
		sl_k8s_ops_free(ops, 1);
		assert_true(has_svc(preload));
	}
	struct sl_kube_sync_conf conf = { .kubeconfig = kc, .node_name = "node1", .publish = true,
					  .pub = { .ip = self.node_ip, .vni = 1,
						   .mac = { 2, 0, 0, 0, 0, 1 } } };
	assert_int_equal(sl_kube_sync_start(loop, model, &conf, err, sizeof(err)), 0);
}

static void stop_sync(void)
{
	sl_kube_sync_stop();
	sl_model_destroy(model);
	sl_loop_destroy(loop);
}

static void test_sync_cases(void **st)
{
	/* The cluster: this node, a flannel node, a node without a pod CIDR yet, a Service and
	 * its slice, a headless-labelled slice and another proxy's Service (not selected). */
	assert_int_equal(admin("{'op':'put_many','objects':["
		"{'kind':'Node','metadata':{'name':'node1'},'spec':{'podCIDR':'10.244.1.0/24'},"
		" 'status':{'addresses':[{'type':'InternalIP','address':'198.18.0.1'}]}},"
		"{'kind':'Node','metadata':{'name':'node2','annotations':{"
		"  'flannel.alpha.coreos.com/backend-type':'vxlan',"
		"  'flannel.alpha.coreos.com/backend-data':'{\\'VNI\\':1,\\'VtepMAC\\':\\'0a:00:00:00:00:02\\'}',"
		"  'flannel.alpha.coreos.com/public-ip':'198.18.0.2'}},"
		" 'spec':{'podCIDRs':['10.244.2.0/24']}},"
		"{'kind':'Node','metadata':{'name':'node3'},'spec':{}},"
		"{'kind':'Service','metadata':{'name':'web','namespace':'default'},"
		" 'spec':{'clusterIP':'10.96.0.10','ports':[{'port':80,'targetPort':8080}]}},"
		"{'kind':'Service','metadata':{'name':'theirs','namespace':'default','labels':"
		" {'service.kubernetes.io/service-proxy-name':'other'}},"
		" 'spec':{'clusterIP':'10.96.0.11','ports':[{'port':80,'targetPort':8080}]}},"
		"{'kind':'EndpointSlice','metadata':{'name':'web-1','namespace':'default','labels':"
		" {'kubernetes.io/service-name':'web'}},'addressType':'IPv4',"
		" 'endpoints':[{'addresses':['10.244.1.3'],'nodeName':'node1'}],"
		" 'ports':[{'port':8080,'protocol':'TCP'}]},"
		"{'kind':'Service','metadata':{'name':'bad','namespace':'default'},"
		" 'spec':{'clusterIP':'10.96.0.12','ports':[{'port':99999}]}}"
		"]}"), 200);
	assert_int_equal(admin("{'op':'bookmarks','seconds':0.2}"), 200);
	start_sync("ca.crt");
	assert_true(RUN_UNTIL(5, has_svc("web") && sl_model_slice_find(model, "default", "web-1") &&
				     sl_model_node_find(model, "node2") &&
				     stat_of("node/self", "patches") >= 1 &&
				     !strcmp(state_of("node/self"), "published")));
	/* node2 with flannel's VTEP MAC; node3 (no podCIDR) and this node are not remote
	 * nodes; another proxy's Service is not selected; a bad one is refused and counted. */
	struct sl_model_node *n2 = sl_model_node_find(model, "node2");
	assert_true(n2->spec.has_vtep_mac && n2->spec.vtep_mac[5] == 2);
	assert_null(sl_model_node_find(model, "node3"));
	assert_null(sl_model_node_find(model, "node1"));
	assert_false(has_svc("theirs"));
	assert_false(has_svc("bad"));
	assert_true(stat_of("services", "refused") == 1);
	struct sl_model_counts c;
	sl_model_counts(model, &c);
	assert_int_equal(c.services, 1);
	assert_true(RUN_UNTIL(3, stat_of("services", "bookmarks") >= 2));
	/* The stand-in serves streaming lists: every list was one (KEP-3157). */
	assert_string_equal(str_of("services", "last_list"), "watch-list");
	assert_string_equal(str_of("nodes", "list_mode"), "watch-list");
	assert_true(stat_of("services", "streamed") == 1 && stat_of("services", "lists") == 1);

	/* A dropped watch resumes from its resourceVersion: no relist. */
	double lists = stat_of("services", "lists");
	assert_int_equal(admin("{'op':'drop_watches'}"), 200);
	put_svc("a", "10.96.1.1");
	assert_true(RUN_UNTIL(5, has_svc("a")));
	assert_true(stat_of("services", "lists") == lists);
	assert_true(stat_of("services", "relists") == 0);

	/* 410 mid-watch: relist, nothing duplicated. */
	assert_int_equal(admin("{'op':'expire'}"), 200);
	assert_true(RUN_UNTIL(5, stat_of("services", "relists") == 1 &&
				     !strcmp(state_of("services"), "watching")));
	assert_true(stat_of("services", "applied") == 2); /* web and a, once each */

	/* From here the server refuses streaming lists as kube-apiserver does with the WatchList
	 * feature off (422): the next relist falls back to list + watch, and stays there.
	 * 600 Services (two list pages); the next relist's continue token expires: the list
	 * starts again and still ends with every Service, none deleted by mistake. */
	assert_int_equal(admin("{'op':'watch_list','mode':'reject'}"), 200);
	char *many = malloc(600 * 200 + 64), *p = many;
	p += sprintf(p, "{'op':'put_many','objects':[");
	for (int i = 0; i < 600; i++)
		p += sprintf(p, "%s{'kind':'Service','metadata':{'name':'s%d','namespace':'default'},"
			     "'spec':{'clusterIP':'10.96.%d.%d','ports':[{'port':80}]}}",
			     i ? "," : "", i, 2 + i / 250, 1 + i % 250);
	strcpy(p, "]}");
	assert_int_equal(admin("%s", many), 200);
	free(many);
	assert_true(RUN_UNTIL(10, has_svc("s599")));
	assert_int_equal(admin("{'op':'expire_continue','count':1}"), 200);
	assert_int_equal(admin("{'op':'expire'}"), 200);
	assert_true(RUN_UNTIL(10, stat_of("services", "relists") == 2 &&
				      !strcmp(state_of("services"), "watching")));
	assert_true(stat_of("services", "expired") >= 3);
	assert_true(stat_of("services", "watch_list_fallbacks") == 1);
	assert_string_equal(str_of("services", "list_mode"), "list");
	assert_string_equal(str_of("services", "last_list"), "list");
	sl_model_counts(model, &c);
	assert_int_equal(c.services, 602);

	/* The server down: the model keeps its state; objects deleted and created meanwhile
	 * (history compacted) are there when it is back, through a relist diff. */
	assert_int_equal(admin("{'op':'stop'}"), 200);
	assert_true(RUN_UNTIL(5, !strcmp(state_of("services"), "retrying")));
	assert_true(has_svc("web") && has_svc("a"));
	del_svc("a");
	put_svc("b", "10.96.1.2");
	assert_int_equal(admin("{'op':'expire'}"), 200);
	assert_int_equal(admin("{'op':'start'}"), 200);
	assert_true(RUN_UNTIL(20, has_svc("b") && !has_svc("a")));
	assert_true(has_svc("web"));

	/* Token rotation: the old token revoked, the file rewritten, watches broken. */
	double reads = stat_of("node/self", "token_reads");
	assert_int_equal(admin("{'op':'tokens','tokens':['tok-2']}"), 200);
	sh("cd %s && printf tok-2 >token.new && mv token.new token", dir);
	assert_int_equal(admin("{'op':'drop_watches'}"), 200);
	put_svc("c", "10.96.1.3");
	assert_true(RUN_UNTIL(15, has_svc("c")));
	assert_true(stat_of("node/self", "token_reads") > reads);
	stop_sync();
	assert_int_equal(admin("{'op':'watch_list','mode':'on'}"), 200);
}

/* Objects the model held before the sync (a state file restored at start) that the cluster no
 * longer has are deleted by the first list; the others are replaced by the cluster's. */
static void test_restored_state_converges(void **st)
{
	sh("cd %s && printf tok-4 >token", dir);
	assert_int_equal(admin("{'op':'tokens','tokens':['tok-4']}"), 200);
	start_sync_with("ca.crt", "stale");
	assert_true(RUN_UNTIL(5, has_svc("web") && !has_svc("stale") &&
				     !strcmp(state_of("services"), "watching")));
	assert_true(stat_of("services", "deleted") == 1);
	/* Another writer strips our annotations five times in a row: we publish again, at most
	 * one PATCH a second. */
	assert_true(RUN_UNTIL(5, !strcmp(state_of("node/self"), "published")));
	double p0 = stat_of("node/self", "patches");
	uint64_t t0 = sl_loop_now_ns();
	for (int i = 0; i < 5; i++) {
		assert_int_equal(admin("{'op':'put','object':{'kind':'Node','metadata':{'name':'node1'},"
				       "'spec':{'podCIDR':'10.244.1.0/24'}}}"), 200);
		run_for(0.1);
	}
	assert_true(RUN_UNTIL(5, !strcmp(state_of("node/self"), "published")));
	double secs = (double)(sl_loop_now_ns() - t0) / 1e9;
	assert_true(stat_of("node/self", "patches") > p0);
	assert_true(stat_of("node/self", "patches") - p0 <= 1 + secs);
	stop_sync();
}

/* A client certificate instead of a token (kubeconfig client-certificate-data/client-key-data,
 * base64 as kubectl writes them); no token accepted at all. */
static void test_client_certificate(void **st)
{
	struct sl_model_self self = { .node_name = "node1", .node_ip = sl_ip4(htonl(0xc6120001)),
				      .pod_cidr = sl_cidr4(htonl(0x0af40100), 24) };
	char kc[128], err[512] = "";
	sh("cd %s && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
	   "-subj /CN=system:node:node1 2>/dev/null && printf 'extendedKeyUsage=clientAuth\n' >cext && "
	   "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	   "-out client.crt -days 1 -extfile cext 2>/dev/null && "
	   "{ printf 'apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n"
	   "  cluster:\n    server: https://127.0.0.1:%d\n    certificate-authority: ca.crt\n"
	   "users:\n- name: u\n  user:\n    client-certificate-data: %%s\n"
	   "    client-key-data: %%s\ncontexts:\n- name: t\n  context: {cluster: c, user: u}\n' "
	   "\"$(base64 -w0 client.crt)\" \"$(base64 -w0 client.key)\"; } >certconfig", dir, api_port);
	assert_int_equal(admin("{'op':'tokens','tokens':[]}"), 200);
	loop = sl_loop_create();
	model = sl_model_create(&self, NULL);
	snprintf(kc, sizeof(kc), "%s/certconfig", dir);
	struct sl_kube_sync_conf conf = { .kubeconfig = kc, .node_name = "node1" };
	assert_int_equal(sl_kube_sync_start(loop, model, &conf, err, sizeof(err)), 0);
	assert_true(RUN_UNTIL(5, has_svc("web") && !strcmp(state_of("services"), "watching")));
	stop_sync();
}

/* A server whose certificate another CA signed is refused: nothing is applied. */
static void test_wrong_ca_refused(void **st)
{
	start_sync("other.crt");
	assert_true(RUN_UNTIL(5, stat_of("services", "errors") >= 1));
	assert_string_equal(state_of("services"), "retrying");
	cJSON *a = sl_kube_sync_show(), *r;
	bool said = false;
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(a, "resources"))
		said |= strstr(cJSON_GetObjectItem(r, "last_error")->valuestring, "certificate") != NULL;
	cJSON_Delete(a);
	assert_true(said);
	struct sl_model_counts c;
	sl_model_counts(model, &c);
	assert_int_equal(c.services + c.nodes + c.slices, 0);
	stop_sync();
}

/* In-cluster credentials: KUBERNETES_SERVICE_HOST/PORT, the service account folder's CA and
 * token (read again when it rotates). */
static void test_in_cluster(void **st)
{
	struct sl_model_self self = { .node_name = "node1", .node_ip = sl_ip4(htonl(0xc6120001)),
				      .pod_cidr = sl_cidr4(htonl(0x0af40100), 24) };
	char port[16], sa[128], err[512] = "";
	snprintf(port, sizeof(port), "%d", api_port);
	snprintf(sa, sizeof(sa), "%s/sa", dir);
	sh("mkdir -p %s && cp %s/ca.crt %s/ca.crt && printf tok-sa >%s/token", sa, dir, sa, sa);
	assert_int_equal(admin("{'op':'tokens','tokens':['tok-sa']}"), 200);
	unsetenv("KUBERNETES_SERVICE_HOST");
	loop = sl_loop_create();
	model = sl_model_create(&self, NULL);
	struct sl_kube_sync_conf conf = { .sa_dir = sa, .node_name = "node1" };
	assert_int_equal(sl_kube_sync_start(loop, model, &conf, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	assert_int_equal(sl_kube_sync_start(loop, model, &conf, err, sizeof(err)), 0);
	assert_true(RUN_UNTIL(5, has_svc("web") && !strcmp(state_of("services"), "watching")));
	/* The token rotates: the next request carries the new one. */
	assert_int_equal(admin("{'op':'tokens','tokens':['tok-sa2']}"), 200);
	sh("printf tok-sa2 >%s/token.new && mv %s/token.new %s/token", sa, sa, sa);
	assert_int_equal(admin("{'op':'drop_watches'}"), 200);
	put_svc("d", "10.96.1.4");
	assert_true(RUN_UNTIL(10, has_svc("d")));
	stop_sync();
}

/* Batches: a list page (or a run of SL_KUBE_LIST_LIMIT initial events) of Pods is one model
 * transaction: one policy notification (so one compile and publish), not one per Pod. 1,200
 * Pods of the namespace of a NetworkPolicy that selects them all: 3 batches, streamed and
 * then listed (the server refusing streaming lists). */
static unsigned notifies;
static void count_notify(void *ctx, uint64_t generation)
{
	notifies++;
}

static void test_pod_batches(void **st)
{
	enum { PODS = 1200 };
	char *many = malloc(PODS * 300 + 512), *p = many;
	p += sprintf(p, "{'op':'put_many','objects':["
		     "{'kind':'NetworkPolicy','metadata':{'name':'all','namespace':'batch'},"
		     " 'spec':{'podSelector':{},'policyTypes':['Ingress']}}");
	for (int i = 0; i < PODS; i++)
		p += sprintf(p, ",{'kind':'Pod','metadata':{'name':'p%d','namespace':'batch',"
			     "'labels':{'app':'a%d'}},'spec':{'nodeName':'node2','containers':"
			     "[{'name':'c'}]},'status':{'phase':'Running','podIP':'10.244.%d.%d'}}",
			     i, i % 7, 2 + i / 250, 1 + i % 250);
	strcpy(p, "]}");
	assert_int_equal(admin("%s", many), 200);
	free(many);
	sh("cd %s && printf tok-9 >token", dir);
	assert_int_equal(admin("{'op':'tokens','tokens':['tok-9']}"), 200);
	const char *modes[] = { "on", "reject" };
	for (int m = 0; m < 2; m++) {
		unsigned n_ns, n_pods, n_pol;
		size_t bytes;
		assert_int_equal(admin("{'op':'watch_list','mode':'%s'}", modes[m]), 200);
		start_sync("ca.crt");
		notifies = 0;
		sl_model_policy_set_notify(model, count_notify, NULL);
		assert_true(RUN_UNTIL(15, stat_of("pods", "objects") == PODS &&
					      !strcmp(state_of("pods"), "watching") &&
					      !strcmp(state_of("networkpolicies"), "watching")));
		sl_model_policy_counts(model, &n_ns, &n_pods, &n_pol, &bytes);
		assert_int_equal(n_pods, PODS);
		assert_int_equal(n_pol, 1);
		assert_string_equal(str_of("pods", "last_list"), m ? "list" : "watch-list");
		assert_true(stat_of("pods", "batches") == 3);
		assert_true(stat_of("pods", "batch_max") == 500);
		assert_true(stat_of("pods", "applied") == PODS);
		/* the policy's batch and the Pods' 3 (the Pods before the policy notify nothing) */
		assert_true(notifies >= 1 && notifies <= 4);
		stop_sync();
	}
	assert_int_equal(admin("{'op':'watch_list','mode':'on'}"), 200);
}

/* The Node read once at start (--pod-cidr-from-node): its podCIDR, or a timeout while it has
 * none. */
static void test_node_fetch(void **st)
{
	char kc[128], ca[128], err[512] = "";
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(kc, sizeof(kc), "%s/kubeconfig", dir);
	kubeconfig(kc, ca);
	sh("cd %s && printf tok-3 >token", dir);
	assert_int_equal(admin("{'op':'tokens','tokens':['tok-3']}"), 200);
	struct sl_kube_sync_conf conf = { .kubeconfig = kc, .node_name = "node2" };
	struct sl_kube_node n;
	char b[SL_CIDR_STR_MAX];
	assert_int_equal(sl_kube_node_fetch(&conf, 2, &n, err, sizeof(err)), 0);
	assert_string_equal(sl_cidr_fmt(n.spec.pod_cidr, b), "10.244.2.0/24");
	conf.node_name = "node3"; /* no podCIDR */
	assert_int_equal(sl_kube_node_fetch(&conf, 1, &n, err, sizeof(err)), -ETIMEDOUT);
	assert_string_equal(err, "node node3: no spec.podCIDR yet");
	conf.node_name = "nope";
	assert_int_equal(sl_kube_node_fetch(&conf, 0, &n, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "GET node nope: HTTP 404");
}

int main(int argc, char **argv)
{
	src_root = argc > 1 ? argv[1] : ".";
	if (system("command -v openssl >/dev/null && command -v python3 >/dev/null") != 0)
		return 77;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_cases),
		cmocka_unit_test(test_wrong_ca_refused),
		cmocka_unit_test(test_node_fetch),
		cmocka_unit_test(test_in_cluster),
		cmocka_unit_test(test_restored_state_converges),
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_pod_batches),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
