/*
 * Configs: DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for
 * topics (tconfig.c) and this broker (its static config, read-only), and
 * the configs of CreateTopics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"
#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_acl.h"
#include "meta_client.h"
#include "tconfig.h"

/* Kafka's ConfigResource types. */
#define RES_TOPIC		2
#define RES_BROKER		4
#define RES_BROKER_LOGGER	8

/* IncrementalAlterConfigs operations. */
enum { OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT };

#define LMAX	"9223372036854775807"

typedef struct kp_describe_configs_request_describe_configs_resource
    dc_resource;
typedef struct kp_describe_configs_response_describe_configs_result dc_result;
typedef struct kp_describe_configs_response_describe_configs_resource_result
    dc_entry;
typedef struct kp_describe_configs_response_describe_configs_synonym dc_syn;

/* Broker properties described from struct mo_config. */
enum {
	BK_ADV_LISTENERS = 1, BK_AUTO_CREATE, BK_COMPRESSION, BK_RF,
	BK_DELETE_TOPIC, BK_REBALANCE_DELAY, BK_LISTENERS, BK_LOG_DIRS,
	BK_FLUSH_MSGS, BK_FLUSH_MS, BK_TS_TYPE, BK_RET_BYTES, BK_RET_HOURS,
	BK_RET_MIN, BK_RET_MS, BK_ROLL_MS, BK_SEG_BYTES, BK_MESSAGE_MAX,
	BK_NODE_ID, BK_IO_THREADS, BK_NUM_PARTITIONS, BK_OFFSETS_PARTS,
	BK_SOCKET_MAX
};

static const struct bconf {
	const char	*name;
	uint8_t		 type;
	const char	*dflt;		/* Kafka's default, NULL for null */
	int		 key;
} bconfs[] = {
	{ "advertised.listeners", TC_STRING, NULL, BK_ADV_LISTENERS },
	{ "auto.create.topics.enable", TC_BOOLEAN, "true", BK_AUTO_CREATE },
	{ "compression.type", TC_STRING, "producer", BK_COMPRESSION },
	{ "default.replication.factor", TC_INT, "1", BK_RF },
	{ "delete.topic.enable", TC_BOOLEAN, "true", BK_DELETE_TOPIC },
	{ "group.initial.rebalance.delay.ms", TC_INT, "3000",
	    BK_REBALANCE_DELAY },
	{ "listeners", TC_STRING, "PLAINTEXT://:9092", BK_LISTENERS },
	{ "log.dirs", TC_STRING, NULL, BK_LOG_DIRS },
	{ "log.flush.interval.messages", TC_LONG, LMAX, BK_FLUSH_MSGS },
	{ "log.flush.interval.ms", TC_LONG, NULL, BK_FLUSH_MS },
	{ "log.message.timestamp.type", TC_STRING, "CreateTime", BK_TS_TYPE },
	{ "log.retention.bytes", TC_LONG, "-1", BK_RET_BYTES },
	{ "log.retention.hours", TC_INT, "168", BK_RET_HOURS },
	{ "log.retention.minutes", TC_INT, NULL, BK_RET_MIN },
	{ "log.retention.ms", TC_LONG, NULL, BK_RET_MS },
	{ "log.roll.ms", TC_LONG, NULL, BK_ROLL_MS },
	{ "log.segment.bytes", TC_INT, "1073741824", BK_SEG_BYTES },
	{ "message.max.bytes", TC_INT, "1048588", BK_MESSAGE_MAX },
	{ "node.id", TC_INT, NULL, BK_NODE_ID },
	{ "num.io.threads", TC_INT, "8", BK_IO_THREADS },
	{ "num.partitions", TC_INT, "1", BK_NUM_PARTITIONS },
	{ "offsets.topic.num.partitions", TC_INT, "50", BK_OFFSETS_PARTS },
	{ "socket.request.max.bytes", TC_INT, "104857600", BK_SOCKET_MAX },
};

#define NBCONFS	(sizeof(bconfs) / sizeof(bconfs[0]))

