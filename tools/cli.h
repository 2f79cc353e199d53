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
/* A blocking connection to the first host:port of bootstrap (10 s
   timeouts); -1 on failure. */
int	cli_raw_connect(const char *bootstrap);
/* Send one request (correlation id 1) on fd; the response frame after
   its size (caller frees), NULL on failure. */
uint8_t	*cli_raw_call(int fd, int16_t key, int16_t ver,
	    const struct kp_struct *, const void *msg, size_t *len);

/* Kafka's text form of the topic's id; -1 when unknown. */
int	cli_topic_id(struct cli *, const char *topic, char *, size_t);

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
