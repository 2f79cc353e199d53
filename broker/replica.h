/*
 * Replication between brokers.
 *
 * Each partition's leader, replicas, ISR and epochs come from the metadata
 * image (meta_client.c calls replica_apply).  A leader tracks its
 * followers' log ends from their Fetch requests (replica id >= 0), moves
 * the high watermark to the smallest log end in the ISR and asks the
 * controller to shrink or grow the ISR (AlterPartition).  A follower runs
 * one fetch session per leader broker (replica.c), appends what it gets as
 * is and truncates a divergent tail where the leader's epoch history says
 * (Fetch v12 diverging epoch).  The leader epoch history of a log is kept
 * in <partition dir>/leader-epoch-checkpoint (replica_log.c).
 *
 * A partition the image has not described yet is led here with this broker
 * as its only replica: its high watermark is its log end.
 */
#ifndef MO_REPLICA_H
#define MO_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kproto.h"

struct broker;
struct mi_partition;
struct partition;
struct plog;
struct req;

#define PART_LOCAL	(-2)	/* leader before the image said anything */

/* ---- replica.c ---- */
int	replica_start(struct broker *);
void	replica_stop(struct broker *);
/* Take the image's view of a partition (leader, replicas, ISR, epochs). */
void	replica_apply(struct broker *, struct partition *,
	    const struct mi_partition *);
/* A partition is going away (deleted topic): forget its state. */
void	replica_forget(struct partition *);
bool	replica_is_leader(const struct broker *, const struct partition *);
/* The leader's id as clients see it (-1: none). */
int32_t	replica_leader_id(const struct broker *, const struct partition *);
/* Offsets below this are committed (what consumers may read). */
int64_t	replica_hw(const struct partition *);
/*
 * A follower fetched at offset: it has everything below.  Moves the
 * high watermark and may ask the controller to add it to the ISR.
 */
void	replica_follower_fetched(struct broker *, struct partition *,
	    int32_t replica, int64_t offset);
/* The epoch stamped on batches appended by this leader. */
int32_t	replica_epoch(const struct partition *);

/* acks=all: one partition's append, met once the high watermark passes. */
struct hw_target {
	struct kuuid	 topic_id;
	int32_t		 index;
	int32_t		 epoch;		/* leader epoch when appended */
	int64_t		 target;	/* last offset + 1 */
	int16_t		*err;		/* the partition's response code */
	bool		 met;
};
typedef void replica_done(struct req *, void *arg, int err);
/*
 * Park r until every target is met (or its partition lost leadership:
 * NOT_LEADER_OR_FOLLOWER), or timeout_ms passed (REQUEST_TIMED_OUT for
 * the rest); then done(r, arg, 0).  t lives in r's arena.
 */
void	replica_wait_hw(struct broker *, struct req *, struct hw_target *,
	    size_t n, int32_t timeout_ms, replica_done *done, void *arg);
/*
 * Produce checks on a partition: NOT_LEADER_OR_FOLLOWER off the leader,
 * NOT_ENOUGH_REPLICAS for acks=all with an ISR under min.insync.replicas.
 */
int16_t	replica_produce_check(const struct broker *, const struct partition *,
	    int16_t acks);

/* ---- replica_log.c: epoch history and truncation ---- */
/* Record that epoch starts at offset (a new leader, or a fetched batch). */
void	lep_assign(struct broker *, struct partition *, int32_t epoch,
	    int64_t offset);
/* The last epoch in the history, -1 when empty. */
int32_t	lep_last_epoch(struct partition *);
/*
 * For a follower's last fetched epoch: the largest epoch <= it that this
 * log knows (*epoch, -1 if none) and the offset where it ends here.
 */
int64_t	lep_end_offset(struct partition *, int32_t want, int32_t *epoch);
/* Forget epochs that start at or after end (the log was truncated). */
void	lep_truncate(struct broker *, struct partition *, int64_t end);
void	lep_free(struct partition *);
/* Drop everything from offset on (whole batches; a batch holding offset
 * goes too).  The log end is then at or below offset. */
int	plog_truncate(struct plog *, int64_t offset);
/* Empty the log and start it again at offset. */
int	plog_reset(struct plog *, int64_t offset);

#endif
