/* Unit tests for CRC32C (crc32c.c) and record batches (batch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "compress.h"
#include "crc32c.h"
#include "err.h"
#include "rd.h"
#include "wbuf.h"

#define MIB	(1024 * 1024)

static void
test_crc32c(void **state)
{
	uint8_t buf[1024 + 8];
	(void)state;

	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c_sw(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c(0, "", 0), 0);
	/* 32 bytes of zeros and of ones (RFC 3720 B.4). */
	memset(buf, 0, 32);
	assert_int_equal(crc32c(0, buf, 32), 0x8a9136aa);
	memset(buf, 0xff, 32);
	assert_int_equal(crc32c(0, buf, 32), 0x62a8ab43);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	/* Hardware and table paths agree at every alignment and length. */
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n <= 1024; n += (n < 64 ? 1 : 61))
			assert_int_equal(crc32c(0, buf + off, n),
			    crc32c_sw(0, buf + off, n));
	/* Incremental. */
	assert_int_equal(crc32c(crc32c(0, buf, 100), buf + 100, 900),
	    crc32c(0, buf, 1000));
}

/* Long buffers take the three-stream path: it agrees with the table. */
static void
test_crc32c_long(void **state)
{
	size_t cap = 3 * 8192 * 2 + 3 * 256 * 3 + 64, lens[] = { 767, 768,
	    769, 3 * 256 * 2 + 5, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 13,
	    3 * 8192 * 2 + 3 * 256 + 7, cap - 8 };
	uint8_t *buf = malloc(cap);
	uint32_t x = 12345;
	(void)state;

	assert_non_null(buf);
	for (size_t i = 0; i < cap; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 8; off += 3)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			assert_int_equal(crc32c(0, buf + off, lens[i]),
			    crc32c_sw(0, buf + off, lens[i]));
			assert_int_equal(crc32c(0x1234567u, buf + off,
			    lens[i]), crc32c_sw(0x1234567u, buf + off,
			    lens[i]));
		}
	free(buf);
}

/*
 * One uncompressed record at offset 0: timestamp 1005 (base 1000), key
 * "k", value "v1", one header "h" = "x".  Written out by hand; the CRC
 * was computed with a separate bitwise CRC32C.
 */
static const uint8_t one_record[75] = {
	0, 0, 0, 0, 0, 0, 0, 0,			/* baseOffset 0 */
	0, 0, 0, 0x3f,				/* batchLength 63 */
	0xff, 0xff, 0xff, 0xff,			/* leader epoch -1 */
	0x02,					/* magic */
	0x46, 0x44, 0xae, 0x2c,			/* crc */
	0, 0,					/* attributes */
	0, 0, 0, 0,				/* lastOffsetDelta */
	0, 0, 0, 0, 0, 0, 0x03, 0xe8,		/* baseTimestamp 1000 */
	0, 0, 0, 0, 0, 0, 0x03, 0xed,		/* maxTimestamp 1005 */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* producerId */
	0xff, 0xff,				/* producerEpoch */
	0xff, 0xff, 0xff, 0xff,			/* baseSequence */
	0, 0, 0, 1,				/* records */
	0x1a,					/* length 13 */
	0x00,					/* attributes */
	0x0a,					/* timestampDelta 5 */
	0x00,					/* offsetDelta 0 */
	0x02, 'k',				/* key */
	0x04, 'v', '1',				/* value */
	0x02,					/* 1 header */
	0x02, 'h', 0x02, 'x',
};

static void
build_one(struct wbuf *out)
{
	struct batch_builder b;
	struct record_header h = {
		{ (const uint8_t *)"h", 1 }, { (const uint8_t *)"x", 1 }
	};

	batch_builder_init(&b, MO_CODEC_NONE, 0, 1000);
	batch_builder_add(&b, 1005, "k", 1, "v1", 2, &h, 1);
	assert_int_equal(batch_builder_finish(&b, out), 0);
	batch_builder_clear(&b);
}

