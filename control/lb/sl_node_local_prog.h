/* The compiled socket hooks (control/lb/node_local.bpf.c), embedded so sluiced needs no file
 * at run time. Immutable. */
#pragma once
#include <stddef.h>

extern const unsigned char sl_node_local_prog_obj[];
extern const size_t sl_node_local_prog_obj_len;
