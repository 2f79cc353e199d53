/*
 * kafka-topics: --create, --list, --describe, --delete and --alter
 * (partitions) with Kafka's flags and output lines.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TOOL	"kafka-topics"
#define MAX_CONFIGS	64

static const char help[] =
    "Usage: kafka-topics.sh --bootstrap-server HOST:PORT ACTION [OPTIONS]\n"
    "Create, list, describe, alter or delete topics.\n\n"
    "Actions (exactly one):\n"
    "  --create                  create a topic (needs --topic)\n"
    "  --list                    list topic names\n"
    "  --describe                describe topics (all, or --topic)\n"
    "  --alter                   add partitions (--topic, --partitions)\n"
    "  --delete                  delete a topic (needs --topic)\n\n"
    "Options:\n"
    "  --bootstrap-server HOST:PORT  broker to connect to "
    "(default localhost:9092)\n"
    "  --topic NAME              topic name or regular expression\n"
    "  --partitions N            number of partitions\n"
    "  --replication-factor N    replication factor\n"
    "  --config KEY=VALUE        topic config for --create (repeatable)\n"
    "  --if-not-exists           --create: do nothing if the topic exists\n"
    "  --if-exists               --alter/--delete/--describe: do nothing "
    "if it does not\n"
    "  --exclude-internal        leave out internal topics\n"
    "  --help                    print this help\n";

enum { A_NONE, A_CREATE, A_LIST, A_DESCRIBE, A_ALTER, A_DELETE };

struct topts {
	int		 action;
	const char	*bootstrap;
	const char	*topic;
	int32_t		 partitions;	/* -1 unset */
	int32_t		 rf;		/* -1 unset */
	const char	*configs[MAX_CONFIGS];
	size_t		 nconfigs;
	bool		 if_not_exists, if_exists, exclude_internal;
};

enum {
	O_BOOTSTRAP = 256, O_CREATE, O_LIST, O_DESCRIBE, O_ALTER, O_DELETE,
	O_TOPIC, O_PARTITIONS, O_RF, O_CONFIG, O_IF_NOT_EXISTS, O_IF_EXISTS,
	O_EXCLUDE_INTERNAL, O_HELP
};

static const struct option longopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "create", no_argument, NULL, O_CREATE },
	{ "list", no_argument, NULL, O_LIST },
	{ "describe", no_argument, NULL, O_DESCRIBE },
	{ "alter", no_argument, NULL, O_ALTER },
	{ "delete", no_argument, NULL, O_DELETE },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "partitions", required_argument, NULL, O_PARTITIONS },
	{ "replication-factor", required_argument, NULL, O_RF },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "if-not-exists", no_argument, NULL, O_IF_NOT_EXISTS },
	{ "if-exists", no_argument, NULL, O_IF_EXISTS },
	{ "exclude-internal", no_argument, NULL, O_EXCLUDE_INTERNAL },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

static int
set_action(struct topts *o, int a)
{
	if (o->action != A_NONE && o->action != a)
		return cli_usage_err(TOOL, "only one of --create, --list, "
		    "--describe, --alter, --delete is allowed");
	o->action = a;
	return CLI_OK;
}

static int
parse_value(struct topts *o, int c)
{
	switch (c) {
	case O_BOOTSTRAP:
		o->bootstrap = optarg;
		return CLI_OK;
	case O_TOPIC:
		o->topic = optarg;
		return CLI_OK;
	case O_PARTITIONS:
		if (!cli_parse_i32(optarg, &o->partitions) ||
		    o->partitions < 1)
			return cli_usage_err(TOOL, "--partitions must be a "
			    "positive number (got '%s')", optarg);
		return CLI_OK;
	case O_RF:
		if (!cli_parse_i32(optarg, &o->rf) || o->rf < 1 ||
		    o->rf > INT16_MAX)
			return cli_usage_err(TOOL, "--replication-factor must "
			    "be a positive number (got '%s')", optarg);
		return CLI_OK;
	case O_CONFIG:
		if (strchr(optarg, '=') == NULL)
			return cli_usage_err(TOOL, "--config wants KEY=VALUE "
			    "(got '%s')", optarg);
		if (o->nconfigs == MAX_CONFIGS)
			return cli_usage_err(TOOL, "too many --config");
		o->configs[o->nconfigs++] = optarg;
		return CLI_OK;
	default:
		return CLI_USAGE;
	}
}

