/*
 * Request dispatch: the table of supported APIs and version ranges (which
 * also answers ApiVersions), request decoding, and ApiVersions itself.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "kerr.h"
#include "kproto_gen.h"
#include "log.h"

/*
 * Version ranges: those Kafka 3.7 advertises, except the pre-0.11 message
 * formats (Fetch from v4) and ListOffsets v0.  Produce is advertised from
 * v0 because librdkafka 2.0.2 (Debian 12) sends gzip, snappy and lz4
 * batches only to a broker whose Produce range includes v0 (it sends them
 * uncompressed otherwise); a batch of magic 0 or 1 is refused at any
 * version with UNSUPPORTED_FOR_MESSAGE_FORMAT.
 */
static const struct api_entry api_table[] = {
	[KP_API_PRODUCE] = { 0, 10, api_produce },
	[KP_API_FETCH] = { 4, 16, api_fetch },
	[KP_API_LIST_OFFSETS] = { 1, 8, api_list_offsets },
	[KP_API_OFFSET_FOR_LEADER_EPOCH] = { 2, 4,
	    api_offset_for_leader_epoch },
	[KP_API_METADATA] = { 0, 12, api_metadata },
	[KP_API_API_VERSIONS] = { 0, 3, api_api_versions },
	[KP_API_CREATE_TOPICS] = { 2, 7, api_create_topics },
	[KP_API_DELETE_TOPICS] = { 1, 6, api_delete_topics },
	[KP_API_OFFSET_COMMIT] = { 0, 9, api_offset_commit },
	[KP_API_OFFSET_FETCH] = { 0, 9, api_offset_fetch },
	[KP_API_FIND_COORDINATOR] = { 0, 4, api_find_coordinator },
	[KP_API_JOIN_GROUP] = { 0, 9, api_join_group },
	[KP_API_HEARTBEAT] = { 0, 4, api_heartbeat },
	[KP_API_LEAVE_GROUP] = { 0, 5, api_leave_group },
	[KP_API_SYNC_GROUP] = { 0, 5, api_sync_group },
	[KP_API_DESCRIBE_GROUPS] = { 0, 5, api_describe_groups },
	[KP_API_LIST_GROUPS] = { 0, 4, api_list_groups },
	[KP_API_DELETE_GROUPS] = { 0, 2, api_delete_groups },
	[KP_API_OFFSET_DELETE] = { 0, 0, api_offset_delete },
	[KP_API_DELETE_RECORDS] = { 0, 2, api_delete_records },
	[KP_API_DESCRIBE_CONFIGS] = { 0, 4, api_describe_configs },
	[KP_API_ALTER_CONFIGS] = { 0, 2, api_alter_configs },
	[KP_API_DESCRIBE_LOG_DIRS] = { 0, 4, api_describe_log_dirs },
	[KP_API_CREATE_PARTITIONS] = { 0, 3, api_create_partitions },
	[KP_API_INCREMENTAL_ALTER_CONFIGS] = { 0, 1,
	    api_incremental_alter_configs },
	[KP_API_DESCRIBE_CLUSTER] = { 0, 1, api_describe_cluster },
	[KP_API_INIT_PRODUCER_ID] = { 0, 4, api_init_producer_id },
	/* v0 is advertised (librdkafka looks for it); only v1 is served */
	[KP_API_SASL_HANDSHAKE] = { 0, 1, api_sasl_handshake },
	[KP_API_SASL_AUTHENTICATE] = { 0, 2, api_sasl_authenticate },
	[KP_API_DESCRIBE_ACLS] = { 0, 3, api_describe_acls },
	[KP_API_CREATE_ACLS] = { 0, 3, api_alter_acls },
	[KP_API_DELETE_ACLS] = { 0, 3, api_alter_acls },
	[KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS] = { 0, 0, api_describe_scram },
	[KP_API_ALTER_USER_SCRAM_CREDENTIALS] = { 0, 0, api_alter_scram },
	/* Decided by the controller: forwarded as they are. */
	[KP_API_ELECT_LEADERS] = { 0, 2, api_forward_controller },
	[KP_API_ALTER_PARTITION_REASSIGNMENTS] = { 0, 0,
	    api_forward_controller },
	[KP_API_LIST_PARTITION_REASSIGNMENTS] = { 0, 0,
	    api_forward_controller },
};

