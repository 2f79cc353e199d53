/* Unit tests for the compression codecs (compress.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <snappy-c.h>
#include <lz4frame.h>
#include <zstd.h>

#include "compress.h"
#include "err.h"
#include "wbuf.h"

#define MIB	(1024 * 1024)

static const int codecs[] = {
	MO_CODEC_NONE, MO_CODEC_GZIP, MO_CODEC_SNAPPY, MO_CODEC_LZ4,
	MO_CODEC_ZSTD
};
#define NCODECS	(sizeof(codecs) / sizeof(codecs[0]))

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint8_t *
gen_random(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len == 0 ? 1 : len);
	uint64_t s = seed;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(xorshift(&s) >> 32);
	return p;
}

/* Text-like, compressible. */
static uint8_t *
gen_text(size_t len)
{
	static const char *words[] = { "kafka ", "broker ", "record ",
		"batch ", "offset ", "moldau ", "partition ", "\n" };
	uint8_t *p = malloc(len == 0 ? 1 : len);
	uint64_t s = 42;
	size_t i = 0;

	assert_non_null(p);
	while (i < len) {
		const char *w = words[xorshift(&s) % 8];
		for (; *w != '\0' && i < len; w++)
			p[i++] = (uint8_t)*w;
	}
	return p;
}

static void
roundtrip(int codec, const uint8_t *in, size_t len)
{
	struct wbuf c = { 0 }, d = { 0 };

	assert_int_equal(compress_encode(codec, in, len, &c), 0);
	/* Exactly enough room. */
	assert_int_equal(compress_decode(codec, c.data, c.len, len, &d), 0);
	assert_int_equal(d.len, len);
	if (len > 0)
		assert_memory_equal(d.data, in, len);
	/* One byte short. */
	if (len > 0) {
		wbuf_reset(&d);
		assert_int_equal(compress_decode(codec, c.data, c.len,
		    len - 1, &d), MO_ETOOBIG);
		assert_int_equal(d.len, 0);
	}
	wbuf_clear(&c);
	wbuf_clear(&d);
}

static void
test_roundtrip(void **state)
{
	static const size_t sizes[] = { 0, 1, 5, 100, 32 * 1024,
		32 * 1024 + 1, 200 * 1024, MIB };
	(void)state;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint8_t *t = gen_text(sizes[s]);
		uint8_t *r = gen_random(sizes[s], 7 + s);

		for (size_t c = 0; c < NCODECS; c++) {
			roundtrip(codecs[c], t, sizes[s]);
			roundtrip(codecs[c], r, sizes[s]);
		}
		free(t);
		free(r);
	}
}

static void
test_compresses(void **state)
{
	uint8_t *t = gen_text(MIB);
	(void)state;

	for (size_t c = 1; c < NCODECS; c++) {
		struct wbuf w = { 0 };

		assert_int_equal(compress_encode(codecs[c], t, MIB, &w), 0);
		assert_true(w.len < MIB / 2);
		wbuf_clear(&w);
	}
	free(t);
}

/* Output is appended after what the buffer holds. */
static void
test_append(void **state)
{
	struct wbuf c = { 0 }, d = { 0 };
	(void)state;

	for (size_t i = 0; i < NCODECS; i++) {
		wbuf_put(&c, "pre", 3);
		assert_int_equal(compress_encode(codecs[i],
		    (const uint8_t *)"hello", 5, &c), 0);
		wbuf_put(&d, "xy", 2);
		assert_int_equal(compress_decode(codecs[i], c.data + 3,
		    c.len - 3, 5, &d), 0);
		assert_int_equal(d.len, 7);
		assert_memory_equal(d.data, "xyhello", 7);
		wbuf_reset(&c);
		wbuf_reset(&d);
	}
	wbuf_clear(&c);
	wbuf_clear(&d);
}

static void
test_unknown_codec(void **state)
{
	struct wbuf w = { 0 };
	(void)state;

	assert_int_equal(compress_encode(5, (const uint8_t *)"a", 1, &w),
	    MO_EINVAL);
	assert_int_equal(compress_decode(-1, (const uint8_t *)"a", 1, 10, &w),
	    MO_EINVAL);
	assert_null(compress_name(7));
	assert_string_equal(compress_name(MO_CODEC_ZSTD), "zstd");
	wbuf_clear(&w);
}

/* Garbage and empty input: a clean error, never a crash. */
static void
test_garbage(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	struct wbuf w = { 0 };
	uint8_t *r = gen_random(4096, 99);
	(void)state;

	for (size_t c = 1; c < NCODECS; c++) {
		assert_int_equal(compress_decode(codecs[c], junk, sizeof(junk),
		    MIB, &w), MO_ECODEC);
		assert_int_equal(compress_decode(codecs[c], junk, 0, MIB, &w),
		    MO_ECODEC);
		int e = compress_decode(codecs[c], r, 4096, MIB, &w);
		assert_true(e == MO_ECODEC || e == MO_ETOOBIG);
		assert_int_equal(w.len, 0);
	}
	wbuf_clear(&w);
	free(r);
}