static void
test_vector(void **state)
{
	struct wbuf w = { 0 }, tmp = { 0 };
	struct batch_info bi;
	struct record rec;
	struct record_header h;
	struct rd r, hr;
	(void)state;

	build_one(&w);
	assert_int_equal(w.len, sizeof(one_record));
	assert_memory_equal(w.data, one_record, sizeof(one_record));
	assert_int_equal(batch_validate(one_record, sizeof(one_record), MIB,
	    &bi), 0);
	assert_int_equal(bi.base_offset, 0);
	assert_int_equal(bi.length, 63);
	assert_int_equal(batch_size(&bi), 75);
	assert_int_equal(bi.leader_epoch, -1);
	assert_int_equal(bi.magic, 2);
	assert_int_equal(bi.crc, 0x4644ae2c);
	assert_int_equal(bi.attributes, 0);
	assert_int_equal(bi.last_offset_delta, 0);
	assert_int_equal(bi.base_timestamp, 1000);
	assert_int_equal(bi.max_timestamp, 1005);
	assert_int_equal(bi.producer_id, -1);
	assert_int_equal(bi.producer_epoch, -1);
	assert_int_equal(bi.base_sequence, -1);
	assert_int_equal(bi.record_count, 1);

	assert_int_equal(batch_records(one_record, &bi, MIB, &tmp, &r), 0);
	assert_int_equal(batch_records_next(&r, &rec), 0);
	assert_int_equal(rec.attributes, 0);
	assert_int_equal(rec.timestamp_delta, 5);
	assert_int_equal(rec.offset_delta, 0);
	assert_int_equal(rec.key.len, 1);
	assert_memory_equal(rec.key.p, "k", 1);
	assert_int_equal(rec.value.len, 2);
	assert_memory_equal(rec.value.p, "v1", 2);
	assert_int_equal(rec.header_count, 1);
	assert_int_equal(rec.headers_len, 4);
	rd_init(&hr, rec.headers, rec.headers_len);
	assert_int_equal(record_headers_next(&hr, &h), 0);
	assert_int_equal(h.key.len, 1);
	assert_memory_equal(h.key.p, "h", 1);
	assert_int_equal(h.value.len, 1);
	assert_memory_equal(h.value.p, "x", 1);
	assert_int_equal(rd_done(&hr), 0);
	assert_int_equal(rd_done(&r), 0);
	assert_int_not_equal(batch_records_next(&r, &rec), 0);
	wbuf_clear(&w);
	wbuf_clear(&tmp);
}

/*
 * A batch around a hand-written records section, with a correct length
 * and CRC, so that only the records are wrong.
 */
static void
raw_batch(struct wbuf *w, const void *recs, size_t n, int32_t count,
    int16_t attributes)
{
	wbuf_reset(w);
	wbuf_put_i64(w, 0);
	wbuf_put_i32(w, (int32_t)(49 + n));
	wbuf_put_i32(w, -1);
	wbuf_put_i8(w, 2);
	wbuf_put_u32(w, 0);
	wbuf_put_i16(w, attributes);
	wbuf_put_i32(w, count - 1);
	wbuf_put_i64(w, 0);
	wbuf_put_i64(w, 0);
	wbuf_put_i64(w, -1);
	wbuf_put_i16(w, -1);
	wbuf_put_i32(w, -1);
	wbuf_put_i32(w, count);
	wbuf_put(w, recs, n);
	assert_int_equal(w->err, 0);
	batch_update_crc(w->data, w->len);
}

