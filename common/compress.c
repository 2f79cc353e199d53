/*
 * Kafka compression codecs over zlib, libsnappy, liblz4 and libzstd.
 *
 * gzip: one or more gzip members.  snappy: we write the xerial framing the
 * Java client writes (magic "\x82SNAPPY\0", version 1, compatible version 1,
 * then big-endian int32 length-prefixed raw snappy blocks of at most 32 KiB
 * of input) and read it or plain raw snappy.  lz4: the standard LZ4 frame
 * format (independent 64 KiB blocks, no content checksum or size, which
 * every client reads).  zstd: standard frames, decoded as a stream.
 *
 * Decoders write into out at most max_out + 1 bytes, so a decompression
 * bomb costs at most max_out of memory before MO_ETOOBIG.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "compress.h"
#include "err.h"
#include "wbuf.h"

#define COMPRESS_CHUNK		(128 * 1024)
#define XERIAL_HEADER_SIZE	16
#define XERIAL_BLOCK		(32 * 1024)
#define ZSTD_WLOG_MIN		24	/* 16 MiB windows are always fine */
#define ZSTD_WLOG_MAX		27

static const uint8_t xerial_magic[8] = {
	0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0
};

/* Output state of a bounded decode: cap is max_out + 1. */
struct dec_out {
	struct wbuf	*w;
	size_t		 start;
	size_t		 cap;
};

static size_t
dec_produced(const struct dec_out *d)
{
	return d->w->len - d->start;
}

/* Make room for the next piece of output; *avail is 0 on error. */
static int
dec_room(struct dec_out *d, size_t want, size_t *avail)
{
	size_t left = d->cap - dec_produced(d);
	int e;

	*avail = 0;
	if (left == 0)
		return MO_ETOOBIG;
	if (want > left)
		want = left;
	if ((e = wbuf_reserve(d->w, want)) != 0)
		return e;
	*avail = want;
	return 0;
}

static int
dec_check(const struct dec_out *d)
{
	return dec_produced(d) >= d->cap ? MO_ETOOBIG : 0;
}

const char *
compress_name(int codec)
{
	switch (codec) {
	case MO_CODEC_NONE:
		return "none";
	case MO_CODEC_GZIP:
		return "gzip";
	case MO_CODEC_SNAPPY:
		return "snappy";
	case MO_CODEC_LZ4:
		return "lz4";
	case MO_CODEC_ZSTD:
		return "zstd";
	default:
		return NULL;
	}
}

/* ---- gzip ---- */

static int
gzip_encode(const uint8_t *in, size_t len, struct wbuf *out)
{
	z_stream zs;
	uLong bound;
	int e = 0;

	if (len > UINT_MAX)
		return MO_ETOOBIG;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return MO_ENOMEM;
	bound = deflateBound(&zs, (uLong)len);
	if (bound > UINT_MAX) {
		e = MO_ETOOBIG;
		goto out;
	}
	if ((e = wbuf_reserve(out, bound)) != 0)
		goto out;
	zs.next_in = in;
	zs.avail_in = (uInt)len;
	zs.next_out = out->data + out->len;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		e = MO_ECODEC;
	else
		out->len += bound - zs.avail_out;
out:
	deflateEnd(&zs);
	return e;
}

static int
gzip_decode(const uint8_t *in, size_t len, struct dec_out *d)
{
	z_stream zs;
	size_t avail, n;
	int e = 0, ret;

	if (len > UINT_MAX)
		return MO_ETOOBIG;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return MO_ENOMEM;
	zs.next_in = in;
	zs.avail_in = (uInt)len;
	for (;;) {
		if ((e = dec_room(d, COMPRESS_CHUNK, &avail)) != 0)
			break;
		zs.next_out = d->w->data + d->w->len;
		zs.avail_out = (uInt)avail;
		ret = inflate(&zs, Z_NO_FLUSH);
		n = avail - zs.avail_out;
		d->w->len += n;
		if ((e = dec_check(d)) != 0)
			break;
		if (ret == Z_STREAM_END) {
			if (zs.avail_in == 0)
				break;
			/* Another gzip member follows. */
			if (inflateReset(&zs) != Z_OK) {
				e = MO_ECODEC;
				break;
			}
			continue;
		}
		if (ret != Z_OK && ret != Z_BUF_ERROR) {
			e = MO_ECODEC;
			break;
		}
		if (zs.avail_in == 0 && n < avail) {
			e = MO_ECODEC;	/* truncated */
			break;
		}
	}
	inflateEnd(&zs);
	return e;
}

