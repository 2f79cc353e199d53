/* Unit tests for the reader (rd.h) and the writer (wbuf.c). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "rd.h"
#include "wbuf.h"

/* One fixed-width reader, driven through a uniform signature. */
struct width {
	const char	*name;
	size_t		 size;
	int		 (*read)(struct rd *, uint64_t *);
};

static int
read_u8(struct rd *r, uint64_t *v)
{
	uint8_t x;
	int e = rd_u8(r, &x);

	*v = x;
	return e;
}

static int
read_u16(struct rd *r, uint64_t *v)
{
	uint16_t x;
	int e = rd_u16(r, &x);

	*v = x;
	return e;
}

static int
read_u32(struct rd *r, uint64_t *v)
{
	uint32_t x;
	int e = rd_u32(r, &x);

	*v = x;
	return e;
}

static int
read_u64(struct rd *r, uint64_t *v)
{
	return rd_u64(r, v);
}

static const struct width widths[] = {
	{ "u8", 1, read_u8 },
	{ "u16", 2, read_u16 },
	{ "u32", 4, read_u32 },
	{ "u64", 8, read_u64 },
};

static const uint8_t seq[8] = { 0x81, 0x02, 0x83, 0x04, 0x85, 0x06, 0x87,
	0x08 };

static void
test_widths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		const struct width *w = &widths[i];
		uint64_t want = 0, v;
		struct rd r;

		for (size_t k = 0; k < w->size; k++)
			want = want << 8 | seq[k];
		rd_init(&r, seq, w->size);
		assert_int_equal(w->read(&r, &v), 0);
		assert_true(v == want);
		assert_int_equal(rd_done(&r), 0);
	}
}

static void
test_signed(void **state)
{
	static const uint8_t ff[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xfe };
	int8_t i8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	double d;
	struct rd r;

	(void)state;
	rd_init(&r, ff, 1);
	assert_int_equal(rd_i8(&r, &i8), 0);
	assert_int_equal(i8, -1);
	rd_init(&r, ff, 2);
	assert_int_equal(rd_i16(&r, &i16), 0);
	assert_int_equal(i16, -1);
	rd_init(&r, ff, 4);
	assert_int_equal(rd_i32(&r, &i32), 0);
	assert_int_equal(i32, -1);
	rd_init(&r, ff, 8);
	assert_int_equal(rd_i64(&r, &i64), 0);
	assert_true(i64 == -2);

	struct wbuf w = { 0 };
	wbuf_put_f64(&w, 1.5);
	rd_init(&r, w.data, w.len);
	assert_int_equal(rd_f64(&r, &d), 0);
	assert_true(d == 1.5);
	wbuf_clear(&w);
}

/* Every shorter input fails with MO_ESHORT, yields 0 and does not move. */
static void
test_truncation(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		const struct width *w = &widths[i];

		for (size_t n = 0; n < w->size; n++) {
			uint64_t v = 99;
			struct rd r;

			rd_init(&r, seq, n);
			assert_int_equal(w->read(&r, &v), MO_ESHORT);
			assert_true(v == 0);
			assert_ptr_equal(r.p, seq);
			assert_int_equal(r.err, MO_ESHORT);
		}
	}
}

static void
test_sticky(void **state)
{
	uint32_t u32;
	uint8_t u8;
	const uint8_t *p;
	struct rd r;

	(void)state;
	rd_init(&r, seq, 3);
	assert_int_equal(rd_u32(&r, &u32), MO_ESHORT);
	/* Enough bytes for a u8, but the error sticks. */
	assert_int_equal(rd_u8(&r, &u8), MO_ESHORT);
	assert_int_equal(u8, 0);
	assert_int_equal(rd_take(&r, 1, &p), MO_ESHORT);
	assert_null(p);
	assert_int_equal(rd_uvarint(&r, &u32), MO_ESHORT);
	assert_int_equal(rd_count(&r, 0, 1), MO_ESHORT);
	assert_int_equal(rd_done(&r), MO_ESHORT);
	assert_ptr_equal(r.p, seq);

	/* rd_fail keeps the first error. */
	rd_init(&r, seq, 3);
	assert_int_equal(rd_fail(&r, MO_EMALFORMED), MO_EMALFORMED);
	assert_int_equal(rd_fail(&r, MO_ESHORT), MO_EMALFORMED);
	assert_int_equal(rd_u8(&r, &u8), MO_EMALFORMED);

	/* Trailing bytes are malformed. */
	rd_init(&r, seq, 3);
	assert_int_equal(rd_u8(&r, &u8), 0);
	assert_int_equal(rd_done(&r), MO_EMALFORMED);
}

