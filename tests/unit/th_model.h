/* The control model of the harness's node, for tests that run the model on the harness's
 * dataplane (harness.h). */
#pragma once
#include "model/sl_model.h"

/* A model of node1: node IP 198.18.0.1, pods 10.244.1.0/24 behind 10.244.1.1 (the
 * harness's addresses), with limits (NULL: the defaults) and no hooks. NULL when out of
 * memory. */
struct sl_model *th_model_create(const struct sl_model_limits *limits);
