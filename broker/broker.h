/*
 * moldau-broker: shared types of the broker process.
 */
#ifndef MO_BROKER_H
#define MO_BROKER_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "group.h"
#include "kproto.h"
#include "producer_state.h"
#include "wbuf.h"

struct broker;
struct meta_client;
struct replica_mgr;
struct conn;
struct tconfig;

/* ---- plog.c: one partition's log on disk (log_segment.h) ---- */

struct seg;
struct topic;

/* A partition's storage settings, refreshed from its topic's configs. */
struct plog_conf {
	uint64_t	segment_bytes;
	int64_t		segment_ms;
	uint32_t	index_interval;
	uint64_t	index_bytes;
	int64_t		retention_ms;		/* -1: unlimited */
	int64_t		retention_bytes;	/* -1: unlimited */
	bool		delete_policy;
	bool		compact;
	int64_t		flush_messages;
	int64_t		flush_ms;
	int64_t		delete_retention_ms;
	int64_t		min_compaction_lag_ms;
	double		min_dirty_ratio;
};

struct plog {
	char			*dir;
	struct seg		**segs;		/* by base offset; last active */
	size_t			 nsegs, capsegs;
	int64_t			 log_start;
	int64_t			 log_end;	/* next offset to assign */
	struct plog_conf	 conf;
	bool			 configured;
	bool			 ok;		/* write the clean marker */
	int64_t			 unflushed;	/* records not yet fsynced */
	int64_t			 last_flush_ms;
	int64_t			 last_append_ms; /* cache budget order */
	struct pstate		 ps;		/* producer_state.h */
	int64_t			 clean_end;	/* compacted below this */
	bool			 cleaning;	/* a cleaner job is out */
	struct clean_job	*clean_job;	/* that job (log_cleaner.c) */
	int64_t			 tomb_due;	/* kept tombstones expire */
	int64_t			 clean_retry_ms; /* after a failed pass */
};

/* A byte range of whole batches inside one segment. */
struct plog_span {
	struct seg	*seg;		/* borrowed from the log */
	uint64_t	 pos;
	size_t		 len;
};

int	plog_open(const char *dir, struct plog **);
/* Closes the log; after a clean stop marks it so the next open trusts it. */
void	plog_free(struct plog *);
void	plog_configure(struct plog *, const struct topic *);
/*
 * Append a records blob of validated batches (offsets already assigned by
 * the caller from plog->log_end), rolling the active segment first when it
 * is full or old.
 */
int	plog_append(struct plog *, const uint8_t *, size_t,
	    const int64_t *base_offsets, const int64_t *last_offsets,
	    const int64_t *max_ts, const uint32_t *sizes, size_t nbatch);
int	plog_append_batch(struct plog *, uint8_t *, size_t);
/* The idempotent producer state, rebuilt from the log tail when needed. */
struct pstate *plog_pstate(struct plog *);
/*
 * The byte range of whole batches from the batch holding offset (or the
 * first after it), up to max_bytes (at least one batch when first is true)
 * and within one segment; len 0 when there is none.
 */
int	plog_span(const struct plog *, int64_t offset, size_t max_bytes,
	    bool first, struct plog_span *);
/* The first batch whose max timestamp is >= ts (len 0: none). */
int	plog_find_time(const struct plog *, int64_t ts, struct plog_span *);
/* The largest timestamp in the log, -1 when empty. */
int64_t	plog_max_timestamp(const struct plog *);
int	plog_pread(const struct plog_span *, void *);
/*
 * Read the batch holding offset (or the first after it) into *buf (caller
 * frees); *next is the offset after it.  MO_ENOTFOUND at the end.
 */
int	plog_read_batch(const struct plog *, int64_t offset, uint8_t **buf,
	    size_t *len, int64_t *next);
/* Bytes available from offset to the end (for fetch.min.bytes). */
uint64_t plog_bytes_after(const struct plog *, int64_t offset);
/*
 * Move the log start offset forward to offset (<= log_end; DeleteRecords)
 * and persist it, so reads below it fail after a restart too.
 */
