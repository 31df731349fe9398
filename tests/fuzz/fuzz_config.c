/* libFuzzer target: the config file parser. */
#include <stddef.h>
#include <stdint.h>

#include "control/sources/sl_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_config c;
	char err[256];
	if (sl_config_parse((const char *)data, size, &c, err, sizeof(err)) == 0)
		sl_config_free(&c);
	return 0;
}