static const char *
i64(struct req *r, int64_t v, bool minus_one_is_null)
{
	char buf[32];

	if (minus_one_is_null && v < 0)
		return NULL;
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return api_kstr_dup(r, buf).p;
}

static const char *
strlist(struct req *r, const struct mo_strlist *l)
{
	size_t len = 1;
	char *s;

	if (l->n == 0)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + 1;
	s = kp_arena_alloc(&r->arena, len);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, l->v[i]);
	}
	return s;
}

static const char *
bconf_value(struct req *r, const struct mo_config *c, int key)
{
	switch (key) {
	case BK_ADV_LISTENERS:	return strlist(r, &c->advertised_listeners);
	case BK_AUTO_CREATE:	return c->auto_create_topics_enable ?
				    "true" : "false";
	case BK_COMPRESSION:	return c->compression_type;
	case BK_RF:		return i64(r, c->default_replication_factor, 0);
	case BK_DELETE_TOPIC:	return c->delete_topic_enable ? "true" :
				    "false";
	case BK_REBALANCE_DELAY: return i64(r,
				    c->group_initial_rebalance_delay_ms, 0);
	case BK_LISTENERS:	return strlist(r, &c->listeners);
	case BK_LOG_DIRS:	return c->data_dir;
	case BK_FLUSH_MSGS:	return i64(r, c->log_flush_interval_messages, 0);
	case BK_FLUSH_MS:	return i64(r, c->log_flush_interval_ms, 1);
	case BK_TS_TYPE:	return c->log_message_timestamp_type;
	case BK_RET_BYTES:	return i64(r, c->log_retention_bytes, 0);
	case BK_RET_HOURS:	return i64(r, c->log_retention_hours, 0);
	case BK_RET_MIN:	return i64(r, c->log_retention_minutes, 1);
	case BK_RET_MS:		return i64(r, c->log_retention_ms, 1);
	case BK_ROLL_MS:	return i64(r, c->log_segment_ms, 1);
	case BK_SEG_BYTES:	return i64(r, c->log_segment_bytes, 0);
	case BK_MESSAGE_MAX:	return i64(r, c->message_max_bytes, 0);
	case BK_NODE_ID:	return i64(r, c->node_id, 0);
	case BK_IO_THREADS:	return i64(r, c->num_io_threads, 0);
	case BK_NUM_PARTITIONS:	return i64(r, c->num_partitions, 0);
	case BK_OFFSETS_PARTS:	return i64(r, c->offsets_topic_num_partitions,
				    0);
	case BK_SOCKET_MAX:	return i64(r, c->socket_request_max_bytes, 0);
	default:		return NULL;
	}
}

/* ---- DescribeConfigs ---- */

struct dc_ctx {
	struct req		*r;
	const dc_resource	*rr;
	bool			 synonyms;
	dc_entry		*v;
	int32_t			 n;
};

static bool
wanted(const dc_resource *rr, const char *name)
{
	if (rr->configuration_keys.n < 0)
		return true;
	for (int32_t i = 0; i < rr->configuration_keys.n; i++)
		if (api_kstr_eq(rr->configuration_keys.v[i], api_kstr(name)))
			return true;
	return false;
}

static struct kstr
kstr_or_null(const char *s)
{
	return s != NULL ? api_kstr(s) : api_kstr_null();
}

static dc_entry *
add_entry(struct dc_ctx *c, const char *name, const char *value,
    int8_t source, uint8_t type, bool read_only)
{
	dc_entry *e = &c->v[c->n++];

	e->name = api_kstr(name);
	e->value = kstr_or_null(value);
	e->read_only = read_only;
	e->is_default = source == TC_SRC_DEFAULT;
	e->config_source = source;
	e->is_sensitive = false;
	e->config_type = (int8_t)type;
	e->documentation = api_kstr_null();
	e->synonyms.v = api_new(c->r,
	    &kp_describe_configs_response_describe_configs_synonym_desc, 3);
	e->synonyms.n = 0;
	return e;
}

