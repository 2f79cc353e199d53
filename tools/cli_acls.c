/*
 * kafka-acls: --add, --remove and --list of ACL bindings on topics,
 * groups, the cluster and transactional ids, with the --producer and
 * --consumer shorthands, and --command-config, a client properties file
 * in Kafka's form.  CreateAcls and DeleteAcls go through librdkafka,
 * except for transactional ids, a resource type librdkafka 2.0 does not
 * know: those, and DescribeAcls (whose error librdkafka 2.0 drops), go
 * over a connection of our own (cli_raw.c) when the security protocol is
 * PLAINTEXT or SASL_PLAINTEXT with PLAIN.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "kproto.h"
#include "kproto_gen.h"
#include "xmalloc.h"

#define TOOL		"kafka-acls"
#define MAX_ITEMS	64		/* of each repeatable option */
#define MAX_STR		32767		/* a protocol string */
#define RAW_VERSION	1		/* of the SASL and ACL requests */
#define CLUSTER_NAME	"kafka-cluster"

/* Kafka's resource type codes; librdkafka's agree (its BROKER is 4). */
enum {
	RT_UNKNOWN = 0, RT_ANY = 1, RT_TOPIC = 2, RT_GROUP = 3,
	RT_CLUSTER = 4, RT_TXN = 5
};

#define OB(x)	(1u << RD_KAFKA_ACL_OPERATION_##x)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A code as given on the command line and as printed. */
struct named {
	int8_t		 code;
	const char	*arg, *name;
};

static const struct named op_tab[] = {
	{ RD_KAFKA_ACL_OPERATION_ALL, "All", "ALL" },
	{ RD_KAFKA_ACL_OPERATION_READ, "Read", "READ" },
	{ RD_KAFKA_ACL_OPERATION_WRITE, "Write", "WRITE" },
	{ RD_KAFKA_ACL_OPERATION_CREATE, "Create", "CREATE" },
	{ RD_KAFKA_ACL_OPERATION_DELETE, "Delete", "DELETE" },
	{ RD_KAFKA_ACL_OPERATION_ALTER, "Alter", "ALTER" },
	{ RD_KAFKA_ACL_OPERATION_DESCRIBE, "Describe", "DESCRIBE" },
	{ RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION, "ClusterAction",
	    "CLUSTER_ACTION" },
	{ RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS, "DescribeConfigs",
	    "DESCRIBE_CONFIGS" },
	{ RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS, "AlterConfigs",
	    "ALTER_CONFIGS" },
	{ RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE, "IdempotentWrite",
	    "IDEMPOTENT_WRITE" },
	{ RD_KAFKA_ACL_OPERATION_ANY, NULL, "ANY" },
};

static const struct named pt_tab[] = {
	{ RD_KAFKA_RESOURCE_PATTERN_LITERAL, "literal", "LITERAL" },
	{ RD_KAFKA_RESOURCE_PATTERN_PREFIXED, "prefixed", "PREFIXED" },
	{ RD_KAFKA_RESOURCE_PATTERN_ANY, "any", "ANY" },
	{ RD_KAFKA_RESOURCE_PATTERN_MATCH, "match", "MATCH" },
};

static const struct named perm_tab[] = {
	{ RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, NULL, "ALLOW" },
	{ RD_KAFKA_ACL_PERMISSION_TYPE_DENY, NULL, "DENY" },
	{ RD_KAFKA_ACL_PERMISSION_TYPE_ANY, NULL, "ANY" },
};

static const struct rtype {
	int8_t		 code;
	const char	*opt;		/* --topic */
	const char	*name;		/* TOPIC */
	uint32_t	 ops;		/* the operations it has */
} rt_tab[] = {
	{ RT_TOPIC, "--topic", "TOPIC", OB(ALL) | OB(READ) | OB(WRITE) |
	    OB(CREATE) | OB(DELETE) | OB(ALTER) | OB(DESCRIBE) |
	    OB(DESCRIBE_CONFIGS) | OB(ALTER_CONFIGS) },
	{ RT_GROUP, "--group", "GROUP", OB(ALL) | OB(READ) | OB(DESCRIBE) |
	    OB(DELETE) },
	{ RT_CLUSTER, "--cluster", "CLUSTER", OB(ALL) | OB(CREATE) |
	    OB(CLUSTER_ACTION) | OB(DESCRIBE_CONFIGS) | OB(ALTER_CONFIGS) |
	    OB(IDEMPOTENT_WRITE) | OB(ALTER) | OB(DESCRIBE) },
	{ RT_TXN, "--transactional-id", "TRANSACTIONAL_ID", OB(ALL) |
	    OB(DESCRIBE) | OB(WRITE) },
};

