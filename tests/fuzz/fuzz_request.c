/* libFuzzer target: the API socket request parser. */
#include <stddef.h>
#include <stdint.h>

#include "control/sources/sl_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_request r;
	char err[256];
	if (sl_request_parse((const char *)data, size, &r, err, sizeof(err)) == 0)
		sl_request_free(&r);
	return 0;
}
