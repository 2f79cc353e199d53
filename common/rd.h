/*
 * Bounds-checked big-endian reader over a borrowed byte range.
 * Errors are sticky: after the first failure every call returns it, yields
 * zero and never advances.  A reader never passes its end.
 */
#ifndef MO_RD_H
#define MO_RD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

struct rd {
	const uint8_t	*p;
	const uint8_t	*end;
	int		 err;
};

static inline void
rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->end = len == 0 ? r->p : r->p + len;	/* NULL + 0 is undefined */
	r->err = 0;
}

static inline size_t
rd_left(const struct rd *r)
{
	return (size_t)(r->end - r->p);
}

/* 0 when every byte was consumed without error, else an MO_E* code. */
static inline int
rd_done(const struct rd *r)
{
	if (r->err != 0)
		return r->err;
	return r->p == r->end ? 0 : MO_EMALFORMED;
}

static inline int
rd_fail(struct rd *r, int err)
{
	if (r->err == 0)
		r->err = err;
	return r->err;
}

static inline int
rd_need(struct rd *r, size_t n)
{
	if (r->err != 0)
		return r->err;
	if (rd_left(r) < n)
		return r->err = MO_ESHORT;
	return 0;
}

static inline int
rd_u8(struct rd *r, uint8_t *v)
{
	*v = 0;
	if (rd_need(r, 1) != 0)
		return r->err;
	*v = r->p[0];
	r->p += 1;
	return 0;
}

static inline int
rd_i8(struct rd *r, int8_t *v)
{
	uint8_t u;
	int e = rd_u8(r, &u);

	*v = (int8_t)u;
	return e;
}

static inline int
rd_u16(struct rd *r, uint16_t *v)
{
	*v = 0;
	if (rd_need(r, 2) != 0)
		return r->err;
	*v = (uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
	r->p += 2;
	return 0;
}

static inline int
rd_i16(struct rd *r, int16_t *v)
{
	uint16_t u;
	int e = rd_u16(r, &u);

	*v = (int16_t)u;
	return e;
}

static inline int
rd_u32(struct rd *r, uint32_t *v)
{
	*v = 0;
	if (rd_need(r, 4) != 0)
		return r->err;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	return 0;
}

static inline int
rd_i32(struct rd *r, int32_t *v)
{
	uint32_t u;
	int e = rd_u32(r, &u);

	*v = (int32_t)u;
	return e;
}

static inline int
rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	*v = 0;
	if (rd_need(r, 8) != 0)
		return r->err;
	rd_u32(r, &hi);
	rd_u32(r, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static inline int
rd_i64(struct rd *r, int64_t *v)
{
	uint64_t u;
	int e = rd_u64(r, &u);

	*v = (int64_t)u;
	return e;
}

static inline int
rd_f64(struct rd *r, double *v)
{
	uint64_t u;
	int e = rd_u64(r, &u);

	memcpy(v, &u, sizeof(*v));
	return e;
}

/* Unsigned LEB128 varint of at most 5 bytes (32 bits). */
static inline int
rd_uvarint(struct rd *r, uint32_t *v)
{
	uint32_t x = 0;
	const uint8_t *p = r->p;

	*v = 0;
	if (r->err != 0)
		return r->err;
	for (int shift = 0; shift < 35; shift += 7) {
		if (p == r->end)
			return r->err = MO_ESHORT;
		uint8_t b = *p++;
		if (shift == 28 && (b & 0xf0) != 0)
			return r->err = MO_EMALFORMED;
		x |= (uint32_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			r->p = p;
			*v = x;
			return 0;
		}
	}
	return r->err = MO_EMALFORMED;
}

/* Unsigned LEB128 varint of at most 10 bytes (64 bits). */
static inline int
rd_uvarlong(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;
	const uint8_t *p = r->p;

	*v = 0;
	if (r->err != 0)
		return r->err;
	for (int shift = 0; shift < 70; shift += 7) {
		if (p == r->end)
			return r->err = MO_ESHORT;
		uint8_t b = *p++;
		if (shift == 63 && (b & 0xfe) != 0)
			return r->err = MO_EMALFORMED;
		x |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			r->p = p;
			*v = x;
			return 0;
		}
	}
	return r->err = MO_EMALFORMED;
}

/* Zig-zag signed varint (32 bits). */
static inline int
rd_varint(struct rd *r, int32_t *v)
{
	uint32_t u;
	int e = rd_uvarint(r, &u);

	*v = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
	return e;
}

/* Zig-zag signed varlong (64 bits). */
static inline int
rd_varlong(struct rd *r, int64_t *v)
{
	uint64_t u;
	int e = rd_uvarlong(r, &u);

	*v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
	return e;
}

/* Borrow n bytes; *p points into the buffer. */
static inline int
rd_take(struct rd *r, size_t n, const uint8_t **p)
{
	*p = NULL;
	if (rd_need(r, n) != 0)
		return r->err;
	*p = r->p;
	r->p += n;
	return 0;
}

static inline int
rd_skip(struct rd *r, size_t n)
{
	const uint8_t *p;

	return rd_take(r, n, &p);
}

/*
 * Check that a count of elements, each at least min_elem bytes, can fit in
 * what is left.  Rejects negative counts (callers handle -1 = null first).
 */
static inline int
rd_count(struct rd *r, int64_t n, size_t min_elem)
{
	if (r->err != 0)
		return r->err;
	if (n < 0)
		return r->err = MO_EMALFORMED;
	if (min_elem != 0 && (uint64_t)n > rd_left(r) / min_elem)
		return r->err = MO_ESHORT;
	return 0;
}

#endif