/* ---- snappy ---- */

static int
snappy_encode_block(const uint8_t *in, size_t len, struct wbuf *out)
{
	size_t max = snappy_max_compressed_length(len), n = max, at;
	int e;

	if ((e = wbuf_reserve(out, 4 + max)) != 0)
		return e;
	at = wbuf_mark(out, 4);
	if (snappy_compress((const char *)in, len,
	    (char *)out->data + out->len, &n) != SNAPPY_OK)
		return MO_ECODEC;
	if (n > INT32_MAX)
		return MO_ETOOBIG;
	out->len += n;
	wbuf_patch_u32(out, at, (uint32_t)n);
	return 0;
}

static int
snappy_encode_xerial(const uint8_t *in, size_t len, struct wbuf *out)
{
	size_t n;
	int e;

	wbuf_put(out, xerial_magic, sizeof(xerial_magic));
	wbuf_put_i32(out, 1);		/* version */
	wbuf_put_i32(out, 1);		/* compatible version */
	while (len > 0) {
		n = len < XERIAL_BLOCK ? len : XERIAL_BLOCK;
		if ((e = snappy_encode_block(in, n, out)) != 0)
			return e;
		in += n;
		len -= n;
	}
	return out->err;
}

static int
snappy_decode_raw(const uint8_t *in, size_t len, struct dec_out *d)
{
	size_t ulen, left = d->cap - 1 - dec_produced(d);
	int e;

	if (snappy_uncompressed_length((const char *)in, len, &ulen) !=
	    SNAPPY_OK)
		return MO_ECODEC;
	if (ulen > left)
		return MO_ETOOBIG;
	if (ulen == 0)
		return len == 1 ? 0 : MO_ECODEC;
	if ((e = wbuf_reserve(d->w, ulen)) != 0)
		return e;
	if (snappy_uncompress((const char *)in, len,
	    (char *)d->w->data + d->w->len, &ulen) != SNAPPY_OK)
		return MO_ECODEC;
	d->w->len += ulen;
	return 0;
}

static int
snappy_decode(const uint8_t *in, size_t len, struct dec_out *d)
{
	uint32_t n;
	int e;

	if (len < XERIAL_HEADER_SIZE ||
	    memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0)
		return snappy_decode_raw(in, len, d);
	in += XERIAL_HEADER_SIZE;
	len -= XERIAL_HEADER_SIZE;
	while (len > 0) {
		if (len < 4)
			return MO_ECODEC;
		n = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
		    (uint32_t)in[2] << 8 | in[3];
		in += 4;
		len -= 4;
		if (n == 0 || n > len)
			return MO_ECODEC;
		if ((e = snappy_decode_raw(in, n, d)) != 0)
			return e;
		in += n;
		len -= n;
	}
	return 0;
}

/* ---- lz4 ---- */

static int
lz4_encode(const uint8_t *in, size_t len, struct wbuf *out)
{
	LZ4F_preferences_t prefs;
	size_t bound, n;
	int e;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	bound = LZ4F_compressFrameBound(len, &prefs);
	if ((e = wbuf_reserve(out, bound)) != 0)
		return e;
	n = LZ4F_compressFrame(out->data + out->len, bound, in, len, &prefs);
	if (LZ4F_isError(n))
		return MO_ECODEC;
	out->len += n;
	return 0;
}

static int
lz4_decode(const uint8_t *in, size_t len, struct dec_out *d)
{
	LZ4F_dctx *dctx;
	size_t avail, src, dst, ret;
	int e = 0;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx,
	    LZ4F_VERSION)))
		return MO_ENOMEM;
	for (;;) {
		if ((e = dec_room(d, COMPRESS_CHUNK, &avail)) != 0)
			break;
		src = len;
		dst = avail;
		ret = LZ4F_decompress(dctx, d->w->data + d->w->len, &dst,
		    in, &src, NULL);
		if (LZ4F_isError(ret)) {
			e = MO_ECODEC;
			break;
		}
		in += src;
		len -= src;
		d->w->len += dst;
		if ((e = dec_check(d)) != 0)
			break;
		if (ret == 0 && len == 0)
			break;		/* frame complete, input used */
		if (len == 0 && dst < avail) {
			e = MO_ECODEC;	/* truncated */
			break;
		}
		if (src == 0 && dst == 0) {
			e = MO_ECODEC;	/* no progress */
			break;
		}
	}
	LZ4F_freeDecompressionContext(dctx);
	return e;
}

