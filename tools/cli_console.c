/*
 * kafka-console-producer (stdin lines to a topic) and
 * kafka-console-consumer (a topic's records to stdout).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define PTOOL	"kafka-console-producer"
#define CTOOL	"kafka-console-consumer"
#define FLUSH_TIMEOUT_MS	(CLI_TIMEOUT_MS + 5000)

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- properties: "--property k=v" of the formatters and readers ---- */

struct props {
	bool		 parse_key, print_key, print_value;
	bool		 print_ts, print_partition, print_offset;
	const char	*key_sep;
	bool		 sep_set;
};

static bool
prop_bool(const char *v)
{
	return strcmp(v, "true") == 0;
}

static int
prop_set(const char *tool, struct props *p, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq != NULL ? (size_t)(eq - kv) : 0;
	static const struct {
		const char	*name;
		size_t		 off;
	} flags[] = {
		{ "parse.key", offsetof(struct props, parse_key) },
		{ "print.key", offsetof(struct props, print_key) },
		{ "print.value", offsetof(struct props, print_value) },
		{ "print.timestamp", offsetof(struct props, print_ts) },
		{ "print.partition", offsetof(struct props, print_partition) },
		{ "print.offset", offsetof(struct props, print_offset) },
	};

	if (eq == NULL)
		return cli_usage_err(tool, "--property wants KEY=VALUE (got "
		    "'%s')", kv);
	if (kl == strlen("key.separator") &&
	    strncmp(kv, "key.separator", kl) == 0) {
		p->key_sep = eq + 1;
		p->sep_set = true;
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strlen(flags[i].name) == kl &&
		    strncmp(kv, flags[i].name, kl) == 0) {
			*(bool *)((char *)p + flags[i].off) = prop_bool(eq + 1);
			return CLI_OK;
		}
	}
	/* Other reader/formatter properties are accepted and ignored. */
	return CLI_OK;
}

/* ---- producer ---- */

static const char phelp[] =
    "Usage: kafka-console-producer.sh --bootstrap-server HOST:PORT "
    "--topic TOPIC [OPTIONS]\n"
    "Read lines from standard input and produce each as a record.\n\n"
    "  --bootstrap-server HOST:PORT  broker (default localhost:9092;\n"
    "                            --broker-list is an alias)\n"
    "  --topic TOPIC             topic to produce to (required)\n"
    "  --property parse.key=true     split each line into key and value\n"
    "  --property key.separator=SEP  separator of key and value "
    "(default TAB)\n"
    "  --producer-property K=V   librdkafka producer property\n"
    "  --compression-codec CODEC compression (gzip, snappy, lz4, zstd)\n"
    "  --help                    print this help\n";

enum {
	O_BOOTSTRAP = 256, O_TOPIC, O_PROPERTY, O_CLIENT_PROPERTY,
	O_COMPRESSION, O_FROM_BEGINNING, O_GROUP, O_MAX_MESSAGES, O_TIMEOUT,
	O_PARTITION, O_OFFSET, O_HELP, O_IGNORED
};

static const struct option plongopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "broker-list", required_argument, NULL, O_BOOTSTRAP },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "property", required_argument, NULL, O_PROPERTY },
	{ "producer-property", required_argument, NULL, O_CLIENT_PROPERTY },
	{ "compression-codec", optional_argument, NULL, O_COMPRESSION },
	{ "sync", no_argument, NULL, O_IGNORED },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

struct popts {
	const char	*bootstrap, *topic;
	struct props	 props;
	rd_kafka_conf_t	*conf;
};

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err == 0)
		return;
	fprintf(stderr, "%s: delivery failed: %s\n", PTOOL,
	    rd_kafka_err2str(m->err));
	(*(size_t *)m->_private)++;
}

