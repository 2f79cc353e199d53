/*
 * kafka-get-offsets (offsets of partitions at a time) and
 * kafka-delete-records (move log start offsets, from a JSON file).
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

#define GTOOL	"kafka-get-offsets"
#define DTOOL	"kafka-delete-records"

enum {
	O_BOOTSTRAP = 256, O_TOPIC, O_PARTITIONS, O_TIME, O_EXCLUDE_INTERNAL,
	O_JSON, O_HELP
};

static const char ghelp[] =
    "Usage: kafka-get-offsets.sh --bootstrap-server HOST:PORT [--topic "
    "REGEX]\n"
    "         [--partitions 0,1] [--time -1|-2|latest|earliest|TIMESTAMP]\n"
    "Print TOPIC:PARTITION:OFFSET for each partition: the latest offset "
    "(-1,\n"
    "default), the earliest (-2) or the first at or after a timestamp "
    "(ms).\n\n"
    "  --bootstrap-server HOST:PORT  broker (default localhost:9092)\n"
    "  --topic REGEX             topics to include (default all)\n"
    "  --partitions LIST         partition ids, comma-separated\n"
    "  --time T                  see above\n"
    "  --exclude-internal-topics leave out internal topics\n"
    "  --help                    print this help\n";

static const struct option glongopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "broker-list", required_argument, NULL, O_BOOTSTRAP },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "partitions", required_argument, NULL, O_PARTITIONS },
	{ "time", required_argument, NULL, O_TIME },
	{ "exclude-internal-topics", no_argument, NULL, O_EXCLUDE_INTERNAL },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

struct gopts {
	const char	*bootstrap, *topic, *partitions;
	int64_t		 time;
	bool		 exclude_internal;
};

static int
parse_time(struct gopts *o, const char *v)
{
	if (strcmp(v, "latest") == 0)
		o->time = -1;
	else if (strcmp(v, "earliest") == 0)
		o->time = -2;
	else if (!cli_parse_i64(v, &o->time) || o->time < -2)
		return cli_usage_err(GTOOL, "--time must be -1, -2, latest, "
		    "earliest or a timestamp (got '%s')", v);
	return CLI_OK;
}

static int
gparse(struct gopts *o, int argc, char **argv)
{
	int c, rc = CLI_OK;

	optind = 1;
	opterr = 0;
	while (rc == CLI_OK &&
	    (c = getopt_long(argc, argv, ":", glongopts, NULL)) != -1) {
		switch (c) {
		case O_HELP:
			return -1;
		case O_BOOTSTRAP:
			o->bootstrap = optarg;
			break;
		case O_TOPIC:
			o->topic = optarg;
			break;
		case O_PARTITIONS:
			o->partitions = optarg;
			break;
		case O_TIME:
			rc = parse_time(o, optarg);
			break;
		case O_EXCLUDE_INTERNAL:
			o->exclude_internal = true;
			break;
		default:
			return cli_bad_option(GTOOL, argc, argv, c);
		}
	}
	if (rc == CLI_OK && optind < argc)
		return cli_usage_err(GTOOL, "unexpected argument '%s'",
		    argv[optind]);
	return rc;
}

static bool
partition_wanted(const char *list, int32_t id)
{
	const char *p = list;

	if (list == NULL)
		return true;
	while (*p != '\0') {
		char *end;
		long v = strtol(p, &end, 10);
		if (end != p && v == id)
			return true;
		p = *end == ',' ? end + 1 : end + (*end != '\0');
	}
	return false;
}

static int
cmp_part(const void *a, const void *b)
{
	const rd_kafka_topic_partition_t *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	return c != 0 ? c : (x->partition > y->partition) -
	    (x->partition < y->partition);
}

/* The partitions selected by the options, sorted. */
static rd_kafka_topic_partition_list_t *
select_partitions(const struct gopts *o, const rd_kafka_metadata_t *md)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new(16);
	regex_t re;
	bool use_re = false;

	if (o->topic != NULL) {
		char *pat;
		if (asprintf(&pat, "^(%s)$", o->topic) < 0)
			abort();
		use_re = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0;
		free(pat);
	}
	for (int i = 0; i < md->topic_cnt; i++) {
		const rd_kafka_metadata_topic_t *t = &md->topics[i];
		if (t->err != 0 || (o->exclude_internal && t->topic[0] == '_' &&
		    t->topic[1] == '_'))
			continue;
		if (o->topic != NULL && (use_re ? regexec(&re, t->topic, 0,
		    NULL, 0) != 0 : strcmp(t->topic, o->topic) != 0))
			continue;
		for (int j = 0; j < t->partition_cnt; j++)
			if (partition_wanted(o->partitions,
			    t->partitions[j].id))
				rd_kafka_topic_partition_list_add(l, t->topic,
				    t->partitions[j].id);
	}
	if (use_re)
		regfree(&re);
	qsort(l->elems, (size_t)l->cnt, sizeof(*l->elems), cmp_part);
	return l;
}