static void
add_syn(dc_entry *e, const char *name, const char *value, int8_t source)
{
	dc_syn *s = &e->synonyms.v[e->synonyms.n++];

	s->name = api_kstr(name);
	s->value = kstr_or_null(value);
	s->source = source;
}

static void
describe_topic(struct dc_ctx *c, const struct tconfig *tc)
{
	for (size_t i = 0; i < tconfig_ndefs(); i++) {
		struct tconfig_value v;
		const struct tconfig_def *d;
		dc_entry *e;

		tconfig_value_at(tc, i, &v);
		d = v.def;
		if (!wanted(c->rr, d->name))
			continue;
		e = add_entry(c, d->name, v.value, v.source, d->type, false);
		if (!c->synonyms)
			continue;
		if (v.source == TC_SRC_DYNAMIC_TOPIC)
			add_syn(e, d->name, v.value, TC_SRC_DYNAMIC_TOPIC);
		if (d->synonym != NULL && v.base_source == TC_SRC_STATIC_BROKER)
			add_syn(e, d->synonym, v.base, TC_SRC_STATIC_BROKER);
		add_syn(e, d->synonym != NULL ? d->synonym : d->name, d->dflt,
		    TC_SRC_DEFAULT);
	}
}

static bool
is_bconf(const char *name)
{
	for (size_t i = 0; i < NBCONFS; i++)
		if (strcmp(bconfs[i].name, name) == 0)
			return true;
	return false;
}

static void
describe_broker(struct dc_ctx *c, const struct mo_config *cfg)
{
	for (size_t i = 0; i < NBCONFS; i++) {
		const struct bconf *bc = &bconfs[i];
		const char *v = bconf_value(c->r, cfg, bc->key);
		bool dflt = (v == NULL && bc->dflt == NULL) || (v != NULL &&
		    bc->dflt != NULL && strcmp(v, bc->dflt) == 0);
		int8_t src = dflt ? TC_SRC_DEFAULT : TC_SRC_STATIC_BROKER;
		dc_entry *e;

		if (!wanted(c->rr, bc->name))
			continue;
		e = add_entry(c, bc->name, v, src, bc->type, true);
		if (c->synonyms)
			add_syn(e, bc->name, v, src);
	}
	/* Broker synonyms of topic configs that keep Kafka's default. */
	for (size_t i = 0; i < tconfig_ndefs(); i++) {
		const struct tconfig_def *d = tconfig_def_at(i);
		dc_entry *e;

		if (d->synonym == NULL || d->cfgkey != 0 ||
		    is_bconf(d->synonym) || !wanted(c->rr, d->synonym))
			continue;
		e = add_entry(c, d->synonym, d->dflt, TC_SRC_DEFAULT, d->type,
		    true);
		if (c->synonyms)
			add_syn(e, d->synonym, d->dflt, TC_SRC_DEFAULT);
	}
}

/*
 * May r do op (DESCRIBE_CONFIGS or ALTER_CONFIGS) on a config resource?
 * KERR_NONE, else the error and its message (Kafka's): topics need op on
 * the topic, the broker and its loggers op on the cluster.
 */
static int16_t
config_authz(struct broker *b, struct req *r, int8_t type, struct kstr name,
    int8_t op, const char **msg)
{
	if (type == RES_TOPIC && !authz_kstr(b, r, ACL_RES_TOPIC, name, op)) {
		*msg = "Topic authorization failed.";
		return KERR_TOPIC_AUTHORIZATION_FAILED;
	}
	if ((type == RES_BROKER || type == RES_BROKER_LOGGER) &&
	    !authz_cluster(b, r, op)) {
		*msg = "Cluster authorization failed.";
		return KERR_CLUSTER_AUTHORIZATION_FAILED;
	}
	return KERR_NONE;
}

static bool
is_this_broker(struct broker *b, struct kstr name)
{
	char id[16];

	snprintf(id, sizeof(id), "%" PRId32, b->cfg->node_id);
	return name.len <= 0 || api_kstr_eq(name, api_kstr(id));
}