int	plog_set_log_start(struct plog *, int64_t offset);
/* The active segment (for the flusher). */
struct seg *plog_active(const struct plog *);
/* Roll the active segment if it has data and is older than segment.ms. */
void	plog_maybe_roll(struct plog *, int64_t now);
/*
 * Delete closed segments past retention.ms / retention.bytes or below the
 * log start offset; returns how many were deleted.
 */
size_t	plog_retain(struct plog *, int64_t now);
/* Replace segs[i] by a cleaned copy (same base offset); takes the ref. */
void	plog_swap_segment(struct plog *, size_t i, struct seg *);
/* Persist the cleaner position (a segment base: compacted below it). */
int	plog_set_clean_end(struct plog *, int64_t offset);

/* ---- topics.c: topic registry ---- */

/* A follower's progress as its leader sees it (replica.c). */
struct follower {
	int32_t		 id;
	int64_t		 leo;		/* its log end, from its fetches */
	int64_t		 caught_up_ms;	/* last time it had all we had */
	int64_t		 last_fetch_ms;	/* its previous fetch */
	int64_t		 last_fetch_end; /* our log end then */
};

struct partition {
	struct topic	*topic;
	int32_t		 index;
	struct plog	*log;
	/*
	 * Replication state from the metadata image (replica.c).  Until the
	 * image says otherwise the broker leads with itself as the only
	 * replica, where the high watermark is the log end.
	 */
	int32_t		 leader;	/* broker id, -1: none */
	int32_t		 leader_epoch;
	int32_t		 partition_epoch;
	int32_t		*replicas, *isr;
	size_t		 nreplicas, nisr;
	int64_t		 hw;		/* with more than one replica */
	struct follower	*fols;		/* leader: the other replicas */
	size_t		 nfols;
	bool		 alter_inflight; /* an AlterPartition is out */
	int64_t		 alter_after_ms; /* after a refusal: not before */
	bool		 hosted;	/* a replica here (else not served) */
	struct lep	*lep;		/* epoch history, loaded on use */
};

struct topic {
	TAILQ_ENTRY(topic)	 entry;
	char			*name;
	struct kuuid		 id;
	int32_t			 npart;
	struct partition	*parts;
	struct tconfig		*config;	/* tconfig.h */
};
TAILQ_HEAD(topic_list, topic);

struct topics {
	char			*data_dir;
	const struct mo_config	*cfg;		/* topic config defaults */
	struct dropper		*syncer;	/* file_sync; NULL: inline */
	struct topic_list	 list;
	size_t			 count;
};

int	topics_load(struct topics *, const char *data_dir);
void	topics_clear(struct topics *);
struct topic *topics_find(struct topics *, const char *, size_t);
struct topic *topics_find_id(struct topics *, const struct kuuid *);
/* Returns a Kafka error code (KERR_*). */
int16_t	topics_create(struct topics *, const char *, size_t, int32_t npart,
	    struct topic **);
/* The same with the topic id given (the controller's). */
int16_t	topics_create_id(struct topics *, const char *, size_t,
	    const struct kuuid *, int32_t npart, struct topic **);
int16_t	topics_delete(struct topics *, struct topic *);
/* Grow a topic to npart partitions (CreatePartitions). */
int16_t	topics_add_partitions(struct topics *, struct topic *, int32_t npart);
int16_t	topics_validate_name(const char *, size_t);
/* Kafka's text form of a topic id (22 characters and a NUL). */
void	uuid_to_text(const struct kuuid *, char out[23]);
int	uuid_from_text(const char *, struct kuuid *);
void	uuid_random(struct kuuid *);
struct partition *topic_partition(struct topic *, int32_t);

/* ---- net.c: connections and request framing ---- */

/* A file range sent in place of a records field (sendfile). */
struct req_file {
	const struct kbytes	*field;		/* the hole it fills */
	int			 fd;
	uint64_t		 pos;
	size_t			 len;
	void			(*release)(void *);	/* when sent or dropped */
	void			*arg;
};