static const char help[] =
    "Usage: kafka-acls.sh --bootstrap-server HOST:PORT --add|--remove|"
    "--list\n"
    "         [RESOURCE]... [OPTIONS]\n"
    "Add, remove or list the ACLs the brokers authorize requests with.\n\n"
    "Actions (exactly one):\n"
    "  --add                     add ACLs (needs a principal and a "
    "resource)\n"
    "  --remove                  remove ACLs (needs --force); without a "
    "principal,\n"
    "                            every ACL of the resources\n"
    "  --list                    print ACLs, of one resource or of all\n\n"
    "Resources (several with --add and --remove, one with --list):\n"
    "  --topic NAME              a topic\n"
    "  --group NAME              a consumer group\n"
    "  --cluster                 the cluster\n"
    "  --transactional-id ID     a producer's transactional id\n"
    "  --resource-pattern-type T literal (default) or prefixed; --list "
    "and --remove\n"
    "                            also take any and match\n\n"
    "Entries:\n"
    "  --allow-principal TYPE:NAME  principal to allow, e.g. User:alice "
    "(repeatable)\n"
    "  --deny-principal TYPE:NAME   principal to deny (repeatable)\n"
    "  --allow-host HOST         host the allowed principals come from "
    "(default *)\n"
    "  --deny-host HOST          host the denied principals come from "
    "(default *)\n"
    "  --operation OP            Read, Write, Create, Delete, Alter, "
    "Describe,\n"
    "                            ClusterAction, DescribeConfigs, "
    "AlterConfigs,\n"
    "                            IdempotentWrite or All (the default; "
    "repeatable)\n"
    "  --producer                Write, Describe and Create on the topics, "
    "Write and\n"
    "                            Describe on the transactional ids\n"
    "  --idempotent              with --producer: IdempotentWrite on the "
    "cluster\n"
    "  --consumer                Read and Describe on the topics, Read on "
    "the groups\n"
    "  --principal TYPE:NAME     with --list: only this principal's ACLs "
    "(repeatable)\n\n"
    "Options:\n"
    "  --bootstrap-server HOST:PORT  broker (default localhost:9092)\n"
    "  --command-config FILE     client properties: security.protocol,\n"
    "                            sasl.mechanism, sasl.jaas.config (PLAIN, "
    "SCRAM)\n"
    "                            or any librdkafka property\n"
    "  --force                   do not ask; --remove requires it\n"
    "  --help                    print this help\n";

enum { A_NONE, A_ADD, A_REMOVE, A_LIST };

enum {
	O_BOOTSTRAP = 256, O_CONFIG, O_ADD, O_REMOVE, O_LIST, O_TOPIC,
	O_GROUP, O_CLUSTER, O_TXN, O_PATTERN, O_ALLOW, O_DENY, O_ALLOW_HOST,
	O_DENY_HOST, O_OPERATION, O_PRODUCER, O_CONSUMER, O_IDEMPOTENT,
	O_PRINCIPAL, O_FORCE, O_HELP
};

static const struct option longopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "command-config", required_argument, NULL, O_CONFIG },
	{ "add", no_argument, NULL, O_ADD },
	{ "remove", no_argument, NULL, O_REMOVE },
	{ "list", no_argument, NULL, O_LIST },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "group", required_argument, NULL, O_GROUP },
	{ "cluster", no_argument, NULL, O_CLUSTER },
	{ "transactional-id", required_argument, NULL, O_TXN },
	{ "resource-pattern-type", required_argument, NULL, O_PATTERN },
	{ "allow-principal", required_argument, NULL, O_ALLOW },
	{ "deny-principal", required_argument, NULL, O_DENY },
	{ "allow-host", required_argument, NULL, O_ALLOW_HOST },
	{ "deny-host", required_argument, NULL, O_DENY_HOST },
	{ "operation", required_argument, NULL, O_OPERATION },
	{ "producer", no_argument, NULL, O_PRODUCER },
	{ "consumer", no_argument, NULL, O_CONSUMER },
	{ "idempotent", no_argument, NULL, O_IDEMPOTENT },
	{ "principal", required_argument, NULL, O_PRINCIPAL },
	{ "force", no_argument, NULL, O_FORCE },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

/* A repeatable option's values. */
struct strlist {
	const char	*v[MAX_ITEMS];
	size_t		 n;
};

struct aopts {
	int		 action;
	const char	*bootstrap, *config;
	struct {
		int8_t		 type;
		const char	*name;
	}		 res[MAX_ITEMS];
	size_t		 nres;
	int8_t		 pattern;	/* 0: not given */
	struct strlist	 allow, deny, allow_hosts, deny_hosts, principals;
	uint32_t	 ops;		/* OB() bits; 0: not given */
	bool		 producer, consumer, idempotent, force;
};

/* A binding, or a filter (NULL strings and ANY codes match anything). */
struct acl_spec {
	int8_t		 type, pattern, op, perm;
	const char	*name, *principal, *host;
};

/* One of a list: the same with its own strings. */
struct acl {
	int8_t	 type, pattern, op, perm;
	char	*name, *principal, *host;
};

struct acls {
	struct acl	*v;
	size_t		 n, cap;
};

/* A run: the librdkafka client and our own connection, both lazy. */
struct actx {
	const char	*bootstrap;
	rd_kafka_conf_t	*conf;		/* cli_open() takes it */
	struct cli	 c;
	bool		 open;
	bool		 noted;		/* rk_describe() warned */
	struct cli_raw	*raw;		/* NULL: not yet */
	bool		 raw_failed;	/* said why already */
	struct cli_sec	 sec;		/* what --command-config says */
	char		 lasterr[512];
};

/* ---- names ---- */

static const char *
name_of(const struct named *t, size_t n, int8_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return "UNKNOWN";
}

static const struct rtype *
rtype(int8_t code)
{
	for (size_t i = 0; i < NELEM(rt_tab); i++)
		if (rt_tab[i].code == code)
			return &rt_tab[i];
	return NULL;
}

/* "Read, Describe" of the bits of ops. */
static const char *
ops_text(uint32_t ops, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NELEM(op_tab) && o < len; i++)
		if (op_tab[i].arg != NULL && (ops & 1u << op_tab[i].code))
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
			    o > 0 ? ", " : "", op_tab[i].arg);
	return buf;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "null";
}

