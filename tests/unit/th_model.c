/* The control model of the harness's node (see th_model.h). */
#include <stdio.h>

#include "th_model.h"

struct sl_model *th_model_create(const struct sl_model_limits *limits)
{
	struct sl_model_self self = { 0 };
	snprintf(self.node_name, sizeof(self.node_name), "node1");
	if (sl_ip_parse("198.18.0.1", false, &self.node_ip) ||
	    sl_cidr_parse("10.244.1.0/24", false, &self.pod_cidr) ||
	    sl_ip_parse("10.244.1.1", false, &self.gateway_ip))
		return NULL;
	return sl_model_create(&self, limits);
}