static int
lookup_offsets(struct cli *c, const struct gopts *o,
    rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_resp_err_t err = 0;

	if (o->time >= 0) {
		for (int i = 0; i < l->cnt; i++)
			l->elems[i].offset = o->time;
		err = rd_kafka_offsets_for_times(c->rk, l, CLI_TIMEOUT_MS);
	}
	for (int i = 0; o->time < 0 && err == 0 && i < l->cnt; i++) {
		int64_t lo, hi;
		err = rd_kafka_query_watermark_offsets(c->rk, l->elems[i].topic,
		    l->elems[i].partition, &lo, &hi, CLI_TIMEOUT_MS);
		l->elems[i].offset = o->time == -2 ? lo : hi;
	}
	if (err != 0) {
		if (!cli_check_down(c))
			cli_err(GTOOL, "%s", rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

int
tool_get_offsets(int argc, char **argv)
{
	struct gopts o = { .time = -1 };
	const rd_kafka_metadata_t *md;
	rd_kafka_topic_partition_list_t *l;
	struct cli c;
	int rc = gparse(&o, argc, argv);

	if (rc != CLI_OK)
		return rc == -1 ? cli_help(ghelp) : rc;
	if (cli_open(&c, GTOOL, o.bootstrap, RD_KAFKA_PRODUCER, NULL) != 0)
		return CLI_FAIL;
	if ((md = cli_metadata(&c, NULL)) == NULL) {
		cli_close(&c);
		return CLI_FAIL;
	}
	l = select_partitions(&o, md);
	rd_kafka_metadata_destroy(md);
	if (l->cnt == 0 && o.topic != NULL) {
		cli_err(GTOOL, "no partitions of topic '%s'", o.topic);
		rc = CLI_FAIL;
	} else if (lookup_offsets(&c, &o, l) != 0) {
		rc = CLI_FAIL;
	}
	for (int i = 0; rc == CLI_OK && i < l->cnt; i++)
		if (l->elems[i].offset >= 0)
			printf("%s:%d:%lld\n", l->elems[i].topic,
			    (int)l->elems[i].partition,
			    (long long)l->elems[i].offset);
	rd_kafka_topic_partition_list_destroy(l);
	cli_close(&c);
	return rc;
}

/* ---- kafka-delete-records ---- */

static const char dhelp[] =
    "Usage: kafka-delete-records.sh --bootstrap-server HOST:PORT "
    "--offset-json-file FILE\n"
    "Delete the records before the given offsets.  FILE holds\n"
    "  {\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\":"
    " 3}], \"version\": 1}\n"
    "(offset -1 deletes up to the high watermark).\n\n"
    "  --bootstrap-server HOST:PORT  broker (default localhost:9092)\n"
    "  --offset-json-file FILE   the partitions and offsets\n"
    "  --help                    print this help\n";

static const struct option dlongopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "offset-json-file", required_argument, NULL, O_JSON },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

static rd_kafka_topic_partition_list_t *
read_offsets(const char *path)
{
	rd_kafka_topic_partition_list_t *l;
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je), *parts, *p;
	size_t i;

	if (root == NULL) {
		cli_err(DTOOL, "%s:%d: %s", path, je.line, je.text);
		return NULL;
	}
	parts = json_object_get(root, "partitions");
	if (!json_is_array(parts) || json_array_size(parts) == 0) {
		cli_err(DTOOL, "%s: no \"partitions\" array", path);
		json_decref(root);
		return NULL;
	}
	l = rd_kafka_topic_partition_list_new((int)json_array_size(parts));
	json_array_foreach(parts, i, p) {
		json_t *t = json_object_get(p, "topic");
		json_t *pa = json_object_get(p, "partition");
		json_t *off = json_object_get(p, "offset");
		if (!json_is_string(t) || !json_is_integer(pa) ||
		    !json_is_integer(off)) {
			cli_err(DTOOL, "%s: partition %zu needs topic, "
			    "partition and offset", path, i);
			rd_kafka_topic_partition_list_destroy(l);
			json_decref(root);
			return NULL;
		}
		rd_kafka_topic_partition_list_add(l, json_string_value(t),
		    (int32_t)json_integer_value(pa))->offset =
		    json_integer_value(off);
	}
	json_decref(root);
	return l;
}

static int
delete_records(struct cli *c, rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_DeleteRecords_t *dr = rd_kafka_DeleteRecords_new(l);
	rd_kafka_AdminOptions_t *ao = cli_admin_options(c,
	    RD_KAFKA_ADMIN_OP_DELETERECORDS);
	const rd_kafka_topic_partition_list_t *res;
	rd_kafka_event_t *ev;
	int rc = CLI_OK;

	printf("Executing records delete operation\n");
	rd_kafka_DeleteRecords(c->rk, &dr, 1, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_DeleteRecords_destroy(dr);
	if ((ev = cli_wait(c, RD_KAFKA_EVENT_DELETERECORDS_RESULT)) == NULL)
		return CLI_FAIL;
	res = rd_kafka_DeleteRecords_result_offsets(
	    rd_kafka_event_DeleteRecords_result(ev));
	printf("Records delete operation completed:\n");
	for (int i = 0; i < res->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &res->elems[i];
		if (p->err == 0) {
			printf("partition: %s-%d\tlow_watermark: %lld\n",
			    p->topic, (int)p->partition, (long long)p->offset);
			continue;
		}
		printf("partition: %s-%d\terror: %s\n", p->topic,
		    (int)p->partition, rd_kafka_err2str(p->err));
		cli_err(DTOOL, "%s-%d: %s", p->topic, (int)p->partition,
		    rd_kafka_err2str(p->err));
		rc = CLI_FAIL;
	}
	rd_kafka_event_destroy(ev);
	return rc;
}

int
tool_delete_records(int argc, char **argv)
{
	const char *bootstrap = NULL, *file = NULL;
	rd_kafka_topic_partition_list_t *l;
	struct cli c;
	int ch, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", dlongopts, NULL)) != -1) {
		if (ch == O_HELP)
			return cli_help(dhelp);
		if (ch == O_BOOTSTRAP)
			bootstrap = optarg;
		else if (ch == O_JSON)
			file = optarg;
		else
			return cli_bad_option(DTOOL, argc, argv, ch);
	}
	if (optind < argc)
		return cli_usage_err(DTOOL, "unexpected argument '%s'",
		    argv[optind]);
	if (file == NULL)
		return cli_usage_err(DTOOL, "--offset-json-file is required");
	if ((l = read_offsets(file)) == NULL)
		return CLI_FAIL;
	if (cli_open(&c, DTOOL, bootstrap, RD_KAFKA_PRODUCER, NULL) != 0) {
		rd_kafka_topic_partition_list_destroy(l);
		return CLI_FAIL;
	}
	rc = delete_records(&c, l);
	rd_kafka_topic_partition_list_destroy(l);
	cli_close(&c);
	return rc;
}