/* ---- lists of ACLs ---- */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Append an entry, taking the strings. */
static void
acls_push(struct acls *l, const struct acl_spec *a, char *name,
    char *principal, char *host)
{
	struct acl *d;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	d = &l->v[l->n++];
	d->type = a->type;
	d->pattern = a->pattern;
	d->op = a->op;
	d->perm = a->perm;
	d->name = name;
	d->principal = principal;
	d->host = host;
}

static void
acls_add(struct acls *l, const struct acl_spec *a)
{
	acls_push(l, a, dup_or_null(a->name), dup_or_null(a->principal),
	    dup_or_null(a->host));
}

static struct acl_spec
spec_of(const struct acl *a)
{
	struct acl_spec s = { a->type, a->pattern, a->op, a->perm, a->name,
	    a->principal, a->host };

	return s;
}

static void
acls_free(struct acls *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].principal);
		free(l->v[i].host);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static size_t
count_txn(const struct acls *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].type == RT_TXN;
	return n;
}

static int
cmp_res(const struct acl *a, const struct acl *b)
{
	int d;

	if (a->type != b->type)
		return a->type - b->type;
	if ((d = strcmp(nz(a->name), nz(b->name))) != 0)
		return d;
	return a->pattern - b->pattern;
}

static int
cmp_acl(const void *pa, const void *pb)
{
	const struct acl *a = pa, *b = pb;
	int d;

	if ((d = cmp_res(a, b)) != 0)
		return d;
	if ((d = strcmp(nz(a->principal), nz(b->principal))) != 0)
		return d;
	if ((d = strcmp(nz(a->host), nz(b->host))) != 0)
		return d;
	if (a->op != b->op)
		return a->op - b->op;
	return a->perm - b->perm;
}

/* The ACLs grouped by resource pattern, sorted, each one once. */
static void
print_groups(const char *head, struct acls *l)
{
	size_t i = 0;

	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), cmp_acl);
	while (i < l->n) {
		const struct acl *r = &l->v[i];
		const struct rtype *t = rtype(r->type);

		printf("%s `ResourcePattern(resourceType=%s, name=%s, "
		    "patternType=%s)`:\n", head, t != NULL ? t->name :
		    "UNKNOWN", nz(r->name), name_of(pt_tab, NELEM(pt_tab),
		    r->pattern));
		for (; i < l->n && cmp_res(r, &l->v[i]) == 0; i++) {
			const struct acl *a = &l->v[i];
			if (a != r && cmp_acl(a - 1, a) == 0)
				continue;
			printf(" \t(principal=%s, host=%s, operation=%s, "
			    "permissionType=%s)\n", nz(a->principal),
			    nz(a->host), name_of(op_tab, NELEM(op_tab), a->op),
			    name_of(perm_tab, NELEM(perm_tab), a->perm));
		}
		printf("\n");
	}
}

/* "kafka-acls: NAME: text" of a broker error, each line only once. */
static void
acl_err(struct actx *x, int code, const char *msg)
{
	rd_kafka_resp_err_t err = (rd_kafka_resp_err_t)code;
	const char *std = rd_kafka_err2str(err);
	char line[sizeof(x->lasterr)];

	if (msg == NULL || *msg == '\0' || strcmp(msg, std) == 0)
		msg = strncmp(std, "Broker: ", 8) == 0 ? std + 8 : std;
	snprintf(line, sizeof(line), "%s: %s", rd_kafka_err2name(err), msg);
	if (strcmp(line, x->lasterr) == 0)
		return;
	snprintf(x->lasterr, sizeof(x->lasterr), "%s", line);
	cli_err(TOOL, "%s", line);
}

/* ---- options ---- */

static int
push(struct strlist *l, const char *s, const char *opt)
{
	if (l->n == MAX_ITEMS)
		return cli_usage_err(TOOL, "too many %s", opt);
	l->v[l->n++] = s;
	return CLI_OK;
}

static int
add_res(struct aopts *o, int8_t type, const char *name)
{
	if (o->nres == MAX_ITEMS)
		return cli_usage_err(TOOL, "too many resources");
	if (*name == '\0')
		return cli_usage_err(TOOL, "%s needs a name", rtype(type)->opt);
	o->res[o->nres].type = type;
	o->res[o->nres++].name = name;
	return CLI_OK;
}

/* An --operation or --resource-pattern-type value. */
static int
parse_named(const struct named *t, size_t n, const char *arg, int8_t *code)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].arg != NULL && strcasecmp(arg, t[i].arg) == 0) {
			*code = t[i].code;
			return CLI_OK;
		}
	}
	if (t == pt_tab)
		return cli_usage_err(TOOL, "--resource-pattern-type must be "
		    "literal, prefixed, any or match (got '%s')", arg);
	return cli_usage_err(TOOL, "--operation: unknown operation '%s'",
	    arg);
}

static int
set_action(struct aopts *o, int a)
{
	if (o->action != A_NONE && o->action != a)
		return cli_usage_err(TOOL, "only one of --add, --remove, "
		    "--list is allowed");
	o->action = a;
	return CLI_OK;
}

/* "--topic" of an option's code. */
static const char *
opt_name(int c)
{
	static char buf[64];

	for (size_t i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == c) {
			snprintf(buf, sizeof(buf), "--%s", longopts[i].name);
			return buf;
		}
	return "?";
}

