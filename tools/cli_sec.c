/*
 * --command-config: the client properties of Kafka's tools, for the
 * librdkafka client of a tool and for the connection of our own that
 * carries what librdkafka 2.0 has no API for (cli_raw.c).  That
 * connection speaks PLAINTEXT or SSL, with SASL PLAIN, SCRAM-SHA-256 or
 * SCRAM-SHA-512 on top (cli_scram.c does the SCRAM client).  TLS takes
 * librdkafka's PEM settings: ssl.ca.location, ssl.certificate.location,
 * ssl.key.location, ssl.endpoint.identification.algorithm; Kafka's
 * ssl.truststore.location is taken when its type is PEM.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "kerr.h"
#include "kproto.h"
#include "kproto_gen.h"
#include "xmalloc.h"

#define SASL_VERSION	1	/* SaslHandshake and SaslAuthenticate */

struct sec_load {
	const char		*tool;
	rd_kafka_conf_t		*conf;
	struct cli_sec		*sec;
	char			*trust, *trust_type;	/* Kafka's truststore */
	char			 trust_where[300];
};

/* The properties our own connection needs too (librdkafka's names). */
static const struct {
	const char	*key;
	size_t		 off;
} sec_keys[] = {
	{ "security.protocol", offsetof(struct cli_sec, protocol) },
	{ "sasl.mechanisms", offsetof(struct cli_sec, mechanism) },
	{ "sasl.username", offsetof(struct cli_sec, username) },
	{ "sasl.password", offsetof(struct cli_sec, password) },
	{ "ssl.ca.location", offsetof(struct cli_sec, ca) },
	{ "ssl.certificate.location", offsetof(struct cli_sec, cert) },
	{ "ssl.key.location", offsetof(struct cli_sec, key) },
	{ "ssl.endpoint.identification.algorithm",
	    offsetof(struct cli_sec, endpoint_id) },
};

static void
sec_wipe(char **slot)
{
	if (*slot != NULL)
		OPENSSL_cleanse(*slot, strlen(*slot));
	free(*slot);
	*slot = NULL;
}

static void
sec_keep(char **slot, const char *v)
{
	sec_wipe(slot);
	*slot = xstrdup(v);
}

