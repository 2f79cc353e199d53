/*
 * moldau-controller's state, shared by main.c (the Raft driver: disk,
 * network, applying committed entries, snapshots) and ctl_api.c (the
 * controller APIs: broker registration and heartbeats, topic changes).
 */
#ifndef MO_CTL_H
#define MO_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "kproto.h"
#include "wbuf.h"

struct bg;
struct kuuid;
struct event;
struct event_base;
struct meta_image;
struct meta_log;
struct mo_config;
struct raft;
struct rio;

/* A request answered once the entry at offset is applied (or refused with
   fail when this node stops leading first). */
struct ctl_wait {
	uint64_t	 token;
	int64_t		 offset;
	struct wbuf	 ok, fail;
};

/* Leader only: when each broker last sent a heartbeat. */
struct ctl_session {
	int32_t	 id;
	int64_t	 last_ms;
	int64_t	 pending;	/* offset of an uncommitted change, -1 */
	int64_t	 meta_offset;	/* its metadata log position, last said */
};

struct ctl {
	struct mo_config	*cfg;
	struct event_base	*base;
	struct raft		*raft;
	struct rio		*io;
	struct meta_log		*log;
	struct bg		*bg;
	char			*meta_dir;
	struct event		*tick_ev, *ready_ev, *sig_int, *sig_term;
	bool			 job_busy;
	int64_t			 last_noop_ms;
	int64_t			 reported_hw;
	bool			 stopping;
	int64_t			 next_pid;	/* handed out, maybe uncommitted */

	/* The image of the committed log. */
	struct meta_image	*img;
	bool			 install_pending;
	int64_t			 bytes_since_snap;
	bool			 snap_busy;
	int64_t			 compact_to;	/* -1 none */
	uint64_t		 logged_digest;
	int64_t			 logged_ms;

	/* Leader state. */
	bool			 leading;
	struct ctl_wait		*waits;
	size_t			 nwaits;
	struct ctl_session	*sess;
	size_t			 nsess;
	char			**pending_topics;	/* being created */
	int64_t			*pending_topic_offs;
	size_t			 npending_topics;
	/* The image with this leader's proposals applied (NULL when all
	   committed): what partition decisions are made on. */
	struct meta_image	*spec;
	int64_t			 spec_until;	/* last proposal in spec */
	int64_t			 rebalance_ms;	/* last preferred-leader pass */
	int64_t			 elect_ms;	/* last leaderless pass */
};

int64_t	ctl_now_ms(void);
/* Propose one entry (framed records); its offset or -1. */
int64_t	ctl_propose(struct ctl *, const struct wbuf *);

/* ctl_api.c */
/* Answer token with ok once offset is applied (fail if leadership is
 * lost first); takes both buffers. */
void	ctl_wait_add(struct ctl *, uint64_t token, int64_t offset,
	    struct wbuf *ok, struct wbuf *fail);
int	ctl_answer_on_commit(struct ctl *, const struct kp_req_hdr *,
	    struct wbuf *, uint64_t token, const struct wbuf *recs,
	    void *resp, void (*not_controller)(void *), int64_t *offp);
/* Encode response r to the request h into w; -1 on failure. */
int	ctl_encode_resp(struct wbuf *, const struct kp_req_hdr *, const void *);
/* A random (version 4) uuid. */
void	ctl_new_uuid(struct kuuid *);
/* CreateAcls and DeleteAcls (ctl_acl.c). */
int	ctl_create_acls(struct ctl *, const struct kp_req_hdr *, struct rd *,
	    struct wbuf *, uint64_t token, struct kp_arena *);
int	ctl_delete_acls(struct ctl *, const struct kp_req_hdr *, struct rd *,
	    struct wbuf *, uint64_t token, struct kp_arena *);
/* ctl_scram.c */
int	ctl_alter_scram(struct ctl *, const struct kp_req_hdr *, struct rd *,
	    struct wbuf *, uint64_t token, struct kp_arena *);
/* IncrementalAlterConfigs of topic configs (ctl_config.c). */
int	ctl_alter_configs(struct ctl *, const struct kp_req_hdr *, struct rd *,
	    struct wbuf *, uint64_t token, struct kp_arena *);
int	ctl_api(const struct kp_req_hdr *, struct rd *, struct wbuf *,
	    uint64_t token, void *);
/* The image moved to end offset; answer what committed. */
void	ctl_api_applied(struct ctl *);
/* Leadership gained or lost; fence silent brokers. */
void	ctl_api_tick(struct ctl *, int64_t now);
void	ctl_api_free(struct ctl *);

/* ctl_api_partition.c: placement and leadership on the leader. */
/* Propose an entry and apply it to the speculative image. */
int64_t	ctl_part_propose(struct ctl *, const struct wbuf *);
/* The image decisions are made on (committed plus proposed). */
const struct meta_image *ctl_part_image(struct ctl *);
void	ctl_part_reset(struct ctl *);
/* A new leader has applied everything before its own epoch. */
bool	ctl_part_ready(struct ctl *);
/* Replicas for nparts new partitions numbered from first among the
   active brokers (out: nparts * rf); 0 or a Kafka error with msg set. */
int16_t	ctl_part_place(struct ctl *, int32_t nparts, int32_t rf,
	    int32_t first, int32_t *out, char *msg, size_t msglen);
/* A manual assignment: 0 or a Kafka error with msg set. */
int16_t	ctl_part_check(struct ctl *, int32_t part, const int32_t *reps,
	    int32_t n, int32_t rf, char *msg, size_t msglen);
/* Append a PartitionRecord: ISR the active replicas, leader the first. */
int	ctl_part_record(struct ctl *, struct wbuf *, const struct kuuid *topic,
	    int32_t part, const int32_t *reps, int32_t n);
/* Append the PartitionChangeRecords for broker id going away (fenced,
   shutting down) or coming back (unfenced). */
void	ctl_part_broker_gone(struct ctl *, struct wbuf *, int32_t id);
void	ctl_part_broker_back(struct ctl *, struct wbuf *, int32_t id);
/* Partitions broker id leads. */
size_t	ctl_part_led(struct ctl *, int32_t id);
/* Periodic preferred leader election (auto.leader.rebalance.enable). */
void	ctl_part_tick(struct ctl *, int64_t now);
int	ctl_alter_partition(struct ctl *, const struct kp_req_hdr *,
	    struct rd *, struct wbuf *, uint64_t token, struct kp_arena *);
int	ctl_elect_leaders(struct ctl *, const struct kp_req_hdr *,
	    struct rd *, struct wbuf *, uint64_t token, struct kp_arena *);
int	ctl_alter_reassignments(struct ctl *, const struct kp_req_hdr *,
	    struct rd *, struct wbuf *, uint64_t token, struct kp_arena *);
int	ctl_list_reassignments(struct ctl *, const struct kp_req_hdr *,
	    struct rd *, struct wbuf *, struct kp_arena *);

#endif