static void
test_reject_header(void **state)
{
	uint8_t b[sizeof(one_record) + 3];
	struct batch_info bi;
	(void)state;

	memcpy(b, one_record, sizeof(one_record));
	/* The header alone, as log recovery reads it. */
	{
		uint8_t hdr[BATCH_HEADER_SIZE];

		memcpy(hdr, one_record, sizeof(hdr));
		assert_int_equal(batch_header_parse(hdr, SIZE_MAX, &bi), 0);
		assert_int_equal(batch_size(&bi), sizeof(one_record));
	}
	/* Trailing bytes are not part of the batch. */
	assert_int_equal(batch_validate(b, sizeof(b), MIB, &bi), 0);
	/* Every truncation. */
	for (size_t n = 0; n < sizeof(one_record); n++) {
		uint8_t *t = malloc(n + 1);

		assert_non_null(t);
		memcpy(t, one_record, n);
		assert_int_equal(batch_validate(t, n, MIB, &bi), MO_ESHORT);
		if (n >= BATCH_HEADER_SIZE)
			assert_int_equal(batch_header_parse(t, n, &bi),
			    MO_ESHORT);
		free(t);
	}
	/* Magic. */
	for (int m = 0; m < 256; m++) {
		if (m == 2)
			continue;
		b[BATCH_OFF_MAGIC] = (uint8_t)m;
		assert_int_equal(batch_validate(b, sizeof(b), MIB, &bi),
		    MO_EVERSION);
	}
	b[BATCH_OFF_MAGIC] = 2;
	/* Impossible length. */
	b[BATCH_OFF_LENGTH + 3] = 48;
	assert_int_equal(batch_header_parse(b, sizeof(b), &bi), MO_EMALFORMED);
	b[BATCH_OFF_LENGTH] = 0x80;
	assert_int_equal(batch_header_parse(b, sizeof(b), &bi), MO_EMALFORMED);
	memcpy(b, one_record, sizeof(one_record));
	/* Every bit of the CRC-covered range, and the CRC itself. */
	for (size_t i = BATCH_OFF_CRC; i < sizeof(one_record); i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1 << bit);
			assert_int_equal(batch_validate(b, sizeof(b), MIB, &bi),
			    MO_ECRC);
			b[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* Base offset and leader epoch are outside the CRC. */
	b[3] = 7;
	b[BATCH_OFF_LEADER_EPOCH] = 0;
	assert_int_equal(batch_validate(b, sizeof(b), MIB, &bi), 0);
}

static void
test_reject_counts(void **state)
{
	uint8_t b[sizeof(one_record)];
	struct batch_info bi;
	(void)state;

	/* Count and last offset delta must agree with the records. */
	static const struct {
		int32_t count, last;
	} bad[] = { { 2, 1 }, { 0, -1 }, { -1, -2 }, { 1, 1 }, { 1, -1 },
		{ 2, 0 }, { 0x7fffffff, 0x7ffffffe } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(b, one_record, sizeof(b));
		b[BATCH_OFF_RECORD_COUNT] = (uint8_t)(bad[i].count >> 24);
		b[BATCH_OFF_RECORD_COUNT + 1] = (uint8_t)(bad[i].count >> 16);
		b[BATCH_OFF_RECORD_COUNT + 2] = (uint8_t)(bad[i].count >> 8);
		b[BATCH_OFF_RECORD_COUNT + 3] = (uint8_t)bad[i].count;
		b[BATCH_OFF_LAST_DELTA] = (uint8_t)(bad[i].last >> 24);
		b[BATCH_OFF_LAST_DELTA + 1] = (uint8_t)(bad[i].last >> 16);
		b[BATCH_OFF_LAST_DELTA + 2] = (uint8_t)(bad[i].last >> 8);
		b[BATCH_OFF_LAST_DELTA + 3] = (uint8_t)bad[i].last;
		batch_update_crc(b, sizeof(b));
		assert_int_equal(batch_validate(b, sizeof(b), MIB, &bi),
		    MO_EMALFORMED);
	}
}

struct bad_records {
	const char	*what;
	uint8_t		 bytes[24];
	size_t		 len;
	int32_t		 count;
	int16_t		 attributes;
	int		 err;
};

static const struct bad_records bad_records[] = {
	{ "good", { 0x0c, 0, 0, 0, 0x01, 0x01, 0 }, 7, 1, 0, 0 },
	{ "good, two", { 0x0c, 0, 0, 0, 0x01, 0x01, 0,
	    0x0c, 0, 0, 0x02, 0x01, 0x01, 0 }, 14, 2, 0, 0 },
	{ "offset delta 1", { 0x0c, 0, 0, 0x02, 0x01, 0x01, 0 }, 7, 1, 0,
	    MO_EMALFORMED },
	{ "deltas 0, 0", { 0x0c, 0, 0, 0, 0x01, 0x01, 0,
	    0x0c, 0, 0, 0, 0x01, 0x01, 0 }, 14, 2, 0, MO_EMALFORMED },
	{ "overlong length varint", { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0,
	    0, 0 }, 9, 1, 0, MO_EMALFORMED },
	{ "length beyond batch", { 0x0e, 0, 0, 0, 0x01, 0x01, 0 }, 7, 1, 0,
	    MO_EMALFORMED },
	{ "length short of fields", { 0x0a, 0, 0, 0, 0x01, 0x01, 0 }, 7, 1,
	    0, MO_EMALFORMED },
	{ "negative length", { 0x01, 0, 0, 0, 0x01, 0x01, 0 }, 7, 1, 0,
	    MO_EMALFORMED },
	{ "fields short of length", { 0x0e, 0, 0, 0, 0x01, 0x01, 0, 0 }, 8,
	    1, 0, MO_EMALFORMED },
	{ "key length -2", { 0x0c, 0, 0, 0, 0x03, 0x01, 0 }, 7, 1, 0,
	    MO_EMALFORMED },
	{ "key past record", { 0x0c, 0, 0, 0, 0x08, 0x01, 0 }, 7, 1, 0,
	    MO_EMALFORMED },
	{ "value length -2", { 0x0c, 0, 0, 0, 0x01, 0x03, 0 }, 7, 1, 0,
	    MO_EMALFORMED },
	{ "header count -1", { 0x0c, 0, 0, 0, 0x01, 0x01, 0x01 }, 7, 1, 0,
	    MO_EMALFORMED },
	{ "header count 1, none", { 0x0c, 0, 0, 0, 0x01, 0x01, 0x02 }, 7, 1,
	    0, MO_EMALFORMED },
	{ "header null key", { 0x10, 0, 0, 0, 0x01, 0x01, 0x02, 0x01, 0x00 },
	    9, 1, 0, MO_EMALFORMED },
	{ "header null value", { 0x10, 0, 0, 0, 0x01, 0x01, 0x02, 0x00,
	    0x01 }, 9, 1, 0, 0 },
	{ "overlong timestamp", { 0x20, 0, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x02, 0, 0x01, 0x01, 0 }, 16, 1, 0,
	    MO_EMALFORMED },
	{ "overlong offset delta", { 0x14, 0, 0, 0x80, 0x80, 0x80, 0x80,
	    0x10, 0x01, 0x01, 0 }, 11, 1, 0, MO_EMALFORMED },
	{ "trailing byte", { 0x0c, 0, 0, 0, 0x01, 0x01, 0, 0 }, 8, 1, 0,
	    MO_EMALFORMED },
	{ "unknown codec", { 0x0c, 0, 0, 0, 0x01, 0x01, 0 }, 7, 1, 5,
	    MO_ECODEC },
	{ "not gzip", { 0x0c, 0, 0, 0, 0x01, 0x01, 0 }, 7, 1, 1, MO_ECODEC },
	{ "not lz4", { 0x0c, 0, 0, 0, 0x01, 0x01, 0 }, 7, 1, 3, MO_ECODEC },
	{ "many records", { 0x0c, 0, 0, 0, 0x01, 0x01, 0 }, 7, 1000000, 0,
	    MO_EMALFORMED },
};

static void
test_reject_records(void **state)
{
	struct wbuf w = { 0 };
	struct batch_info bi;
	(void)state;

	for (size_t i = 0; i < sizeof(bad_records) / sizeof(bad_records[0]);
	    i++) {
		const struct bad_records *t = &bad_records[i];

		raw_batch(&w, t->bytes, t->len, t->count, t->attributes);
		if (batch_validate(w.data, w.len, MIB, &bi) != t->err)
			fail_msg("%s: got %d, want %d", t->what,
			    batch_validate(w.data, w.len, MIB, &bi), t->err);
	}
	wbuf_clear(&w);
}

/* A failed record read leaves the reader where it was. */
static void
test_record_reader(void **state)
{
	static const uint8_t two[] = { 0x0c, 0, 0, 0, 0x01, 0x01, 0,
		0x0c, 0, 0, 0x02, 0x01, 0x03, 0 };
	struct record rec;
	struct record_header h;
	struct rd r;
	(void)state;

	rd_init(&r, two, sizeof(two));
	assert_int_equal(batch_records_next(&r, &rec), 0);
	assert_int_equal(rec.key.len, -1);
	assert_null(rec.key.p);
	assert_int_equal(rec.value.len, -1);
	assert_int_equal(rec.header_count, 0);
	assert_int_equal(batch_records_next(&r, &rec), MO_EMALFORMED);
	assert_ptr_equal(r.p, two + 7);
	/* Sticky. */
	assert_int_equal(batch_records_next(&r, &rec), MO_EMALFORMED);
	for (size_t n = 0; n < 7; n++) {
		rd_init(&r, two, n);
		assert_int_not_equal(batch_records_next(&r, &rec), 0);
		assert_ptr_equal(r.p, two);
	}
	rd_init(&r, (const uint8_t *)"\x02", 1);
	assert_int_equal(record_headers_next(&r, &h), MO_ESHORT);
	assert_int_equal(rd_left(&r), 1);
}

/* The reference record check: batch_records_next over every record. */
static int
ref_records_ok(const uint8_t *p, const struct batch_info *bi)
{
	struct wbuf tmp = { 0 };
	struct record rec;
	struct rd r;
	int ok = 1;

	if (batch_records(p, bi, MIB, &tmp, &r) != 0)
		ok = 0;
	for (int32_t i = 0; ok && i < bi->record_count; i++)
		if (batch_records_next(&r, &rec) != 0 || rec.offset_delta != i)
			ok = 0;
	if (ok && rd_done(&r) != 0)
		ok = 0;
	wbuf_clear(&tmp);
	return ok;
}

/*
 * batch_validate's record pass refuses exactly what batch_records_next
 * refuses: random edits of the records (CRC fixed up), both verdicts.
 */
static void
test_validate_matches_reader(void **state)
{
	struct record_header hs[2] = {
		{ { (const uint8_t *)"h1", 2 }, { (const uint8_t *)"x", 1 } },
		{ { (const uint8_t *)"h2", 2 }, { NULL, -1 } },
	};
	struct batch_builder b;
	struct batch_info bi;
	struct wbuf w = { 0 };
	uint8_t *m;
	uint32_t x = 777;
	int agree_bad = 0, agree_ok = 0;
	(void)state;

	batch_builder_init(&b, MO_CODEC_NONE, 0, 1000);
	for (int i = 0; i < 12; i++)
		batch_builder_add(&b, 1000 + i * 300, i % 3 ? "key" : NULL,
		    i % 3 ? 3 : -1, i % 4 ? "value" : NULL, i % 4 ? 5 : -1,
		    hs, i % 3);
	assert_int_equal(batch_builder_finish(&b, &w), 0);
	batch_builder_clear(&b);
	m = malloc(w.len);
	assert_non_null(m);
	for (int round = 0; round < 20000; round++) {
		int nedit = 1 + round % 3, rc;

		memcpy(m, w.data, w.len);
		for (int e = 0; e < nedit; e++) {
			size_t at;

			x = x * 1103515245u + 12345u;
			at = BATCH_HEADER_SIZE + (x >> 8) % (w.len -
			    BATCH_HEADER_SIZE);
			x = x * 1103515245u + 12345u;
			m[at] = (x >> 24) & 1 ? (uint8_t)(x >> 16) :
			    (uint8_t)(m[at] ^ (1u << ((x >> 16) & 7)));
		}
		batch_update_crc(m, w.len);
		rc = batch_validate(m, w.len, MIB, &bi);
		assert_int_equal(batch_header_parse(m, w.len, &bi), 0);
		if (ref_records_ok(m, &bi)) {
			assert_int_equal(rc, 0);
			agree_ok++;
		} else {
			assert_int_equal(rc, MO_EMALFORMED);
			agree_bad++;
		}
	}
	/* Both kinds were seen. */
	assert_true(agree_ok > 100);
	assert_true(agree_bad > 100);
	free(m);
	wbuf_clear(&w);
}

static void
test_setters(void **state)
{
	uint8_t b[sizeof(one_record)];
	struct batch_info bi;
	(void)state;

	memcpy(b, one_record, sizeof(b));
	batch_set_base_offset(b, 0x0102030405060708);
	batch_set_leader_epoch(b, 42);
	assert_int_equal(batch_validate(b, sizeof(b), MIB, &bi), 0);
	assert_int_equal(bi.base_offset, 0x0102030405060708);
	assert_int_equal(bi.leader_epoch, 42);
	assert_int_equal(batch_last_offset(&bi), 0x0102030405060708);

	batch_set_log_append_time(b, sizeof(b), 1700000000123);
	assert_int_equal(batch_validate(b, sizeof(b), MIB, &bi), 0);
	assert_int_equal(bi.attributes, BATCH_ATTR_LOG_APPEND_TIME);
	assert_int_equal(bi.base_timestamp, 1700000000123);
	assert_int_equal(bi.max_timestamp, 1700000000123);
	assert_int_not_equal(bi.crc, 0x4644ae2c);
	assert_memory_equal(b + BATCH_HEADER_SIZE,
	    one_record + BATCH_HEADER_SIZE, sizeof(b) - BATCH_HEADER_SIZE);
}

/* 1000 records through every codec: validate, then read them all back. */
static void
check_many(int codec)
{
	struct wbuf w = { 0 }, tmp = { 0 };
	struct batch_builder b;
	struct batch_info bi;
	struct record rec;
	struct record_header h, hdrs[2];
	struct rd r, hr;
	char key[32], val[64];
	int i, kl, vl;

	batch_builder_init(&b, codec, 5000, 1000000);
	batch_builder_set_producer(&b, 77, 3, 100);
	hdrs[0].key = (struct kbytes){ (const uint8_t *)"trace", 5 };
	hdrs[0].value = (struct kbytes){ (const uint8_t *)"abc", 3 };
	hdrs[1].key = (struct kbytes){ (const uint8_t *)"empty", 5 };
	hdrs[1].value = (struct kbytes){ NULL, -1 };
	for (i = 0; i < 1000; i++) {
		kl = snprintf(key, sizeof(key), "key-%d", i);
		vl = snprintf(val, sizeof(val), "value %d of 1000, codec %d",
		    i, codec);
		batch_builder_add(&b, 1000000 + (i * 7) % 500,
		    i % 10 == 0 ? NULL : key, i % 10 == 0 ? -1 : kl, val, vl,
		    hdrs, i % 3);
	}
	assert_int_equal(batch_builder_finish(&b, &w), 0);
	batch_builder_clear(&b);
	if (codec != MO_CODEC_NONE)
		assert_true(w.len < 30000);

	assert_int_equal(batch_validate(w.data, w.len, MIB, &bi), 0);
	assert_int_equal(batch_size(&bi), w.len);
	assert_int_equal(batch_codec(&bi), codec);
	assert_int_equal(bi.base_offset, 5000);
	assert_int_equal(bi.record_count, 1000);
	assert_int_equal(batch_last_offset(&bi), 5999);
	assert_int_equal(bi.max_timestamp, 1000000 + 499);
	assert_int_equal(bi.producer_id, 77);
	assert_int_equal(bi.producer_epoch, 3);
	assert_int_equal(bi.base_sequence, 100);
	if (codec != MO_CODEC_NONE)
		assert_int_equal(batch_validate(w.data, w.len, 1000, &bi),
		    MO_ETOOBIG);

	assert_int_equal(batch_records(w.data, &bi, MIB, &tmp, &r), 0);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(batch_records_next(&r, &rec), 0);
		assert_int_equal(rec.offset_delta, i);
		assert_int_equal(rec.timestamp_delta, (i * 7) % 500);
		kl = snprintf(key, sizeof(key), "key-%d", i);
		vl = snprintf(val, sizeof(val), "value %d of 1000, codec %d",
		    i, codec);
		if (i % 10 == 0) {
			assert_int_equal(rec.key.len, -1);
		} else {
			assert_int_equal(rec.key.len, kl);
			assert_memory_equal(rec.key.p, key, (size_t)kl);
		}
		assert_int_equal(rec.value.len, vl);
		assert_memory_equal(rec.value.p, val, (size_t)vl);
		assert_int_equal(rec.header_count, i % 3);
		rd_init(&hr, rec.headers, rec.headers_len);
		for (int j = 0; j < rec.header_count; j++) {
			assert_int_equal(record_headers_next(&hr, &h), 0);
			assert_int_equal(h.key.len, hdrs[j].key.len);
			assert_memory_equal(h.key.p, hdrs[j].key.p,
			    (size_t)h.key.len);
			assert_int_equal(h.value.len, hdrs[j].value.len);
		}
		assert_int_equal(rd_done(&hr), 0);
	}
	assert_int_equal(rd_done(&r), 0);

	/* Log append time on a compressed batch. */
	batch_set_log_append_time(w.data, w.len, 123);
	assert_int_equal(batch_validate(w.data, w.len, MIB, &bi), 0);
	assert_int_equal(bi.attributes,
	    codec | BATCH_ATTR_LOG_APPEND_TIME);
	wbuf_clear(&w);
	wbuf_clear(&tmp);
}