struct req {
	TAILQ_ENTRY(req)	 entry;		/* conn's response order */
	TAILQ_ENTRY(req)	 wentry;	/* broker's waiting fetches */
	struct conn		*conn;
	struct broker		*broker;
	struct kp_req_hdr	 hdr;
	int			 resp_hdr_version;
	uint8_t			*frame;		/* request bytes, owned */
	size_t			 framelen;
	struct rd		 body;
	struct kp_arena		 arena;
	void			*msg;		/* decoded request */
	bool			 done;
	bool			 noresp;	/* acks=0 */
	bool			 waiting;	/* parked: cancel on close */
	void			(*cancel)(struct req *);
	void			*cancel_arg;
	struct wbuf		 out;		/* encoded response */
	struct kp_holes		 holes;		/* file ranges of out */
	struct req_file		*files;		/* one per hole, owned */
	size_t			 nfiles;
	struct event		*timer;		/* long-poll deadline */
	uint8_t			 pass;		/* handler runs so far - 1 */
	void			*hctx;		/* handler's state, in arena */
};

/* A listener: its name (PLAINTEXT or SSL, the security protocol) and the
 * address clients are told to use on it (advertised.listeners). */
struct listener {
	struct broker		*b;
	char			 name[16];
	bool			 tls;		/* SSL, SASL_SSL */
	bool			 sasl;		/* SASL_PLAINTEXT, SASL_SSL */
	char			*adv_host;
	int			 adv_port;
	struct evconnlistener	*l;
};

struct broker {
	struct event_base	*base;
	struct mo_config	*cfg;
	/* how cfg was loaded, to load it again on SIGHUP */
	const char		*cfg_path;
	char			**cfg_sets;
	size_t			 cfg_nsets;
	bool			 cfg_single;	/* one file (under moldaud) */
	struct mo_config	**old_cfgs;	/* replaced, freed at exit */
	size_t			 nold_cfgs;
	struct event		*sighup;
	struct topics		 topics;
	struct groups		 groups;
	char			*cluster_id;
	char			*adv_host;	/* the first listener's */
	int			 adv_port;
	struct listener		*listeners;
	size_t			 nlisteners;
	struct ssl_ctx_st	*ssl_ctx;	/* SSL listeners; NULL: none */
	struct ipc_child	*ipc;		/* under moldaud, else NULL */
	struct replica_mgr	*repl;		/* replica.c */
	bool			 serving;	/* listeners accept clients */
	bool			 stopping;	/* controlled shutdown begun */
	TAILQ_HEAD(, req)	 waiting;	/* long-polling fetches */
	struct event		*wake;		/* re-check waiting fetches */
	struct event		*sigterm, *sigint;
	TAILQ_HEAD(, conn)	 conns;
	struct logsvc		*logsvc;	/* log_service.h */
	struct meta_client	*mc;		/* meta_client.h; NULL: none */
	int64_t			 pid_next, pid_end; /* producer id block */
};

int	net_listen(struct broker *);
void	net_close_all(struct broker *);
/* Encode and queue the response of req, then release the request. */
void	req_respond(struct req *, const struct kp_struct *, const void *);
/*
 * Like req_respond, with records fields left as holes (p NULL, len > 0)
 * filled from files (sent with sendfile); takes the files.
 */
void	req_respond_files(struct req *, const struct kp_struct *,
	    const void *, struct req_file *, size_t nfiles);
/* Finish a request that gets no response (Produce acks=0). */
void	req_finish_silent(struct req *);
void	req_close_conn(struct req *, const char *why);
const char *req_peer_host(const struct req *);
/* The listener the request came in on. */
const struct listener *req_listener(const struct req *);
/* A connection's SASL state (api_sasl.c). */
struct conn_auth {
	bool		 done;		/* authenticated (or not required) */
	int		 mech;		/* SASL_MECH_*, 0 before the handshake */
	char		*user;		/* once authenticated */
	char		*principal;	/* "User:name", made when first needed */
	struct scram	*scram;		/* a SCRAM exchange under way */
	bool		 raw;		/* next frame: a raw PLAIN token */
};
struct conn_auth *req_auth(struct req *);
/*
 * The request's principal, as Kafka names it: User:<SASL user>, else
 * User:<client certificate subject, RFC 2253> on TLS with a client
 * certificate, else User:ANONYMOUS.
 */
const char *req_principal(struct req *);
/* Answer r, then close its connection once the answer is sent. */
void	req_respond_close(struct req *, const struct kp_struct *,
	    const void *, const char *why);
