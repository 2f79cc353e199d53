/*
 * Fuzz target: a configuration file.  Whatever the bytes, the loader must
 * either return a config whose strings are all set, or fail with error
 * text made of whole lines; and free everything either way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mo_config *cfg = NULL;
	char *errs = NULL;
	size_t n;

	if (config_load_mem("fuzz.yaml", (const char *)data, size, &cfg,
	    &errs) == 0) {
		if (cfg == NULL || errs != NULL || cfg->data_dir == NULL ||
		    cfg->cluster_id == NULL || cfg->compression_type == NULL ||
		    cfg->listeners.n == 0 || cfg->roles.n == 0)
			abort();
		config_free(cfg);
		return 0;
	}
	if (cfg != NULL || errs == NULL || (n = strlen(errs)) == 0 ||
	    errs[n - 1] != '\n')
		abort();
	free(errs);
	return 0;
}
