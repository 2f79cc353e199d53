/*
 * Fuzz target: kafka-configs' --add-config / --delete-config values for
 * SCRAM users (tools/cli_scram.c).  The input is up to two values (its
 * first two lines); the first byte says which of them are
 * deletions.  A value parses or fails with one line of error text; what
 * parsed names each mechanism once, with a password and iterations.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Parse one value into e; false (e partly filled) after a failure. */
static bool
one(struct scram_edit *e, bool del, const char *arg)
{
	char err[256] = "";
	int rc = del ? scram_parse_delete(e, arg, err, sizeof(err)) :
	    scram_parse_add(e, arg, err, sizeof(err));

	if (e->nadd > SCRAM_NMECH || e->ndel > SCRAM_NMECH)
		abort();
	if (rc != 0) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			abort();
		return false;
	}
	for (size_t i = 0; i < e->nadd; i++) {
		if (e->add[i].password == NULL || e->add[i].iterations <= 0 ||
		    scram_mech_parse(scram_mech_name(e->add[i].mech),
		    strlen(scram_mech_name(e->add[i].mech))) != e->add[i].mech)
			abort();
		for (size_t k = 0; k < e->ndel; k++)
			if (e->del[k] == e->add[i].mech)
				abort();
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scram_edit e = { 0 };
	char *s, *nl;
	uint8_t how;

	if (size == 0)
		return 0;
	how = data[0];
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl++ = '\0';
		/* errors quote the value: one line each */
		nl[strcspn(nl, "\n")] = '\0';
	}
	if (one(&e, how & 1, s) && nl != NULL)
		(void)one(&e, how & 2, nl);
	scram_edit_clear(&e);
	free(s);
	return 0;
}
