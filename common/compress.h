/*
 * Kafka compression codecs (the record batch attribute values).
 * Both directions append to out.  Decoding is bounded: more than max_out
 * bytes of output is MO_ETOOBIG, corrupt input MO_ECODEC, an unknown codec
 * MO_EINVAL.
 */
#ifndef MO_COMPRESS_H
#define MO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "wbuf.h"

enum mo_codec {
	MO_CODEC_NONE = 0,
	MO_CODEC_GZIP = 1,
	MO_CODEC_SNAPPY = 2,
	MO_CODEC_LZ4 = 3,
	MO_CODEC_ZSTD = 4
};

#define MO_CODEC_MAX	MO_CODEC_ZSTD

const char	*compress_name(int codec);	/* "gzip", ... or NULL */
int		 compress_encode(int codec, const uint8_t *, size_t,
		    struct wbuf *out);
int		 compress_decode(int codec, const uint8_t *, size_t,
		    size_t max_out, struct wbuf *out);

#endif
