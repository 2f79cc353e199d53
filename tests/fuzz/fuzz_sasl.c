/*
 * Fuzz target: SASL messages as clients send them in SaslAuthenticate
 * (broker/sasl_msg.c): PLAIN, SCRAM client-first and client-final.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *u, *pw, *bare, *nonce;
	size_t ulen, pwlen, nlen, plen, wlen;
	unsigned char proof[64 + 3];
	char *msg, *user;

	(void)sasl_plain_parse(data, size, &u, &ulen, &pw, &pwlen);
	if (size > 1024)
		return 0;
	msg = malloc(size + 1);
	if (msg == NULL)
		return 0;
	memcpy(msg, data, size);
	msg[size] = '\0';
	if (scram_first_parse(msg, &bare, &user, &nonce, &nlen) == 0)
		free(user);
	(void)scram_final_parse(msg, &nonce, &nlen, proof, sizeof(proof),
	    &plen, &wlen);
	free(msg);
	return 0;
}
