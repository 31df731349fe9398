/* Helpers of the sluice-cni unit tests (see cni_test.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni_test.h"

char *add_env[] = {
	"CNI_COMMAND=ADD", "CNI_CONTAINERID=abc123", "CNI_NETNS=/var/run/netns/x",
	"CNI_IFNAME=eth0", "CNI_PATH=/opt/cni/bin:/usr/lib/cni",
	"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=web;K8S_POD_NAME=front-1", "HOME=/root", NULL,
};

const char good[] =
	"{\"cniVersion\":\"1.1.0\",\"name\":\"sluice\",\"type\":\"sluice-cni\","
	"\"socket\":\"/run/x.sock\",\"mtu\":1400,\"interface\":\"veth\","
	"\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"/tmp/d\"}}";

const struct sl_cni_node node = {
	.pod_net = 0x0001f40a, /* 10.244.1.0 */
	.pod_len = 24,
	.gateway = 0x0101f40a, /* 10.244.1.1 */
	.pod_mtu = 1450,
};

/* Parse env with entry `drop` removed and `add` (if any) appended; expect code and a
 * message containing want. */
void expect_env(const char *drop, const char *add, int code, const char *want)
{
	char *env[16];
	int n = 0;
	for (int i = 0; add_env[i]; i++)
		if (!drop || strncmp(add_env[i], drop, strlen(drop)))
			env[n++] = add_env[i];
	if (add)
		env[n++] = (char *)add;
	env[n] = NULL;
	struct sl_cni_env e;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_env_parse(env, &e, &err), -EINVAL);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, want))
		fail_msg("message \"%s\" does not contain \"%s\"", err.msg, want);
}

/* Replace the first occurrence of from in good by to, parse for cmd, expect code and a
 * message containing want. */
void expect_conf_cmd(enum sl_cni_cmd cmd, const char *from, const char *to, int code,
		     const char *want)
{
	char text[4096];
	const char *at = strstr(good, from);
	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	struct sl_cni_conf c;
	struct sl_cni_err err = { 0 };
	assert_int_equal(sl_cni_conf_parse(text, strlen(text), cmd, &c, &err), -EINVAL);
	if (err.code != code || !strstr(err.msg, want))
		fail_msg("%s: got code %d \"%s\", want code %d \"%s\"", text, err.code, err.msg,
			 code, want);
	sl_cni_conf_free(&c);
}

void expect_conf(const char *from, const char *to, int code, const char *want)
{
	expect_conf_cmd(SL_CNI_ADD, from, to, code, want);
}

const char *str(const cJSON *o, const char *path)
{
	/* path: "key.index.key" */
	char buf[128], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(k))
				     : cJSON_GetObjectItemCaseSensitive(o, k);
	if (cJSON_IsNumber(o)) {
		static char n[32];
		snprintf(n, sizeof(n), "%d", o->valueint);
		return n;
	}
	return cJSON_IsString(o) ? o->valuestring : "(none)";
}
