/*
 * Kafka record batches, magic 2 (the only format we accept).
 *
 * Header (61 bytes, big-endian):
 *   0 baseOffset i64        8 batchLength i32 (bytes after this field)
 *  12 partitionLeaderEpoch i32   16 magic i8    17 crc u32
 *  21 attributes i16       23 lastOffsetDelta i32
 *  27 baseTimestamp i64    35 maxTimestamp i64   43 producerId i64
 *  51 producerEpoch i16    53 baseSequence i32   57 recordCount i32
 * then the records, compressed as a whole when the codec bits say so.
 * The CRC32C covers attributes to the end of the batch.
 */
#ifndef MO_BATCH_H
#define MO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compress.h"
#include "kproto.h"
#include "rd.h"
#include "wbuf.h"

#define BATCH_HEADER_SIZE	61
#define BATCH_LOG_OVERHEAD	12	/* baseOffset + batchLength */
#define BATCH_MAGIC		2

#define BATCH_OFF_BASE_OFFSET	0
#define BATCH_OFF_LENGTH	8
#define BATCH_OFF_LEADER_EPOCH	12
#define BATCH_OFF_MAGIC		16
#define BATCH_OFF_CRC		17
#define BATCH_OFF_ATTRIBUTES	21
#define BATCH_OFF_LAST_DELTA	23
#define BATCH_OFF_BASE_TS	27
#define BATCH_OFF_MAX_TS	35
#define BATCH_OFF_PRODUCER_ID	43
#define BATCH_OFF_PRODUCER_EPOCH 51
#define BATCH_OFF_BASE_SEQUENCE	53
#define BATCH_OFF_RECORD_COUNT	57

#define BATCH_ATTR_CODEC_MASK	0x07
#define BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BATCH_ATTR_TRANSACTIONAL 0x10
#define BATCH_ATTR_CONTROL	0x20

/* Control record types (key: version i16, type i16). */
#define BATCH_CONTROL_ABORT	0
#define BATCH_CONTROL_COMMIT	1

struct batch_info {
	int64_t		base_offset;
	int32_t		length;		/* batchLength */
	int32_t		leader_epoch;
	int8_t		magic;
	uint32_t	crc;
	int16_t		attributes;
	int32_t		last_offset_delta;
	int64_t		base_timestamp;
	int64_t		max_timestamp;
	int64_t		producer_id;
	int16_t		producer_epoch;
	int32_t		base_sequence;
	int32_t		record_count;
};

/* Whole size of the batch on the wire and in the log. */
static inline size_t
batch_size(const struct batch_info *bi)
{
	return BATCH_LOG_OVERHEAD + (size_t)bi->length;
}

static inline int
batch_codec(const struct batch_info *bi)
{
	return bi->attributes & BATCH_ATTR_CODEC_MASK;
}

static inline int64_t
batch_last_offset(const struct batch_info *bi)
{
	return bi->base_offset + bi->last_offset_delta;
}

/*
 * Parse the batch header at p.  MO_ESHORT when fewer than batch_size()
 * bytes are available, MO_EVERSION for a magic other than 2,
 * MO_EMALFORMED for an impossible length.  Does not check the CRC.
 * Reads only the first 61 bytes: to parse a header alone (log recovery),
 * pass len SIZE_MAX and check batch_size() against what is there.
 */
int	batch_header_parse(const uint8_t *, size_t, struct batch_info *);

/*
 * Full validation of the batch at p as a broker receives it: header,
 * CRC32C, record_count >= 1 and last_offset_delta == record_count - 1,
 * every record parsing exactly with offset deltas 0..n-1 and nothing left
 * over (after decompression bounded by max_decompressed for compressed
 * batches).  Bytes after the batch are ignored: advance by batch_size().
 * Returns 0, MO_ESHORT, MO_EVERSION, MO_ECRC, MO_EMALFORMED, MO_ECODEC
 * (corrupt or unknown compression), MO_ETOOBIG.
 */
int	batch_validate(const uint8_t *, size_t, size_t max_decompressed,
	    struct batch_info *);

/*
 * Reader over the records of a batch whose header parsed: the batch
 * itself when uncompressed, else decompressed into tmp (appended; caller
 * clears).  The reader borrows p or tmp.
 */