/* Every truncation fails (snappy: or yields less, at block boundaries). */
static void
test_truncated(void **state)
{
	uint8_t *t = gen_text(70000);
	(void)state;

	for (size_t c = 1; c < NCODECS; c++) {
		struct wbuf z = { 0 }, d = { 0 };

		assert_int_equal(compress_encode(codecs[c], t, 70000, &z), 0);
		for (size_t n = 0; n < z.len; n++) {
			int e = compress_decode(codecs[c], z.data, n, MIB, &d);
			if (codecs[c] == MO_CODEC_SNAPPY)
				assert_true(e == MO_ECODEC ||
				    (e == 0 && d.len < 70000));
			else
				assert_int_equal(e, MO_ECODEC);
			wbuf_reset(&d);
		}
		wbuf_clear(&z);
		wbuf_clear(&d);
	}
	free(t);
}

/* Flipped bits: any result but a crash; checksummed codecs notice. */
static void
test_corrupt(void **state)
{
	uint8_t *t = gen_text(20000);
	uint64_t s = 5;
	(void)state;

	for (size_t c = 1; c < NCODECS; c++) {
		struct wbuf z = { 0 }, d = { 0 };

		assert_int_equal(compress_encode(codecs[c], t, 20000, &z), 0);
		for (int i = 0; i < 2000; i++) {
			size_t at = xorshift(&s) % z.len;
			uint8_t bit = (uint8_t)(1u << (xorshift(&s) % 8));
			int e;

			z.data[at] ^= bit;
			e = compress_decode(codecs[c], z.data, z.len, 30000,
			    &d);
			assert_true(e == 0 || e == MO_ECODEC ||
			    e == MO_ETOOBIG);
			if (e == 0 && codecs[c] == MO_CODEC_GZIP)
				assert_memory_equal(d.data, t, 20000);
			z.data[at] ^= bit;
			wbuf_reset(&d);
		}
		wbuf_clear(&z);
		wbuf_clear(&d);
	}
	free(t);
}

/* 64 MiB of zeros must not be inflated past the bound. */
static void
test_bomb(void **state)
{
	size_t big = 64 * (size_t)MIB;
	uint8_t *zeros = calloc(1, big);
	(void)state;

	assert_non_null(zeros);
	for (size_t c = 1; c < NCODECS; c++) {
		struct wbuf z = { 0 }, d = { 0 };

		assert_int_equal(compress_encode(codecs[c], zeros, big, &z),
		    0);
		assert_true(z.len < big / 16);
		assert_int_equal(compress_decode(codecs[c], z.data, z.len,
		    MIB, &d), MO_ETOOBIG);
		assert_int_equal(d.len, 0);
		assert_true(d.cap <= 4 * MIB);
		wbuf_clear(&z);
		wbuf_clear(&d);
	}
	free(zeros);
}

/* zstd frames without a content size (streaming producers). */
static void
test_zstd_stream(void **state)
{
	size_t big = 8 * (size_t)MIB, cap = ZSTD_compressBound(big);
	uint8_t *t = gen_text(big), *z = malloc(cap);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	ZSTD_inBuffer ib = { t, big, 0 };
	ZSTD_outBuffer ob = { z, cap, 0 };
	struct wbuf d = { 0 };
	(void)state;

	assert_non_null(z);
	assert_non_null(cctx);
	/* compressStream2 with ZSTD_e_end writes no size unless pledged. */
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
	assert_int_equal(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end), 0);
	assert_true(ZSTD_getFrameContentSize(z, ob.pos) ==
	    ZSTD_CONTENTSIZE_UNKNOWN);
	assert_int_equal(compress_decode(MO_CODEC_ZSTD, z, ob.pos, big, &d),
	    0);
	assert_int_equal(d.len, big);
	assert_memory_equal(d.data, t, big);
	wbuf_reset(&d);
	assert_int_equal(compress_decode(MO_CODEC_ZSTD, z, ob.pos, MIB, &d),
	    MO_ETOOBIG);
	wbuf_clear(&d);
	ZSTD_freeCCtx(cctx);
	free(z);
	free(t);
}