static int
check_opts(const struct topts *o)
{
	if (o->action == A_NONE)
		return cli_usage_err(TOOL, "one of --create, --list, "
		    "--describe, --alter, --delete is required");
	if ((o->action == A_CREATE || o->action == A_ALTER ||
	    o->action == A_DELETE) && o->topic == NULL)
		return cli_usage_err(TOOL, "--topic is required");
	if (o->action == A_ALTER && o->partitions < 0)
		return cli_usage_err(TOOL, "--alter needs --partitions (use "
		    "kafka-configs.sh to change configs)");
	if (o->nconfigs > 0 && o->action != A_CREATE)
		return cli_usage_err(TOOL, "--config is only valid with "
		    "--create (use kafka-configs.sh to alter configs)");
	if (o->rf >= 0 && o->action != A_CREATE)
		return cli_usage_err(TOOL, "--replication-factor is only "
		    "valid with --create");
	return CLI_OK;
}

static int
parse(struct topts *o, int argc, char **argv)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->partitions = -1;
	o->rf = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case O_HELP:
			return -1;
		case O_CREATE:
		case O_LIST:
		case O_DESCRIBE:
		case O_ALTER:
		case O_DELETE:
			rc = set_action(o, c - O_CREATE + A_CREATE);
			break;
		case O_IF_NOT_EXISTS:
			o->if_not_exists = true;
			rc = CLI_OK;
			break;
		case O_IF_EXISTS:
			o->if_exists = true;
			rc = CLI_OK;
			break;
		case O_EXCLUDE_INTERNAL:
			o->exclude_internal = true;
			rc = CLI_OK;
			break;
		case '?':
		case ':':
			return cli_bad_option(TOOL, argc, argv, c);
		default:
			rc = parse_value(o, c);
			break;
		}
		if (rc != CLI_OK)
			return rc;
	}
	if (optind < argc)
		return cli_usage_err(TOOL, "unexpected argument '%s'",
		    argv[optind]);
	return check_opts(o);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
is_internal(const char *name)
{
	return strcmp(name, "__consumer_offsets") == 0 ||
	    strcmp(name, "__transaction_state") == 0;
}

/* Names of the topics matching o->topic (all without it), sorted. */
static const char **
select_topics(const struct topts *o, const rd_kafka_metadata_t *md,
    size_t *np)
{
	const char **v = calloc((size_t)md->topic_cnt + 1, sizeof(*v));
	regex_t re;
	bool use_re = false;
	size_t n = 0;

	if (v == NULL)
		abort();
	if (o->topic != NULL && strpbrk(o->topic, "*?[]()|+^$\\") != NULL) {
		char *pat;
		if (asprintf(&pat, "^(%s)$", o->topic) < 0)
			abort();
		use_re = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0;
		free(pat);
	}
	for (int i = 0; i < md->topic_cnt; i++) {
		const char *t = md->topics[i].topic;
		if (md->topics[i].err != 0)
			continue;
		if (o->exclude_internal && is_internal(t))
			continue;
		if (o->topic != NULL && (use_re ? regexec(&re, t, 0, NULL,
		    0) != 0 : strcmp(t, o->topic) != 0))
			continue;
		v[n++] = t;
	}
	if (use_re)
		regfree(&re);
	qsort(v, n, sizeof(*v), cmp_str);
	*np = n;
	return v;
}

static int
do_list(struct cli *c, const struct topts *o)
{
	const rd_kafka_metadata_t *md = cli_metadata(c, NULL);
	const char **names;
	size_t n;

	if (md == NULL)
		return CLI_FAIL;
	names = select_topics(o, md, &n);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", names[i]);
	free(names);
	rd_kafka_metadata_destroy(md);
	return CLI_OK;
}

