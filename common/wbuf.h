/*
 * Growable byte buffer for encoding.  All-zero is a valid empty buffer.
 * Errors are sticky: after an overflow every put is a no-op.
 */
#ifndef MO_WBUF_H
#define MO_WBUF_H

#include <stddef.h>
#include <stdint.h>

struct wbuf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

int	wbuf_reserve(struct wbuf *, size_t);
void	wbuf_clear(struct wbuf *);
void	wbuf_reset(struct wbuf *);
uint8_t	*wbuf_steal(struct wbuf *, size_t *);
void	wbuf_put(struct wbuf *, const void *, size_t);
void	wbuf_put_i8(struct wbuf *, int8_t);
void	wbuf_put_i16(struct wbuf *, int16_t);
void	wbuf_put_u16(struct wbuf *, uint16_t);
void	wbuf_put_i32(struct wbuf *, int32_t);
void	wbuf_put_u32(struct wbuf *, uint32_t);
void	wbuf_put_i64(struct wbuf *, int64_t);
void	wbuf_put_f64(struct wbuf *, double);
void	wbuf_put_uvarint(struct wbuf *, uint32_t);
void	wbuf_put_uvarlong(struct wbuf *, uint64_t);
void	wbuf_put_varint(struct wbuf *, int32_t);
void	wbuf_put_varlong(struct wbuf *, int64_t);
size_t	wbuf_mark(struct wbuf *, size_t);
void	wbuf_patch_i32(struct wbuf *, size_t, int32_t);
void	wbuf_patch_u32(struct wbuf *, size_t, uint32_t);
size_t	uvarint_size(uint64_t);

#endif
