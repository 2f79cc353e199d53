/*
 * Partition placement and leadership, decided by the controller leader and
 * written as PartitionRecords and PartitionChangeRecords (KRaft).  This part
 * does no I/O: it reads the metadata image and says what should change;
 * ctl_api_partition.c proposes it and answers the APIs.
 *
 *   placement   Kafka's striped assignment: leaders round-robin from a
 *               random start, followers shifted by a random amount that
 *               grows every pass over the brokers; with racks, brokers are
 *               interleaved by rack and each replica of a partition goes to
 *               a rack that has none yet while there is one.
 *   election    the first replica (in replica order) that is in the ISR and
 *               active (registered, unfenced, not in controlled shutdown);
 *               with unclean.leader.election.enable, any active replica
 *               when no ISR member is (its ISR becomes that replica alone
 *               and the leader is RECOVERING).
 *   removal     a broker going away (fenced or shutting down) leaves every
 *               ISR, except that the last member stays (Kafka keeps the
 *               last ISR member), and its partitions get a new leader or
 *               none (-1).
 *   reassign    target replicas: replicas = target then the removed ones,
 *               adding = target - current, removing = current - target;
 *               done once every adding replica is in the ISR.
 */
#ifndef MO_CTL_PARTITION_H
#define MO_CTL_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta_image.h"
#include "wbuf.h"

#define CP_NO_LEADER		(-1)
#define CP_LEADER_SAME		(-2)	/* PartitionChangeRecord: unchanged */
#define CP_MAX_RF		64	/* replicas of one partition */

struct cp_broker {
	int32_t		 id;
	const char	*rack;		/* NULL: none */
};

/*
 * Place nparts partitions (numbered from first) with rf replicas each on the
 * brokers (sorted by id, distinct), writing nparts * rf ids to out.  start
 * and shift are Kafka's random start index and replica shift (any values;
 * reduced modulo the broker count).  -1 when rf is not 1..nb.
 */
int	cp_assign(const struct cp_broker *, size_t nb, int32_t nparts,
	    int32_t rf, int32_t first, size_t start, size_t shift, int32_t *out);

/* Which brokers count as active: the image's, with overrides for records
   proposed in the same entry. */
struct cp_view {
	const struct meta_image	*img;
	int32_t			 gone;	/* treat as inactive, -1 none */
	int32_t			 back;	/* treat as active, -1 none */
};

bool	cp_active(const struct cp_view *, int32_t id);
bool	cp_ints_has(const struct mi_ints *, int32_t);

/* A PartitionChangeRecord being built: n < 0 leaves a list unchanged. */
struct cp_list {
	int32_t	v[CP_MAX_RF];
	int32_t	n;
};

struct cp_change {
	int32_t		leader;		/* CP_LEADER_SAME: unchanged */
	int8_t		recovery;	/* -1: unchanged */
	struct cp_list	isr, replicas, adding, removing;
};

void	cp_change_init(struct cp_change *);
bool	cp_change_empty(const struct cp_change *);
int	cp_change_put(struct wbuf *, const struct kuuid *topic, int32_t part,
	    const struct cp_change *);
/* p after the change (leader and partition epochs bumped as the image
   will); lists point into ch or p. */
void	cp_change_result(const struct mi_partition *, const struct cp_change *,
	    struct mi_partition *out);

/* Broker id goes away: leave the ISRs, hand leadership on.  false: nothing
   to change for this partition. */
bool	cp_remove_broker(const struct cp_view *, const struct mi_partition *,
	    int32_t id, bool unclean, struct cp_change *);
/* Elect a leader for a leaderless partition (or one led by an inactive
   broker).  false: none possible or not needed. */
bool	cp_elect(const struct cp_view *, const struct mi_partition *,
	    bool unclean, struct cp_change *);
/* ElectLeaders: 0 and ch set, or ELECTION_NOT_NEEDED,
   PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE. */
int16_t	cp_elect_preferred(const struct cp_view *, const struct mi_partition *,
	    struct cp_change *);
int16_t	cp_elect_unclean(const struct cp_view *, const struct mi_partition *,
	    struct cp_change *);

/* AlterPartition from leader broker: validate and build the change (an
   ISR change, completing a reassignment when it can).  Returns a Kafka
   error code.  epochs[i] is the broker epoch of isr[i] or -1. */
int16_t	cp_alter_isr(const struct cp_view *, const struct mi_partition *,
	    int32_t broker, int32_t leader_epoch, int32_t partition_epoch,
	    const int32_t *isr, const int64_t *epochs, int32_t nisr,
	    int8_t recovery, int16_t version, struct cp_change *);

/* Start (target != NULL) or cancel (target == NULL) a reassignment;
   a Kafka error code.  Completes at once when nothing is being added. */
int16_t	cp_reassign(const struct cp_view *, const struct mi_partition *,
	    const int32_t *target, int32_t n, struct cp_change *);

/* A boolean config: the topic's, else the cluster default (broker
   resource ""), else def. */
bool	cp_config_bool(const struct meta_image *, const char *topic,
	    const char *name, bool def);
int64_t	cp_config_int(const struct meta_image *, const char *topic,
	    const char *name, int64_t def);

#endif