static int
pparse_one(struct popts *o, struct cli *tmp, int c)
{
	switch (c) {
	case O_BOOTSTRAP:
		o->bootstrap = optarg;
		return CLI_OK;
	case O_TOPIC:
		o->topic = optarg;
		return CLI_OK;
	case O_PROPERTY:
		return prop_set(PTOOL, &o->props, optarg);
	case O_CLIENT_PROPERTY:
		return cli_conf_set(tmp, o->conf, optarg) ? CLI_OK :
		    CLI_USAGE;
	case O_COMPRESSION:
		return cli_conf_set(tmp, o->conf, "compression.codec=gzip") ?
		    CLI_OK : CLI_USAGE;
	case O_IGNORED:
		return CLI_OK;
	default:
		return CLI_USAGE;
	}
}

static int
pparse(struct popts *o, int argc, char **argv)
{
	struct cli tmp = { .tool = PTOOL };
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", plongopts, NULL)) != -1) {
		if (c == O_HELP)
			return -1;
		if (c == '?' || c == ':')
			return cli_bad_option(PTOOL, argc, argv, c);
		if (c == O_COMPRESSION && optarg != NULL) {
			char kv[64];
			snprintf(kv, sizeof(kv), "compression.codec=%s",
			    optarg);
			rc = cli_conf_set(&tmp, o->conf, kv) ? CLI_OK :
			    CLI_USAGE;
		} else {
			rc = pparse_one(o, &tmp, c);
		}
		if (rc != CLI_OK)
			return rc;
	}
	if (optind < argc)
		return cli_usage_err(PTOOL, "unexpected argument '%s'",
		    argv[optind]);
	if (o->topic == NULL)
		return cli_usage_err(PTOOL, "--topic is required");
	return CLI_OK;
}

static int
produce_line(struct cli *c, const struct popts *o, char *line, size_t len,
    size_t lineno, size_t *failed)
{
	const char *sep = o->props.key_sep;
	char *key = NULL, *val = line;
	size_t klen = 0, vlen = len;
	rd_kafka_resp_err_t err;

	if (o->props.parse_key) {
		char *s = strstr(line, sep);
		if (s == NULL) {
			cli_err(PTOOL, "no key separator found on line "
			    "number %zu: '%s'", lineno, line);
			return -1;
		}
		key = line;
		klen = (size_t)(s - line);
		val = s + strlen(sep);
		vlen = len - klen - strlen(sep);
	}
	do {
		err = rd_kafka_producev(c->rk, RD_KAFKA_V_TOPIC(o->topic),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(val, vlen),
		    RD_KAFKA_V_OPAQUE(failed), RD_KAFKA_V_END);
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(c->rk, 100);
	} while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !cli_check_down(c));
	if (err != 0 && err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		cli_err(PTOOL, "%s", rd_kafka_err2str(err));
		return -1;
	}
	return err == 0 ? 0 : -1;
}

