/*
 * Record batch v2: header parsing, validation, in-place edits, record
 * iteration and building.  Layout in batch.h.
 */
#include <stdint.h>
#include <string.h>

#include "batch.h"
#include "compress.h"
#include "crc32c.h"
#include "err.h"
#include "log.h"
#include "rd.h"
#include "wbuf.h"

/* Smallest record: length, attributes, ts, offset, key, value, headers. */
#define RECORD_MIN_SIZE	7

static void
batch_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
batch_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
batch_put_u64(uint8_t *p, uint64_t v)
{
	batch_put_u32(p, (uint32_t)(v >> 32));
	batch_put_u32(p + 4, (uint32_t)v);
}

static uint32_t
batch_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

int
batch_header_parse(const uint8_t *p, size_t len, struct batch_info *bi)
{
	struct rd r;

	memset(bi, 0, sizeof(*bi));
	if (len < BATCH_HEADER_SIZE)
		return MO_ESHORT;
	rd_init(&r, p, BATCH_HEADER_SIZE);	/* len may be SIZE_MAX */
	rd_i64(&r, &bi->base_offset);
	rd_i32(&r, &bi->length);
	rd_i32(&r, &bi->leader_epoch);
	rd_i8(&r, &bi->magic);
	rd_u32(&r, &bi->crc);
	rd_i16(&r, &bi->attributes);
	rd_i32(&r, &bi->last_offset_delta);
	rd_i64(&r, &bi->base_timestamp);
	rd_i64(&r, &bi->max_timestamp);
	rd_i64(&r, &bi->producer_id);
	rd_i16(&r, &bi->producer_epoch);
	rd_i32(&r, &bi->base_sequence);
	rd_i32(&r, &bi->record_count);
	if (r.err != 0)
		return r.err;
	if (bi->magic != BATCH_MAGIC)
		return MO_EVERSION;
	if (bi->length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD)
		return MO_EMALFORMED;
	if (batch_size(bi) > len)
		return MO_ESHORT;
	return 0;
}

int
batch_records(const uint8_t *p, const struct batch_info *bi,
    size_t max_decompressed, struct wbuf *tmp, struct rd *r)
{
	const uint8_t *rec = p + BATCH_HEADER_SIZE;
	size_t len = batch_size(bi) - BATCH_HEADER_SIZE, at;
	int codec = batch_codec(bi), e;

	rd_init(r, NULL, 0);
	if (codec == MO_CODEC_NONE) {
		rd_init(r, rec, len);
		return 0;
	}
	if (codec > MO_CODEC_MAX)
		return r->err = MO_ECODEC;
	at = tmp->len;
	if ((e = compress_decode(codec, rec, len, max_decompressed, tmp)) != 0)
		return r->err = e;
	if (tmp->len > at)
		rd_init(r, tmp->data + at, tmp->len - at);
	return 0;
}

/*
 * The record checks of batch_records_next() in one tight pass, for the
 * produce path: the same varint rules (rd.h) and bounds, without building
 * a struct record per record.  Each function returns false on anything
 * batch_records_next() would refuse; batch_validate() turns every such
 * refusal into MO_EMALFORMED either way.
 */