/* ---- zstd ---- */

static int
zstd_encode(const uint8_t *in, size_t len, struct wbuf *out)
{
	size_t bound = ZSTD_compressBound(len), n;
	int e;

	if ((e = wbuf_reserve(out, bound)) != 0)
		return e;
	n = ZSTD_compress(out->data + out->len, bound, in, len,
	    ZSTD_CLEVEL_DEFAULT);
	if (ZSTD_isError(n))
		return MO_ECODEC;
	out->len += n;
	return 0;
}

static int
zstd_wlog(size_t max_out)
{
	int wlog = ZSTD_WLOG_MIN;

	while (wlog < ZSTD_WLOG_MAX && ((size_t)1 << wlog) < max_out)
		wlog++;
	return wlog;
}

static int
zstd_decode(const uint8_t *in, size_t len, struct dec_out *d)
{
	unsigned long long fcs;
	ZSTD_inBuffer ib = { in, len, 0 };
	ZSTD_outBuffer ob;
	ZSTD_DCtx *dctx;
	size_t avail, ret;
	int e = 0;

	fcs = ZSTD_getFrameContentSize(in, len);
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR &&
	    fcs >= d->cap)
		return MO_ETOOBIG;
	if ((dctx = ZSTD_createDCtx()) == NULL)
		return MO_ENOMEM;
	if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
	    zstd_wlog(d->cap - 1)))) {
		e = MO_ECODEC;
		goto out;
	}
	for (;;) {
		if ((e = dec_room(d, COMPRESS_CHUNK, &avail)) != 0)
			break;
		ob.dst = d->w->data + d->w->len;
		ob.size = avail;
		ob.pos = 0;
		ret = ZSTD_decompressStream(dctx, &ob, &ib);
		if (ZSTD_isError(ret)) {
			e = ZSTD_getErrorCode(ret) ==
			    ZSTD_error_frameParameter_windowTooLarge ?
			    MO_ETOOBIG : MO_ECODEC;
			break;
		}
		d->w->len += ob.pos;
		if ((e = dec_check(d)) != 0)
			break;
		if (ret == 0 && ib.pos == ib.size)
			break;		/* last frame complete */
		if (ib.pos == ib.size && ob.pos < ob.size) {
			e = MO_ECODEC;	/* truncated */
			break;
		}
	}
out:
	ZSTD_freeDCtx(dctx);
	return e;
}

/* ---- entry points ---- */

int
compress_encode(int codec, const uint8_t *in, size_t len, struct wbuf *out)
{
	size_t start = out->len;
	int e;

	if (out->err != 0)
		return out->err;
	switch (codec) {
	case MO_CODEC_NONE:
		wbuf_put(out, in, len);
		e = out->err;
		break;
	case MO_CODEC_GZIP:
		e = gzip_encode(in, len, out);
		break;
	case MO_CODEC_SNAPPY:
		e = snappy_encode_xerial(in, len, out);
		break;
	case MO_CODEC_LZ4:
		e = lz4_encode(in, len, out);
		break;
	case MO_CODEC_ZSTD:
		e = zstd_encode(in, len, out);
		break;
	default:
		return MO_EINVAL;
	}
	if (e != 0 && out->err == 0)
		out->len = start;
	return e;
}

int
compress_decode(int codec, const uint8_t *in, size_t len, size_t max_out,
    struct wbuf *out)
{
	struct dec_out d;
	int e;

	if (out->err != 0)
		return out->err;
	d.w = out;
	d.start = out->len;
	d.cap = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
	switch (codec) {
	case MO_CODEC_NONE:
		if (len > max_out)
			return MO_ETOOBIG;
		wbuf_put(out, in, len);
		e = out->err;
		break;
	case MO_CODEC_GZIP:
		e = gzip_decode(in, len, &d);
		break;
	case MO_CODEC_SNAPPY:
		e = snappy_decode(in, len, &d);
		break;
	case MO_CODEC_LZ4:
		e = lz4_decode(in, len, &d);
		break;
	case MO_CODEC_ZSTD:
		e = zstd_decode(in, len, &d);
		break;
	default:
		return MO_EINVAL;
	}
	if (e != 0 && out->err == 0)
		out->len = d.start;
	return e;
}