int	batch_records(const uint8_t *, const struct batch_info *,
	    size_t max_decompressed, struct wbuf *tmp, struct rd *);

/*
 * Whether a validated batch holds a record with a null key (a compacted
 * topic refuses those).  Control batches have none by definition.
 */
bool	batch_has_null_key(const uint8_t *, const struct batch_info *,
	    size_t max_decompressed);

/* In-place edits after validation (p is a batch of at least 61 bytes). */
void	batch_set_base_offset(uint8_t *, int64_t);	/* not in the CRC */
void	batch_set_leader_epoch(uint8_t *, int32_t);	/* not in the CRC */
/* Set the LogAppendTime bit, base and max timestamps; recompute the CRC. */
void	batch_set_log_append_time(uint8_t *, size_t, int64_t);
/*
 * Turn the batch at p into one without records (header only, 61 bytes,
 * uncompressed), keeping its offsets, timestamps and producer fields: the
 * log cleaner leaves one where the log's last records were all removed,
 * so consumers still move past them to the log end.
 */
void	batch_make_empty(uint8_t *);
/* Recompute the CRC after other edits of a batch of len >= batch_size. */
void	batch_update_crc(uint8_t *, size_t);

struct record {
	int8_t		 attributes;
	int64_t		 timestamp_delta;
	int32_t		 offset_delta;
	struct kbytes	 key;		/* len -1: null */
	struct kbytes	 value;		/* len -1: null */
	int32_t		 header_count;
	const uint8_t	*headers;	/* header_count headers, checked */
	size_t		 headers_len;
};

struct record_header {
	struct kbytes	key;		/* never null */
	struct kbytes	value;		/* len -1: null */
};

/*
 * Parse one record, checking its length prefix and headers exactly.
 * Views borrow the reader's buffer.
 */
int	batch_records_next(struct rd *, struct record *);
/* Iterate rec->headers: rd_init(&r, rec->headers, rec->headers_len). */
int	record_headers_next(struct rd *, struct record_header *);

/* Building batches (tests, the log cleaner, control batches, tools). */
struct batch_builder {
	int		codec;
	int16_t		attributes;	/* without the codec bits */
	int32_t		leader_epoch;
	int64_t		base_offset;
	int64_t		base_timestamp;
	int64_t		max_timestamp;
	int64_t		producer_id;
	int16_t		producer_epoch;
	int32_t		base_sequence;
	int32_t		count;
	int32_t		last_delta;	/* offset delta of the last record */
	struct wbuf	records;	/* uncompressed records */
};

void	batch_builder_init(struct batch_builder *, int codec,
	    int64_t base_offset, int64_t base_timestamp);
/* Defaults: producer id -1, epoch -1, base sequence -1. */
void	batch_builder_set_producer(struct batch_builder *, int64_t id,
	    int16_t epoch, int32_t base_sequence);
void	batch_builder_set_transactional(struct batch_builder *);
/* Control batch: sets the transactional and control bits. */
void	batch_builder_set_control(struct batch_builder *);
void	batch_builder_set_leader_epoch(struct batch_builder *, int32_t);
void	batch_builder_add(struct batch_builder *, int64_t ts,
	    const void *key, int32_t keylen, const void *val, int32_t vallen,
	    const struct record_header *, int32_t nhdrs);
/*
 * Add a record at an explicit offset delta (> the last one added; the log
 * cleaner keeps the offsets of the records it keeps, leaving gaps).  The
 * batch's last offset delta is the last record's.
 */
void	batch_builder_add_at(struct batch_builder *, int32_t offset_delta,
	    int64_t ts, const void *key, int32_t keylen, const void *val,
	    int32_t vallen, const struct record_header *, int32_t nhdrs);
/* One control record (ABORT/COMMIT marker) with its coordinator epoch. */
void	batch_builder_add_control(struct batch_builder *, int64_t ts,
	    int16_t type, int32_t coordinator_epoch);
/*
 * Append the finished batch to out: compresses, fills header and CRC.
 * MO_EINVAL without records or for an unknown codec.
 */
int	batch_builder_finish(struct batch_builder *, struct wbuf *out);
void	batch_builder_clear(struct batch_builder *);

#endif