static void
describe_one(struct broker *b, struct dc_ctx *c, dc_result *res)
{
	const dc_resource *rr = c->rr;
	struct topic *t;
	const char *msg;

	res->error_message = api_kstr_null();
	res->resource_type = rr->resource_type;
	res->resource_name = rr->resource_name;
	if ((res->error_code = config_authz(b, c->r, rr->resource_type,
	    rr->resource_name, ACL_OP_DESCRIBE_CONFIGS, &msg)) != KERR_NONE) {
		res->error_message = api_kstr(msg);
		return;
	}
	c->v = api_new(c->r,
	    &kp_describe_configs_response_describe_configs_resource_result_desc,
	    tconfig_ndefs() + NBCONFS);
	c->n = 0;
	switch (rr->resource_type) {
	case RES_TOPIC:
		t = topics_find(&b->topics, rr->resource_name.p,
		    (size_t)rr->resource_name.len);
		if (t == NULL) {
			res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			res->error_message = api_kstr("The topic does not "
			    "exist.");
			break;
		}
		describe_topic(c, t->config);
		break;
	case RES_BROKER:
		if (!is_this_broker(b, rr->resource_name)) {
			res->error_code = KERR_INVALID_REQUEST;
			res->error_message = api_kstr("Unexpected broker id.");
			break;
		}
		describe_broker(c, b->cfg);
		break;
	default:
		res->error_code = KERR_INVALID_REQUEST;
		res->error_message = api_kstr("Unsupported resource type.");
		break;
	}
	res->configs.v = c->v;
	res->configs.n = c->n;
}

void
api_describe_configs(struct broker *b, struct req *r)
{
	struct kp_describe_configs_request *req = r->msg;
	struct kp_describe_configs_response resp;
	int32_t n = req->resources.n > 0 ? req->resources.n : 0;
	dc_result *res;

	kp_init(&kp_describe_configs_response_desc, &resp);
	res = api_new(r,
	    &kp_describe_configs_response_describe_configs_result_desc,
	    (size_t)n);
	for (int32_t i = 0; i < n; i++) {
		struct dc_ctx c = { r, &req->resources.v[i],
			r->hdr.api_version >= 1 && req->include_synonyms, NULL,
			0 };
		describe_one(b, &c, &res[i]);
	}
	resp.results.v = res;
	resp.results.n = n;
	req_respond(r, &kp_describe_configs_response_desc, &resp);
}

/* ---- AlterConfigs and IncrementalAlterConfigs ---- */

struct cfg_op {
	struct kstr	name, value;
	int8_t		op;
};

static int16_t
apply_op(struct tconfig *tc, const struct cfg_op *o, char *msg, size_t sz)
{
	const char *n = o->name.p, *v = o->value.p;
	size_t nl = o->name.len > 0 ? (size_t)o->name.len : 0;
	size_t vl = o->value.len > 0 ? (size_t)o->value.len : 0;

	if (o->value.len < 0 && o->op != OP_DELETE)
		v = NULL;
	switch (o->op) {
	case OP_SET:
		return tconfig_set(tc, n, nl, v, vl, msg, sz);
	case OP_DELETE:
		return tconfig_delete(tc, n, nl, msg, sz);
	case OP_APPEND:
	case OP_SUBTRACT:
		return tconfig_append(tc, n, nl, v, vl, o->op == OP_SUBTRACT,
		    msg, sz);
	default:
		snprintf(msg, sz, "Unknown config operation %d.", o->op);
		return KERR_INVALID_REQUEST;
	}
}

static bool
duplicate_names(const struct cfg_op *ops, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = i + 1; j < n; j++)
			if (api_kstr_eq(ops[i].name, ops[j].name))
				return true;
	return false;
}

/*
 * Topic changes are checked here against the config table, turned into
 * SET/DELETE of whole override values and sent to the controller as one
 * IncrementalAlterConfigs; the topic's config changes when the broker's
 * metadata shows the records (meta_client.c).
 */
struct alter_ctx {
	int32_t		 n;
	bool		 incremental;
	int32_t		*fwd_index;	/* position in fwd, -1: answered */
	struct kp_incremental_alter_configs_response_alter_configs_resource_response
			*res;
	struct kp_incremental_alter_configs_request *fwd;
};