static int
parse_value(struct aopts *o, int c)
{
	const char *colon;
	int8_t code = 0;
	int rc;

	if (strlen(optarg) > MAX_STR)
		return cli_usage_err(TOOL, "%s: value too long", opt_name(c));
	switch (c) {
	case O_BOOTSTRAP:
		o->bootstrap = optarg;
		return CLI_OK;
	case O_CONFIG:
		o->config = optarg;
		return CLI_OK;
	case O_TOPIC:
		return add_res(o, RT_TOPIC, optarg);
	case O_GROUP:
		return add_res(o, RT_GROUP, optarg);
	case O_TXN:
		return add_res(o, RT_TXN, optarg);
	case O_PATTERN:
		return parse_named(pt_tab, NELEM(pt_tab), optarg, &o->pattern);
	case O_OPERATION:
		if ((rc = parse_named(op_tab, NELEM(op_tab), optarg, &code)) ==
		    CLI_OK)
			o->ops |= 1u << code;
		return rc;
	case O_ALLOW_HOST:
		return push(&o->allow_hosts, optarg, "--allow-host");
	case O_DENY_HOST:
		return push(&o->deny_hosts, optarg, "--deny-host");
	default:
		break;
	}
	colon = strchr(optarg, ':');
	if (colon == NULL || colon == optarg || colon[1] == '\0')
		return cli_usage_err(TOOL, "%s wants TYPE:NAME, e.g. "
		    "User:alice (got '%s')", opt_name(c), optarg);
	return push(c == O_ALLOW ? &o->allow : c == O_DENY ? &o->deny :
	    &o->principals, optarg, opt_name(c));
}

static int
parse_flag(void *arg, int c)
{
	struct aopts *o = arg;

	switch (c) {
	case O_ADD:
		return set_action(o, A_ADD);
	case O_REMOVE:
		return set_action(o, A_REMOVE);
	case O_LIST:
		return set_action(o, A_LIST);
	case O_CLUSTER:
		return add_res(o, RT_CLUSTER, CLUSTER_NAME);
	case O_PRODUCER:
		o->producer = true;
		break;
	case O_CONSUMER:
		o->consumer = true;
		break;
	case O_IDEMPOTENT:
		o->idempotent = true;
		break;
	case O_FORCE:
		o->force = true;
		break;
	default:
		return parse_value(o, c);
	}
	return CLI_OK;
}

static bool
has_res(const struct aopts *o, int8_t type)
{
	for (size_t i = 0; i < o->nres; i++)
		if (o->res[i].type == type)
			return true;
	return false;
}

/* The operations an entry on a resource of type gets. */
static uint32_t
ops_for(const struct aopts *o, int8_t type)
{
	uint32_t ops = 0;

	if (!o->producer && !o->consumer)
		return o->ops != 0 ? o->ops : OB(ALL);
	if (o->producer && type == RT_TOPIC)
		ops |= OB(WRITE) | OB(DESCRIBE) | OB(CREATE);
	if (o->producer && type == RT_TXN)
		ops |= OB(WRITE) | OB(DESCRIBE);
	if (o->idempotent && type == RT_CLUSTER)
		ops |= OB(IDEMPOTENT_WRITE);
	if (o->consumer && type == RT_TOPIC)
		ops |= OB(READ) | OB(DESCRIBE);
	if (o->consumer && type == RT_GROUP)
		ops |= OB(READ);
	return ops;
}

static int
check_list(const struct aopts *o)
{
	if (o->nres > 1)
		return cli_usage_err(TOOL, "--list takes at most one resource");
	if (o->allow.n > 0 || o->deny.n > 0)
		return cli_usage_err(TOOL, "--allow-principal and "
		    "--deny-principal are not valid with --list (use "
		    "--principal)");
	if (o->allow_hosts.n > 0 || o->deny_hosts.n > 0)
		return cli_usage_err(TOOL, "--allow-host and --deny-host are "
		    "not valid with --list");
	if (o->ops != 0)
		return cli_usage_err(TOOL, "--operation is not valid with "
		    "--list");
	if (o->producer || o->consumer || o->idempotent)
		return cli_usage_err(TOOL, "--producer, --consumer and "
		    "--idempotent are not valid with --list");
	return CLI_OK;
}

/* --producer, --consumer, and every operation on its resource type. */
static int
check_ops(const struct aopts *o)
{
	char bad[128], valid[128];

	if (o->idempotent && !o->producer)
		return cli_usage_err(TOOL, "--idempotent needs --producer");
	if (o->producer && !has_res(o, RT_TOPIC))
		return cli_usage_err(TOOL, "--producer needs --topic");
	if (o->consumer && (!has_res(o, RT_TOPIC) || !has_res(o, RT_GROUP)))
		return cli_usage_err(TOOL, "--consumer needs --topic and "
		    "--group");
	if ((o->producer || o->consumer) && o->ops != 0)
		return cli_usage_err(TOOL, "--operation cannot be combined "
		    "with --producer or --consumer");
	for (size_t i = 0; i < o->nres; i++) {
		const struct rtype *t = rtype(o->res[i].type);
		uint32_t ops = ops_for(o, t->code);

		if (ops == 0)
			return cli_usage_err(TOOL, "--producer and --consumer "
			    "give nothing on %s", t->opt);
		if ((ops & ~t->ops) != 0)
			return cli_usage_err(TOOL, "--operation %s is not "
			    "valid with %s (valid: %s)", ops_text(ops &
			    ~t->ops, bad, sizeof(bad)), t->opt,
			    ops_text(t->ops, valid, sizeof(valid)));
	}
	return CLI_OK;
}

