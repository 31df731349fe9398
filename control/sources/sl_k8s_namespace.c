/* The v1 Namespace decoder (see sl_k8s_policy.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_k8s_field.h"
#include "sl_k8s_policy.h"
#include "sl_k8s_policy_int.h"

int sl_k8s_parse_namespace(const cJSON *o, const char *base, struct sl_ns_spec **ret,
			   char *err, size_t n)
{
	*ret = NULL;
	if (sl_k8s_want_obj(o, base, err, n) || sl_k8s_check_kind(o, base, "Namespace", "v1", err, n))
		return -EINVAL;
	struct sl_ns_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return sl_k8s_nomem(-ENOMEM, base, err, n);
	int rc = sl_k8s_pol_meta(o, base, s->name, sizeof(s->name), NULL, &s->labels, err, n);
	/* The API server sets kubernetes.io/metadata.name = name on every namespace (1.21+);
	 * a namespace given without it gets it here. */
	if (!rc && !sl_labels_get(&s->labels, SL_LABEL_NS_NAME)) {
		struct sl_label *v = realloc(s->labels.v, (s->labels.n + 1) * sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
		} else {
			s->labels.v = v;
			v[s->labels.n].key = strdup(SL_LABEL_NS_NAME);
			v[s->labels.n].value = strdup(s->name);
			if (!v[s->labels.n].key || !v[s->labels.n].value) {
				free(v[s->labels.n].key);
				free(v[s->labels.n].value);
				rc = -ENOMEM;
			} else {
				s->labels.n++;
				sl_labels_sort(&s->labels);
			}
		}
	} else if (!rc && strcmp(sl_labels_get(&s->labels, SL_LABEL_NS_NAME), s->name)) {
		char p[SL_K8S_PATH_MAX];
		rc = sl_k8s_fail(err, n, sl_k8s_sub(p, base, "metadata.labels[\"" SL_LABEL_NS_NAME "\"]"),
			  "must be the namespace's name '%s'", s->name);
	}
	if (rc) {
		sl_ns_spec_free(s);
		return sl_k8s_nomem(rc, base, err, n);
	}
	*ret = s;
	return 0;
}
