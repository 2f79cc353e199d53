/*
 * SASL message parsing (sasl_msg.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sasl_msg.h"
#include "xmalloc.h"

int
sasl_plain_parse(const uint8_t *p, size_t n, const char **user,
    size_t *ulen, const char **pw, size_t *pwlen)
{
	const uint8_t *n1 = n > 0 ? memchr(p, '\0', n) : NULL, *n2;

	if (n1 == NULL || (n2 = memchr(n1 + 1, '\0',
	    n - (size_t)(n1 + 1 - p))) == NULL)
		return -1;
	*user = (const char *)n1 + 1;
	*ulen = (size_t)(n2 - n1 - 1);
	*pw = (const char *)n2 + 1;
	*pwlen = n - (size_t)(n2 + 1 - p);
	return 0;
}

const char *
scram_attr(const char *msg, char k, size_t *len)
{
	for (const char *p = msg; p != NULL && *p != '\0';) {
		const char *end = strchr(p, ',');

		if (p[0] == k && p[1] == '=') {
			*len = end != NULL ? (size_t)(end - p - 2) :
			    strlen(p + 2);
			return p + 2;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

/* saslname: "=2C" is ',' and "=3D" is '='; NULL if malformed. */
static char *
scram_name(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '=') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 < len && s[i + 1] == '2' && s[i + 2] == 'C')
			out[o++] = ',';
		else if (i + 2 < len && s[i + 1] == '3' && s[i + 2] == 'D')
			out[o++] = '=';
		else {
			free(out);
			return NULL;
		}
		i += 2;
	}
	out[o] = '\0';
	return out;
}

int
scram_first_parse(const char *msg, const char **bare, char **user,
    const char **nonce, size_t *nlen)
{
	const char *name;
	size_t len;

	*user = NULL;
	/* gs2-header: no channel binding, no authzid */
	if (strncmp(msg, "n,,", 3) != 0 && strncmp(msg, "y,,", 3) != 0)
		return -1;
	*bare = msg + 3;
	if ((name = scram_attr(*bare, 'n', &len)) == NULL ||
	    (*nonce = scram_attr(*bare, 'r', nlen)) == NULL || *nlen == 0)
		return -1;
	if ((*user = scram_name(name, len)) == NULL)
		return -1;
	return 0;
}

/* Decode base64 s (len) into out (cap); the length, or -1. */
static int
unb64(const char *s, size_t len, unsigned char *out, size_t cap)
{
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > cap)
		return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0)
		return -1;
	if (s[len - 1] == '=')
		n--;
	if (s[len - 2] == '=')
		n--;
	return n;
}

int
scram_final_parse(const char *msg, const char **nonce, size_t *nlen,
    unsigned char *proof, size_t cap, size_t *prooflen,
    size_t *without_proof)
{
	const char *p64, *pp = strstr(msg, ",p=");
	size_t plen;
	int n;

	if (pp == NULL || (*nonce = scram_attr(msg, 'r', nlen)) == NULL ||
	    (p64 = scram_attr(msg, 'p', &plen)) == NULL ||
	    (n = unb64(p64, plen, proof, cap)) < 0)
		return -1;
	*prooflen = (size_t)n;
	*without_proof = (size_t)(pp - msg);
	return 0;
}