struct uvar_case {
	uint8_t		b[11];
	size_t		len;
	int		err32, err64;
	uint64_t	v;
};

static const struct uvar_case uvar_cases[] = {
	{ { 0x00 }, 1, 0, 0, 0 },
	{ { 0x7f }, 1, 0, 0, 127 },
	{ { 0x80, 0x01 }, 2, 0, 0, 128 },
	{ { 0xac, 0x02 }, 2, 0, 0, 300 },
	{ { 0xff, 0xff, 0xff, 0xff, 0x0f }, 5, 0, 0, UINT32_MAX },
	/* 33 bits: too big for 32, fine for 64 */
	{ { 0xff, 0xff, 0xff, 0xff, 0x1f }, 5, MO_EMALFORMED, 0,
	    0x1ffffffffULL },
	/* overlong: six bytes for 32 */
	{ { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 }, 6, MO_EMALFORMED, 0, 0 },
	{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 10,
	    MO_EMALFORMED, 0, UINT64_MAX },
	{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 }, 10,
	    MO_EMALFORMED, MO_EMALFORMED, 0 },
	{ { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x00 }, 11, MO_EMALFORMED, MO_EMALFORMED, 0 },
	/* unterminated */
	{ { 0x80 }, 1, MO_ESHORT, MO_ESHORT, 0 },
	{ { 0xff, 0xff }, 2, MO_ESHORT, MO_ESHORT, 0 },
	{ { 0 }, 0, MO_ESHORT, MO_ESHORT, 0 },
};

static void
test_uvarint(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(uvar_cases) / sizeof(uvar_cases[0]);
	    i++) {
		const struct uvar_case *c = &uvar_cases[i];
		uint32_t v32;
		uint64_t v64;
		struct rd r;

		rd_init(&r, c->b, c->len);
		assert_int_equal(rd_uvarint(&r, &v32), c->err32);
		if (c->err32 == 0) {
			assert_true(v32 == c->v);
			assert_int_equal(rd_done(&r), 0);
		} else {
			assert_int_equal(v32, 0);
			assert_ptr_equal(r.p, c->b);
		}
		rd_init(&r, c->b, c->len);
		assert_int_equal(rd_uvarlong(&r, &v64), c->err64);
		if (c->err64 == 0) {
			assert_true(v64 == c->v);
			assert_int_equal(rd_done(&r), 0);
		} else
			assert_ptr_equal(r.p, c->b);
	}
}

/* Round trip through the writer, and check the encoded size. */
static void
test_varint_roundtrip(void **state)
{
	static const int32_t v32[] = { 0, 1, -1, 63, -64, 64, -65, 300,
		-300, INT32_MAX, INT32_MIN };
	static const int64_t v64[] = { 0, 1, -1, INT32_MAX, INT32_MIN,
		INT64_MAX, INT64_MIN, -1234567890123LL };
	struct wbuf w = { 0 };
	struct rd r;

	(void)state;
	for (size_t i = 0; i < sizeof(v32) / sizeof(v32[0]); i++) {
		int32_t got;

		wbuf_reset(&w);
		wbuf_put_varint(&w, v32[i]);
		rd_init(&r, w.data, w.len);
		assert_int_equal(rd_varint(&r, &got), 0);
		assert_int_equal(got, v32[i]);
		assert_int_equal(rd_done(&r), 0);
	}
	for (size_t i = 0; i < sizeof(v64) / sizeof(v64[0]); i++) {
		int64_t got;

		wbuf_reset(&w);
		wbuf_put_varlong(&w, v64[i]);
		rd_init(&r, w.data, w.len);
		assert_int_equal(rd_varlong(&r, &got), 0);
		assert_true(got == v64[i]);
		assert_int_equal(rd_done(&r), 0);
	}
	/* zig-zag: -1 is 1, 1 is 2, INT32_MIN is 0xffffffff */
	wbuf_reset(&w);
	wbuf_put_varint(&w, -1);
	wbuf_put_varint(&w, 1);
	assert_int_equal(w.len, 2);
	assert_int_equal(w.data[0], 1);
	assert_int_equal(w.data[1], 2);
	wbuf_reset(&w);
	wbuf_put_varint(&w, INT32_MIN);
	assert_int_equal(w.len, 5);
	assert_memory_equal(w.data, "\xff\xff\xff\xff\x0f", 5);
	wbuf_reset(&w);
	wbuf_put_uvarlong(&w, UINT64_MAX);
	assert_int_equal(w.len, 10);
	assert_int_equal(uvarint_size(UINT64_MAX), 10);
	assert_int_equal(uvarint_size(127), 1);
	assert_int_equal(uvarint_size(128), 2);
	wbuf_clear(&w);
}

