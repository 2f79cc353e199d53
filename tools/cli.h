/*
 * moldau admin CLI: shared types of the tool modules.  Each Kafka-named
 * tool (kafka-topics, kafka-configs, ...) is a function taking argc/argv;
 * the moldau subcommands translate to them.
 */
#ifndef MO_CLI_H
#define MO_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <getopt.h>
#include <librdkafka/rdkafka.h>

#define CLI_DEFAULT_BOOTSTRAP	"localhost:9092"
#define CLI_TIMEOUT_MS		30000

/* Exit statuses. */
#define CLI_OK		0
#define CLI_FAIL	1
#define CLI_USAGE	2

/* One Kafka-named tool. */
struct cli_tool {
	const char	*name;		/* "kafka-topics" */
	int		(*main)(int, char **);
};

/* A client and its state while waiting for results. */
struct cli {
	const char		*tool;		/* for messages */
	const char		*bootstrap;
	rd_kafka_t		*rk;
	rd_kafka_queue_t	*q;		/* admin results */
	bool			 down;		/* all brokers down */
	char			 errstr[512];
	struct cli_topic_id {
		char	name[256];
		char	id[23];
	}			*ids;		/* cli_raw.c */
	size_t			 nids;
	bool			 ids_loaded;
};

/* ---- cli.c ---- */

