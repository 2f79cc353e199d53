/*
 * Fuzz target: a client properties file (--command-config of kafka-acls)
 * and the options of a sasl.jaas.config value in it.  Whatever the bytes,
 * reading ends (an error names the line), every property handed over has
 * a non-empty key, both trimmed, and option values come back as strings.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
check(void *arg, const char *where, const char *k, char *v)
{
	size_t kl = strlen(k), vl = strlen(v);
	char *o;

	(void)arg;
	if (kl == 0 || isspace((unsigned char)k[0]) ||
	    isspace((unsigned char)k[kl - 1]) || strchr(k, '=') != NULL ||
	    (vl > 0 && (isspace((unsigned char)v[0]) ||
	    isspace((unsigned char)v[vl - 1]))) || strchr(where, ':') == NULL)
		abort();
	for (int i = 0; i < 2; i++) {
		if ((o = cli_jaas_opt(v, i ? "password" : "username")) != NULL &&
		    strlen(o) > vl)
			abort();
		free(o);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f;
	char *copy;

	if (size == 0 || (copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if ((f = fmemopen(copy, size, "r")) != NULL) {
		(void)cli_props_read("fuzz", f, "fuzz.properties", check, NULL);
		fclose(f);
	}
	free(copy);
	return 0;
}