/* "k=v,k=v" of the configs not at Kafka's defaults. */
static void
print_configs(struct cli *c, const char *topic)
{
	const rd_kafka_ConfigResource_t *res;
	const rd_kafka_ConfigEntry_t **e;
	rd_kafka_event_t *ev;
	size_t n, k = 0;

	ev = cli_describe_configs(c, RD_KAFKA_RESOURCE_TOPIC, topic, &res);
	if (ev == NULL)
		return;
	e = rd_kafka_ConfigResource_configs(res, &n);
	for (size_t i = 0; i < n; i++) {
		const char *v = rd_kafka_ConfigEntry_value(e[i]);
		if (rd_kafka_ConfigEntry_source(e[i]) ==
		    RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG)
			continue;
		printf("%s%s=%s", k++ > 0 ? "," : "",
		    rd_kafka_ConfigEntry_name(e[i]), v != NULL ? v : "null");
	}
	rd_kafka_event_destroy(ev);
}

static void
print_ids(const int32_t *v, int n)
{
	for (int i = 0; i < n; i++)
		printf("%s%d", i > 0 ? "," : "", v[i]);
}

static void
describe_topic(struct cli *c, const rd_kafka_metadata_topic_t *t,
    const char *topic_id)
{
	int rf = t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;

	printf("Topic: %s\tTopicId: %s\tPartitionCount: %d\t"
	    "ReplicationFactor: %d\tConfigs: ", t->topic, topic_id,
	    t->partition_cnt, rf);
	print_configs(c, t->topic);
	printf("\n");
	for (int p = 0; p < t->partition_cnt; p++) {
		const rd_kafka_metadata_partition_t *mp = NULL;
		for (int i = 0; i < t->partition_cnt; i++)
			if (t->partitions[i].id == p)
				mp = &t->partitions[i];
		if (mp == NULL)
			continue;
		printf("\tTopic: %s\tPartition: %d\tLeader: %d\tReplicas: ",
		    t->topic, p, mp->leader);
		print_ids(mp->replicas, mp->replica_cnt);
		printf("\tIsr: ");
		print_ids(mp->isrs, mp->isr_cnt);
		printf("\n");
	}
}

static int
do_describe(struct cli *c, const struct topts *o)
{
	const rd_kafka_metadata_t *md = cli_metadata(c, NULL);
	const char **names;
	size_t n;

	if (md == NULL)
		return CLI_FAIL;
	names = select_topics(o, md, &n);
	if (n == 0 && o->topic != NULL && !o->if_exists) {
		fprintf(stderr, "Error while executing topic command : Topic "
		    "'%s' does not exist as expected\n", o->topic);
		free(names);
		rd_kafka_metadata_destroy(md);
		return CLI_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		char id[64];
		if (cli_topic_id(c, names[i], id, sizeof(id)) != 0)
			snprintf(id, sizeof(id), "%s", "");
		describe_topic(c, cli_md_topic(md, names[i]), id);
	}
	free(names);
	rd_kafka_metadata_destroy(md);
	return CLI_OK;
}

