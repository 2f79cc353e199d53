/*
 * kafka-consumer-groups: --list, --describe (offsets and lag per
 * partition), --reset-offsets and --delete of consumer groups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TOOL		"kafka-consumer-groups"
#define MAX_NAMES	64

static const char help[] =
    "Usage: kafka-consumer-groups.sh --bootstrap-server HOST:PORT ACTION "
    "[OPTIONS]\n"
    "List, describe, reset or delete consumer groups.\n\n"
    "Actions (exactly one):\n"
    "  --list                    list group ids\n"
    "  --describe                offsets and lag of --group (or "
    "--all-groups)\n"
    "  --reset-offsets           set the committed offsets of an inactive "
    "group\n"
    "  --delete                  delete --group\n\n"
    "Options:\n"
    "  --bootstrap-server HOST:PORT  broker (default localhost:9092)\n"
    "  --group GROUP             group id (repeatable)\n"
    "  --all-groups              every group\n"
    "  --topic TOPIC[:P,P]       --reset-offsets: topic and partitions\n"
    "  --all-topics              --reset-offsets: all committed topics\n"
    "  --to-earliest, --to-latest, --to-offset N   the new offsets\n"
    "  --execute                 apply the reset (default: only show "
    "it)\n"
    "  --dry-run                 show the reset without applying it\n"
    "  --help                    print this help\n";

enum { A_NONE, A_LIST, A_DESCRIBE, A_RESET, A_DELETE };
enum { TO_NONE, TO_EARLIEST, TO_LATEST, TO_OFFSET };

enum {
	O_BOOTSTRAP = 256, O_LIST, O_DESCRIBE, O_RESET, O_DELETE, O_GROUP,
	O_ALL_GROUPS, O_TOPIC, O_ALL_TOPICS, O_EARLIEST, O_LATEST, O_OFFSET,
	O_EXECUTE, O_DRY_RUN, O_HELP
};

static const struct option longopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "list", no_argument, NULL, O_LIST },
	{ "describe", no_argument, NULL, O_DESCRIBE },
	{ "reset-offsets", no_argument, NULL, O_RESET },
	{ "delete", no_argument, NULL, O_DELETE },
	{ "group", required_argument, NULL, O_GROUP },
	{ "all-groups", no_argument, NULL, O_ALL_GROUPS },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "all-topics", no_argument, NULL, O_ALL_TOPICS },
	{ "to-earliest", no_argument, NULL, O_EARLIEST },
	{ "to-latest", no_argument, NULL, O_LATEST },
	{ "to-offset", required_argument, NULL, O_OFFSET },
	{ "execute", no_argument, NULL, O_EXECUTE },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

struct gopts {
	const char	*bootstrap;
	int		 action, to;
	const char	*groups[MAX_NAMES];
	size_t		 ngroups;
	const char	*topics[MAX_NAMES];
	size_t		 ntopics;
	bool		 all_groups, all_topics, execute, dry_run;
	int64_t		 to_offset;
};

static int
add_name(const char **v, size_t *n, const char *s)
{
	if (*n == MAX_NAMES)
		return cli_usage_err(TOOL, "too many names");
	v[(*n)++] = s;
	return CLI_OK;
}

static int
parse_one(void *arg, int c)
{
	struct gopts *o = arg;

	switch (c) {
	case O_BOOTSTRAP:
		o->bootstrap = optarg;
		return CLI_OK;
	case O_LIST:
	case O_DESCRIBE:
	case O_RESET:
	case O_DELETE:
		if (o->action != A_NONE)
			return cli_usage_err(TOOL, "only one of --list, "
			    "--describe, --reset-offsets, --delete is allowed");
		o->action = c - O_LIST + A_LIST;
		return CLI_OK;
	case O_GROUP:
		return add_name(o->groups, &o->ngroups, optarg);
	case O_TOPIC:
		return add_name(o->topics, &o->ntopics, optarg);
	case O_ALL_GROUPS:
		o->all_groups = true;
		return CLI_OK;
	case O_ALL_TOPICS:
		o->all_topics = true;
		return CLI_OK;
	case O_EARLIEST:
	case O_LATEST:
		o->to = c == O_EARLIEST ? TO_EARLIEST : TO_LATEST;
		return CLI_OK;
	case O_OFFSET:
		o->to = TO_OFFSET;
		if (!cli_parse_i64(optarg, &o->to_offset) || o->to_offset < 0)
			return cli_usage_err(TOOL, "--to-offset must be a "
			    "number (got '%s')", optarg);
		return CLI_OK;
	case O_EXECUTE:
		o->execute = true;
		return CLI_OK;
	case O_DRY_RUN:
		o->dry_run = true;
		return CLI_OK;
	default:
		return CLI_USAGE;
	}
}

static int
check_opts(const struct gopts *o)
{
	if (o->action == A_NONE)
		return cli_usage_err(TOOL, "one of --list, --describe, "
		    "--reset-offsets, --delete is required");
	if (o->action != A_LIST && o->ngroups == 0 && !o->all_groups)
		return cli_usage_err(TOOL, "--group or --all-groups is "
		    "required");
	if (o->action == A_RESET && o->to == TO_NONE)
		return cli_usage_err(TOOL, "--reset-offsets needs "
		    "--to-earliest, --to-latest or --to-offset");
	if (o->action == A_RESET && o->ntopics == 0 && !o->all_topics)
		return cli_usage_err(TOOL, "--reset-offsets needs --topic or "
		    "--all-topics");
	if (o->action == A_RESET && o->execute && o->dry_run)
		return cli_usage_err(TOOL, "--execute and --dry-run exclude "
		    "each other");
	return CLI_OK;
}

static int
parse(struct gopts *o, int argc, char **argv)
{
	int rc;

	if ((rc = cli_getopts(TOOL, argc, argv, longopts, O_HELP, parse_one,
	    o)) != CLI_OK)
		return rc;
	return check_opts(o);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- --list ---- */