void	cli_err(const char *tool, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A bad invocation: one line on stderr; returns CLI_USAGE. */
int	cli_usage_err(const char *tool, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Print the help text. */
int	cli_help(const char *text);
/* The bad option getopt_long just reported, as one line; CLI_USAGE. */
int	cli_bad_option(const char *tool, int argc, char **argv, int c);
/*
 * getopt_long over argv (long options only), each option handed to
 * one(arg, code); -1 at help (the caller prints it), a usage error for a
 * bad option or a stray argument, else one()'s first failure or CLI_OK.
 */
int	cli_getopts(const char *tool, int argc, char **argv,
	    const struct option *, int help, int (*one)(void *, int),
	    void *arg);
bool	cli_parse_i64(const char *, int64_t *);
bool	cli_parse_i32(const char *, int32_t *);

/*
 * Make a client of type (producer for admin), with extra "k=v" properties.
 * Returns -1 after printing an error.
 */
int	cli_open(struct cli *, const char *tool, const char *bootstrap,
	    rd_kafka_type_t, rd_kafka_conf_t *extra);
void	cli_close(struct cli *);
/* Poll until an admin result of type arrives; NULL after an error line. */
rd_kafka_event_t *cli_wait(struct cli *, rd_kafka_event_type_t);
/* Cluster metadata (all topics or one); NULL after an error line. */
const rd_kafka_metadata_t *cli_metadata(struct cli *, const char *topic);
/* Metadata's entry of a topic, or NULL. */
const rd_kafka_metadata_topic_t *cli_md_topic(const rd_kafka_metadata_t *,
	    const char *);
rd_kafka_AdminOptions_t *cli_admin_options(struct cli *,
	    rd_kafka_admin_op_t);
/* Did the client lose all brokers (reported already)? */
bool	cli_check_down(struct cli *);
/* "k=v" into conf; false after an error line. */
bool	cli_conf_set(struct cli *, rd_kafka_conf_t *, const char *kv);

/* Describe a resource's configs; the result event (caller destroys). */
rd_kafka_event_t *cli_describe_configs(struct cli *, rd_kafka_ResourceType_t,
	    const char *name, const rd_kafka_ConfigResource_t **out);

/* ---- cli_raw.c: requests librdkafka 2.0 has no API for ---- */
struct kp_struct;
struct cli_raw;		/* a blocking connection of our own */

/* TLS of our own connection (from --command-config). */
struct cli_tls {
	const char	*ca;		/* PEM CAs; NULL: the system's */
	const char	*cert, *key;	/* PEM client certificate and key */
	bool		 check_host;	/* the name in the certificate */
};

/* A blocking connection to the first host:port of bootstrap (10 s
   timeouts), plaintext for now; NULL on failure. */
struct cli_raw *cli_raw_connect(const char *bootstrap);
/* Make r a TLS connection to bootstrap's first host (verified against t's
   CAs); -1 with a one-line reason in err. */
int	cli_raw_start_tls(struct cli_raw *r, const char *bootstrap,
	    const struct cli_tls *t, char *err, size_t errsz);
void	cli_raw_close(struct cli_raw *);
/* Send one request (correlation id 1); the response frame after its size
   (caller frees), NULL on failure. */
uint8_t	*cli_raw_call(struct cli_raw *, int16_t key, int16_t ver,
	    const struct kp_struct *, const void *msg, size_t *len);

/*
 * cli_raw_call() of req (the request of key's kp_msg) and the decoding of
 * the response into resp: 0, or -1 with *buf NULL (no answer) or not
 * (malformed).  resp's strings point into *buf and its arrays into a; the
 * caller frees *buf and clears a, also after a failure.
 */
struct kp_arena;
int	cli_raw_rpc(struct cli_raw *, int16_t key, int16_t ver,
	    const void *req, void *resp, struct kp_arena *a, uint8_t **buf);

/* Kafka's text form of the topic's id; -1 when unknown. */
int	cli_topic_id(struct cli *, const char *topic, char *, size_t);

/* ---- cli_scram.c: SCRAM credentials of kafka-configs users ---- */
#define SCRAM_DEFAULT_ITERATIONS 4096
#define SCRAM_MAX_ITERATIONS	16384	/* Kafka brokers refuse more */
#define SCRAM_SALT_LEN		32
#define SCRAM_MAX_DIGEST	64	/* SHA-512 */
#define SCRAM_NMECH		2

/* Kafka's mechanism codes (AlterUserScramCredentials). */
enum scram_mech {
	SCRAM_UNKNOWN = 0,
	SCRAM_SHA_256 = 1,
	SCRAM_SHA_512 = 2
};

/* One "SCRAM-SHA-256=[iterations=N,password=P]". */
struct scram_cred {
	int8_t		 mech;
	int32_t		 iterations;	/* or SCRAM_DEFAULT_ITERATIONS */
	char		*password;
};

/* What --add-config and --delete-config ask for; {0} is empty. */
struct scram_edit {
	struct scram_cred	add[SCRAM_NMECH];
	size_t			nadd;
	int8_t			del[SCRAM_NMECH];
	size_t			ndel;
};

/* "SCRAM-SHA-256", or "UNKNOWN". */
const char *scram_mech_name(int8_t);
/* The code of a mechanism name (exact), SCRAM_UNKNOWN if none. */
int8_t	scram_mech_parse(const char *, size_t);
/*
 * Add an --add-config value ("MECH=[iterations=N,password=P],...", the
 * brackets optional with one key) or a --delete-config value ("MECH,...")
 * to e; -1 with a one-line message in err.  A mechanism may appear once in
 * all of them.  e may be partly filled after a failure: clear it.
 */
int	scram_parse_add(struct scram_edit *e, const char *arg, char *err,
	    size_t errsz);
int	scram_parse_delete(struct scram_edit *e, const char *arg, char *err,
	    size_t errsz);
/* Wipe the passwords and free them. */
void	scram_edit_clear(struct scram_edit *);
/* PBKDF2-HMAC of the mechanism's hash, digest-sized: its length, or -1. */
int	scram_salted_password(int8_t mech, const char *password,
	    const uint8_t *salt, size_t saltlen, int32_t iterations,
	    uint8_t *out, size_t outsz);
/* A random salt and the salted password of c; -1 on an OpenSSL failure. */
int	scram_cred_make(const struct scram_cred *c,
	    uint8_t salt[SCRAM_SALT_LEN], uint8_t salted[SCRAM_MAX_DIGEST],
	    size_t *salted_len);

/*
 * The client side of a SCRAM exchange (RFC 5802, RFC 7677) for our own
 * connections (cli_raw_open): client-first, client-final from the
 * server-first message, and the check of the server-final one.
 */
struct scram_client {
	int8_t		 mech;
	const char	*password;		/* borrowed */
	char		*first_bare;		/* "n=USER,r=NONCE" */
	char		*nonce;			/* the client's */
	char		*auth_message;		/* set by scram_client_final */
	uint8_t		 server_sig[SCRAM_MAX_DIGEST];
	size_t		 sig_len;
};

/* "n,,n=USER,r=NONCE" (caller frees); nonce NULL: a random one.  sc is
   {0} or was used before (it is cleared first).  NULL when mech is
   unknown, user is empty, nonce is not printable or has a comma, or
   OpenSSL fails. */
char	*scram_client_first(struct scram_client *, int8_t mech,
	    const char *user, const char *password, const char *nonce);
/* The client-final message for server-first (len bytes); NULL with a
   one-line reason in err (bad nonce, salt, iterations, or an e=). */
char	*scram_client_final(struct scram_client *, const char *server_first,
	    size_t len, char *err, size_t errsz);
/* 0 when server-final proves the server holds the password's keys; -1
   with a one-line reason in err. */
int	scram_client_verify(struct scram_client *, const char *server_final,
	    size_t len, char *err, size_t errsz);
/* Free and wipe. */
void	scram_client_clear(struct scram_client *);

/* ---- cli_props.c: client properties files (--command-config) ---- */
/* Called for each KEY=VALUE (both trimmed; value may be edited in place);
   where is "FILE:LINE".  Nonzero stops the reading. */
typedef int cli_prop_fn(void *arg, const char *where, const char *key,
	    char *value);
/* Read the properties of f (named name in messages): 0, or -1 after an
   error line naming the file and line. */
int	cli_props_read(const char *tool, FILE *f, const char *name,
	    cli_prop_fn *, void *);
int	cli_props_load(const char *tool, const char *path, cli_prop_fn *,
	    void *);
/* The value of option name in a JAAS entry: name="v" (backslash escapes)
   or name=v; NULL when absent or unterminated (caller frees). */
char	*cli_jaas_opt(const char *entry, const char *name);

/* ---- cli_sec.c: --command-config security, librdkafka's and ours ---- */
struct cli_sec {
	char	*protocol;	/* security.protocol (lower case); NULL: plain */
	char	*mechanism;	/* sasl.mechanism */
	char	*username, *password;
	char	*ca, *cert, *key;	/* ssl.{ca,certificate,key}.location */
	char	*endpoint_id;	/* ssl.endpoint.identification.algorithm */
};

/*
 * Read a --command-config file: every property into conf (Kafka's
 * sasl.mechanism and the sasl.jaas.config of the PLAIN and SCRAM login
 * modules as librdkafka's names), the security ones also into sec.  0, or
 * -1 after an error line naming the file and line.
 */
int	cli_sec_load(const char *tool, const char *path, rd_kafka_conf_t *,
	    struct cli_sec *);
/* Wipe and free. */
void	cli_sec_clear(struct cli_sec *);
/*
 * Our own connection to the first bootstrap server, as sec says (NULL:
 * PLAINTEXT): PLAINTEXT, SSL, or SASL_PLAINTEXT and SASL_SSL with PLAIN,
 * SCRAM-SHA-256 or SCRAM-SHA-512.  NULL after an error line.
 */
struct cli_raw *cli_raw_open(const char *tool, const char *bootstrap,
	    const struct cli_sec *);

/* ---- the tools ---- */
int	tool_topics(int, char **);
int	tool_console_producer(int, char **);
int	tool_console_consumer(int, char **);
int	tool_consumer_groups(int, char **);
int	tool_configs(int, char **);
int	tool_acls(int, char **);		/* cli_acls.c */
int	tool_get_offsets(int, char **);
int	tool_delete_records(int, char **);
int	tool_storage(int, char **);		/* cli_storage.c */
int	tool_status(int, char **);		/* cli_status.c */
int	tool_metadata_quorum(int, char **);	/* cli_quorum.c */

#endif
