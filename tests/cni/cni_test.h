/* Shared by the sluice-cni unit tests (test_cni_*.c): a good ADD environment and
 * configuration and the checks that a variant of them is refused, the node facts sluiced
 * gives, and a path reader for results. Test code. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cni/api.h"
#include "cni/conf.h"

/* A good ADD environment (NULL-terminated). */
extern char *add_env[];
/* A good network configuration (veth, host-local IPAM). */
extern const char good[];
/* The node facts of the tests (10.244.1.0/24, gateway 10.244.1.1, pod MTU 1450). */
extern const struct sl_cni_node node;

/* Parse add_env with entry `drop` removed and `add` (if any) appended; expect code and a
 * message containing want. */
void expect_env(const char *drop, const char *add, int code, const char *want);
/* Replace the first occurrence of from in good by to, parse for cmd (ADD for expect_conf),
 * expect code and a message containing want. */
void expect_conf_cmd(enum sl_cni_cmd cmd, const char *from, const char *to, int code,
		     const char *want);
void expect_conf(const char *from, const char *to, int code, const char *want);
/* The value at path "key.index.key" of o as a string (numbers printed; "(none)" when
 * missing); a static buffer for numbers. */
const char *str(const cJSON *o, const char *path);