/* Result of a topic admin call: 0, or -1 after printing the error. */
static int
topic_result(const rd_kafka_topic_result_t **res, size_t n, bool ok_exists)
{
	for (size_t i = 0; i < n; i++) {
		rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
		const char *msg = rd_kafka_topic_result_error_string(res[i]);

		if (err == 0 || (ok_exists &&
		    err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS))
			continue;
		fprintf(stderr, "Error while executing topic command : %s\n",
		    msg != NULL && *msg != '\0' ? msg : rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

static int
do_create(struct cli *c, const struct topts *o)
{
	char err[256];
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic,
	    o->partitions, o->rf, err, sizeof(err));
	rd_kafka_AdminOptions_t *ao;
	const rd_kafka_topic_result_t **res;
	rd_kafka_event_t *ev;
	size_t n;
	int rc;

	if (nt == NULL) {
		fprintf(stderr, "Error while executing topic command : %s\n",
		    err);
		return CLI_FAIL;
	}
	for (size_t i = 0; i < o->nconfigs; i++) {
		char *kv = strdup(o->configs[i]), *eq = strchr(kv, '=');
		*eq = '\0';
		rd_kafka_NewTopic_set_config(nt, kv, eq + 1);
		free(kv);
	}
	ao = cli_admin_options(c, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_CreateTopics(c->rk, &nt, 1, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_NewTopic_destroy(nt);
	if ((ev = cli_wait(c, RD_KAFKA_EVENT_CREATETOPICS_RESULT)) == NULL)
		return CLI_FAIL;
	res = rd_kafka_CreateTopics_result_topics(
	    rd_kafka_event_CreateTopics_result(ev), &n);
	rc = topic_result(res, n, o->if_not_exists);
	if (rc == 0 && rd_kafka_topic_result_error(res[0]) == 0)
		printf("Created topic %s.\n", o->topic);
	rd_kafka_event_destroy(ev);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

static int
do_delete(struct cli *c, const struct topts *o)
{
	const rd_kafka_metadata_t *md = cli_metadata(c, NULL);
	rd_kafka_DeleteTopic_t **dt;
	rd_kafka_AdminOptions_t *ao;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	const char **names;
	size_t n, nres;
	int rc;

	if (md == NULL)
		return CLI_FAIL;
	names = select_topics(o, md, &n);
	if (n == 0) {
		free(names);
		rd_kafka_metadata_destroy(md);
		if (o->if_exists)
			return CLI_OK;
		fprintf(stderr, "Error while executing topic command : Topic "
		    "'%s' does not exist as expected\n", o->topic);
		return CLI_FAIL;
	}
	dt = calloc(n, sizeof(*dt));
	for (size_t i = 0; i < n; i++)
		dt[i] = rd_kafka_DeleteTopic_new(names[i]);
	ao = cli_admin_options(c, RD_KAFKA_ADMIN_OP_DELETETOPICS);
	rd_kafka_DeleteTopics(c->rk, dt, n, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_DeleteTopic_destroy_array(dt, n);
	free(dt);
	free(names);
	rd_kafka_metadata_destroy(md);
	if ((ev = cli_wait(c, RD_KAFKA_EVENT_DELETETOPICS_RESULT)) == NULL)
		return CLI_FAIL;
	res = rd_kafka_DeleteTopics_result_topics(
	    rd_kafka_event_DeleteTopics_result(ev), &nres);
	rc = topic_result(res, nres, false);
	rd_kafka_event_destroy(ev);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

static int
do_alter(struct cli *c, const struct topts *o)
{
	char err[256];
	rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(o->topic,
	    (size_t)o->partitions, err, sizeof(err));
	rd_kafka_AdminOptions_t *ao;
	const rd_kafka_topic_result_t **res;
	rd_kafka_event_t *ev;
	size_t n;
	int rc;

	if (np == NULL) {
		fprintf(stderr, "Error while executing topic command : %s\n",
		    err);
		return CLI_FAIL;
	}
	ao = cli_admin_options(c, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
	rd_kafka_CreatePartitions(c->rk, &np, 1, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_NewPartitions_destroy(np);
	if ((ev = cli_wait(c, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT)) == NULL)
		return CLI_FAIL;
	res = rd_kafka_CreatePartitions_result_topics(
	    rd_kafka_event_CreatePartitions_result(ev), &n);
	rc = topic_result(res, n, false);
	rd_kafka_event_destroy(ev);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

int
tool_topics(int argc, char **argv)
{
	struct topts o;
	struct cli c;
	int rc = parse(&o, argc, argv);

	if (rc == -1)
		return cli_help(help);
	if (rc != CLI_OK)
		return rc;
	if (cli_open(&c, TOOL, o.bootstrap, RD_KAFKA_PRODUCER, NULL) != 0)
		return CLI_FAIL;
	switch (o.action) {
	case A_CREATE:
		rc = do_create(&c, &o);
		break;
	case A_LIST:
		rc = do_list(&c, &o);
		break;
	case A_DESCRIBE:
		rc = do_describe(&c, &o);
		break;
	case A_DELETE:
		rc = do_delete(&c, &o);
		break;
	default:
		rc = do_alter(&c, &o);
		break;
	}
	cli_close(&c);
	return rc;
}
