#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "wbuf.h"
#include "xmalloc.h"

int
wbuf_reserve(struct wbuf *w, size_t n)
{
	size_t ncap;

	if (w->err != 0)
		return w->err;
	if (n > SIZE_MAX - w->len)
		return w->err = MO_EOVERFLOW;
	if (w->len + n <= w->cap)
		return 0;
	ncap = w->cap == 0 ? 256 : w->cap;
	while (ncap < w->len + n) {
		if (ncap > SIZE_MAX / 2)
			return w->err = MO_EOVERFLOW;
		ncap *= 2;
	}
	w->data = xrealloc(w->data, ncap);
	w->cap = ncap;
	return 0;
}

void
wbuf_clear(struct wbuf *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

void
wbuf_reset(struct wbuf *w)
{
	w->len = 0;
	w->err = 0;
}

uint8_t *
wbuf_steal(struct wbuf *w, size_t *len)
{
	uint8_t *p = w->data;

	*len = w->len;
	memset(w, 0, sizeof(*w));
	return p;
}

void
wbuf_put(struct wbuf *w, const void *p, size_t n)
{
	if (n == 0 || wbuf_reserve(w, n) != 0)
		return;
	memcpy(w->data + w->len, p, n);
	w->len += n;
}

void
wbuf_put_i8(struct wbuf *w, int8_t v)
{
	uint8_t b = (uint8_t)v;

	wbuf_put(w, &b, 1);
}

void
wbuf_put_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	wbuf_put(w, b, 2);
}

void
wbuf_put_i16(struct wbuf *w, int16_t v)
{
	wbuf_put_u16(w, (uint16_t)v);
}

void
wbuf_put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	wbuf_put(w, b, 4);
}

void
wbuf_put_i32(struct wbuf *w, int32_t v)
{
	wbuf_put_u32(w, (uint32_t)v);
}

void
wbuf_put_i64(struct wbuf *w, int64_t v)
{
	wbuf_put_u32(w, (uint32_t)((uint64_t)v >> 32));
	wbuf_put_u32(w, (uint32_t)v);
}

void
wbuf_put_f64(struct wbuf *w, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	wbuf_put_i64(w, (int64_t)u);
}

void
wbuf_put_uvarlong(struct wbuf *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	wbuf_put(w, b, n);
}

void
wbuf_put_uvarint(struct wbuf *w, uint32_t v)
{
	wbuf_put_uvarlong(w, v);
}

void
wbuf_put_varint(struct wbuf *w, int32_t v)
{
	wbuf_put_uvarlong(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void
wbuf_put_varlong(struct wbuf *w, int64_t v)
{
	wbuf_put_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Reserve a hole of n bytes to fill later; returns its offset. */
size_t
wbuf_mark(struct wbuf *w, size_t n)
{
	size_t at = w->len;

	if (wbuf_reserve(w, n) != 0)
		return at;
	memset(w->data + w->len, 0, n);
	w->len += n;
	return at;
}

void
wbuf_patch_u32(struct wbuf *w, size_t at, uint32_t v)
{
	if (w->err != 0 || at + 4 > w->len)
		return;
	w->data[at] = (uint8_t)(v >> 24);
	w->data[at + 1] = (uint8_t)(v >> 16);
	w->data[at + 2] = (uint8_t)(v >> 8);
	w->data[at + 3] = (uint8_t)v;
}

void
wbuf_patch_i32(struct wbuf *w, size_t at, int32_t v)
{
	wbuf_patch_u32(w, at, (uint32_t)v);
}

size_t
uvarint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}
