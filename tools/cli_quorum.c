/*
 * kafka-metadata-quorum / moldau quorum describe: the Raft metadata
 * quorum as its leader sees it (DescribeQuorum), asked over a blocking
 * connection with the project's codec:
 *
 *   1. DescribeCluster (controller endpoints) to the first controller of
 *      --bootstrap-controller that answers: the controllers and the leader;
 *   2. DescribeQuorum to the leader: epoch, high watermark, each voter's
 *      log end offset and last fetch, the observers;
 *   3. DescribeCluster to the leader for the brokers: the live (unfenced)
 *      ones and every registered one (moldau's endpoint type 100), so a
 *      broker that stopped heartbeating shows as fenced.
 *
 *   kafka-metadata-quorum --bootstrap-controller H:P describe --status
 *   kafka-metadata-quorum --bootstrap-controller H:P describe --replication
 *   moldau quorum describe --bootstrap-controller H:P   (both, and brokers)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "kerr.h"
#include "kproto.h"
#include "kproto_gen.h"

#define QUORUM_TOOL		"kafka-metadata-quorum"
#define QUORUM_TOPIC		"__cluster_metadata"
#define QUORUM_MAX_NODES	256
#define QUORUM_EP_BROKER	1
#define QUORUM_EP_CONTROLLER	2
#define QUORUM_EP_REGISTERED	100	/* moldau: fenced brokers too */

static const char quorum_help[] =
    "Usage: kafka-metadata-quorum --bootstrap-controller HOST:PORT[,...]\n"
    "           describe [--status | --replication]\n"
    "       moldau quorum describe --bootstrap-controller HOST:PORT[,...]\n"
    "           [--status | --replication]\n\n"
    "Describes the metadata quorum as its leader sees it: the leader, its\n"
    "epoch and high watermark, every voter's log end offset and lag, the\n"
    "observers, and (moldau quorum describe, or neither option) the\n"
    "registered brokers with their fencing.  --bootstrap-server is taken\n"
    "as a synonym of --bootstrap-controller.\n";

struct quorum_node {
	int32_t	 id;
	char	 host[256];
	int32_t	 port;
	bool	 live;
};

struct quorum_cluster {
	int32_t			 leader;
	char			 cluster_id[64];
	struct quorum_node	 v[QUORUM_MAX_NODES];
	size_t			 n;
};

/*
 * One request on its own connection to host:port; the decoded response
 * (arrays in a, the response bytes in *buf: both live as long as it).
 */
static int
quorum_call(const char *host, int32_t port, int16_t key, int16_t ver,
    const void *req, void *resp, struct kp_arena *a, uint8_t **buf)
{
	char addr[300];
	struct cli_raw *raw;
	int rc;

	snprintf(addr, sizeof(addr), "%s:%" PRId32, host, port);
	if ((raw = cli_raw_connect(addr)) == NULL) {
		*buf = NULL;
		return -1;
	}
	kp_init(kp_msg_get(key)->resp, resp);
	rc = cli_raw_rpc(raw, key, ver, req, resp, a, buf);
	cli_raw_close(raw);
	if (rc != 0) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

/* DescribeCluster v1 of endpoint type ep into cl (appending). */
static int
quorum_cluster(const char *host, int32_t port, int8_t ep,
    struct quorum_cluster *cl, bool live)
{
	struct kp_describe_cluster_request q;
	struct kp_describe_cluster_response r;
	struct kp_arena a = { 0 };
	uint8_t *buf;
	size_t k;
	int32_t i;

	kp_init(&kp_describe_cluster_request_desc, &q);
	q.endpoint_type = ep;
	if (quorum_call(host, port, KP_API_DESCRIBE_CLUSTER, 1, &q, &r, &a,
	    &buf) != 0) {
		kp_arena_clear(&a);
		return -1;
	}
	if (r.error_code != 0) {
		cli_err(QUORUM_TOOL, "%s:%d: DescribeCluster: %s", host,
		    (int)port, kerr_name(r.error_code));
		free(buf);
		kp_arena_clear(&a);
		return -1;
	}
	cl->leader = r.controller_id;
	snprintf(cl->cluster_id, sizeof(cl->cluster_id), "%.*s",
	    r.cluster_id.len > 0 ? (int)r.cluster_id.len : 0,
	    r.cluster_id.len > 0 ? r.cluster_id.p : "");
	for (i = 0; i < r.brokers.n; i++) {
		const struct kp_describe_cluster_response_describe_cluster_broker
		    *b = &r.brokers.v[i];

		for (k = 0; k < cl->n; k++)
			if (cl->v[k].id == b->broker_id)
				break;
		if (k == cl->n) {
			if (cl->n == QUORUM_MAX_NODES)
				break;
			cl->n++;
			memset(&cl->v[k], 0, sizeof(cl->v[k]));
			cl->v[k].id = b->broker_id;
			snprintf(cl->v[k].host, sizeof(cl->v[k].host), "%.*s",
			    b->host.len > 0 ? (int)b->host.len : 0,
			    b->host.len > 0 ? b->host.p : "");
			cl->v[k].port = b->port;
		}
		if (live)
			cl->v[k].live = true;
	}
	free(buf);
	kp_arena_clear(&a);
	return 0;
}

/* The controllers and the leader, from the first address that answers. */
static int
quorum_find(const char *bootstrap, struct quorum_cluster *ctl)
{
	char list[1024], *save = NULL, *tok, *colon;

	snprintf(list, sizeof(list), "%s", bootstrap);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((colon = strrchr(tok, ':')) == NULL)
			continue;
		*colon = '\0';
		memset(ctl, 0, sizeof(*ctl));
		if (quorum_cluster(tok, atoi(colon + 1), QUORUM_EP_CONTROLLER,
		    ctl, true) == 0)
			return 0;
	}
	cli_err(QUORUM_TOOL, "no controller of %s answers", bootstrap);
	return -1;
}