static int16_t
alter_topic(struct broker *b, struct req *r, struct kstr name,
    const struct cfg_op *ops, int32_t n, bool incremental,
    struct kp_incremental_alter_configs_request_alter_configs_resource *fr,
    const char **msg)
{
	struct topic *t = topics_find(&b->topics, name.p, (size_t)name.len);
	struct kp_incremental_alter_configs_request_alterable_config *fc;
	struct tconfig *stage;
	size_t nd = tconfig_ndefs(), k = 0;
	char buf[512];

	if (t == NULL) {
		*msg = "The topic does not exist.";
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	stage = incremental ? tconfig_dup(t->config) :
	    tconfig_new(b->topics.cfg);
	for (int32_t i = 0; i < n; i++) {
		int16_t err = apply_op(stage, &ops[i], buf, sizeof(buf));
		if (err != KERR_NONE) {
			tconfig_free(stage);
			*msg = api_kstr_dup(r, buf).p;
			return err;
		}
	}
	/* The difference between the overrides, as whole values. */
	fc = api_new(r,
	    &kp_incremental_alter_configs_request_alterable_config_desc, nd);
	for (size_t i = 0; i < nd; i++) {
		struct tconfig_value was, now;
		bool had, has;

		tconfig_value_at(t->config, i, &was);
		tconfig_value_at(stage, i, &now);
		had = was.source == TC_SRC_DYNAMIC_TOPIC;
		has = now.source == TC_SRC_DYNAMIC_TOPIC;
		if (!had && !has)
			continue;
		if (had && has && strcmp(was.value, now.value) == 0)
			continue;
		fc[k].name = api_kstr(now.def->name);
		fc[k].config_operation = has ? OP_SET : OP_DELETE;
		fc[k].value = has ? api_kstr_dup(r, now.value) :
		    api_kstr_null();
		k++;
	}
	tconfig_free(stage);
	fr->resource_type = RES_TOPIC;
	fr->resource_name = name;
	fr->configs.v = fc;
	fr->configs.n = (int32_t)k;
	return KERR_NONE;
}

static int16_t
alter_broker(struct broker *b, struct req *r, struct kstr name,
    const struct cfg_op *ops, int32_t n, const char **msg)
{
	char buf[256];

	if (!is_this_broker(b, name)) {
		*msg = "Unexpected broker id.";
		return KERR_INVALID_REQUEST;
	}
	if (n == 0)
		return KERR_NONE;
	snprintf(buf, sizeof(buf), "Cannot update these configs dynamically: "
	    "%.*s", ops[0].name.len > 0 ? (int)ops[0].name.len : 0,
	    ops[0].name.p);
	*msg = api_kstr_dup(r, buf).p;
	return KERR_INVALID_REQUEST;
}

static void
alter_respond(struct broker *b, struct req *r, void *resp)
{
	const struct kp_incremental_alter_configs_response *cr = resp;
	struct alter_ctx *cx = r->hctx;

	(void)b;
	for (int32_t i = 0; i < cx->n; i++) {
		int32_t k = cx->fwd_index[i];

		if (k < 0)
			continue;
		if (cr == NULL || k >= cr->responses.n) {
			cx->res[i].error_code = KERR_REQUEST_TIMED_OUT;
			cx->res[i].error_message = api_kstr("The controller "
			    "did not answer in time.");
			continue;
		}
		cx->res[i].error_code = cr->responses.v[k].error_code;
		cx->res[i].error_message = cr->responses.v[k].error_message;
	}
	if (cx->incremental) {
		struct kp_incremental_alter_configs_response out;

		kp_init(&kp_incremental_alter_configs_response_desc, &out);
		out.responses.v = cx->res;
		out.responses.n = cx->n;
		req_respond(r, &kp_incremental_alter_configs_response_desc,
		    &out);
	} else {
		struct kp_alter_configs_response out;
		struct kp_alter_configs_response_alter_configs_resource_response
		    *v = api_new(r,
		    &kp_alter_configs_response_alter_configs_resource_response_desc,
		    (size_t)cx->n);

		kp_init(&kp_alter_configs_response_desc, &out);
		for (int32_t i = 0; i < cx->n; i++) {
			v[i].error_code = cx->res[i].error_code;
			v[i].error_message = cx->res[i].error_message;
			v[i].resource_type = cx->res[i].resource_type;
			v[i].resource_name = cx->res[i].resource_name;
		}
		out.responses.v = v;
		out.responses.n = cx->n;
		req_respond(r, &kp_alter_configs_response_desc, &out);
	}
}

/* One resource of either request: check it, and queue topic changes. */
static void
alter_one(struct broker *b, struct req *r, struct alter_ctx *cx, int32_t i,
    int8_t type, struct kstr name, const struct cfg_op *ops, int32_t n,
    bool validate_only)
{
	struct kp_incremental_alter_configs_response_alter_configs_resource_response
	    *res = &cx->res[i];
	struct kp_incremental_alter_configs_request_alter_configs_resource *fr =
	    &cx->fwd->resources.v[cx->fwd->resources.n];
	const char *msg = NULL;

	res->resource_type = type;
	res->resource_name = name;
	cx->fwd_index[i] = -1;
	/* Denied: neither applied nor forwarded. */
	if ((res->error_code = config_authz(b, r, type, name,
	    ACL_OP_ALTER_CONFIGS, &msg)) != KERR_NONE) {
		res->error_message = api_kstr(msg);
		return;
	}
	if (duplicate_names(ops, n)) {
		msg = "Error due to duplicate config keys.";
		res->error_code = KERR_INVALID_REQUEST;
	} else if (type == RES_TOPIC) {
		res->error_code = alter_topic(b, r, name, ops, n,
		    cx->incremental, fr, &msg);
		if (res->error_code == KERR_NONE && !validate_only &&
		    fr->configs.n > 0)
			cx->fwd_index[i] = cx->fwd->resources.n++;
	} else if (type == RES_BROKER)
		res->error_code = alter_broker(b, r, name, ops, n, &msg);
	else {
		msg = "Unsupported resource type.";
		res->error_code = KERR_INVALID_REQUEST;
	}
	res->error_message = kstr_or_null(msg);
}

static struct alter_ctx *
alter_begin(struct req *r, int32_t n, bool incremental)
{
	struct alter_ctx *cx = kp_arena_alloc(&r->arena, sizeof(*cx));

	cx->n = n;
	cx->incremental = incremental;
	cx->fwd_index = kp_arena_alloc(&r->arena,
	    (size_t)(n + 1) * sizeof(*cx->fwd_index));
	cx->res = api_new(r, &kp_incremental_alter_configs_response_alter_configs_resource_response_desc,
	    (size_t)n);
	cx->fwd = api_new(r, &kp_incremental_alter_configs_request_desc, 1);
	cx->fwd->resources.v = api_new(r,
	    &kp_incremental_alter_configs_request_alter_configs_resource_desc,
	    (size_t)n);
	cx->fwd->resources.n = 0;
	r->hctx = cx;
	return cx;
}

static void
alter_finish(struct broker *b, struct req *r, struct alter_ctx *cx)
{
	if (cx->fwd->resources.n == 0)
		alter_respond(b, r, NULL);
	else
		meta_client_call(b->mc, r, KP_API_INCREMENTAL_ALTER_CONFIGS, 1,
		    cx->fwd, alter_respond);
}

void
api_alter_configs(struct broker *b, struct req *r)
{
	struct kp_alter_configs_request *req = r->msg;
	int32_t n = req->resources.n > 0 ? req->resources.n : 0;
	struct alter_ctx *cx = alter_begin(r, n, false);

	for (int32_t i = 0; i < n; i++) {
		const struct kp_alter_configs_request_alter_configs_resource
		    *rr = &req->resources.v[i];
		int32_t nops = rr->configs.n > 0 ? rr->configs.n : 0;
		struct cfg_op *ops = kp_arena_alloc(&r->arena,
		    (size_t)(nops + 1) * sizeof(*ops));

		for (int32_t j = 0; j < nops; j++) {
			ops[j].name = rr->configs.v[j].name;
			ops[j].value = rr->configs.v[j].value;
			ops[j].op = rr->configs.v[j].value.len < 0 ? OP_DELETE :
			    OP_SET;
		}
		alter_one(b, r, cx, i, rr->resource_type, rr->resource_name,
		    ops, nops, req->validate_only);
	}
	alter_finish(b, r, cx);
}

void
api_incremental_alter_configs(struct broker *b, struct req *r)
{
	struct kp_incremental_alter_configs_request *req = r->msg;
	int32_t n = req->resources.n > 0 ? req->resources.n : 0;
	struct alter_ctx *cx = alter_begin(r, n, true);

	for (int32_t i = 0; i < n; i++) {
		const struct kp_incremental_alter_configs_request_alter_configs_resource
		    *rr = &req->resources.v[i];
		int32_t nops = rr->configs.n > 0 ? rr->configs.n : 0;
		struct cfg_op *ops = kp_arena_alloc(&r->arena,
		    (size_t)(nops + 1) * sizeof(*ops));

		for (int32_t j = 0; j < nops; j++) {
			ops[j].name = rr->configs.v[j].name;
			ops[j].value = rr->configs.v[j].value;
			ops[j].op = rr->configs.v[j].config_operation;
		}
		alter_one(b, r, cx, i, rr->resource_type, rr->resource_name,
		    ops, nops, req->validate_only);
	}
	alter_finish(b, r, cx);
}

/* ---- CreateTopics ---- */

int16_t
api_topic_configs_check(struct broker *b, struct req *r,
    const struct kp_create_topics_request_creatable_topic *ct,
    struct tconfig **out, const char **msg)
{
	struct tconfig *tc = tconfig_new(b->topics.cfg);
	char buf[512];

	*out = NULL;
	for (int32_t i = 0; i < ct->configs.n; i++) {
		const struct kp_create_topics_request_createable_topic_config
		    *c = &ct->configs.v[i];
		int16_t err = tconfig_set(tc, c->name.p,
		    c->name.len > 0 ? (size_t)c->name.len : 0,
		    c->value.len < 0 ? NULL : c->value.p,
		    c->value.len > 0 ? (size_t)c->value.len : 0, buf,
		    sizeof(buf));
		if (err != KERR_NONE) {
			tconfig_free(tc);
			*msg = api_kstr_dup(r, buf).p;
			return err;
		}
	}
	*out = tc;
	return KERR_NONE;
}

static void
fill_create_configs(struct req *r, const struct tconfig *tc,
    struct kp_create_topics_response_creatable_topic_result *res)
{
	size_t n = tconfig_ndefs();
	struct kp_create_topics_response_creatable_topic_configs *v = api_new(r,
	    &kp_create_topics_response_creatable_topic_configs_desc, n);

	for (size_t i = 0; i < n; i++) {
		struct tconfig_value tv;

		tconfig_value_at(tc, i, &tv);
		v[i].name = api_kstr(tv.def->name);
		v[i].value = api_kstr_dup(r, tv.value);
		v[i].read_only = false;
		v[i].config_source = tv.source;
		v[i].is_sensitive = false;
	}
	res->topic_config_error_code = KERR_NONE;
	res->configs.v = v;
	res->configs.n = (int32_t)n;
}

int16_t
api_topic_configs_apply(struct broker *b, struct req *r, struct topic *t,
    struct tconfig *staged,
    struct kp_create_topics_response_creatable_topic_result *res)
{
	if (t == NULL) {
		fill_create_configs(r, staged, res);
		tconfig_free(staged);
		return KERR_NONE;
	}
	if (tconfig_replace(t->config, staged) != 0) {
		topics_delete(&b->topics, t);
		return KERR_KAFKA_STORAGE_ERROR;
	}
	fill_create_configs(r, t->config, res);
	return KERR_NONE;
}