#define API_TABLE_LEN	(sizeof(api_table) / sizeof(api_table[0]))

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct api_entry *
api_lookup(int16_t key)
{
	if (key < 0 || (size_t)key >= API_TABLE_LEN ||
	    api_table[key].fn == NULL)
		return NULL;
	return &api_table[key];
}

static void
api_versions_fill(struct req *r, struct kp_api_versions_response *resp)
{
	size_t n = 0;

	resp->api_keys.v = kp_arena_alloc(&r->arena,
	    API_TABLE_LEN * sizeof(*resp->api_keys.v));
	for (size_t k = 0; k < API_TABLE_LEN; k++) {
		if (api_table[k].fn == NULL)
			continue;
		resp->api_keys.v[n].api_key = (int16_t)k;
		resp->api_keys.v[n].min_version = api_table[k].vmin;
		resp->api_keys.v[n].max_version = api_table[k].vmax;
		n++;
	}
	resp->api_keys.n = (int32_t)n;
}

void
api_api_versions(struct broker *b, struct req *r)
{
	struct kp_api_versions_response resp;

	(void)b;
	kp_init(&kp_api_versions_response_desc, &resp);
	resp.error_code = KERR_NONE;
	api_versions_fill(r, &resp);
	req_respond(r, &kp_api_versions_response_desc, &resp);
}

/*
 * An ApiVersions request of a version we do not know: answer in v0 with
 * UNSUPPORTED_VERSION and our ranges, so the client can pick one.
 */
void
api_unsupported_version(struct broker *b, struct req *r)
{
	struct kp_api_versions_response resp;

	(void)b;
	kp_init(&kp_api_versions_response_desc, &resp);
	resp.error_code = KERR_UNSUPPORTED_VERSION;
	api_versions_fill(r, &resp);
	r->hdr.api_version = 0;
	r->resp_hdr_version = 0;
	req_respond(r, &kp_api_versions_response_desc, &resp);
}

void
api_dispatch(struct broker *b, struct req *r)
{
	const struct api_entry *e = api_lookup(r->hdr.api_key);
	const struct kp_msg *m = kp_msg_get(r->hdr.api_key);
	int16_t ver = r->hdr.api_version;

	if (e == NULL || m == NULL) {
		req_close_conn(r, "unsupported API key");
		return;
	}
	/* A SASL listener serves nothing else before authentication. */
	if (!req_auth(r)->done && r->hdr.api_key != KP_API_API_VERSIONS &&
	    r->hdr.api_key != KP_API_SASL_HANDSHAKE &&
	    r->hdr.api_key != KP_API_SASL_AUTHENTICATE) {
		log_warnx("broker: conn %s: %s before SASL authentication",
		    req_peer_host(r), m->name);
		req_close_conn(r, "request before SASL authentication");
		return;
	}
	if (ver < e->vmin || ver > e->vmax) {
		if (r->hdr.api_key == KP_API_API_VERSIONS) {
			api_unsupported_version(b, r);
			return;
		}
		log_warnx("broker: conn: %s v%d is not supported (%d..%d)",
		    m->name, ver, e->vmin, e->vmax);
		req_close_conn(r, "unsupported API version");
		return;
	}
	r->resp_hdr_version = kp_resp_hdr_version(r->hdr.api_key, ver);
	r->msg = kp_arena_alloc(&r->arena, m->req->size);
	if (kp_decode(&r->body, m->req, ver, kp_flexible(m, ver), r->msg,
	    &r->arena) != 0) {
		log_warnx("broker: %s v%d: malformed request: %s", m->name, ver,
		    mo_strerror(r->body.err));
		req_close_conn(r, "malformed request");
		return;
	}
	e->fn(b, r);
}