static int
produce_stdin(struct cli *c, const struct popts *o, size_t *failed)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int rc = 0;

	while (rc == 0 && !stop && (n = getline(&line, &cap, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		rc = produce_line(c, o, line, (size_t)n, ++lineno, failed);
		rd_kafka_poll(c->rk, 0);
	}
	free(line);
	return rc;
}

static int
flush_all(struct cli *c)
{
	int64_t deadline = mono_ms() + FLUSH_TIMEOUT_MS;

	while (rd_kafka_outq_len(c->rk) > 0) {
		rd_kafka_flush(c->rk, 100);
		if (cli_check_down(c))
			return -1;
		if (mono_ms() > deadline) {
			cli_err(PTOOL, "timed out delivering to %s",
			    c->bootstrap);
			return -1;
		}
	}
	return 0;
}

int
tool_console_producer(int argc, char **argv)
{
	struct popts o = { .props = { .key_sep = "\t" } };
	struct cli c;
	size_t failed = 0;
	int rc;

	o.conf = rd_kafka_conf_new();
	rd_kafka_conf_set(o.conf, "message.timeout.ms", "30000", NULL, 0);
	rd_kafka_conf_set(o.conf, "linger.ms", "5", NULL, 0);
	rc = pparse(&o, argc, argv);
	if (rc != CLI_OK) {
		rd_kafka_conf_destroy(o.conf);
		return rc == -1 ? cli_help(phelp) : rc;
	}
	rd_kafka_conf_set_dr_msg_cb(o.conf, dr_cb);
	if (cli_open(&c, PTOOL, o.bootstrap, RD_KAFKA_PRODUCER, o.conf) != 0)
		return CLI_FAIL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = produce_stdin(&c, &o, &failed);
	if (flush_all(&c) != 0)
		rc = -1;
	cli_close(&c);
	return rc == 0 && failed == 0 ? CLI_OK : CLI_FAIL;
}

/* ---- consumer ---- */

static const char chelp[] =
    "Usage: kafka-console-consumer.sh --bootstrap-server HOST:PORT "
    "--topic TOPIC [OPTIONS]\n"
    "Print a topic's records to standard output.\n\n"
    "  --bootstrap-server HOST:PORT  broker (default localhost:9092)\n"
    "  --topic TOPIC             topic to read (required)\n"
    "  --from-beginning          start at the earliest offset when there "
    "is no\n"
    "                            committed offset\n"
    "  --group GROUP             consume as a member of GROUP, committing "
    "offsets\n"
    "  --partition N             read only partition N\n"
    "  --offset earliest|latest|N    start offset (with --partition)\n"
    "  --max-messages N          exit after N records\n"
    "  --timeout-ms MS           exit when no record arrives for MS\n"
    "  --property print.key=true     print keys (also print.timestamp,\n"
    "                            print.partition, print.offset, "
    "key.separator)\n"
    "  --consumer-property K=V   librdkafka consumer property\n"
    "  --help                    print this help\n";

static const struct option clongopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "property", required_argument, NULL, O_PROPERTY },
	{ "consumer-property", required_argument, NULL, O_CLIENT_PROPERTY },
	{ "from-beginning", no_argument, NULL, O_FROM_BEGINNING },
	{ "group", required_argument, NULL, O_GROUP },
	{ "max-messages", required_argument, NULL, O_MAX_MESSAGES },
	{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
	{ "partition", required_argument, NULL, O_PARTITION },
	{ "offset", required_argument, NULL, O_OFFSET },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

struct copts {
	const char	*bootstrap, *topic, *group;
	bool		 from_beginning;
	int64_t		 max_messages;	/* -1 unlimited */
	int64_t		 timeout_ms;	/* -1 none */
	int32_t		 partition;	/* -1 all */
	int64_t		 offset;
	struct props	 props;
	rd_kafka_conf_t	*conf;
};

static int
parse_offset(struct copts *o, const char *v)
{
	if (strcmp(v, "earliest") == 0)
		o->offset = RD_KAFKA_OFFSET_BEGINNING;
	else if (strcmp(v, "latest") == 0)
		o->offset = RD_KAFKA_OFFSET_END;
	else if (!cli_parse_i64(v, &o->offset) || o->offset < 0)
		return cli_usage_err(CTOOL, "--offset must be earliest, latest "
		    "or a number (got '%s')", v);
	return CLI_OK;
}

static int
cparse_one(struct copts *o, struct cli *tmp, int c)
{
	switch (c) {
	case O_BOOTSTRAP:
		o->bootstrap = optarg;
		return CLI_OK;
	case O_TOPIC:
		o->topic = optarg;
		return CLI_OK;
	case O_GROUP:
		o->group = optarg;
		return CLI_OK;
	case O_FROM_BEGINNING:
		o->from_beginning = true;
		return CLI_OK;
	case O_PROPERTY:
		return prop_set(CTOOL, &o->props, optarg);
	case O_CLIENT_PROPERTY:
		return cli_conf_set(tmp, o->conf, optarg) ? CLI_OK :
		    CLI_USAGE;
	case O_MAX_MESSAGES:
		if (!cli_parse_i64(optarg, &o->max_messages) ||
		    o->max_messages < 0)
			return cli_usage_err(CTOOL, "--max-messages must be a "
			    "number (got '%s')", optarg);
		return CLI_OK;
	case O_TIMEOUT:
		if (!cli_parse_i64(optarg, &o->timeout_ms) ||
		    o->timeout_ms < 0)
			return cli_usage_err(CTOOL, "--timeout-ms must be a "
			    "number (got '%s')", optarg);
		return CLI_OK;
	case O_PARTITION:
		if (!cli_parse_i32(optarg, &o->partition) || o->partition < 0)
			return cli_usage_err(CTOOL, "--partition must be a "
			    "number (got '%s')", optarg);
		return CLI_OK;
	case O_OFFSET:
		return parse_offset(o, optarg);
	default:
		return CLI_USAGE;
	}
}

static int
cparse(struct copts *o, int argc, char **argv)
{
	struct cli tmp = { .tool = CTOOL };
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", clongopts, NULL)) != -1) {
		if (c == O_HELP)
			return -1;
		if (c == '?' || c == ':')
			return cli_bad_option(CTOOL, argc, argv, c);
		if ((rc = cparse_one(o, &tmp, c)) != CLI_OK)
			return rc;
	}
	if (optind < argc)
		return cli_usage_err(CTOOL, "unexpected argument '%s'",
		    argv[optind]);
	if (o->topic == NULL)
		return cli_usage_err(CTOOL, "--topic is required");
	if (o->offset != RD_KAFKA_OFFSET_INVALID && o->partition < 0)
		return cli_usage_err(CTOOL, "--offset needs --partition");
	if (o->offset != RD_KAFKA_OFFSET_INVALID && o->from_beginning)
		return cli_usage_err(CTOOL, "--offset and --from-beginning "
		    "exclude each other");
	return CLI_OK;
}