static void
test_many_codecs(void **state)
{
	(void)state;

	for (int c = MO_CODEC_NONE; c <= MO_CODEC_ZSTD; c++)
		check_many(c);
}

/* Corrupt compressed payload with a valid CRC: MO_ECODEC, no crash. */
static void
test_corrupt_compressed(void **state)
{
	struct wbuf w = { 0 };
	struct batch_builder b;
	struct batch_info bi;
	(void)state;

	for (int c = MO_CODEC_GZIP; c <= MO_CODEC_ZSTD; c++) {
		batch_builder_init(&b, c, 0, 0);
		for (int i = 0; i < 50; i++)
			batch_builder_add(&b, 0, NULL, -1, "payload", 7, NULL,
			    0);
		assert_int_equal(batch_builder_finish(&b, &w), 0);
		batch_builder_clear(&b);
		/* Truncate the compressed data and fix length and CRC. */
		w.len -= 5;
		wbuf_patch_i32(&w, BATCH_OFF_LENGTH, (int32_t)(w.len - 12));
		batch_update_crc(w.data, w.len);
		assert_int_equal(batch_validate(w.data, w.len, MIB, &bi),
		    MO_ECODEC);
		wbuf_reset(&w);
	}
	wbuf_clear(&w);
}

static void
test_control(void **state)
{
	struct wbuf w = { 0 }, tmp = { 0 };
	struct batch_builder b;
	struct batch_info bi;
	struct record rec;
	struct rd r;
	static const uint8_t key[4] = { 0, 0, 0, 1 };
	static const uint8_t val[6] = { 0, 0, 0, 0, 0, 9 };
	(void)state;

	batch_builder_init(&b, MO_CODEC_NONE, 10, 500);
	batch_builder_set_producer(&b, 1234, 5, -1);
	batch_builder_set_control(&b);
	batch_builder_add_control(&b, 500, BATCH_CONTROL_COMMIT, 9);
	assert_int_equal(batch_builder_finish(&b, &w), 0);
	batch_builder_clear(&b);
	assert_int_equal(batch_validate(w.data, w.len, MIB, &bi), 0);
	assert_int_equal(bi.attributes,
	    BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL);
	assert_int_equal(bi.producer_id, 1234);
	assert_int_equal(batch_records(w.data, &bi, MIB, &tmp, &r), 0);
	assert_int_equal(batch_records_next(&r, &rec), 0);
	assert_int_equal(rec.key.len, 4);
	assert_memory_equal(rec.key.p, key, 4);
	assert_int_equal(rec.value.len, 6);
	assert_memory_equal(rec.value.p, val, 6);
	wbuf_clear(&w);
	wbuf_clear(&tmp);
}