static rd_kafka_event_t *
list_groups(struct cli *c, const rd_kafka_ConsumerGroupListing_t ***v,
    size_t *n)
{
	rd_kafka_AdminOptions_t *ao = cli_admin_options(c,
	    RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
	rd_kafka_event_t *ev;

	rd_kafka_ListConsumerGroups(c->rk, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	ev = cli_wait(c, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT);
	if (ev == NULL)
		return NULL;
	*v = (const rd_kafka_ConsumerGroupListing_t **)
	    rd_kafka_ListConsumerGroups_result_valid(
	    rd_kafka_event_ListConsumerGroups_result(ev), n);
	return ev;
}

static int
do_list(struct cli *c)
{
	const rd_kafka_ConsumerGroupListing_t **v;
	const char **names;
	rd_kafka_event_t *ev;
	size_t n;

	if ((ev = list_groups(c, &v, &n)) == NULL)
		return CLI_FAIL;
	names = calloc(n + 1, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = rd_kafka_ConsumerGroupListing_group_id(v[i]);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", names[i]);
	free(names);
	rd_kafka_event_destroy(ev);
	return CLI_OK;
}

/* ---- group description and committed offsets ---- */

static rd_kafka_event_t *
describe_group(struct cli *c, const char *group,
    const rd_kafka_ConsumerGroupDescription_t **out)
{
	rd_kafka_AdminOptions_t *ao = cli_admin_options(c,
	    RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
	const rd_kafka_ConsumerGroupDescription_t **v;
	rd_kafka_event_t *ev;
	const rd_kafka_error_t *err;
	size_t n;

	rd_kafka_DescribeConsumerGroups(c->rk, &group, 1, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	ev = cli_wait(c, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT);
	if (ev == NULL)
		return NULL;
	v = rd_kafka_DescribeConsumerGroups_result_groups(
	    rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
	if (n != 1 || (err = rd_kafka_ConsumerGroupDescription_error(v[0])) !=
	    NULL) {
		cli_err(TOOL, "group '%s': %s", group, n != 1 ?
		    "no description" : rd_kafka_error_string(err));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	*out = v[0];
	return ev;
}

/* The group's committed offsets (caller destroys), or NULL. */
static rd_kafka_topic_partition_list_t *
committed_offsets(struct cli *c, const char *group)
{
	rd_kafka_ListConsumerGroupOffsets_t *req =
	    rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
	rd_kafka_AdminOptions_t *ao = cli_admin_options(c,
	    RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
	rd_kafka_topic_partition_list_t *l = NULL;
	const rd_kafka_group_result_t **g;
	rd_kafka_event_t *ev;
	size_t n;

	rd_kafka_ListConsumerGroupOffsets(c->rk, &req, 1, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_ListConsumerGroupOffsets_destroy(req);
	ev = cli_wait(c, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT);
	if (ev == NULL)
		return NULL;
	g = rd_kafka_ListConsumerGroupOffsets_result_groups(
	    rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
	if (n != 1 || rd_kafka_group_result_error(g[0]) != NULL)
		cli_err(TOOL, "group '%s': %s", group, n != 1 ? "no offsets" :
		    rd_kafka_error_string(rd_kafka_group_result_error(g[0])));
	else
		l = rd_kafka_topic_partition_list_copy(
		    rd_kafka_group_result_partitions(g[0]));
	rd_kafka_event_destroy(ev);
	return l;
}

static bool
group_exists(const rd_kafka_ConsumerGroupDescription_t *d)
{
	rd_kafka_consumer_group_state_t s =
	    rd_kafka_ConsumerGroupDescription_state(d);

	return s != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD &&
	    s != RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN;
}

/* ---- --describe ---- */

struct row {
	const char	*topic;
	int32_t		 partition;
	int64_t		 current;	/* -1: none committed */
	int64_t		 end;		/* -1: unknown */
	const rd_kafka_MemberDescription_t *member;
};

struct rows {
	struct row	*v;
	size_t		 n, cap;
};

static struct row *
row_get(struct rows *rs, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].partition == partition &&
		    strcmp(rs->v[i].topic, topic) == 0)
			return &rs->v[i];
	if (rs->n == rs->cap) {
		rs->cap = rs->cap == 0 ? 16 : rs->cap * 2;
		rs->v = realloc(rs->v, rs->cap * sizeof(*rs->v));
		if (rs->v == NULL)
			abort();
	}
	rs->v[rs->n] = (struct row){ topic, partition, -1, -1, NULL };
	return &rs->v[rs->n++];
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	return c != 0 ? c : (x->partition > y->partition) -
	    (x->partition < y->partition);
}

static void
collect_rows(struct cli *c, const rd_kafka_ConsumerGroupDescription_t *d,
    const rd_kafka_topic_partition_list_t *off, struct rows *rs)
{
	size_t nm = rd_kafka_ConsumerGroupDescription_member_count(d);

	for (int i = 0; off != NULL && i < off->cnt; i++)
		row_get(rs, off->elems[i].topic,
		    off->elems[i].partition)->current = off->elems[i].offset;
	for (size_t m = 0; m < nm; m++) {
		const rd_kafka_MemberDescription_t *md =
		    rd_kafka_ConsumerGroupDescription_member(d, m);
		const rd_kafka_topic_partition_list_t *a =
		    rd_kafka_MemberAssignment_partitions(
		    rd_kafka_MemberDescription_assignment(md));
		for (int i = 0; a != NULL && i < a->cnt; i++)
			row_get(rs, a->elems[i].topic,
			    a->elems[i].partition)->member = md;
	}
	for (size_t i = 0; i < rs->n; i++) {
		int64_t lo, hi;
		if (rd_kafka_query_watermark_offsets(c->rk, rs->v[i].topic,
		    rs->v[i].partition, &lo, &hi, CLI_TIMEOUT_MS) == 0)
			rs->v[i].end = hi;
	}
	qsort(rs->v, rs->n, sizeof(*rs->v), cmp_row);
}

static int
width(int min, const char *s)
{
	int n = (int)strlen(s);

	return n > min ? n : min;
}

static void
fmt_i64(char *buf, size_t sz, int64_t v)
{
	if (v < 0)
		snprintf(buf, sz, "-");
	else
		snprintf(buf, sz, "%lld", (long long)v);
}

static void
print_rows(const char *group, const struct rows *rs)
{
	int gw = width(15, group), tw = 15, cw = 15, hw = 15;

	for (size_t i = 0; i < rs->n; i++) {
		const rd_kafka_MemberDescription_t *m = rs->v[i].member;
		tw = width(tw, rs->v[i].topic);
		if (m != NULL) {
			cw = width(cw, rd_kafka_MemberDescription_consumer_id(m));
			hw = width(hw, rd_kafka_MemberDescription_host(m));
		}
	}
	printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", gw,
	    "GROUP", tw, "TOPIC", "PARTITION", "CURRENT-OFFSET",
	    "LOG-END-OFFSET", "LAG", cw, "CONSUMER-ID", hw, "HOST",
	    "CLIENT-ID");
	for (size_t i = 0; i < rs->n; i++) {
		const struct row *r = &rs->v[i];
		const rd_kafka_MemberDescription_t *m = r->member;
		char cur[24], end[24], lag[24];

		fmt_i64(cur, sizeof(cur), r->current);
		fmt_i64(end, sizeof(end), r->end);
		fmt_i64(lag, sizeof(lag), r->current >= 0 && r->end >= 0 ?
		    (r->end > r->current ? r->end - r->current : 0) : -1);
		printf("%-*s %-*s %-10d %-15s %-15s %-15s %-*s %-*s %s\n", gw,
		    group, tw, r->topic, (int)r->partition, cur, end, lag, cw,
		    m != NULL ? rd_kafka_MemberDescription_consumer_id(m) : "-",
		    hw, m != NULL ? rd_kafka_MemberDescription_host(m) : "-",
		    m != NULL ? rd_kafka_MemberDescription_client_id(m) : "-");
	}
}

static int
describe_one(struct cli *c, const char *group)
{
	const rd_kafka_ConsumerGroupDescription_t *d;
	rd_kafka_topic_partition_list_t *off;
	struct rows rs = { NULL, 0, 0 };
	rd_kafka_event_t *ev;

	if ((ev = describe_group(c, group, &d)) == NULL)
		return CLI_FAIL;
	if (!group_exists(d)) {
		cli_err(TOOL, "consumer group '%s' does not exist", group);
		rd_kafka_event_destroy(ev);
		return CLI_FAIL;
	}
	if ((off = committed_offsets(c, group)) == NULL) {
		rd_kafka_event_destroy(ev);
		return CLI_FAIL;
	}
	collect_rows(c, d, off, &rs);
	if (rd_kafka_ConsumerGroupDescription_member_count(d) == 0)
		printf("\nConsumer group '%s' has no active members.\n", group);
	print_rows(group, &rs);
	free(rs.v);
	rd_kafka_topic_partition_list_destroy(off);
	rd_kafka_event_destroy(ev);
	return CLI_OK;
}

/* ---- --reset-offsets ---- */

/* Add "topic" (all partitions) or "topic:0,1" to l. */
static int
add_topic_spec(struct cli *c, const char *spec,
    rd_kafka_topic_partition_list_t *l)
{
	char *topic = strdup(spec), *colon = strchr(topic, ':');
	const rd_kafka_metadata_t *md;
	const rd_kafka_metadata_topic_t *t;
	int rc = 0;

	if (colon != NULL)
		*colon++ = '\0';
	if ((md = cli_metadata(c, topic)) == NULL) {
		free(topic);
		return -1;
	}
	t = cli_md_topic(md, topic);
	if (t == NULL || t->err != 0) {
		cli_err(TOOL, "topic '%s' does not exist", topic);
		rc = -1;
	}
	for (int i = 0; rc == 0 && colon == NULL && i < t->partition_cnt; i++)
		rd_kafka_topic_partition_list_add(l, topic,
		    t->partitions[i].id);
	while (rc == 0 && colon != NULL && *colon != '\0') {
		char *end;
		long p = strtol(colon, &end, 10);
		if (end == colon || p < 0 || p >= t->partition_cnt) {
			cli_err(TOOL, "bad partition list in '%s'", spec);
			rc = -1;
			break;
		}
		rd_kafka_topic_partition_list_add(l, topic, (int32_t)p);
		colon = *end == ',' ? end + 1 : end;
	}
	rd_kafka_metadata_destroy(md);
	free(topic);
	return rc;
}

static int
reset_targets(struct cli *c, const struct gopts *o, const char *group,
    rd_kafka_topic_partition_list_t **out)
{
	rd_kafka_topic_partition_list_t *l;

	if (o->all_topics) {
		if ((l = committed_offsets(c, group)) == NULL)
			return -1;
	} else {
		l = rd_kafka_topic_partition_list_new(16);
		for (size_t i = 0; i < o->ntopics; i++) {
			if (add_topic_spec(c, o->topics[i], l) != 0) {
				rd_kafka_topic_partition_list_destroy(l);
				return -1;
			}
		}
	}
	for (int i = 0; i < l->cnt; i++) {
		rd_kafka_topic_partition_t *p = &l->elems[i];
		int64_t lo, hi;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
		    c->rk, p->topic, p->partition, &lo, &hi, CLI_TIMEOUT_MS);
		if (err != 0) {
			cli_err(TOOL, "%s-%d: %s", p->topic, (int)p->partition,
			    rd_kafka_err2str(err));
			rd_kafka_topic_partition_list_destroy(l);
			return -1;
		}
		p->offset = o->to == TO_EARLIEST ? lo : o->to == TO_LATEST ?
		    hi : o->to_offset < lo ? lo : o->to_offset > hi ? hi :
		    o->to_offset;
	}
	rd_kafka_topic_partition_list_sort(l, NULL, NULL);
	*out = l;
	return 0;
}

static int
alter_offsets(struct cli *c, const char *group,
    const rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_AlterConsumerGroupOffsets_t *req =
	    rd_kafka_AlterConsumerGroupOffsets_new(group, l);
	rd_kafka_AdminOptions_t *ao = cli_admin_options(c,
	    RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
	const rd_kafka_group_result_t **g;
	const rd_kafka_topic_partition_list_t *res;
	rd_kafka_event_t *ev;
	size_t n;
	int rc = CLI_OK;

	rd_kafka_AlterConsumerGroupOffsets(c->rk, &req, 1, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_AlterConsumerGroupOffsets_destroy(req);
	ev = cli_wait(c, RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT);
	if (ev == NULL)
		return CLI_FAIL;
	g = rd_kafka_AlterConsumerGroupOffsets_result_groups(
	    rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
	if (n != 1 || rd_kafka_group_result_error(g[0]) != NULL) {
		cli_err(TOOL, "group '%s': %s", group, n != 1 ? "no result" :
		    rd_kafka_error_string(rd_kafka_group_result_error(g[0])));
		rc = CLI_FAIL;
	}
	res = n == 1 ? rd_kafka_group_result_partitions(g[0]) : NULL;
	for (int i = 0; rc == CLI_OK && res != NULL && i < res->cnt; i++) {
		if (res->elems[i].err == 0)
			continue;
		cli_err(TOOL, "%s-%d: %s", res->elems[i].topic,
		    (int)res->elems[i].partition,
		    rd_kafka_err2str(res->elems[i].err));
		rc = CLI_FAIL;
	}
	rd_kafka_event_destroy(ev);
	return rc;
}

static int
reset_one(struct cli *c, const struct gopts *o, const char *group)
{
	const rd_kafka_ConsumerGroupDescription_t *d;
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_consumer_group_state_t st;
	rd_kafka_event_t *ev;
	int rc = CLI_OK;

	if ((ev = describe_group(c, group, &d)) == NULL)
		return CLI_FAIL;
	st = rd_kafka_ConsumerGroupDescription_state(d);
	rd_kafka_event_destroy(ev);
	if (st != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY &&
	    st != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
		cli_err(TOOL, "assignments can only be reset if the group "
		    "'%s' is inactive, but the current state is %s", group,
		    rd_kafka_consumer_group_state_name(st));
		return CLI_FAIL;
	}
	if (reset_targets(c, o, group, &l) != 0)
		return CLI_FAIL;
	if (o->execute)
		rc = alter_offsets(c, group, l);
	if (rc == CLI_OK) {
		printf("\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC",
		    "PARTITION", "NEW-OFFSET");
		for (int i = 0; i < l->cnt; i++)
			printf("%-30s %-30s %-10d %-15lld\n", group,
			    l->elems[i].topic, (int)l->elems[i].partition,
			    (long long)l->elems[i].offset);
	}
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

/* ---- --delete ---- */

static int
delete_groups(struct cli *c, const struct gopts *o)
{
	rd_kafka_DeleteGroup_t **dg = calloc(o->ngroups, sizeof(*dg));
	rd_kafka_AdminOptions_t *ao = cli_admin_options(c,
	    RD_KAFKA_ADMIN_OP_DELETEGROUPS);
	const rd_kafka_group_result_t **g;
	rd_kafka_event_t *ev;
	size_t n;
	int rc = CLI_OK;

	for (size_t i = 0; i < o->ngroups; i++)
		dg[i] = rd_kafka_DeleteGroup_new(o->groups[i]);
	rd_kafka_DeleteGroups(c->rk, dg, o->ngroups, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_DeleteGroup_destroy_array(dg, o->ngroups);
	free(dg);
	if ((ev = cli_wait(c, RD_KAFKA_EVENT_DELETEGROUPS_RESULT)) == NULL)
		return CLI_FAIL;
	g = rd_kafka_DeleteGroups_result_groups(
	    rd_kafka_event_DeleteGroups_result(ev), &n);
	for (size_t i = 0; i < n; i++) {
		const rd_kafka_error_t *e = rd_kafka_group_result_error(g[i]);
		if (e == NULL)
			continue;
		cli_err(TOOL, "group '%s' could not be deleted: %s",
		    rd_kafka_group_result_name(g[i]), rd_kafka_error_string(e));
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK) {
		printf("Deletion of requested consumer groups (");
		for (size_t i = 0; i < o->ngroups; i++)
			printf("%s'%s'", i > 0 ? ", " : "", o->groups[i]);
		printf(") was successful.\n");
	}
	rd_kafka_event_destroy(ev);
	return rc;
}

/* --all-groups: the group ids into o->groups (kept alive by *ev). */
static int
expand_all(struct cli *c, struct gopts *o, rd_kafka_event_t **ev)
{
	const rd_kafka_ConsumerGroupListing_t **v;
	size_t n;

	if ((*ev = list_groups(c, &v, &n)) == NULL)
		return -1;
	for (size_t i = 0; i < n && o->ngroups < MAX_NAMES; i++)
		o->groups[o->ngroups++] =
		    rd_kafka_ConsumerGroupListing_group_id(v[i]);
	qsort(o->groups, o->ngroups, sizeof(o->groups[0]), cmp_str);
	return 0;
}

static int
run(struct cli *c, struct gopts *o)
{
	rd_kafka_event_t *all = NULL;
	int rc = CLI_OK;

	if (o->action == A_LIST)
		return do_list(c);
	if (o->all_groups && expand_all(c, o, &all) != 0)
		return CLI_FAIL;
	if (o->action == A_DELETE)
		rc = o->ngroups > 0 ? delete_groups(c, o) : CLI_OK;
	if (o->action == A_RESET && !o->execute && !o->dry_run)
		printf("WARN: dry run only; add --execute to apply these "
		    "offsets (--dry-run silences this warning).\n");
	for (size_t i = 0; o->action != A_DELETE && i < o->ngroups; i++) {
		int r = o->action == A_DESCRIBE ? describe_one(c,
		    o->groups[i]) : reset_one(c, o, o->groups[i]);
		if (r != CLI_OK)
			rc = r;
	}
	if (all != NULL)
		rd_kafka_event_destroy(all);
	return rc;
}

int
tool_consumer_groups(int argc, char **argv)
{
	struct gopts o;
	struct cli c;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = parse(&o, argc, argv);
	if (rc != CLI_OK)
		return rc == -1 ? cli_help(help) : rc;
	if (cli_open(&c, TOOL, o.bootstrap, RD_KAFKA_PRODUCER, NULL) != 0)
		return CLI_FAIL;
	rc = run(&c, &o);
	cli_close(&c);
	return rc;
}