void	conn_auth_clear(struct conn_auth *);
/* Answer r with a bare frame of len bytes (SASL v0 raw tokens). */
void	req_respond_raw(struct req *, const void *, size_t len);
/* A raw SASL token after SaslHandshake v0 (frame without a header). */
void	api_sasl_raw(struct broker *, struct req *);

/* ---- api*.c: request handlers ---- */

typedef void api_handler(struct broker *, struct req *);

struct api_entry {
	int16_t		 vmin, vmax;
	api_handler	*fn;
};

const struct api_entry *api_lookup(int16_t api_key);

/* ---- api_acl.c: authorization ---- */

/* Is an authorizer configured (authorizer.class.name)? */
bool	authz_enabled(const struct broker *);
/*
 * May r's principal do op (ACL_OP_*) on the resource (ACL_RES_*, name)?
 * Always when no authorizer is configured; super.users always.
 */
bool	authz_allowed(struct broker *, struct req *, int8_t type,
	    const char *name, size_t len, int8_t op);
bool	authz_kstr(struct broker *, struct req *, int8_t type, struct kstr,
	    int8_t op);
bool	authz_cluster(struct broker *, struct req *, int8_t op);
/* May r's principal do op on some resource of type (by an ALLOW)? */
bool	authz_some(struct broker *, struct req *, int8_t type, int8_t op);
void	api_describe_acls(struct broker *, struct req *);
/* CreateAcls and DeleteAcls. */
void	api_alter_acls(struct broker *, struct req *);
/* api_scram.c */
void	api_describe_scram(struct broker *, struct req *);
void	api_alter_scram(struct broker *, struct req *);
void	api_dispatch(struct broker *, struct req *);
void	api_unsupported_version(struct broker *, struct req *);

api_handler api_api_versions;
api_handler api_metadata;
api_handler api_create_topics;
api_handler api_delete_topics;
api_handler api_produce;
api_handler api_fetch;
api_handler api_list_offsets;
api_handler api_find_coordinator;
api_handler api_join_group;
api_handler api_sync_group;
api_handler api_heartbeat;
api_handler api_leave_group;
api_handler api_offset_commit;
api_handler api_offset_fetch;
api_handler api_offset_delete;
api_handler api_describe_groups;
api_handler api_list_groups;
api_handler api_delete_groups;
api_handler api_create_partitions;
api_handler api_delete_records;
api_handler api_describe_cluster;
api_handler api_forward_controller;
api_handler api_offset_for_leader_epoch;
api_handler api_describe_log_dirs;
api_handler api_describe_configs;
api_handler api_alter_configs;
api_handler api_incremental_alter_configs;
api_handler api_init_producer_id;
api_handler api_sasl_handshake;
api_handler api_sasl_authenticate;

/* CreateTopics configs (api_config.c). */
struct kp_create_topics_request_creatable_topic;
struct kp_create_topics_response_creatable_topic_result;
/* Validate a new topic's configs; *out the staged config on success. */
int16_t	api_topic_configs_check(struct broker *, struct req *,
	    const struct kp_create_topics_request_creatable_topic *,
	    struct tconfig **out, const char **msg);
/*
 * Store staged configs on the created topic t (NULL: validate only), and
 * list the topic's configs in res; takes staged.
 */
int16_t	api_topic_configs_apply(struct broker *, struct req *, struct topic *,
	    struct tconfig *staged,
	    struct kp_create_topics_response_creatable_topic_result *res);

/*
 * Ask the controller to create topics on behalf of r (auto-creation by
 * Metadata, __consumer_offsets by FindCoordinator); r's handler runs
 * again once the broker's metadata has caught up (r->pass is then 1).
 * internal: the compacted layout of Kafka's internal topics.
 */
void	api_autocreate(struct broker *, struct req *, const struct kstr *names,
	    size_t n, int32_t nparts, bool internal);

/* Fetch long polling (api_fetch.c). */
void	fetch_wake(struct broker *);
void	fetch_cancel(struct req *);

/*
 * Registered, unfenced and caught up with the metadata log: accept
 * clients and tell moldaud (main.c; the first call only).
 */
void	broker_serving(struct broker *);

int64_t	now_ms(void);

#endif