static void
test_builder_misc(void **state)
{
	struct wbuf w = { 0 };
	struct batch_builder b;
	struct batch_info bi;
	size_t first;
	(void)state;

	/* No records, unknown codec. */
	batch_builder_init(&b, MO_CODEC_NONE, 0, 0);
	assert_int_equal(batch_builder_finish(&b, &w), MO_EINVAL);
	batch_builder_clear(&b);
	batch_builder_init(&b, 6, 0, 0);
	batch_builder_add(&b, 0, "k", 1, "v", 1, NULL, 0);
	assert_int_equal(batch_builder_finish(&b, &w), MO_EINVAL);
	batch_builder_clear(&b);
	assert_int_equal(w.len, 0);

	/* Two batches back to back; timestamps before the base. */
	build_one(&w);
	first = w.len;
	batch_builder_init(&b, MO_CODEC_LZ4, 1, 1000);
	batch_builder_add(&b, 990, "", 0, "", 0, NULL, 0);
	batch_builder_add(&b, 980, "", 0, NULL, -1, NULL, 0);
	assert_int_equal(batch_builder_finish(&b, &w), 0);
	batch_builder_clear(&b);
	assert_int_equal(batch_validate(w.data, w.len, MIB, &bi), 0);
	assert_int_equal(batch_size(&bi), first);
	assert_int_equal(batch_validate(w.data + first, w.len - first, MIB,
	    &bi), 0);
	assert_int_equal(bi.base_offset, 1);
	assert_int_equal(bi.max_timestamp, 990);
	assert_int_equal(bi.record_count, 2);
	wbuf_clear(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_crc32c_long),
		cmocka_unit_test(test_validate_matches_reader),
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_reject_header),
		cmocka_unit_test(test_reject_counts),
		cmocka_unit_test(test_reject_records),
		cmocka_unit_test(test_record_reader),
		cmocka_unit_test(test_setters),
		cmocka_unit_test(test_many_codecs),
		cmocka_unit_test(test_corrupt_compressed),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_builder_misc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