static const struct quorum_node *
quorum_node(const struct quorum_cluster *cl, int32_t id)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		if (cl->v[i].id == id)
			return &cl->v[i];
	return NULL;
}

static void
quorum_ids(const struct kp_describe_quorum_response_replica_state *v,
    int32_t n)
{
	int32_t i;

	putchar('[');
	for (i = 0; i < n; i++)
		printf("%s%" PRId32, i ? "," : "", v[i].replica_id);
	puts("]");
}

static void
quorum_print_status(const struct quorum_cluster *ctl,
    const struct kp_describe_quorum_response_partition_data *p)
{
	int64_t lag = 0, lag_ms = -1, now = (int64_t)time(NULL) * 1000;
	int32_t i;

	for (i = 0; i < p->current_voters.n; i++) {
		const struct kp_describe_quorum_response_replica_state *s =
		    &p->current_voters.v[i];

		if (s->replica_id == p->leader_id)
			continue;
		if (p->high_watermark - s->log_end_offset > lag)
			lag = p->high_watermark - s->log_end_offset;
		if (s->last_caught_up_timestamp > 0 &&
		    now - s->last_caught_up_timestamp > lag_ms)
			lag_ms = now - s->last_caught_up_timestamp;
	}
	printf("ClusterId:              %s\n", ctl->cluster_id);
	printf("LeaderId:               %" PRId32 "\n", p->leader_id);
	printf("LeaderEpoch:            %" PRId32 "\n", p->leader_epoch);
	printf("HighWatermark:          %" PRId64 "\n", p->high_watermark);
	printf("MaxFollowerLag:         %" PRId64 "\n", lag);
	printf("MaxFollowerLagTimeMs:   %" PRId64 "\n", lag_ms);
	printf("CurrentVoters:          ");
	quorum_ids(p->current_voters.v, p->current_voters.n);
	printf("CurrentObservers:       ");
	quorum_ids(p->observers.v, p->observers.n);
}

static void
quorum_row(const struct kp_describe_quorum_response_replica_state *s,
    int64_t hw, const char *status)
{
	int64_t lag = s->log_end_offset < 0 ? -1 : hw - s->log_end_offset;

	printf("%-8" PRId32 "%-16" PRId64 "%-8" PRId64 "%-24" PRId64
	    "%-24" PRId64 "%s\n", s->replica_id, s->log_end_offset,
	    lag < 0 ? 0 : lag, s->last_fetch_timestamp,
	    s->last_caught_up_timestamp, status);
}

static void
quorum_print_replication(
    const struct kp_describe_quorum_response_partition_data *p)
{
	int32_t i;

	printf("%-8s%-16s%-8s%-24s%-24s%s\n", "NodeId", "LogEndOffset",
	    "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status");
	for (i = 0; i < p->current_voters.n; i++)
		if (p->current_voters.v[i].replica_id == p->leader_id)
			quorum_row(&p->current_voters.v[i], p->high_watermark,
			    "Leader");
	for (i = 0; i < p->current_voters.n; i++)
		if (p->current_voters.v[i].replica_id != p->leader_id)
			quorum_row(&p->current_voters.v[i], p->high_watermark,
			    "Follower");
	for (i = 0; i < p->observers.n; i++)
		quorum_row(&p->observers.v[i], p->high_watermark, "Observer");
}

static void
quorum_print_brokers(const struct quorum_cluster *br)
{
	char ep[300];
	size_t i;

	printf("%-10s%-28s%s\n", "BrokerId", "Endpoint", "Status");
	for (i = 0; i < br->n; i++) {
		snprintf(ep, sizeof(ep), "%s:%" PRId32, br->v[i].host,
		    br->v[i].port);
		printf("%-10" PRId32 "%-28s%s\n", br->v[i].id, ep,
		    br->v[i].live ? "Unfenced" : "Fenced");
	}
}