static void
test_count(void **state)
{
	uint8_t buf[16] = { 0 };
	struct rd r;

	(void)state;
	rd_init(&r, buf, sizeof(buf));
	assert_int_equal(rd_count(&r, 16, 1), 0);
	assert_int_equal(rd_count(&r, 4, 4), 0);
	assert_int_equal(rd_count(&r, 0, 100), 0);
	assert_int_equal(rd_count(&r, 1000000, 0), 0);
	assert_int_equal(rd_count(&r, 17, 1), MO_ESHORT);
	rd_init(&r, buf, sizeof(buf));
	assert_int_equal(rd_count(&r, 5, 4), MO_ESHORT);
	rd_init(&r, buf, sizeof(buf));
	assert_int_equal(rd_count(&r, INT32_MAX, 1), MO_ESHORT);
	rd_init(&r, buf, sizeof(buf));
	assert_int_equal(rd_count(&r, INT64_MAX, 8), MO_ESHORT);
	rd_init(&r, buf, sizeof(buf));
	assert_int_equal(rd_count(&r, (int64_t)UINT32_MAX, 1), MO_ESHORT);
	rd_init(&r, buf, sizeof(buf));
	assert_int_equal(rd_count(&r, -1, 1), MO_EMALFORMED);
	rd_init(&r, buf, sizeof(buf));
	assert_int_equal(rd_count(&r, INT64_MIN, 1), MO_EMALFORMED);
	/* empty reader */
	rd_init(&r, buf, 0);
	assert_int_equal(rd_count(&r, 0, 1), 0);
	assert_int_equal(rd_count(&r, 1, 1), MO_ESHORT);
}

static void
test_take_skip(void **state)
{
	const uint8_t *p;
	struct rd r;

	(void)state;
	rd_init(&r, seq, sizeof(seq));
	assert_int_equal(rd_take(&r, 3, &p), 0);
	assert_ptr_equal(p, seq);
	assert_int_equal(rd_left(&r), 5);
	assert_int_equal(rd_skip(&r, 5), 0);
	assert_int_equal(rd_done(&r), 0);
	assert_int_equal(rd_take(&r, 0, &p), 0);
	rd_init(&r, seq, sizeof(seq));
	assert_int_equal(rd_take(&r, SIZE_MAX, &p), MO_ESHORT);
	assert_ptr_equal(r.p, seq);
}

static void
test_wbuf(void **state)
{
	struct wbuf w = { 0 };
	uint8_t *data;
	size_t at, len;

	(void)state;
	wbuf_put_i8(&w, -1);
	wbuf_put_i16(&w, 0x0102);
	wbuf_put_u16(&w, 0xfffe);
	wbuf_put_i32(&w, 0x03040506);
	wbuf_put_u32(&w, 0xfffffffd);
	wbuf_put_i64(&w, 0x0708090a0b0c0d0eLL);
	at = wbuf_mark(&w, 4);
	wbuf_put(&w, "xy", 2);
	wbuf_patch_i32(&w, at, -2);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 1 + 2 + 2 + 4 + 4 + 8 + 4 + 2);
	assert_memory_equal(w.data,
	    "\xff\x01\x02\xff\xfe\x03\x04\x05\x06\xff\xff\xff\xfd"
	    "\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\xff\xff\xff\xfexy",
	    w.len);
	/* Patching past the end is ignored. */
	wbuf_patch_u32(&w, w.len - 2, 0);
	assert_memory_equal(w.data + w.len - 2, "xy", 2);

	/* Growth beyond the first allocation. */
	for (int i = 0; i < 1000; i++)
		wbuf_put_i32(&w, i);
	assert_int_equal(w.err, 0);
	assert_true(w.cap >= w.len);

	/* Overflow is sticky. */
	assert_int_equal(wbuf_reserve(&w, SIZE_MAX), MO_EOVERFLOW);
	len = w.len;
	wbuf_put_i32(&w, 1);
	assert_int_equal(w.len, len);
	assert_int_equal(wbuf_reserve(&w, 1), MO_EOVERFLOW);
	wbuf_reset(&w);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 0);
	wbuf_put_i8(&w, 7);
	data = wbuf_steal(&w, &len);
	assert_int_equal(len, 1);
	assert_null(w.data);
	assert_int_equal(data[0], 7);
	free(data);
	wbuf_clear(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_uvarint),
		cmocka_unit_test(test_varint_roundtrip),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_take_skip),
		cmocka_unit_test(test_wbuf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
