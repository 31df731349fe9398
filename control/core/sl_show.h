/* The `show` tables (SL_FOREACH_SHOW in sl_cmd.h) and the node facts `version` gives: views
 * of the model and of the dataplane's tables and counters. Control thread only. */
#pragma once
#include <stddef.h>

#include <cjson/cJSON.h>

#include "model/sl_model.h"

/* The model the views read. */
void sl_show_init(struct sl_model *m);
/* One table as a new cJSON value, or NULL with err set (unknown table). */
cJSON *sl_show(const char *what, char *err, size_t errlen);
/* Node facts a client needs (node name, pod CIDR, gateway, pod MTU, pods) into o. */
void sl_show_describe(cJSON *o);
