/*
 * Fuzz target: the server's messages to the SCRAM client of the tools'
 * own connection (tools/cli_scram.c).  The input is a server-first
 * message, a newline, and a server-final message.  A message is taken or
 * refused with one line of error text; a client-final answers the nonce
 * the server sent, with a proof.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FUZZ_NONCE	"fuzzNonce"
#define FUZZ_MAX_ITER	64	/* PBKDF2 above this only slows the run */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_err(const char *err)
{
	if (err[0] == '\0' || strchr(err, '\n') != NULL)
		abort();
}

/* A large i= is valid input, but costs milliseconds per run: skip it. */
static bool
cheap(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++) {
		if (p[i] == 'i' && p[i + 1] == '=' && (i == 0 ||
		    p[i - 1] == ',')) {
			long v = 0;

			for (size_t k = i + 2; k < n && p[k] >= '0' &&
			    p[k] <= '9' && v <= FUZZ_MAX_ITER; k++)
				v = v * 10 + (p[k] - '0');
			if (v > FUZZ_MAX_ITER)
				return false;
		}
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t flen = nl != NULL ? (size_t)(nl - data) : size;
	struct scram_client sc;
	char err[256] = "", *first, *final, *sfirst, *sfinal;
	size_t tail = nl != NULL ? size - flen - 1 : 0;

	if (!cheap(data, flen))
		return 0;
	/* exact-size copies: a read past the end is the sanitizer's */
	sfirst = malloc(flen ? flen : 1);
	sfinal = malloc(tail ? tail : 1);
	if (sfirst == NULL || sfinal == NULL)
		abort();
	memcpy(sfirst, data, flen);
	if (tail > 0)
		memcpy(sfinal, nl + 1, tail);
	memset(&sc, 0, sizeof(sc));
	first = scram_client_first(&sc, SCRAM_SHA_256, "u,=", "pw",
	    FUZZ_NONCE);
	if (first == NULL || strcmp(first, "n,,n=u=2C=3D,r=" FUZZ_NONCE))
		abort();
	final = scram_client_final(&sc, sfirst, flen, err, sizeof(err));
	if (final == NULL)
		check_err(err);
	else {
		/* the nonce it answers is the server's, which extends ours */
		if (strncmp(final, "c=biws,r=" FUZZ_NONCE, 18) != 0 ||
		    strstr(final, ",p=") == NULL)
			abort();
		err[0] = '\0';
		if (scram_client_verify(&sc, sfinal, tail, err,
		    sizeof(err)) != 0)
			check_err(err);
	}
	free(first);
	free(final);
	scram_client_clear(&sc);
	free(sfirst);
	free(sfinal);
	return 0;
}
