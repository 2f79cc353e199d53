/*
 * Group coordinator (classic protocol): groups, members, rebalances, and
 * committed offsets kept in __consumer_offsets.
 */
#ifndef MO_GROUP_H
#define MO_GROUP_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "kproto.h"

struct broker;
struct req;

#define GROUP_OFFSETS_TOPIC	"__consumer_offsets"

enum group_state {
	GROUP_EMPTY,
	GROUP_PREPARING_REBALANCE,
	GROUP_COMPLETING_REBALANCE,
	GROUP_STABLE,
	GROUP_DEAD
};

struct gproto {
	char		*name;
	uint8_t		*meta;
	size_t		 len;
};

struct gmember {
	TAILQ_ENTRY(gmember)	 entry;
	struct group		*group;
	char			*id;
	char			*instance_id;
	char			*client_id;
	char			*client_host;
	int32_t			 session_timeout;
	int32_t			 rebalance_timeout;
	struct gproto		*protos;
	size_t			 nprotos;
	uint8_t			*assignment;
	size_t			 alen;
	bool			 pending;	/* issued an id, not joined */
	struct req		*join_req;	/* waiting JoinGroup */
	struct req		*sync_req;	/* waiting SyncGroup */
	struct event		*session_timer;
};
TAILQ_HEAD(gmember_list, gmember);

struct goffset {
	char		*topic;
	int32_t		 partition;
	int64_t		 offset;
	int32_t		 leader_epoch;
	char		*metadata;	/* NULL = null */
	int64_t		 commit_ts;
};

struct group {
	TAILQ_ENTRY(group)	 entry;
	struct groups		*groups;
	char			*id;
	enum group_state	 state;
	int32_t			 generation;
	char			*protocol_type;
	char			*protocol;
	char			*leader;
	struct gmember_list	 members;
	size_t			 nmembers;	/* not counting pending */
	struct event		*join_timer;	/* ends the join phase */
	bool			 initial_delay;
	int64_t			 join_deadline;
	struct goffset		*offsets;
	size_t			 noffsets, capoffsets;
	int64_t			 empty_since;
};
TAILQ_HEAD(group_list, group);

struct groups {
	struct broker		*broker;
	struct group_list	 list;
	struct event		*expiry_timer;
};

void	groups_init(struct groups *, struct broker *);
/* KERR_NONE when this broker coordinates group id (leads its partition of
 * __consumer_offsets), else NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE. */
int16_t	groups_coordinator(struct groups *, const char *, size_t);
/* Leadership of a __consumer_offsets partition came here / went away. */
struct partition;
void	groups_load_partition(struct groups *, struct partition *);
void	groups_unload_partition(struct groups *, struct partition *);
void	group_free(struct group *);
/* Drop a group's state here (another broker coordinates it now): waiting
 * requests get NOT_COORDINATOR. */
void	group_unload(struct group *);
void	groups_clear(struct groups *);
struct group *group_find(struct groups *, const char *, size_t);
struct group *group_get(struct groups *, const char *, size_t);
const char *group_state_name(enum group_state);
int32_t	group_partition_for(const char *, size_t, int32_t npart);

/* Membership (group.c); these answer or park the request. */
void	group_join(struct group *, struct req *);
void	group_sync(struct group *, struct req *);
int16_t	group_heartbeat(struct group *, const struct kstr *member,
	    int32_t generation);
int16_t	group_leave(struct group *, const struct kstr *member,
	    const struct kstr *instance);
void	group_delete(struct group *);
void	group_req_cancel(struct req *);

/* Offsets (group_store.c). */
struct goffset *group_offset_find(struct group *, const char *, size_t,
	    int32_t);
int16_t	group_offset_commit(struct group *, const struct kstr *topic,
	    int32_t partition, int64_t offset, int32_t epoch,
	    const struct kstr *metadata);
int16_t	group_offset_delete(struct group *, const struct kstr *topic,
	    int32_t partition);
int16_t	group_store_metadata(struct group *);
int16_t	group_store_tombstone(struct group *);

#endif
