/* What the state file's unit tests share (see th_persist.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "control/model/sl_policy.h"
#include "control/model/sl_service.h"
#include "control/sources/sl_persist.h"
#include "control/sources/sl_request.h"
#include "th_persist.h"

char th_dir[64];

int th_setup(void **s)
{
	snprintf(th_dir, sizeof(th_dir), "/tmp/sl-persist-XXXXXX");
	return mkdtemp(th_dir) ? 0 : -1;
}

int th_teardown(void **s)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", th_dir);
	return system(cmd);
}

struct sl_model *th_new_model(void)
{
	struct sl_model_self self = { .pod_cidr = { .addr = { .af = AF_INET, .v4 = htonl(0x0af40100) },
						    .len = 24 } };
	self.node_ip.af = AF_INET;
	self.node_ip.v4 = htonl(0xc6120001); /* 198.18.0.1 */
	self.gateway_ip.af = AF_INET;
	self.gateway_ip.v4 = htonl(0x0af40101);
	struct sl_model *m = sl_model_create(&self, NULL);
	assert_non_null(m);
	return m;
}

void th_req_noted(struct sl_model *m, const char *text)
{
	struct sl_request r;
	char err[400] = "";
	int rc = sl_request_parse(text, strlen(text), &r, err, sizeof(err));
	if (rc)
		fail_msg("request %s: %s", text, err);
	sl_persist_note_request(&r);
	switch (r.cmd) {
	case SL_CMD_POD_ADD: rc = sl_model_pod_add(m, &r.pod, err, sizeof(err)); break;
	case SL_CMD_POD_DEL: rc = sl_model_pod_del(m, r.namespace, r.name, err, sizeof(err)); break;
	case SL_CMD_ROUTE_ADD: rc = sl_model_route_add(m, &r.route, err, sizeof(err)); break;
	case SL_CMD_APPLY: rc = sl_model_k8s_apply(m, r.ops, r.n_ops, err, sizeof(err)); break;
	case SL_CMD_SVC_DEL: rc = sl_model_svc_del(m, r.namespace, r.name, err, sizeof(err)); break;
	case SL_CMD_SLICE_DEL:
		rc = sl_model_slice_del(m, r.namespace, r.name, err, sizeof(err));
		break;
	case SL_CMD_K8S_DEL: /* as sl_api.c's */
		rc = r.k8s_kind == SL_K8S_NAMESPACE ? sl_model_ns_del(m, r.name, err, sizeof(err))
		     : r.k8s_kind == SL_K8S_POD
			     ? sl_model_kpod_del(m, r.namespace, r.name, err, sizeof(err))
			     : sl_model_policy_del(m, r.namespace, r.name, err, sizeof(err));
		break;
	default: fail_msg("no handler here for %s", text);
	}
	sl_request_free(&r);
	if (rc)
		fail_msg("request %s: %s", text, err);
}

void th_req(struct sl_model *m, const char *path, const char *text)
{
	th_req_noted(m, text);
	assert_int_equal(sl_persist_commit(path, m), 0);
}

void th_apply_svcs(struct sl_model *m, const char *path, unsigned first, unsigned count,
		   unsigned eps)
{
	size_t cap = 64 + count * (600 + eps * 64), l = 0;
	char *t = malloc(cap);
	l += (size_t)snprintf(t + l, cap - l, "{\"cmd\":\"apply\",\"objects\":{\"kind\":\"List\","
			      "\"items\":[");
	for (unsigned i = first; i < first + count; i++) {
		l += (size_t)snprintf(t + l, cap - l, "%s{\"kind\":\"Service\",\"metadata\":{\"name\":"
				      "\"svc-%u\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":"
				      "\"10.96.%u.%u\",\"ports\":[{\"port\":80,\"targetPort\":8080}]}},"
				      "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"svc-%u-x\","
				      "\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/service-name\":"
				      "\"svc-%u\"}},\"addressType\":\"IPv4\",\"endpoints\":[",
				      i == first ? "" : ",", i, i / 250, i % 250 + 1, i, i);
		for (unsigned k = 0; k < eps; k++)
			l += (size_t)snprintf(t + l, cap - l, "%s{\"addresses\":[\"10.244.%u.%u\"]}",
					      k ? "," : "", 2 + k, i % 250 + 1);
		l += (size_t)snprintf(t + l, cap - l, "],\"ports\":[{\"port\":8080}]}");
	}
	snprintf(t + l, cap - l, "]}}");
	th_req(m, path, t);
	free(t);
}

off_t th_file_size(const char *path, ino_t *ino)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (ino)
		*ino = st.st_ino;
	return st.st_size;
}

unsigned th_slice_eps(const struct sl_model *m, const char *name)
{
	struct sl_model_slice *s = sl_model_slice_find(m, "ns", name);
	return s ? s->spec->n_eps : 0;
}
