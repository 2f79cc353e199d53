/*
 * Idempotent producers: per partition log, each producer id's epoch and
 * its last PSTATE_BATCHES batches (sequence range and offsets), so that a
 * retried batch is answered with its first offsets instead of being
 * written twice, and a gap in the sequence is refused.
 *
 * The state follows the log: every append updates it (leaders and
 * followers alike), and it is rebuilt from the batch headers of the log's
 * last PSTATE_SCAN_BYTES when first needed after an open or a truncation.
 * A producer not seen there starts fresh with any sequence, as in Kafka.
 * Producers whose last batch is older than producer.id.expiration.ms (by
 * the batch's max timestamp, as in Kafka) are forgotten (pstate_expire).
 */
#ifndef MO_PRODUCER_STATE_H
#define MO_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PSTATE_BATCHES		5
#define PSTATE_SCAN_BYTES	(4u << 20)

struct pstate_batch {
	int32_t		first_seq, last_seq;
	int64_t		base_offset, last_offset;
};

struct pstate_entry {
	int64_t			 pid;		/* -1: free slot */
	int16_t			 epoch;
	uint8_t			 n, head;	/* ring of the last batches */
	int64_t			 last_ts;	/* max timestamp, last batch */
	struct pstate_batch	 b[PSTATE_BATCHES];
};

struct pstate {
	struct pstate_entry	*v;		/* open addressing by pid */
	size_t			 cap, n;
	bool			 loaded;
	int64_t			 checked_ms;	/* last pstate_expire */
};

enum pstate_verdict {
	PSTATE_APPEND,
	PSTATE_DUPLICATE,	/* *dup holds the batch first written */
	PSTATE_OUT_OF_ORDER,	/* OUT_OF_ORDER_SEQUENCE_NUMBER */
	PSTATE_FENCED		/* INVALID_PRODUCER_EPOCH */
};

void	pstate_clear(struct pstate *);
/* What to do with a batch of pid/epoch holding sequences first..last. */
enum pstate_verdict pstate_check(const struct pstate *, int64_t pid,
	    int16_t epoch, int32_t first_seq, int32_t last_seq,
	    struct pstate_batch *dup);
/*
 * A batch of pid/epoch was written at base_offset..last_offset; max_ts is
 * its max timestamp.
 */
void	pstate_note(struct pstate *, int64_t pid, int16_t epoch,
	    int32_t first_seq, int32_t last_seq, int64_t base_offset,
	    int64_t last_offset, int64_t max_ts);
/* Forget producers whose last batch is expiration_ms old; how many. */
size_t	pstate_expire(struct pstate *, int64_t now_ms, int64_t expiration_ms);
/* The sequence of the last record of a batch (sequences wrap at 2^31). */
int32_t	pstate_last_seq(int32_t base_seq, int32_t last_offset_delta);

#endif