static int
check_change(struct aopts *o)
{
	if (o->principals.n > 0)
		return cli_usage_err(TOOL, "--principal is only valid with "
		    "--list");
	if (o->allow_hosts.n > 0 && o->allow.n == 0)
		return cli_usage_err(TOOL, "--allow-host needs "
		    "--allow-principal");
	if (o->deny_hosts.n > 0 && o->deny.n == 0)
		return cli_usage_err(TOOL, "--deny-host needs "
		    "--deny-principal");
	if (o->idempotent && !has_res(o, RT_CLUSTER) && add_res(o,
	    RT_CLUSTER, CLUSTER_NAME) != CLI_OK)
		return CLI_USAGE;
	if (o->nres == 0)
		return cli_usage_err(TOOL, "%s needs a resource (--topic, "
		    "--group, --cluster or --transactional-id)",
		    o->action == A_ADD ? "--add" : "--remove");
	if (o->pattern == 0)
		o->pattern = RD_KAFKA_RESOURCE_PATTERN_LITERAL;
	if (o->action == A_ADD &&
	    o->pattern != RD_KAFKA_RESOURCE_PATTERN_LITERAL &&
	    o->pattern != RD_KAFKA_RESOURCE_PATTERN_PREFIXED)
		return cli_usage_err(TOOL, "--add takes "
		    "--resource-pattern-type literal or prefixed");
	if (o->action == A_ADD && o->allow.n == 0 && o->deny.n == 0)
		return cli_usage_err(TOOL, "--add needs --allow-principal or "
		    "--deny-principal");
	if (check_ops(o) != CLI_OK)
		return CLI_USAGE;
	if (o->action == A_REMOVE && !o->force)
		return cli_usage_err(TOOL, "--remove needs --force (this tool "
		    "does not ask for confirmation)");
	return CLI_OK;
}

static int
parse(struct aopts *o, int argc, char **argv)
{
	int rc;

	if ((rc = cli_getopts(TOOL, argc, argv, longopts, O_HELP, parse_flag,
	    o)) != CLI_OK)
		return rc;
	if (o->action == A_NONE)
		return cli_usage_err(TOOL, "one of --add, --remove, --list is "
		    "required");
	return o->action == A_LIST ? check_list(o) : check_change(o);
}

/* ---- librdkafka ---- */

static int
rk_ready(struct actx *x)
{
	if (x->open)
		return 0;
	if (cli_open(&x->c, TOOL, x->bootstrap, RD_KAFKA_PRODUCER,
	    x->conf) != 0) {
		x->conf = NULL;
		return -1;
	}
	x->conf = NULL;
	x->open = true;
	return 0;
}

static rd_kafka_AclBinding_t *
rk_binding(const struct acl_spec *a, bool filter)
{
	rd_kafka_AclBinding_t *(*make)(rd_kafka_ResourceType_t, const char *,
	    rd_kafka_ResourcePatternType_t, const char *, const char *,
	    rd_kafka_AclOperation_t, rd_kafka_AclPermissionType_t, char *,
	    size_t) = filter ? rd_kafka_AclBindingFilter_new :
	    rd_kafka_AclBinding_new;
	rd_kafka_AclBinding_t *b;
	char err[256];

	b = make((rd_kafka_ResourceType_t)a->type, a->name,
	    (rd_kafka_ResourcePatternType_t)a->pattern, a->principal, a->host,
	    (rd_kafka_AclOperation_t)a->op,
	    (rd_kafka_AclPermissionType_t)a->perm, err, sizeof(err));
	if (b == NULL)
		cli_err(TOOL, "%s", err);
	return b;
}

static void
rk_collect(const rd_kafka_AclBinding_t **v, size_t n, struct acls *out)
{
	for (size_t i = 0; i < n; i++) {
		struct acl_spec a = {
			(int8_t)rd_kafka_AclBinding_restype(v[i]),
			(int8_t)rd_kafka_AclBinding_resource_pattern_type(v[i]),
			(int8_t)rd_kafka_AclBinding_operation(v[i]),
			(int8_t)rd_kafka_AclBinding_permission_type(v[i]),
			rd_kafka_AclBinding_name(v[i]),
			rd_kafka_AclBinding_principal(v[i]),
			rd_kafka_AclBinding_host(v[i])
		};
		acls_add(out, &a);
	}
}

static void
rk_error(struct actx *x, const rd_kafka_error_t *e, int *rc)
{
	if (e == NULL)
		return;
	acl_err(x, rd_kafka_error_code(e), rd_kafka_error_string(e));
	*rc = CLI_FAIL;
}

/* Create the entries of l (delete: remove what they match, into out),
   all but the transactional-id ones. */