static void
print_record(const struct props *p, const rd_kafka_message_t *m)
{
	const char *sep = p->key_sep;

	if (p->print_ts) {
		rd_kafka_timestamp_type_t tt;
		int64_t ts = rd_kafka_message_timestamp(m, &tt);
		if (tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
			printf("NO_TIMESTAMP%s", sep);
		else
			printf("%s:%lld%s", tt ==
			    RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ?
			    "LogAppendTime" : "CreateTime", (long long)ts, sep);
	}
	if (p->print_partition)
		printf("Partition:%d%s", (int)m->partition, sep);
	if (p->print_offset)
		printf("Offset:%lld%s", (long long)m->offset, sep);
	if (p->print_key) {
		if (m->key == NULL)
			fputs("null", stdout);
		else
			fwrite(m->key, 1, m->key_len, stdout);
		fputs(sep, stdout);
	}
	if (p->print_value) {
		if (m->payload == NULL)
			fputs("null", stdout);
		else
			fwrite(m->payload, 1, m->len, stdout);
	}
	fputc('\n', stdout);
}

/* Assign all partitions of the topic (or one): no group. */
static int
assign_all(struct cli *c, const struct copts *o)
{
	const rd_kafka_metadata_t *md = cli_metadata(c, o->topic);
	const rd_kafka_metadata_topic_t *t;
	rd_kafka_topic_partition_list_t *l;
	int64_t start = o->offset != RD_KAFKA_OFFSET_INVALID ? o->offset :
	    o->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
	rd_kafka_resp_err_t err;

	if (md == NULL)
		return -1;
	t = cli_md_topic(md, o->topic);
	if (t == NULL || t->err != 0 || t->partition_cnt == 0) {
		cli_err(CTOOL, "topic '%s' does not exist", o->topic);
		rd_kafka_metadata_destroy(md);
		return -1;
	}
	if (o->partition >= t->partition_cnt) {
		cli_err(CTOOL, "topic '%s' has no partition %d", o->topic,
		    o->partition);
		rd_kafka_metadata_destroy(md);
		return -1;
	}
	l = rd_kafka_topic_partition_list_new(t->partition_cnt);
	for (int i = 0; i < t->partition_cnt; i++)
		if (o->partition < 0 || t->partitions[i].id == o->partition)
			rd_kafka_topic_partition_list_add(l, o->topic,
			    t->partitions[i].id)->offset = start;
	rd_kafka_metadata_destroy(md);
	err = rd_kafka_assign(c->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err != 0) {
		cli_err(CTOOL, "%s", rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

static int
subscribe(struct cli *c, const struct copts *o)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;

	if (o->partition >= 0)
		return assign_all(c, o);
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, o->topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(c->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err != 0) {
		cli_err(CTOOL, "%s", rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* Consume until done; returns the number printed or -1 on an error. */
static int64_t
consume_loop(struct cli *c, const struct copts *o)
{
	int64_t n = 0, last = mono_ms();

	while (!stop && (o->max_messages < 0 || n < o->max_messages)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);

		if (c->down) {
			cli_err(CTOOL, "cannot connect to bootstrap server "
			    "%s: %s", c->bootstrap, c->errstr);
			return -1;
		}
		if (m == NULL) {
			if (o->timeout_ms >= 0 &&
			    mono_ms() - last >= o->timeout_ms)
				break;
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
		    m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
			cli_err(CTOOL, "%s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			return -1;
		}
		if (m->err == 0) {
			print_record(&o->props, m);
			n++;
			last = mono_ms();
		}
		rd_kafka_message_destroy(m);
	}
	fflush(stdout);
	return n;
}

static int
consumer_conf(struct copts *o, char *gid, size_t gidsz)
{
	struct cli tmp = { .tool = CTOOL };
	char kv[320];

	if (o->group == NULL) {
		snprintf(gid, gidsz, "console-consumer-%d",
		    (int)(mono_ms() % 100000));
		o->group = gid;
		if (!cli_conf_set(&tmp, o->conf, "enable.auto.commit=false"))
			return -1;
	}
	snprintf(kv, sizeof(kv), "group.id=%s", o->group);
	if (!cli_conf_set(&tmp, o->conf, kv) || !cli_conf_set(&tmp, o->conf,
	    o->from_beginning ? "auto.offset.reset=earliest" :
	    "auto.offset.reset=latest"))
		return -1;
	return 0;
}

int
tool_console_consumer(int argc, char **argv)
{
	struct copts o = { .max_messages = -1, .timeout_ms = -1,
		.partition = -1, .offset = RD_KAFKA_OFFSET_INVALID,
		.props = { .key_sep = "\t", .print_value = true } };
	char gid[64];
	bool own_group;
	struct cli c;
	int64_t n;
	int rc;

	o.conf = rd_kafka_conf_new();
	rc = cparse(&o, argc, argv);
	if (rc != CLI_OK) {
		rd_kafka_conf_destroy(o.conf);
		return rc == -1 ? cli_help(chelp) : rc;
	}
	own_group = o.group == NULL;
	if (consumer_conf(&o, gid, sizeof(gid)) != 0) {
		rd_kafka_conf_destroy(o.conf);
		return CLI_USAGE;
	}
	if (cli_open(&c, CTOOL, o.bootstrap, RD_KAFKA_CONSUMER, o.conf) != 0)
		return CLI_FAIL;
	rd_kafka_poll_set_consumer(c.rk);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((own_group ? assign_all(&c, &o) : subscribe(&c, &o)) != 0) {
		cli_close(&c);
		return CLI_FAIL;
	}
	n = consume_loop(&c, &o);
	rd_kafka_consumer_close(c.rk);
	cli_close(&c);
	if (n >= 0)
		fprintf(stderr, "Processed a total of %lld messages\n",
		    (long long)n);
	return n >= 0 ? CLI_OK : CLI_FAIL;
}