static int
quorum_describe(const char *bootstrap, bool status, bool replication,
    bool brokers)
{
	struct quorum_cluster *ctl = calloc(1, sizeof(*ctl)),
	    *br = calloc(1, sizeof(*br));
	struct kp_describe_quorum_request q;
	struct kp_describe_quorum_request_topic_data t;
	struct kp_describe_quorum_request_partition_data qp = { 0 };
	struct kp_describe_quorum_response r;
	const struct kp_describe_quorum_response_partition_data *p;
	const struct quorum_node *ln;
	struct kp_arena a = { 0 };
	uint8_t *buf = NULL;
	int rc = CLI_FAIL;

	if (ctl == NULL || br == NULL)
		abort();
	if (quorum_find(bootstrap, ctl) != 0)
		goto out;
	if (ctl->leader < 0 || (ln = quorum_node(ctl, ctl->leader)) == NULL) {
		cli_err(QUORUM_TOOL, "the quorum has no leader now");
		goto out;
	}
	kp_init(&kp_describe_quorum_request_desc, &q);
	t.topic_name.p = QUORUM_TOPIC;
	t.topic_name.len = (int32_t)strlen(QUORUM_TOPIC);
	t.partitions.v = &qp;
	t.partitions.n = 1;
	q.topics.v = &t;
	q.topics.n = 1;
	if (quorum_call(ln->host, ln->port, KP_API_DESCRIBE_QUORUM, 1, &q, &r,
	    &a, &buf) != 0) {
		cli_err(QUORUM_TOOL, "controller %" PRId32 " at %s:%" PRId32
		    ": no answer to DescribeQuorum", ln->id, ln->host,
		    ln->port);
		goto out;
	}
	if (r.error_code != 0 || r.topics.n != 1 ||
	    r.topics.v[0].partitions.n != 1) {
		cli_err(QUORUM_TOOL, "DescribeQuorum: %s",
		    kerr_name(r.error_code));
		goto out;
	}
	p = &r.topics.v[0].partitions.v[0];
	if (p->error_code != 0) {
		cli_err(QUORUM_TOOL, "DescribeQuorum: %s (leader %" PRId32 ")",
		    kerr_name(p->error_code), p->leader_id);
		goto out;
	}
	if (brokers && (quorum_cluster(ln->host, ln->port,
	    QUORUM_EP_REGISTERED, br, false) != 0 ||
	    quorum_cluster(ln->host, ln->port, QUORUM_EP_BROKER, br,
	    true) != 0)) {
		cli_err(QUORUM_TOOL, "controller %" PRId32 ": no answer to "
		    "DescribeCluster", ln->id);
		goto out;
	}
	if (status)
		quorum_print_status(ctl, p);
	if (replication) {
		if (status)
			putchar('\n');
		quorum_print_replication(p);
	}
	if (brokers) {
		putchar('\n');
		quorum_print_brokers(br);
	}
	rc = CLI_OK;
out:
	free(buf);
	kp_arena_clear(&a);
	free(ctl);
	free(br);
	return rc;
}

int
tool_metadata_quorum(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bootstrap-controller", required_argument, NULL, 'b' },
		{ "bootstrap-server", required_argument, NULL, 'b' },
		{ "status", no_argument, NULL, 's' },
		{ "replication", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *bootstrap = NULL;
	bool status = false, replication = false, moldau;
	int c;

	/* "moldau quorum describe" prints everything by default. */
	moldau = argc > 0 && strcmp(argv[0], "moldau-quorum") == 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bootstrap = optarg;
			break;
		case 's':
			status = true;
			break;
		case 'r':
			replication = true;
			break;
		case 'h':
			return cli_help(quorum_help);
		default:
			return cli_bad_option(QUORUM_TOOL, argc, argv, c);
		}
	}
	if (optind >= argc || strcmp(argv[optind], "describe") != 0 ||
	    optind + 1 != argc)
		return cli_usage_err(QUORUM_TOOL, "want describe [--status | "
		    "--replication] (see --help)");
	if (bootstrap == NULL)
		return cli_usage_err(QUORUM_TOOL, "--bootstrap-controller "
		    "HOST:PORT is required");
	if (status && replication)
		return cli_usage_err(QUORUM_TOOL, "--status and "
		    "--replication exclude each other");
	if (!status && !replication) {
		if (!moldau)
			return cli_usage_err(QUORUM_TOOL, "describe needs "
			    "--status or --replication");
		return quorum_describe(bootstrap, true, true, true);
	}
	return quorum_describe(bootstrap, status, replication, false);
}
