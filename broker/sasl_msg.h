/*
 * Parsing of SASL messages from clients (api_sasl.c): PLAIN and the two
 * SCRAM client messages.  Bounds-checked, no allocation but the decoded
 * user name; fuzzed by tests/fuzz/fuzz_sasl.c.
 */
#ifndef MO_SASL_MSG_H
#define MO_SASL_MSG_H

#include <stddef.h>
#include <stdint.h>

/* PLAIN: [authzid] NUL authcid NUL password.  0, or -1 if malformed. */
int	sasl_plain_parse(const uint8_t *, size_t, const char **user,
	    size_t *ulen, const char **pw, size_t *pwlen);

/*
 * SCRAM client-first-message msg (NUL-terminated): "n,," or "y,," then
 * the bare part "n=<saslname>,r=<nonce>[,...]".  *user is the decoded
 * name (malloc'ed).  0, or -1 if malformed.
 */
int	scram_first_parse(const char *msg, const char **bare, char **user,
	    const char **nonce, size_t *nlen);

/*
 * SCRAM client-final-message msg: its nonce, the proof decoded into
 * proof (cap bytes at least 3 more than the longest proof; *prooflen its
 * length) and the length of the message without ",p=...".  0 or -1.
 */
int	scram_final_parse(const char *msg, const char **nonce, size_t *nlen,
	    unsigned char *proof, size_t cap, size_t *prooflen,
	    size_t *without_proof);

/* The value of attribute "k=" in a comma-separated SCRAM message. */
const char *scram_attr(const char *msg, char k, size_t *len);

#endif