static int
rk_change(struct actx *x, const struct acls *l, bool del, struct acls *out)
{
	rd_kafka_AclBinding_t **v = xcalloc(l->n + 1, sizeof(*v));
	rd_kafka_AdminOptions_t *ao;
	rd_kafka_event_t *ev;
	size_t n = 0, nres;
	bool sent = false;
	int rc = CLI_OK;

	for (size_t i = 0; i < l->n && rc == CLI_OK; i++) {
		struct acl_spec a = spec_of(&l->v[i]);

		if (a.type == RT_TXN)
			continue;
		if ((v[n] = rk_binding(&a, del)) == NULL)
			rc = CLI_FAIL;
		else
			n++;
	}
	if (rc == CLI_OK && n > 0 && rk_ready(x) == 0) {
		ao = cli_admin_options(&x->c, del ?
		    RD_KAFKA_ADMIN_OP_DELETEACLS :
		    RD_KAFKA_ADMIN_OP_CREATEACLS);
		if (del)
			rd_kafka_DeleteAcls(x->c.rk, v, n, ao, x->c.q);
		else
			rd_kafka_CreateAcls(x->c.rk, v, n, ao, x->c.q);
		rd_kafka_AdminOptions_destroy(ao);
		sent = true;
	}
	rd_kafka_AclBinding_destroy_array(v, n);
	free(v);
	if (!sent)
		return rc == CLI_OK && n > 0 ? CLI_FAIL : rc;
	if ((ev = cli_wait(&x->c, del ? RD_KAFKA_EVENT_DELETEACLS_RESULT :
	    RD_KAFKA_EVENT_CREATEACLS_RESULT)) == NULL)
		return CLI_FAIL;
	if (del) {
		const rd_kafka_DeleteAcls_result_response_t **res =
		    rd_kafka_DeleteAcls_result_responses(
		    rd_kafka_event_DeleteAcls_result(ev), &nres);
		for (size_t i = 0; i < nres; i++) {
			const rd_kafka_AclBinding_t **m =
			    rd_kafka_DeleteAcls_result_response_matching_acls(
			    res[i], &n);
			rk_error(x, rd_kafka_DeleteAcls_result_response_error(
			    res[i]), &rc);
			rk_collect(m, n, out);
		}
	} else {
		const rd_kafka_acl_result_t **res =
		    rd_kafka_CreateAcls_result_acls(
		    rd_kafka_event_CreateAcls_result(ev), &nres);
		for (size_t i = 0; i < nres; i++)
			rk_error(x, rd_kafka_acl_result_error(res[i]), &rc);
	}
	rd_kafka_event_destroy(ev);
	return rc;
}

