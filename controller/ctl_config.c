/*
 * IncrementalAlterConfigs on the controller: topic config overrides as
 * ConfigRecords.  Brokers check names and values against their table
 * before they forward (the controller has no topic config table), and
 * resolve APPEND/SUBTRACT into SET; the controller takes SET and DELETE
 * for topics that exist and answers once the records are applied.
 */
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"
#include "meta_image.h"
#include "raft.h"

#define CFG_RES_TOPIC	2
#define CFG_OP_SET	0
#define CFG_OP_DELETE	1

static struct kstr
cfg_kstr(const char *s)
{
	struct kstr k = { s, (int32_t)strlen(s) };

	return k;
}

static void
ctl_alter_configs_lost(void *arg)
{
	struct kp_incremental_alter_configs_response *r = arg;

	for (int32_t i = 0; i < r->responses.n; i++)
		if (r->responses.v[i].error_code == KERR_NONE)
			r->responses.v[i].error_code = KERR_NOT_CONTROLLER;
}

int
ctl_alter_configs(struct ctl *c, const struct kp_req_hdr *h, struct rd *rd,
    struct wbuf *w, uint64_t token, struct kp_arena *a)
{
	const struct kp_msg *km = kp_msg_get(h->api_key);
	struct kp_incremental_alter_configs_request q;
	struct kp_incremental_alter_configs_response resp;
	struct kp_incremental_alter_configs_response_alter_configs_resource_response
	    *res;
	struct wbuf recs = { 0 };
	bool leader = raft_role(c->raft) == RAFT_LEADER;
	int32_t i, j, n;
	int rc;

	if (kp_decode(rd, km->req, h->api_version,
	    kp_flexible(km, h->api_version), &q, a) != 0)
		return -1;
	kp_init(km->resp, &resp);
	n = q.resources.n > 0 ? q.resources.n : 0;
	res = kp_arena_alloc(a, ((size_t)n + 1) * sizeof(*res));
	resp.responses.v = res;
	resp.responses.n = n;
	for (i = 0; i < n; i++) {
		const struct kp_incremental_alter_configs_request_alter_configs_resource
		    *rr = &q.resources.v[i];
		struct wbuf mine = { 0 };

		kp_init(&kp_incremental_alter_configs_response_alter_configs_resource_response_desc,
		    &res[i]);
		res[i].resource_type = rr->resource_type;
		res[i].resource_name = rr->resource_name;
		res[i].error_message.len = -1;
		if (!leader) {
			res[i].error_code = KERR_NOT_CONTROLLER;
			continue;
		}
		if (rr->resource_type != CFG_RES_TOPIC) {
			res[i].error_code = KERR_INVALID_REQUEST;
			res[i].error_message = cfg_kstr("Only topic configs "
			    "are kept by the controller.");
			continue;
		}
		if (rr->resource_name.len <= 0 || meta_image_topic(c->img,
		    rr->resource_name.p, (size_t)rr->resource_name.len) ==
		    NULL) {
			res[i].error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			res[i].error_message = cfg_kstr("The topic does not "
			    "exist.");
			continue;
		}
		for (j = 0; j < rr->configs.n; j++) {
			const struct kp_incremental_alter_configs_request_alterable_config
			    *ac = &rr->configs.v[j];
			struct kp_config_record cr;

			if ((ac->config_operation != CFG_OP_SET &&
			    ac->config_operation != CFG_OP_DELETE) ||
			    ac->name.len <= 0 ||
			    (ac->config_operation == CFG_OP_SET &&
			    ac->value.len < 0)) {
				res[i].error_code = KERR_INVALID_REQUEST;
				res[i].error_message = cfg_kstr("The "
				    "controller takes SET with a value and "
				    "DELETE only.");
				break;
			}
			kp_init(&kp_config_record_desc, &cr);
			cr.resource_type = CFG_RES_TOPIC;
			cr.resource_name = rr->resource_name;
			cr.name = ac->name;
			cr.value = ac->config_operation == CFG_OP_DELETE ?
			    (struct kstr){ NULL, -1 } : ac->value;
			meta_record_put(&mine, MI_REC_CONFIG, 0,
			    &kp_config_record_desc, &cr);
		}
		if (res[i].error_code == KERR_NONE && !q.validate_only &&
		    mine.len > 0) {
			wbuf_put(&recs, mine.data, mine.len);
			log_info("controller %d: topic %.*s: %d config "
			    "change(s)", c->cfg->node_id,
			    (int)rr->resource_name.len, rr->resource_name.p,
			    rr->configs.n);
		}
		wbuf_clear(&mine);
	}
	rc = ctl_answer_on_commit(c, h, w, token, &recs, &resp,
	    ctl_alter_configs_lost, NULL);
	wbuf_clear(&recs);
	return rc;
}