/* The xerial framing, assembled here from raw snappy blocks. */
static void
test_snappy_xerial(void **state)
{
	static const uint8_t hdr[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y',
		0, 0, 0, 0, 1, 0, 0, 0, 1 };
	const char *parts[] = { "hello, ", "xerial ", "world" };
	struct wbuf x = { 0 }, d = { 0 };
	char blk[64];
	(void)state;

	wbuf_put(&x, hdr, sizeof(hdr));
	for (int i = 0; i < 3; i++) {
		size_t n = sizeof(blk);

		assert_int_equal(snappy_compress(parts[i], strlen(parts[i]),
		    blk, &n), SNAPPY_OK);
		wbuf_put_u32(&x, (uint32_t)n);
		wbuf_put(&x, blk, n);
	}
	assert_int_equal(compress_decode(MO_CODEC_SNAPPY, x.data, x.len, 100,
	    &d), 0);
	assert_int_equal(d.len, 19);
	assert_memory_equal(d.data, "hello, xerial world", 19);

	/* What we write is xerial too. */
	wbuf_reset(&d);
	assert_int_equal(compress_encode(MO_CODEC_SNAPPY,
	    (const uint8_t *)"abc", 3, &d), 0);
	assert_true(d.len > 16);
	assert_memory_equal(d.data, hdr, 16);

	/* A block length past the end, and a zero block length. */
	wbuf_reset(&d);
	x.data[16 + 3] = 0x7f;
	assert_int_equal(compress_decode(MO_CODEC_SNAPPY, x.data, x.len, 100,
	    &d), MO_ECODEC);
	x.data[16 + 3] = 0;
	assert_int_equal(compress_decode(MO_CODEC_SNAPPY, x.data, x.len, 100,
	    &d), MO_ECODEC);

	/* Header only: empty. */
	assert_int_equal(compress_decode(MO_CODEC_SNAPPY, hdr, 16, 100, &d),
	    0);
	assert_int_equal(d.len, 0);
	wbuf_clear(&x);
	wbuf_clear(&d);
}

/* Plain raw snappy, as librdkafka sends it. */
static void
test_snappy_raw(void **state)
{
	uint8_t *t = gen_text(100000);
	size_t n = snappy_max_compressed_length(100000);
	char *z = malloc(n);
	struct wbuf d = { 0 };
	(void)state;

	assert_non_null(z);
	assert_int_equal(snappy_compress((const char *)t, 100000, z, &n),
	    SNAPPY_OK);
	assert_int_equal(compress_decode(MO_CODEC_SNAPPY, (uint8_t *)z, n,
	    100000, &d), 0);
	assert_int_equal(d.len, 100000);
	assert_memory_equal(d.data, t, 100000);
	wbuf_reset(&d);
	assert_int_equal(compress_decode(MO_CODEC_SNAPPY, (uint8_t *)z, n,
	    99999, &d), MO_ETOOBIG);
	wbuf_clear(&d);
	free(z);
	free(t);
}

/* LZ4 frames with the library defaults (linked blocks, checksums). */
static void
test_lz4_variants(void **state)
{
	uint8_t *t = gen_text(300000);
	LZ4F_preferences_t prefs;
	size_t cap, n;
	uint8_t *z;
	struct wbuf d = { 0 };
	(void)state;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
	prefs.frameInfo.contentSize = 300000;
	cap = LZ4F_compressFrameBound(300000, &prefs);
	z = malloc(cap);
	assert_non_null(z);
	n = LZ4F_compressFrame(z, cap, t, 300000, &prefs);
	assert_false(LZ4F_isError(n));
	assert_int_equal(compress_decode(MO_CODEC_LZ4, z, n, 300000, &d), 0);
	assert_int_equal(d.len, 300000);
	assert_memory_equal(d.data, t, 300000);
	/* The content checksum catches a flipped literal. */
	wbuf_reset(&d);
	z[n / 2] ^= 0x10;
	assert_int_equal(compress_decode(MO_CODEC_LZ4, z, n, 300000, &d),
	    MO_ECODEC);
	wbuf_clear(&d);
	free(z);
	free(t);
}

/* Concatenated gzip members and zstd frames decode as one stream. */
static void
test_concatenated(void **state)
{
	struct wbuf z = { 0 }, d = { 0 };
	(void)state;

	for (int c = MO_CODEC_GZIP; c <= MO_CODEC_ZSTD; c += 3) {
		assert_int_equal(compress_encode(c, (const uint8_t *)"one,", 4,
		    &z), 0);
		assert_int_equal(compress_encode(c, (const uint8_t *)"two", 3,
		    &z), 0);
		assert_int_equal(compress_decode(c, z.data, z.len, 7, &d), 0);
		assert_int_equal(d.len, 7);
		assert_memory_equal(d.data, "one,two", 7);
		wbuf_reset(&d);
		assert_int_equal(compress_decode(c, z.data, z.len, 6, &d),
		    MO_ETOOBIG);
		wbuf_reset(&z);
		wbuf_reset(&d);
	}
	wbuf_clear(&z);
	wbuf_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_compresses),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_unknown_codec),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_zstd_stream),
		cmocka_unit_test(test_snappy_xerial),
		cmocka_unit_test(test_snappy_raw),
		cmocka_unit_test(test_lz4_variants),
		cmocka_unit_test(test_concatenated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