/* One property into librdkafka's conf, and into sec if it is ours. */
static int
sec_set(struct sec_load *l, const char *where, const char *k, const char *v)
{
	char err[256];

	if (rd_kafka_conf_set(l->conf, k, v, err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK) {
		cli_err(l->tool, "%s: %s", where, err);
		return -1;
	}
	for (size_t i = 0; i < sizeof(sec_keys) / sizeof(sec_keys[0]); i++)
		if (strcmp(k, sec_keys[i].key) == 0)
			sec_keep((char **)((char *)l->sec + sec_keys[i].off), v);
	return 0;
}

/* sasl.jaas.config of the PLAIN and SCRAM login modules: "CLASS FLAG
   username="u" password="p";" gives librdkafka's username and password. */
static int
sec_jaas(struct sec_load *l, const char *where, const char *v)
{
	size_t n = strcspn(v, " \t");
	char *user = NULL, *pass = NULL;
	int rc = -1;

	if (n < 16 || (strncmp(v + n - 16, "PlainLoginModule", 16) != 0 &&
	    strncmp(v + n - 16, "ScramLoginModule", 16) != 0))
		cli_err(l->tool, "%s: sasl.jaas.config: login module %.*s is "
		    "not supported (PLAIN and SCRAM are)", where, (int)n, v);
	else if ((user = cli_jaas_opt(v + n, "username")) == NULL ||
	    (pass = cli_jaas_opt(v + n, "password")) == NULL)
		cli_err(l->tool, "%s: sasl.jaas.config: no username or "
		    "password", where);
	else if (sec_set(l, where, "sasl.username", user) == 0 &&
	    sec_set(l, where, "sasl.password", pass) == 0)
		rc = 0;
	free(user);
	if (pass != NULL)
		OPENSSL_cleanse(pass, strlen(pass));
	free(pass);
	return rc;
}

static int
sec_prop(void *arg, const char *where, const char *k, char *v)
{
	struct sec_load *l = arg;

	/* Kafka's truststore: resolved at the end (the type may follow) */
	if (strcmp(k, "ssl.truststore.location") == 0) {
		sec_keep(&l->trust, v);
		snprintf(l->trust_where, sizeof(l->trust_where), "%s", where);
		return 0;
	}
	if (strcmp(k, "ssl.truststore.type") == 0) {
		sec_keep(&l->trust_type, v);
		return 0;
	}
	if (strcmp(k, "ssl.truststore.password") == 0)
		return 0;	/* a PEM truststore has none */
	if (strcmp(k, "sasl.jaas.config") == 0)
		return sec_jaas(l, where, v);
	if (strcmp(k, "sasl.mechanism") == 0)	/* Kafka's name */
		return sec_set(l, where, "sasl.mechanisms", v);
	if (strcmp(k, "security.protocol") == 0)
		for (char *p = v; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	return sec_set(l, where, k, v);
}

/*
 * Kafka's ssl.truststore.location: a PEM truststore is librdkafka's
 * ssl.ca.location; JKS (Kafka's default type) and PKCS12 cannot be read.
 */
static int
sec_truststore(struct sec_load *l)
{
	const char *type = l->trust_type != NULL ? l->trust_type : "JKS";

	if (l->trust == NULL)
		return 0;
	if (strcasecmp(type, "PEM") != 0) {
		cli_err(l->tool, "%s: ssl.truststore.type %s%s is not "
		    "supported: give the CA certificates as a PEM file "
		    "(ssl.truststore.type=PEM, or ssl.ca.location)",
		    l->trust_where, type, l->trust_type == NULL ?
		    " (the default)" : "");
		return -1;
	}
	return sec_set(l, l->trust_where, "ssl.ca.location", l->trust);
}

int
cli_sec_load(const char *tool, const char *path, rd_kafka_conf_t *conf,
    struct cli_sec *sec)
{
	struct sec_load l = { tool, conf, sec, NULL, NULL, "" };
	int rc;

	rc = cli_props_load(tool, path, sec_prop, &l);
	if (rc == 0)
		rc = sec_truststore(&l);
	sec_wipe(&l.trust);
	sec_wipe(&l.trust_type);
	return rc;
}

void
cli_sec_clear(struct cli_sec *sec)
{
	for (size_t i = 0; i < sizeof(sec_keys) / sizeof(sec_keys[0]); i++)
		sec_wipe((char **)((char *)sec + sec_keys[i].off));
}

static bool
sec_is(const char *v, const char *want)
{
	return v != NULL && strcasecmp(v, want) == 0;
}

/* One SASL request on raw; -1 after an error line. */
static int
sasl_rpc(const char *tool, struct cli_raw *raw, int16_t key, const void *q,
    void *p, struct kp_arena *a, uint8_t **buf, const char *bootstrap)
{
	if (cli_raw_rpc(raw, key, SASL_VERSION, q, p, a, buf) == 0)
		return 0;
	cli_err(tool, "%s from %s (%s)", *buf == NULL ? "no answer" :
	    "malformed response", bootstrap, kp_msg_get(key)->name);
	return -1;
}

/* SaslHandshake for mech; -1 after an error line. */
static int
sasl_handshake(const char *tool, struct cli_raw *raw, const char *mech,
    const char *bootstrap)
{
	struct kp_sasl_handshake_request q;
	struct kp_sasl_handshake_response p;
	struct kp_arena a = { NULL };
	uint8_t *buf = NULL;
	int rc;

	kp_init(&kp_sasl_handshake_request_desc, &q);
	q.mechanism = kstr_c(mech);
	rc = sasl_rpc(tool, raw, KP_API_SASL_HANDSHAKE, &q, &p, &a, &buf,
	    bootstrap);
	if (rc == 0 && p.error_code != 0) {
		char list[256] = "";
		size_t at = 0;

		for (int32_t i = 0; i < p.mechanisms.n && at < sizeof(list);
		    i++)
			at += (size_t)snprintf(list + at, sizeof(list) - at,
			    "%s%.*s", i > 0 ? ", " : "",
			    (int)p.mechanisms.v[i].len, p.mechanisms.v[i].p);
		cli_err(tool, "SASL mechanism %s: %s (the broker enables: %s)",
		    mech, kerr_name(p.error_code), list);
		rc = -1;
	}
	kp_arena_clear(&a);
	free(buf);
	return rc;
}

/*
 * One SaslAuthenticate round: send tok, the server's bytes into *out
 * (caller frees; NUL-terminated, length *outlen); -1 after an error line.
 */
static int
sasl_round(const char *tool, struct cli_raw *raw, const char *tok,
    size_t len, char **out, size_t *outlen, const char *bootstrap)
{
	struct kp_sasl_authenticate_request q;
	struct kp_sasl_authenticate_response p;
	struct kp_arena a = { NULL };
	uint8_t *buf = NULL;
	int rc;

	kp_init(&kp_sasl_authenticate_request_desc, &q);
	q.auth_bytes.p = (const uint8_t *)tok;
	q.auth_bytes.len = (int32_t)len;
	rc = sasl_rpc(tool, raw, KP_API_SASL_AUTHENTICATE, &q, &p, &a, &buf,
	    bootstrap);
	if (rc == 0 && p.error_code != 0) {
		if (p.error_message.len > 0)
			cli_err(tool, "authentication failed: %s: %.*s",
			    kerr_name(p.error_code), (int)p.error_message.len,
			    p.error_message.p);
		else
			cli_err(tool, "authentication failed: %s",
			    kerr_name(p.error_code));
		rc = -1;
	}
	if (rc == 0 && out != NULL) {
		size_t n = p.auth_bytes.len > 0 ? (size_t)p.auth_bytes.len : 0;

		*out = xmalloc(n + 1);
		if (n > 0)
			memcpy(*out, p.auth_bytes.p, n);
		(*out)[n] = '\0';
		*outlen = n;
	}
	kp_arena_clear(&a);
	free(buf);
	return rc;
}

static int
sasl_plain(const char *tool, struct cli_raw *raw,
    const struct cli_sec *sec, const char *bootstrap)
{
	size_t ul = strlen(sec->username), pl = strlen(sec->password);
	char *tok = xcalloc(1, ul + pl + 2);
	int rc;

	/* authzid (none), user and password, a NUL before each of these */
	memcpy(tok + 1, sec->username, ul);
	memcpy(tok + ul + 2, sec->password, pl);
	rc = sasl_round(tool, raw, tok, ul + pl + 2, NULL, NULL, bootstrap);
	OPENSSL_cleanse(tok, ul + pl + 2);
	free(tok);
	return rc;
}

static int
sasl_scram(const char *tool, struct cli_raw *raw, int8_t mech,
    const struct cli_sec *sec, const char *bootstrap)
{
	struct scram_client sc;
	char *first, *final = NULL, *in = NULL, err[256];
	size_t inlen = 0;
	int rc = -1;

	memset(&sc, 0, sizeof(sc));
	if ((first = scram_client_first(&sc, mech, sec->username,
	    sec->password, NULL)) == NULL) {
		cli_err(tool, "cannot start the %s exchange",
		    scram_mech_name(mech));
		goto out;
	}
	if (sasl_round(tool, raw, first, strlen(first), &in, &inlen,
	    bootstrap) != 0)
		goto out;
	if ((final = scram_client_final(&sc, in, inlen, err, sizeof(err))) ==
	    NULL) {
		cli_err(tool, "%s: %s", scram_mech_name(mech), err);
		goto out;
	}
	free(in);
	in = NULL;
	if (sasl_round(tool, raw, final, strlen(final), &in, &inlen,
	    bootstrap) != 0)
		goto out;
	if (scram_client_verify(&sc, in, inlen, err, sizeof(err)) != 0) {
		cli_err(tool, "%s: %s", scram_mech_name(mech), err);
		goto out;
	}
	rc = 0;
out:
	free(first);
	if (final != NULL)
		OPENSSL_cleanse(final, strlen(final));
	free(final);
	free(in);
	scram_client_clear(&sc);
	return rc;
}

struct cli_raw *
cli_raw_open(const char *tool, const char *bootstrap,
    const struct cli_sec *sec)
{
	const char *proto = sec != NULL && sec->protocol != NULL ?
	    sec->protocol : "plaintext";
	const char *mech = sec != NULL && sec->mechanism != NULL ?
	    sec->mechanism : "GSSAPI";
	int8_t scram = scram_mech_parse(mech, strlen(mech));
	bool sasl = sec_is(proto, "sasl_plaintext") ||
	    sec_is(proto, "sasl_ssl");
	bool tls = sec_is(proto, "ssl") || sec_is(proto, "sasl_ssl");
	struct cli_raw *raw;
	char err[512];

	if (!sec_is(proto, "plaintext") && !sasl && !tls) {
		cli_err(tool, "security.protocol %s: want PLAINTEXT, SSL, "
		    "SASL_PLAINTEXT or SASL_SSL", proto);
		return NULL;
	}
	if (sasl && !sec_is(mech, "PLAIN") && scram == SCRAM_UNKNOWN) {
		cli_err(tool, "sasl.mechanism %s: PLAIN, SCRAM-SHA-256 and "
		    "SCRAM-SHA-512 are supported", mech);
		return NULL;
	}
	if (sasl && (sec->username == NULL || sec->password == NULL)) {
		cli_err(tool, "SASL needs a username and password "
		    "(sasl.jaas.config)");
		return NULL;
	}
	if ((raw = cli_raw_connect(bootstrap)) == NULL) {
		cli_err(tool, "cannot connect to bootstrap server %s",
		    bootstrap);
		return NULL;
	}
	if (tls) {
		/* librdkafka's default is https: check the name */
		struct cli_tls t = { sec->ca, sec->cert, sec->key,
		    sec->endpoint_id == NULL ||
		    strcasecmp(sec->endpoint_id, "none") != 0 };

		if (cli_raw_start_tls(raw, bootstrap, &t, err,
		    sizeof(err)) != 0) {
			cli_err(tool, "%s", err);
			cli_raw_close(raw);
			return NULL;
		}
	}
	if (sasl && (sasl_handshake(tool, raw, sec_is(mech, "PLAIN") ?
	    "PLAIN" : scram_mech_name(scram), bootstrap) != 0 ||
	    (scram == SCRAM_UNKNOWN ? sasl_plain(tool, raw, sec, bootstrap) :
	    sasl_scram(tool, raw, scram, sec, bootstrap)) != 0)) {
		cli_raw_close(raw);
		return NULL;
	}
	return raw;
}