static int
rk_describe(struct actx *x, const struct acl_spec *f, struct acls *out)
{
	rd_kafka_AclBindingFilter_t *b;
	rd_kafka_AdminOptions_t *ao;
	const rd_kafka_AclBinding_t **v;
	rd_kafka_event_t *ev;
	size_t n;

	if ((b = rk_binding(f, true)) == NULL)
		return CLI_FAIL;
	if (rk_ready(x) != 0) {
		rd_kafka_AclBinding_destroy(b);
		return CLI_FAIL;
	}
	ao = cli_admin_options(&x->c, RD_KAFKA_ADMIN_OP_DESCRIBEACLS);
	rd_kafka_DescribeAcls(x->c.rk, b, ao, x->c.q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_AclBinding_destroy(b);
	if ((ev = cli_wait(&x->c, RD_KAFKA_EVENT_DESCRIBEACLS_RESULT)) == NULL)
		return CLI_FAIL;
	v = rd_kafka_DescribeAcls_result_acls(
	    rd_kafka_event_DescribeAcls_result(ev), &n);
	if (n == 0 && !x->noted) {
		cli_err(TOOL, "note: no ACLs found; librdkafka 2.0 cannot tell "
		    "that from a refused request");
		x->noted = true;
	}
	rk_collect(v, n, out);
	rd_kafka_event_destroy(ev);
	return CLI_OK;
}

/* ---- our own connection ---- */

static struct kstr
ks(const char *s)
{
	struct kstr k = { s, s != NULL ? (int32_t)strlen(s) : -1 };

	return k;
}

static char *
ks_dup(struct kstr k)
{
	return k.len >= 0 ? xstrndup(k.p, (size_t)k.len) : NULL;
}

static void
raw_err(struct actx *x, int16_t code, struct kstr msg, int *rc)
{
	char *m;

	if (code == 0)
		return;
	m = ks_dup(msg);
	acl_err(x, code, m);
	free(m);
	*rc = CLI_FAIL;
}

/* One request and its response, decoded into p (views into *buf, which
   the caller frees); -1 after an error line. */
static int
raw_rpc(struct actx *x, int16_t key, const void *q, void *p, uint8_t **buf,
    struct kp_arena *ar)
{
	if (cli_raw_rpc(x->raw, key, RAW_VERSION, q, p, ar, buf) == 0)
		return 0;
	if (*buf == NULL)
		cli_err(TOOL, "no answer from %s", x->bootstrap);
	else
		cli_err(TOOL, "malformed response from %s", x->bootstrap);
	return -1;
}

/* Can our connection speak the configured security protocol? */
static bool
raw_usable(const struct actx *x)
{
	const char *proto = x->sec.protocol, *mech = x->sec.mechanism;

	if (proto == NULL || strcasecmp(proto, "plaintext") == 0 ||
	    strcasecmp(proto, "ssl") == 0)
		return true;
	return (strcasecmp(proto, "sasl_plaintext") == 0 ||
	    strcasecmp(proto, "sasl_ssl") == 0) && mech != NULL &&
	    (strcasecmp(mech, "PLAIN") == 0 ||
	    scram_mech_parse(mech, strlen(mech)) != SCRAM_UNKNOWN) &&
	    x->sec.username != NULL && x->sec.password != NULL;
}

static int
raw_ready(struct actx *x)
{
	if (x->raw != NULL)
		return 0;
	if (x->raw_failed)
		return -1;	/* said why already */
	x->raw_failed = true;
	if (!raw_usable(x)) {
		cli_err(TOOL, "transactional-id ACLs need SASL mechanism "
		    "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 when SASL is used "
		    "(librdkafka 2.0 cannot send them)");
		return -1;
	}
	if ((x->raw = cli_raw_open(TOOL, x->bootstrap, &x->sec)) == NULL)
		return -1;
	x->raw_failed = false;
	return 0;
}

static void
raw_collect(const struct kp_delete_acls_response_delete_acls_filter_result
    *r, struct acls *out)
{
	for (int32_t k = 0; k < r->matching_acls.n; k++) {
		const struct kp_delete_acls_response_delete_acls_matching_acl
		    *m = &r->matching_acls.v[k];
		struct acl_spec a = { m->resource_type, m->pattern_type,
		    m->operation, m->permission_type, NULL, NULL, NULL };

		if (m->error_code == 0)
			acls_push(out, &a, ks_dup(m->resource_name),
			    ks_dup(m->principal), ks_dup(m->host));
	}
}

/* rk_change() of the transactional-id entries. */
static int
raw_change(struct actx *x, const struct acls *l, bool del, struct acls *out)
{
	struct kp_create_acls_request cq;
	struct kp_create_acls_response cp;
	struct kp_delete_acls_request dq;
	struct kp_delete_acls_response dp;
	struct kp_arena ar = { NULL };
	size_t n = 0, ntxn = count_txn(l);
	uint8_t *buf = NULL;
	int rc = CLI_OK;

	if (ntxn == 0)
		return CLI_OK;
	if (raw_ready(x) != 0)
		return CLI_FAIL;
	kp_init(&kp_create_acls_request_desc, &cq);
	kp_init(&kp_delete_acls_request_desc, &dq);
	cq.creations.v = xcalloc(ntxn, sizeof(*cq.creations.v));
	dq.filters.v = xcalloc(ntxn, sizeof(*dq.filters.v));
	cq.creations.n = dq.filters.n = (int32_t)ntxn;
	/* both requests are filled; one is sent */
	for (size_t i = 0; i < l->n; i++) {
		const struct acl *a = &l->v[i];
		struct kp_create_acls_request_acl_creation *c =
		    &cq.creations.v[n];
		struct kp_delete_acls_request_delete_acls_filter *d =
		    &dq.filters.v[n];

		if (a->type != RT_TXN)
			continue;
		c->resource_type = d->resource_type_filter = a->type;
		c->resource_name = d->resource_name_filter = ks(a->name);
		c->resource_pattern_type = d->pattern_type_filter =
		    a->pattern;
		c->principal = d->principal_filter = ks(a->principal);
		c->host = d->host_filter = ks(a->host);
		c->operation = d->operation = a->op;
		c->permission_type = d->permission_type = a->perm;
		n++;
	}
	if (!del && raw_rpc(x, KP_API_CREATE_ACLS, &cq, &cp, &buf, &ar) == 0) {
		for (int32_t i = 0; i < cp.results.n; i++)
			raw_err(x, cp.results.v[i].error_code,
			    cp.results.v[i].error_message, &rc);
	} else if (del && raw_rpc(x, KP_API_DELETE_ACLS, &dq, &dp, &buf,
	    &ar) == 0) {
		for (int32_t i = 0; i < dp.filter_results.n; i++) {
			raw_err(x, dp.filter_results.v[i].error_code,
			    dp.filter_results.v[i].error_message, &rc);
			raw_collect(&dp.filter_results.v[i], out);
		}
	} else {
		rc = CLI_FAIL;
	}
	kp_arena_clear(&ar);
	free(buf);
	free(cq.creations.v);
	free(dq.filters.v);
	return rc;
}

static int
raw_describe(struct actx *x, const struct acl_spec *f, struct acls *out)
{
	struct kp_describe_acls_request q;
	struct kp_describe_acls_response p;
	struct kp_arena ar = { NULL };
	uint8_t *buf = NULL;
	int rc = CLI_OK;

	if (raw_ready(x) != 0)
		return CLI_FAIL;
	kp_init(&kp_describe_acls_request_desc, &q);
	q.resource_type_filter = f->type;
	q.resource_name_filter = ks(f->name);
	q.pattern_type_filter = f->pattern;
	q.principal_filter = ks(f->principal);
	q.host_filter = ks(f->host);
	q.operation = f->op;
	q.permission_type = f->perm;
	if (raw_rpc(x, KP_API_DESCRIBE_ACLS, &q, &p, &buf, &ar) != 0)
		rc = CLI_FAIL;
	else
		raw_err(x, p.error_code, p.error_message, &rc);
	for (int32_t i = 0; rc == CLI_OK && i < p.resources.n; i++) {
		const struct kp_describe_acls_response_describe_acls_resource
		    *r = &p.resources.v[i];
		for (int32_t k = 0; k < r->acls.n; k++) {
			const struct kp_describe_acls_response_acl_description
			    *d = &r->acls.v[k];
			struct acl_spec a = { r->resource_type,
			    r->pattern_type, d->operation, d->permission_type,
			    NULL, NULL, NULL };

			acls_push(out, &a, ks_dup(r->resource_name),
			    ks_dup(d->principal), ks_dup(d->host));
		}
	}
	kp_arena_clear(&ar);
	free(buf);
	return rc;
}

/* ---- the actions ---- */

/*
 * DescribeAcls over our connection whenever it can speak the security
 * protocol: librdkafka 2.0 drops the response's error (a refused request
 * or a broker without authorizer look like "no ACLs") and shows
 * transactional ids as UNKNOWN.
 */
static int
acl_describe(struct actx *x, const struct acl_spec *f, struct acls *out)
{
	if (f->type == RT_TXN || raw_usable(x))
		return raw_describe(x, f, out);
	return rk_describe(x, f, out);
}

/* The cluster has one name: prefixed means the literal one. */
static int8_t
res_pattern(const struct aopts *o, int8_t type)
{
	if (type == RT_CLUSTER &&
	    o->pattern == RD_KAFKA_RESOURCE_PATTERN_PREFIXED)
		return RD_KAFKA_RESOURCE_PATTERN_LITERAL;
	return o->pattern;
}

/* a with each operation of ops. */
static void
add_ops(struct acls *out, struct acl_spec *a, uint32_t ops)
{
	for (int op = 0; op < 32; op++) {
		if ((ops & 1u << op) == 0)
			continue;
		a->op = (int8_t)op;
		acls_add(out, a);
	}
}

/* The entries (bindings or, for removal, filters) of the options. */
static void
build(const struct aopts *o, bool remove, struct acls *out)
{
	static const struct strlist star = { { "*" }, 1 };

	for (size_t i = 0; i < o->nres; i++) {
		uint32_t ops = ops_for(o, o->res[i].type);
		struct acl_spec a = { o->res[i].type,
		    res_pattern(o, o->res[i].type), 0,
		    RD_KAFKA_ACL_PERMISSION_TYPE_ANY, o->res[i].name, NULL,
		    NULL };

		if (remove && o->allow.n == 0 && o->deny.n == 0) {
			/* every entry of the resource (of the operations) */
			if (!o->producer && !o->consumer && o->ops == 0)
				ops = OB(ANY);
			add_ops(out, &a, ops);
			continue;
		}
		for (int k = 0; k < 2; k++) {
			const struct strlist *who = k == 0 ? &o->allow :
			    &o->deny;
			const struct strlist *hosts = k == 0 ? &o->allow_hosts :
			    &o->deny_hosts;

			if (hosts->n == 0)
				hosts = &star;
			a.perm = k == 0 ? RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW :
			    RD_KAFKA_ACL_PERMISSION_TYPE_DENY;
			for (size_t p = 0; p < who->n; p++) {
				for (size_t h = 0; h < hosts->n; h++) {
					a.principal = who->v[p];
					a.host = hosts->v[h];
					add_ops(out, &a, ops);
				}
			}
		}
	}
}

/* The ACLs now on the resources of the options, as --list prints them. */
static int
list_resources(struct actx *x, const struct aopts *o)
{
	struct acls now = { NULL, 0, 0 };
	int rc = CLI_OK;

	for (size_t i = 0; i < o->nres && rc == CLI_OK; i++) {
		struct acl_spec f = { o->res[i].type,
		    res_pattern(o, o->res[i].type), RD_KAFKA_ACL_OPERATION_ANY,
		    RD_KAFKA_ACL_PERMISSION_TYPE_ANY, o->res[i].name, NULL,
		    NULL };
		rc = acl_describe(x, &f, &now);
	}
	if (rc == CLI_OK)
		print_groups("Current ACLs for resource", &now);
	acls_free(&now);
	return rc;
}

static int
do_change(struct actx *x, const struct aopts *o)
{
	struct acls l = { NULL, 0, 0 }, gone = { NULL, 0, 0 };
	bool del = o->action == A_REMOVE;
	int rc;

	build(o, del, &l);
	if (!del)
		print_groups("Adding ACLs for resource", &l);
	rc = rk_change(x, &l, del, &gone);
	if (rc == CLI_OK)
		rc = raw_change(x, &l, del, &gone);
	if (rc == CLI_OK && del) {
		if (gone.n == 0)
			printf("No ACLs matched; nothing removed.\n\n");
		print_groups("Removed ACLs for resource", &gone);
	}
	if (rc == CLI_OK)
		rc = list_resources(x, o);
	acls_free(&l);
	acls_free(&gone);
	return rc;
}

static int
do_list(struct actx *x, const struct aopts *o)
{
	struct acl_spec f = { RT_ANY, RD_KAFKA_RESOURCE_PATTERN_ANY,
	    RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, NULL,
	    NULL, NULL };
	size_t n = o->principals.n > 0 ? o->principals.n : 1;
	int rc = CLI_OK;

	if (o->nres == 1) {
		f.type = o->res[0].type;
		f.name = o->res[0].name;
		f.pattern = RD_KAFKA_RESOURCE_PATTERN_LITERAL;
	}
	if (o->pattern != 0)
		f.pattern = res_pattern(o, f.type);
	for (size_t i = 0; i < n && rc == CLI_OK; i++) {
		struct acls got = { NULL, 0, 0 };

		if (o->principals.n > 0) {
			f.principal = o->principals.v[i];
			printf("ACLs for principal `%s`\n", f.principal);
		}
		if ((rc = acl_describe(x, &f, &got)) == CLI_OK)
			print_groups("Current ACLs for resource", &got);
		acls_free(&got);
	}
	return rc;
}

int
tool_acls(int argc, char **argv)
{
	struct aopts o;
	struct actx x;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse(&o, argc, argv)) == -1)
		return cli_help(help);
	if (rc != CLI_OK)
		return rc;
	memset(&x, 0, sizeof(x));
	x.bootstrap = o.bootstrap != NULL ? o.bootstrap :
	    CLI_DEFAULT_BOOTSTRAP;
	x.conf = rd_kafka_conf_new();
	if (o.config != NULL && cli_sec_load(TOOL, o.config, x.conf,
	    &x.sec) != 0)
		rc = CLI_FAIL;
	else if (o.action == A_LIST)
		rc = do_list(&x, &o);
	else
		rc = do_change(&x, &o);
	if (x.conf != NULL)
		rd_kafka_conf_destroy(x.conf);
	if (x.open)
		cli_close(&x.c);
	cli_raw_close(x.raw);
	cli_sec_clear(&x.sec);
	return rc;
}
