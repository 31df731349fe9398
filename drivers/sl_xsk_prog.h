/* The compiled XDP redirect program (drivers/xsk_redirect.bpf.c), embedded in the binary so
 * sluiced needs no file at run time. Immutable. */
#pragma once
#include <stddef.h>

extern const unsigned char sl_xsk_prog_obj[];
extern const size_t sl_xsk_prog_obj_len;