static inline bool
batch_chk_uvarint(const uint8_t **pp, const uint8_t *end, uint32_t *v)
{
	const uint8_t *p = *pp;
	uint32_t x = 0;

	/* One and two bytes: lengths and deltas of small records. */
	if (end - p >= 2) {
		if ((p[0] & 0x80) == 0) {
			*v = p[0];
			*pp = p + 1;
			return true;
		}
		if ((p[1] & 0x80) == 0) {
			*v = (uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7;
			*pp = p + 2;
			return true;
		}
	}
	for (int shift = 0; shift < 35; shift += 7) {
		if (p == end)
			return false;
		uint8_t b = *p++;
		if (shift == 28 && (b & 0xf0) != 0)
			return false;
		x |= (uint32_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*pp = p;
			*v = x;
			return true;
		}
	}
	return false;
}

static inline bool
batch_chk_varint(const uint8_t **pp, const uint8_t *end, int32_t *v)
{
	uint32_t u;

	if (!batch_chk_uvarint(pp, end, &u))
		return false;
	*v = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
	return true;
}

/* A varlong whose value is not needed: only its encoding is checked. */
static inline bool
batch_chk_skip_varlong(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;

	if (end - p >= 2 && ((p[0] & 0x80) == 0 || (p[1] & 0x80) == 0)) {
		*pp = p + ((p[0] & 0x80) == 0 ? 1 : 2);
		return true;
	}
	for (int shift = 0; shift < 70; shift += 7) {
		if (p == end)
			return false;
		uint8_t b = *p++;
		if (shift == 63 && (b & 0xfe) != 0)
			return false;
		if ((b & 0x80) == 0) {
			*pp = p;
			return true;
		}
	}
	return false;
}

/* Varint-length bytes: -1 (null) only when nullable. */
static inline bool
batch_chk_bytes(const uint8_t **pp, const uint8_t *end, bool nullable)
{
	int32_t n;

	if (!batch_chk_varint(pp, end, &n))
		return false;
	if (n == -1 && nullable)
		return true;
	if (n < 0 || (size_t)n > (size_t)(end - *pp))
		return false;
	*pp += n;
	return true;
}

/* count records with offset deltas 0..count-1 filling [p, end) exactly. */
static bool
batch_chk_records(const uint8_t *p, const uint8_t *end, int32_t count)
{
	const uint8_t *rend;
	int32_t len, delta, nh;

	for (int32_t i = 0; i < count; i++) {
		if (!batch_chk_varint(&p, end, &len) ||
		    len < RECORD_MIN_SIZE - 1 ||
		    (size_t)len > (size_t)(end - p))
			return false;
		rend = p + len;
		p++;				/* attributes */
		if (!batch_chk_skip_varlong(&p, rend) ||
		    !batch_chk_varint(&p, rend, &delta) || delta != i ||
		    !batch_chk_bytes(&p, rend, true) ||
		    !batch_chk_bytes(&p, rend, true) ||
		    !batch_chk_varint(&p, rend, &nh) || nh < 0 ||
		    (size_t)nh > (size_t)(rend - p) / 2)
			return false;
		for (int32_t h = 0; h < nh; h++)
			if (!batch_chk_bytes(&p, rend, false) ||
			    !batch_chk_bytes(&p, rend, true))
				return false;
		if (p != rend)
			return false;
	}
	return p == end;
}

int
batch_validate(const uint8_t *p, size_t len, size_t max_decompressed,
    struct batch_info *bi)
{
	struct wbuf tmp = { 0 };
	struct rd r;
	int e;

	if ((e = batch_header_parse(p, len, bi)) != 0)
		return e;
	if (crc32c(0, p + BATCH_OFF_ATTRIBUTES,
	    batch_size(bi) - BATCH_OFF_ATTRIBUTES) != bi->crc)
		return MO_ECRC;
	if (batch_codec(bi) > MO_CODEC_MAX)
		return MO_ECODEC;
	if (bi->record_count < 1 ||
	    bi->last_offset_delta != bi->record_count - 1)
		return MO_EMALFORMED;
	if (batch_codec(bi) == MO_CODEC_NONE &&
	    (size_t)bi->record_count > (batch_size(bi) - BATCH_HEADER_SIZE) /
	    RECORD_MIN_SIZE)
		return MO_EMALFORMED;
	if ((e = batch_records(p, bi, max_decompressed, &tmp, &r)) != 0)
		goto out;
	/* Every record parses exactly (batch_records_next's rules). */
	if (!batch_chk_records(r.p, r.end, bi->record_count))
		e = MO_EMALFORMED;	/* the batch was complete */
out:
	wbuf_clear(&tmp);
	return e;
}

bool
batch_has_null_key(const uint8_t *p, const struct batch_info *bi,
    size_t max_decompressed)
{
	struct wbuf tmp = { 0 };
	struct record rec;
	struct rd r;
	bool found = false;

	if (bi->attributes & BATCH_ATTR_CONTROL)
		return false;
	if (batch_records(p, bi, max_decompressed, &tmp, &r) != 0) {
		wbuf_clear(&tmp);
		return false;	/* batch_validate reported it */
	}
	for (int32_t i = 0; i < bi->record_count && !found; i++) {
		if (batch_records_next(&r, &rec) != 0)
			break;
		found = rec.key.len < 0;
	}
	wbuf_clear(&tmp);
	return found;
}

void
batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
	batch_put_u64(p + BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void
batch_set_leader_epoch(uint8_t *p, int32_t epoch)
{
	batch_put_u32(p + BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void
batch_make_empty(uint8_t *p)
{
	uint16_t attr = (uint16_t)(p[BATCH_OFF_ATTRIBUTES] << 8 |
	    p[BATCH_OFF_ATTRIBUTES + 1]);

	batch_put_u32(p + BATCH_OFF_LENGTH,
	    BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD);
	batch_put_u16(p + BATCH_OFF_ATTRIBUTES,
	    (uint16_t)(attr & ~BATCH_ATTR_CODEC_MASK));
	batch_put_u32(p + BATCH_OFF_RECORD_COUNT, 0);
	batch_update_crc(p, BATCH_HEADER_SIZE);
}

void
batch_update_crc(uint8_t *p, size_t len)
{
	int32_t blen;
	size_t size;

	MO_ASSERT(len >= BATCH_HEADER_SIZE);
	blen = (int32_t)batch_get_u32(p + BATCH_OFF_LENGTH);
	MO_ASSERT(blen >= BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD);
	size = BATCH_LOG_OVERHEAD + (size_t)blen;
	MO_ASSERT(size <= len);
	batch_put_u32(p + BATCH_OFF_CRC, crc32c(0, p + BATCH_OFF_ATTRIBUTES,
	    size - BATCH_OFF_ATTRIBUTES));
}

void
batch_set_log_append_time(uint8_t *p, size_t len, int64_t ts)
{
	uint16_t attr;

	MO_ASSERT(len >= BATCH_HEADER_SIZE);
	attr = (uint16_t)(p[BATCH_OFF_ATTRIBUTES] << 8 |
	    p[BATCH_OFF_ATTRIBUTES + 1]);
	batch_put_u16(p + BATCH_OFF_ATTRIBUTES,
	    attr | BATCH_ATTR_LOG_APPEND_TIME);
	batch_put_u64(p + BATCH_OFF_BASE_TS, (uint64_t)ts);
	batch_put_u64(p + BATCH_OFF_MAX_TS, (uint64_t)ts);
	batch_update_crc(p, len);
}

/* Varint-prefixed bytes; -1 is null when nullable. */
static int
batch_rd_kbytes(struct rd *r, struct kbytes *b, int nullable)
{
	int32_t n;

	b->p = NULL;
	b->len = -1;
	if (rd_varint(r, &n) != 0)
		return r->err;
	if (n == -1 && nullable)
		return 0;
	if (n < 0)
		return rd_fail(r, MO_EMALFORMED);
	if (rd_take(r, (size_t)n, &b->p) != 0)
		return r->err;
	b->len = n;
	return 0;
}

int
record_headers_next(struct rd *r, struct record_header *h)
{
	const uint8_t *save = r->p;

	batch_rd_kbytes(r, &h->key, 0);
	batch_rd_kbytes(r, &h->value, 1);
	if (r->err != 0)
		r->p = save;
	return r->err;
}

int
batch_records_next(struct rd *r, struct record *rec)
{
	const uint8_t *save = r->p, *body;
	struct record_header h;
	struct rd b;
	int32_t len, i;

	memset(rec, 0, sizeof(*rec));
	if (rd_varint(r, &len) != 0)
		return r->err;
	if (len < RECORD_MIN_SIZE - 1) {
		rd_fail(r, MO_EMALFORMED);
		goto fail;
	}
	if (rd_take(r, (size_t)len, &body) != 0)
		goto fail;
	rd_init(&b, body, (size_t)len);
	rd_i8(&b, &rec->attributes);
	rd_varlong(&b, &rec->timestamp_delta);
	rd_varint(&b, &rec->offset_delta);
	batch_rd_kbytes(&b, &rec->key, 1);
	batch_rd_kbytes(&b, &rec->value, 1);
	rd_varint(&b, &rec->header_count);
	if (b.err == 0 && rec->header_count < 0)
		rd_fail(&b, MO_EMALFORMED);
	rd_count(&b, rec->header_count, 2);
	rec->headers = b.p;
	for (i = 0; i < rec->header_count && b.err == 0; i++)
		record_headers_next(&b, &h);
	rec->headers_len = (size_t)(b.p - rec->headers);
	if (rd_done(&b) != 0) {
		/* Inside a record that was all there: malformed. */
		rd_fail(r, MO_EMALFORMED);
		goto fail;
	}
	return 0;
fail:
	r->p = save;
	memset(rec, 0, sizeof(*rec));
	return r->err;
}

/* ---- building ---- */

static uint64_t
batch_zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static size_t
batch_vsize(int64_t v)
{
	return uvarint_size(batch_zz(v));
}

static size_t
batch_bytes_size(int32_t len)
{
	return batch_vsize(len) + (len > 0 ? (size_t)len : 0);
}

static void
batch_put_bytes(struct wbuf *w, const void *p, int32_t len)
{
	wbuf_put_varint(w, len);
	if (len > 0)
		wbuf_put(w, p, (size_t)len);
}

void
batch_builder_init(struct batch_builder *b, int codec, int64_t base_offset,
    int64_t base_timestamp)
{
	memset(b, 0, sizeof(*b));
	b->codec = codec;
	b->leader_epoch = -1;
	b->base_offset = base_offset;
	b->base_timestamp = base_timestamp;
	b->max_timestamp = -1;
	b->producer_id = -1;
	b->producer_epoch = -1;
	b->base_sequence = -1;
}

void
batch_builder_set_producer(struct batch_builder *b, int64_t id,
    int16_t epoch, int32_t base_sequence)
{
	b->producer_id = id;
	b->producer_epoch = epoch;
	b->base_sequence = base_sequence;
}

void
batch_builder_set_transactional(struct batch_builder *b)
{
	b->attributes |= BATCH_ATTR_TRANSACTIONAL;
}

void
batch_builder_set_control(struct batch_builder *b)
{
	b->attributes |= BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL;
}

void
batch_builder_set_leader_epoch(struct batch_builder *b, int32_t epoch)
{
	b->leader_epoch = epoch;
}

void
batch_builder_add(struct batch_builder *b, int64_t ts, const void *key,
    int32_t keylen, const void *val, int32_t vallen,
    const struct record_header *hdrs, int32_t nhdrs)
{
	int32_t delta = b->count == 0 ? 0 : b->last_delta + 1;

	if (b->count > 0 && b->last_delta == INT32_MAX) {
		b->records.err = MO_EOVERFLOW;
		return;
	}
	batch_builder_add_at(b, delta, ts, key, keylen, val, vallen, hdrs,
	    nhdrs);
}

void
batch_builder_add_at(struct batch_builder *b, int32_t delta, int64_t ts,
    const void *key, int32_t keylen, const void *val, int32_t vallen,
    const struct record_header *hdrs, int32_t nhdrs)
{
	struct wbuf *w = &b->records;
	int64_t tsd = (int64_t)((uint64_t)ts - (uint64_t)b->base_timestamp);
	size_t size;
	int32_t i;

	size = 1 + batch_vsize(tsd) + batch_vsize(delta) +
	    batch_bytes_size(keylen) + batch_bytes_size(vallen) +
	    batch_vsize(nhdrs);
	for (i = 0; i < nhdrs; i++)
		size += batch_bytes_size(hdrs[i].key.len) +
		    batch_bytes_size(hdrs[i].value.len);
	if (w->err != 0)
		return;
	if (size > INT32_MAX || b->count == INT32_MAX || delta < 0 ||
	    (b->count > 0 && delta <= b->last_delta)) {
		w->err = MO_EOVERFLOW;
		return;
	}
	wbuf_put_varint(w, (int32_t)size);
	wbuf_put_i8(w, 0);
	wbuf_put_varlong(w, tsd);
	wbuf_put_varint(w, delta);
	batch_put_bytes(w, key, keylen);
	batch_put_bytes(w, val, vallen);
	wbuf_put_varint(w, nhdrs);
	for (i = 0; i < nhdrs; i++) {
		batch_put_bytes(w, hdrs[i].key.p, hdrs[i].key.len);
		batch_put_bytes(w, hdrs[i].value.p, hdrs[i].value.len);
	}
	if (b->count == 0 || ts > b->max_timestamp)
		b->max_timestamp = ts;
	b->last_delta = delta;
	b->count++;
}

void
batch_builder_add_control(struct batch_builder *b, int64_t ts, int16_t type,
    int32_t coordinator_epoch)
{
	uint8_t key[4], val[6];

	batch_put_u16(key, 0);			/* version */
	batch_put_u16(key + 2, (uint16_t)type);
	batch_put_u16(val, 0);			/* version */
	batch_put_u32(val + 2, (uint32_t)coordinator_epoch);
	batch_builder_add(b, ts, key, sizeof(key), val, sizeof(val), NULL, 0);
}

int
batch_builder_finish(struct batch_builder *b, struct wbuf *out)
{
	size_t start = out->len, blen;
	int e;

	if (b->count == 0 || b->codec < MO_CODEC_NONE ||
	    b->codec > MO_CODEC_MAX)
		return MO_EINVAL;
	if (b->records.err != 0)
		return b->records.err;
	if (out->err != 0)
		return out->err;
	wbuf_put_i64(out, b->base_offset);
	wbuf_mark(out, 4);			/* batchLength */
	wbuf_put_i32(out, b->leader_epoch);
	wbuf_put_i8(out, BATCH_MAGIC);
	wbuf_mark(out, 4);			/* crc */
	wbuf_put_i16(out, (int16_t)(b->attributes | b->codec));
	wbuf_put_i32(out, b->last_delta);
	wbuf_put_i64(out, b->base_timestamp);
	wbuf_put_i64(out, b->max_timestamp);
	wbuf_put_i64(out, b->producer_id);
	wbuf_put_i16(out, b->producer_epoch);
	wbuf_put_i32(out, b->base_sequence);
	wbuf_put_i32(out, b->count);
	if (b->codec == MO_CODEC_NONE)
		wbuf_put(out, b->records.data, b->records.len);
	else if ((e = compress_encode(b->codec, b->records.data,
	    b->records.len, out)) != 0)
		goto fail;
	if (out->err != 0) {
		e = out->err;
		goto fail;
	}
	blen = out->len - start - BATCH_LOG_OVERHEAD;
	if (blen > INT32_MAX) {
		e = MO_EOVERFLOW;
		goto fail;
	}
	wbuf_patch_i32(out, start + BATCH_OFF_LENGTH, (int32_t)blen);
	batch_update_crc(out->data + start, out->len - start);
	return 0;
fail:
	out->len = start;
	return e;
}

void
batch_builder_clear(struct batch_builder *b)
{
	wbuf_clear(&b->records);
	memset(b, 0, sizeof(*b));
}
