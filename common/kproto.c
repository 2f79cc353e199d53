/*
 * The one Kafka protocol walker: decodes and encodes every message of
 * kproto_gen.c by following its field descriptors.
 *
 * Wire rules.  Non-flexible versions: int16 string length, int32 bytes
 * length, int32 array count (-1 = null).  Flexible versions: compact forms
 * (unsigned varint of length + 1, 0 = null) and a tagged-field section at
 * the end of every struct.  A nullable non-array struct is preceded by an
 * int8 marker (-1 null, 1 present).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kproto.h"
#include "kproto_gen.h"
#include "log.h"
#include "xmalloc.h"

/* How a field appears in one version of a message. */
enum kp_mode {
	KP_ABSENT,
	KP_REGULAR,
	KP_TAGGED
};

struct kp_dctx {
	struct rd		*r;
	int16_t			 ver;
	bool			 flex;
	struct kp_arena		*arena;
};

struct kp_ectx {
	struct wbuf		*w;
	int16_t			 ver;
	bool			 flex;
	struct kp_holes		*holes;	/* NULL: no holes allowed */
};

static int	dec_struct(const struct kp_dctx *, const struct kp_struct *,
		    void *);
static void	enc_struct(const struct kp_ectx *, const struct kp_struct *,
		    const void *);
static size_t	min_struct(const struct kp_struct *, int16_t, bool);

/*
 * Arena.
 */

#define KP_ARENA_CHUNK	8192

struct kp_arena_chunk {
	struct kp_arena_chunk	*next;
	size_t			 used;
	size_t			 cap;
	max_align_t		 data[];
};

static struct kp_arena_chunk *
arena_chunk_new(size_t cap)
{
	struct kp_arena_chunk *c;

	if (cap > SIZE_MAX - sizeof(*c))
		fatalx("kp_arena: allocation of %zu bytes", cap);
	c = xmalloc(sizeof(*c) + cap);
	c->next = NULL;
	c->used = 0;
	c->cap = cap;
	return c;
}

void *
kp_arena_alloc(struct kp_arena *a, size_t n)
{
	const size_t al = _Alignof(max_align_t);
	struct kp_arena_chunk *c = a->head;
	uint8_t *p;

	if (n > SIZE_MAX - al)
		fatalx("kp_arena: allocation of %zu bytes", n);
	n = n == 0 ? al : (n + al - 1) / al * al;
	if (n > KP_ARENA_CHUNK / 4) {
		/* Large: own chunk, kept behind the current one. */
		c = arena_chunk_new(n);
		c->used = n;
		if (a->head != NULL) {
			c->next = a->head->next;
			a->head->next = c;
		} else
			a->head = c;
	} else if (c == NULL || c->cap - c->used < n) {
		c = arena_chunk_new(KP_ARENA_CHUNK);
		c->next = a->head;
		a->head = c;
		c->used = n;
	} else
		c->used += n;
	p = (uint8_t *)c->data + c->used - n;
	memset(p, 0, n);
	return p;
}

void
kp_arena_clear(struct kp_arena *a)
{
	struct kp_arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/*
 * Field access.  Array and struct-pointer members have generated types, so
 * they are read and written with memcpy through the struct karr layout.
 */

static bool
in_range(int16_t v, int16_t lo, int16_t hi)
{
	return lo >= 0 && v >= lo && v <= hi;
}

static enum kp_mode
field_mode(const struct kp_field *f, int16_t ver, bool flex)
{
	if (in_range(ver, f->tvmin, f->tvmax))
		return flex ? KP_TAGGED : KP_ABSENT;
	if (in_range(ver, f->vmin, f->vmax))
		return KP_REGULAR;
	return KP_ABSENT;
}

static bool
field_nullable(const struct kp_field *f, int16_t ver)
{
	return f->type == KP_T_RECORDS || in_range(ver, f->nvmin, f->nvmax);
}

static size_t
type_size(uint8_t type, const struct kp_struct *sub)
{
	switch (type) {
	case KP_T_BOOL:
		return sizeof(bool);
	case KP_T_INT8:
		return 1;
	case KP_T_INT16:
	case KP_T_UINT16:
		return 2;
	case KP_T_INT32:
		return 4;
	case KP_T_INT64:
		return 8;
	case KP_T_FLOAT64:
		return sizeof(double);
	case KP_T_UUID:
		return sizeof(struct kuuid);
	case KP_T_STRING:
		return sizeof(struct kstr);
	case KP_T_BYTES:
	case KP_T_RECORDS:
		return sizeof(struct kbytes);
	case KP_T_STRUCT:
		return sub->size;
	default:
		return sizeof(struct karr);
	}
}

static void
num_store(void *p, uint8_t type, int64_t v)
{
	switch (type) {
	case KP_T_BOOL:
		*(bool *)p = v != 0;
		break;
	case KP_T_INT8:
		*(int8_t *)p = (int8_t)v;
		break;
	case KP_T_INT16:
		*(int16_t *)p = (int16_t)v;
		break;
	case KP_T_UINT16:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case KP_T_INT32:
		*(int32_t *)p = (int32_t)v;
		break;
	case KP_T_INT64:
		*(int64_t *)p = v;
		break;
	case KP_T_FLOAT64:
		*(double *)p = (double)v;
		break;
	}
}

static struct karr
arr_load(const void *p)
{
	struct karr a;

	memcpy(&a, p, sizeof(a));
	return a;
}

static void
arr_store(void *p, void *v, int32_t n)
{
	struct karr a = { v, n };

	memcpy(p, &a, sizeof(a));
}

static const void *
ptr_load(const void *p)
{
	const void *v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
ptr_store(void *p, void *v)
{
	memcpy(p, &v, sizeof(v));
}

void
kp_init(const struct kp_struct *s, void *obj)
{
	memset(obj, 0, s->size);
	for (size_t i = 0; i < s->nfields; i++) {
		const struct kp_field *f = &s->fields[i];
		uint8_t *p = (uint8_t *)obj + f->off;

		switch (f->type) {
		case KP_T_STRING:
			if (f->def_null)
				((struct kstr *)p)->len = -1;
			break;
		case KP_T_BYTES:
		case KP_T_RECORDS:
			if (f->def_null)
				((struct kbytes *)p)->len = -1;
			break;
		case KP_T_ARRAY:
			if (f->def_null)
				arr_store(p, NULL, -1);
			break;
		case KP_T_UUID:
		case KP_T_STRUCT:
			break;
		default:
			num_store(p, f->type, f->def);
			break;
		}
	}
}

/*
 * Minimum wire sizes, used to bound counts before allocating.
 */

static size_t
min_value(uint8_t type, const struct kp_struct *sub, bool nullable,
    int16_t ver, bool flex)
{
	switch (type) {
	case KP_T_BOOL:
	case KP_T_INT8:
		return 1;
	case KP_T_INT16:
	case KP_T_UINT16:
		return 2;
	case KP_T_INT32:
		return 4;
	case KP_T_INT64:
	case KP_T_FLOAT64:
		return 8;
	case KP_T_UUID:
		return 16;
	case KP_T_STRING:
		return flex ? 1 : 2;
	case KP_T_STRUCT:
		return nullable ? 1 : min_struct(sub, ver, flex);
	default:	/* bytes, records, array */
		return flex ? 1 : 4;
	}
}

static size_t
min_struct(const struct kp_struct *s, int16_t ver, bool flex)
{
	size_t n = flex ? 1 : 0;

	for (size_t i = 0; i < s->nfields; i++) {
		const struct kp_field *f = &s->fields[i];

		if (field_mode(f, ver, flex) == KP_REGULAR)
			n += min_value(f->type, f->sub, field_nullable(f, ver),
			    ver, flex);
	}
	return n;
}

/*
 * Decoding.
 */

/* Length of a string, bytes or array: -1 null, else 0..INT32_MAX. */
static int
dec_len(const struct kp_dctx *c, bool wide, int64_t *len)
{
	uint32_t u;
	int32_t i32;
	int16_t i16;

	*len = 0;
	if (c->flex) {
		if (rd_uvarint(c->r, &u) != 0)
			return c->r->err;
		if (u > (uint32_t)INT32_MAX + 1)
			return rd_fail(c->r, MO_EMALFORMED);
		*len = (int64_t)u - 1;
	} else if (wide) {
		if (rd_i32(c->r, &i32) != 0)
			return c->r->err;
		*len = i32;
	} else {
		if (rd_i16(c->r, &i16) != 0)
			return c->r->err;
		*len = i16;
	}
	if (*len < -1)
		return rd_fail(c->r, MO_EMALFORMED);
	return 0;
}

/* Strings and bytes share a layout: pointer then int32 length. */
static int
dec_blob(const struct kp_dctx *c, bool wide, bool nullable, void *dst)
{
	struct kbytes b = { NULL, -1 };
	int64_t len;

	if (dec_len(c, wide, &len) != 0)
		return c->r->err;
	if (len < 0 && !nullable)
		return rd_fail(c->r, MO_EMALFORMED);
	if (len >= 0) {
		if (rd_take(c->r, (size_t)len, &b.p) != 0)
			return c->r->err;
		b.len = (int32_t)len;
	}
	if (wide)
		memcpy(dst, &b, sizeof(b));
	else {
		struct kstr s = { (const char *)b.p, b.len };

		memcpy(dst, &s, sizeof(s));
	}
	return 0;
}

static int
dec_sub(const struct kp_dctx *c, const struct kp_struct *sub, bool nullable,
    void *dst)
{
	void *obj;
	int8_t mark;

	if (nullable) {
		if (rd_i8(c->r, &mark) != 0)
			return c->r->err;
		if (mark < 0) {
			ptr_store(dst, NULL);
			return 0;
		}
	}
	obj = kp_arena_alloc(c->arena, sub->size);
	ptr_store(dst, obj);
	return dec_struct(c, sub, obj);
}

static int	dec_value(const struct kp_dctx *, uint8_t,
		    const struct kp_struct *, bool, void *);

static int
dec_array(const struct kp_dctx *c, const struct kp_field *f, bool nullable,
    void *dst)
{
	size_t esz = type_size(f->elem, f->sub), emin;
	int64_t n;
	uint8_t *v;

	if (dec_len(c, true, &n) != 0)
		return c->r->err;
	if (n < 0) {
		if (!nullable)
			return rd_fail(c->r, MO_EMALFORMED);
		arr_store(dst, NULL, -1);
		return 0;
	}
	emin = min_value(f->elem, f->sub, false, c->ver, c->flex);
	if (rd_count(c->r, n, emin == 0 ? 1 : emin) != 0)
		return c->r->err;
	if (n == 0) {
		arr_store(dst, NULL, 0);
		return 0;
	}
	if ((size_t)n > SIZE_MAX / esz)
		return rd_fail(c->r, MO_EOVERFLOW);
	v = kp_arena_alloc(c->arena, (size_t)n * esz);
	arr_store(dst, v, (int32_t)n);
	/* Struct elements are stored inline, not by pointer. */
	for (int64_t i = 0; i < n; i++) {
		if (f->elem == KP_T_STRUCT)
			dec_struct(c, f->sub, v + i * esz);
		else
			dec_value(c, f->elem, f->sub, false, v + i * esz);
		if (c->r->err != 0)
			return c->r->err;
	}
	return 0;
}

static int
dec_value(const struct kp_dctx *c, uint8_t type, const struct kp_struct *sub,
    bool nullable, void *dst)
{
	struct rd *r = c->r;
	int8_t i8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	const uint8_t *u;

	switch (type) {
	case KP_T_BOOL:
	case KP_T_INT8:
		rd_i8(r, &i8);
		num_store(dst, type, i8);
		break;
	case KP_T_INT16:
	case KP_T_UINT16:
		rd_i16(r, &i16);
		num_store(dst, type, type == KP_T_UINT16 ? (uint16_t)i16 : i16);
		break;
	case KP_T_INT32:
		rd_i32(r, &i32);
		num_store(dst, type, i32);
		break;
	case KP_T_INT64:
		rd_i64(r, &i64);
		num_store(dst, type, i64);
		break;
	case KP_T_FLOAT64:
		rd_f64(r, (double *)dst);
		break;
	case KP_T_UUID:
		if (rd_take(r, 16, &u) == 0)
			memcpy(dst, u, 16);
		break;
	case KP_T_STRING:
		return dec_blob(c, false, nullable, dst);
	case KP_T_BYTES:
	case KP_T_RECORDS:
		return dec_blob(c, true, nullable, dst);
	case KP_T_STRUCT:
		return dec_sub(c, sub, nullable, dst);
	default:
		return rd_fail(r, MO_EINVAL);
	}
	return r->err;
}

static int
dec_field(const struct kp_dctx *c, const struct kp_field *f, void *obj)
{
	uint8_t *dst = (uint8_t *)obj + f->off;
	bool nullable = field_nullable(f, c->ver);

	if (f->type == KP_T_ARRAY)
		return dec_array(c, f, nullable, dst);
	return dec_value(c, f->type, f->sub, nullable, dst);
}

static const struct kp_field *
tagged_field(const struct kp_struct *s, int16_t ver, uint32_t tag)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct kp_field *f = &s->fields[i];

		if (f->tag >= 0 && (uint32_t)f->tag == tag &&
		    field_mode(f, ver, true) == KP_TAGGED)
			return f;
	}
	return NULL;
}

/* Tagged-field section; s may be NULL (header): all tags are skipped. */
static int
dec_tags(const struct kp_dctx *c, const struct kp_struct *s, void *obj)
{
	struct kp_dctx sc = *c;
	const struct kp_field *f;
	const uint8_t *p;
	uint32_t n, tag, size;
	struct rd sub;

	if (rd_uvarint(c->r, &n) != 0 || rd_count(c->r, n, 2) != 0)
		return c->r->err;
	for (uint32_t i = 0; i < n; i++) {
		if (rd_uvarint(c->r, &tag) != 0 ||
		    rd_uvarint(c->r, &size) != 0 ||
		    rd_take(c->r, size, &p) != 0)
			return c->r->err;
		f = s != NULL ? tagged_field(s, c->ver, tag) : NULL;
		if (f == NULL)
			continue;
		rd_init(&sub, p, size);
		sc.r = &sub;
		/* The size was there: content not fitting it is malformed. */
		if (dec_field(&sc, f, obj) != 0)
			return rd_fail(c->r, sub.err == MO_ESHORT ?
			    MO_EMALFORMED : sub.err);
	}
	return 0;
}

static int
dec_struct(const struct kp_dctx *c, const struct kp_struct *s, void *obj)
{
	kp_init(s, obj);
	for (size_t i = 0; i < s->nfields; i++) {
		const struct kp_field *f = &s->fields[i];

		if (field_mode(f, c->ver, c->flex) != KP_REGULAR)
			continue;
		if (dec_field(c, f, obj) != 0)
			return c->r->err;
	}
	if (c->flex)
		return dec_tags(c, s, obj);
	return c->r->err;
}

int
kp_decode(struct rd *r, const struct kp_struct *s, int16_t version,
    bool flexible, void *obj, struct kp_arena *arena)
{
	struct kp_dctx c = { r, version, flexible, arena };

	if (r->err != 0) {
		kp_init(s, obj);
		return r->err;
	}
	return dec_struct(&c, s, obj);
}

/*
 * Encoding.
 */

static void
wbuf_fail(struct wbuf *w, int err)
{
	if (w->err == 0)
		w->err = err;
}

static void
enc_len(const struct kp_ectx *c, bool wide, int64_t len)
{
	if (c->flex)
		wbuf_put_uvarint(c->w, (uint32_t)(len + 1));
	else if (wide)
		wbuf_put_i32(c->w, (int32_t)len);
	else if (len > INT16_MAX)
		wbuf_fail(c->w, MO_ETOOBIG);
	else
		wbuf_put_i16(c->w, (int16_t)len);
}

static void
enc_blob(const struct kp_ectx *c, bool wide, bool nullable, const void *src)
{
	struct kbytes b;

	/* kstr and kbytes share their layout. */
	memcpy(&b, src, sizeof(b));
	if (b.len < 0 && !nullable)
		b.len = 0;
	enc_len(c, wide, b.len < 0 ? -1 : b.len);
	if (b.len > 0)
		wbuf_put(c->w, b.p, (size_t)b.len);
}

static void
enc_sub(const struct kp_ectx *c, const struct kp_struct *sub, bool nullable,
    const void *src)
{
	const void *obj = ptr_load(src);
	void *tmp;

	if (nullable) {
		wbuf_put_i8(c->w, obj == NULL ? -1 : 1);
		if (obj == NULL)
			return;
	}
	if (obj != NULL) {
		enc_struct(c, sub, obj);
		return;
	}
	/* A required struct left NULL is written with its defaults. */
	tmp = xmalloc(sub->size);
	kp_init(sub, tmp);
	enc_struct(c, sub, tmp);
	free(tmp);
}

static void	enc_value(const struct kp_ectx *, uint8_t,
		    const struct kp_struct *, bool, const void *);

/* A records field left as a hole: length only, position recorded. */
static bool
enc_hole(const struct kp_ectx *c, const void *src)
{
	const struct kbytes *b = src;
	struct kp_holes *h = c->holes;

	if (b->p != NULL || b->len <= 0)
		return false;
	if (h == NULL) {
		wbuf_fail(c->w, MO_EINVAL);
		return true;
	}
	enc_len(c, true, b->len);
	if (h->n == h->cap) {
		h->cap = h->cap == 0 ? 8 : h->cap * 2;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	h->v[h->n].at = c->w->len;
	h->v[h->n].field = b;
	h->n++;
	return true;
}

static void
enc_array(const struct kp_ectx *c, const struct kp_field *f, bool nullable,
    const void *src)
{
	struct karr a = arr_load(src);
	size_t esz = type_size(f->elem, f->sub);

	if (a.n < 0 && !nullable)
		a.n = 0;
	enc_len(c, true, a.n < 0 ? -1 : a.n);
	for (int32_t i = 0; i < a.n; i++) {
		const uint8_t *e = (const uint8_t *)a.v + (size_t)i * esz;

		if (f->elem == KP_T_STRUCT)
			enc_struct(c, f->sub, e);
		else
			enc_value(c, f->elem, f->sub, false, e);
	}
}

static void
enc_value(const struct kp_ectx *c, uint8_t type, const struct kp_struct *sub,
    bool nullable, const void *src)
{
	struct wbuf *w = c->w;

	switch (type) {
	case KP_T_BOOL:
		wbuf_put_i8(w, *(const bool *)src ? 1 : 0);
		break;
	case KP_T_INT8:
		wbuf_put_i8(w, *(const int8_t *)src);
		break;
	case KP_T_INT16:
		wbuf_put_i16(w, *(const int16_t *)src);
		break;
	case KP_T_UINT16:
		wbuf_put_u16(w, *(const uint16_t *)src);
		break;
	case KP_T_INT32:
		wbuf_put_i32(w, *(const int32_t *)src);
		break;
	case KP_T_INT64:
		wbuf_put_i64(w, *(const int64_t *)src);
		break;
	case KP_T_FLOAT64:
		wbuf_put_f64(w, *(const double *)src);
		break;
	case KP_T_UUID:
		wbuf_put(w, src, 16);
		break;
	case KP_T_STRING:
		enc_blob(c, false, nullable, src);
		break;
	case KP_T_RECORDS:
		if (enc_hole(c, src))
			break;
		/* no hole: the bytes themselves (gcc and clang both know
		   the attribute; clang ignores a comment) */
		__attribute__((fallthrough));
	case KP_T_BYTES:
		enc_blob(c, true, nullable, src);
		break;
	case KP_T_STRUCT:
		enc_sub(c, sub, nullable, src);
		break;
	default:
		wbuf_fail(w, MO_EINVAL);
		break;
	}
}

static void
enc_field(const struct kp_ectx *c, const struct kp_field *f, const void *obj)
{
	const uint8_t *src = (const uint8_t *)obj + f->off;
	bool nullable = field_nullable(f, c->ver);

	if (f->type == KP_T_ARRAY)
		enc_array(c, f, nullable, src);
	else
		enc_value(c, f->type, f->sub, nullable, src);
}

/* Whether a tagged field holds its default (and so is not written). */
static bool
is_default(const struct kp_field *f, const void *obj)
{
	const uint8_t *p = (const uint8_t *)obj + f->off;
	static const struct kuuid zero;
	struct kbytes b;

	switch (f->type) {
	case KP_T_BOOL:
		return *(const bool *)p == (f->def != 0);
	case KP_T_INT8:
		return *(const int8_t *)p == f->def;
	case KP_T_INT16:
		return *(const int16_t *)p == f->def;
	case KP_T_UINT16:
		return *(const uint16_t *)p == f->def;
	case KP_T_INT32:
		return *(const int32_t *)p == f->def;
	case KP_T_INT64:
		return *(const int64_t *)p == f->def;
	case KP_T_FLOAT64:
		return memcmp(p, &(double){ (double)f->def }, sizeof(double)) ==
		    0;
	case KP_T_UUID:
		return memcmp(p, &zero, sizeof(zero)) == 0;
	case KP_T_STRING:
	case KP_T_BYTES:
	case KP_T_RECORDS:
		memcpy(&b, p, sizeof(b));
		return f->def_null ? b.len < 0 : b.len == 0;
	case KP_T_STRUCT:
		return ptr_load(p) == NULL;
	default:
		return f->def_null ? arr_load(p).n < 0 : arr_load(p).n == 0;
	}
}

/* The tagged field with the smallest tag above after, to be written. */
static const struct kp_field *
next_tagged(const struct kp_ectx *c, const struct kp_struct *s,
    const void *obj, int64_t after)
{
	const struct kp_field *best = NULL;

	for (size_t i = 0; i < s->nfields; i++) {
		const struct kp_field *f = &s->fields[i];

		if (field_mode(f, c->ver, c->flex) != KP_TAGGED ||
		    f->tag <= after || is_default(f, obj))
			continue;
		if (best == NULL || f->tag < best->tag)
			best = f;
	}
	return best;
}

static void
enc_tags(const struct kp_ectx *c, const struct kp_struct *s, const void *obj)
{
	const struct kp_field *f;
	struct kp_ectx tc = *c;
	struct wbuf tmp = { 0 };
	uint32_t n = 0;

	for (f = next_tagged(c, s, obj, -1); f != NULL;
	    f = next_tagged(c, s, obj, f->tag))
		n++;
	wbuf_put_uvarint(c->w, n);
	tc.w = &tmp;
	tc.holes = NULL;	/* offsets would be relative to tmp */
	for (f = next_tagged(c, s, obj, -1); f != NULL;
	    f = next_tagged(c, s, obj, f->tag)) {
		wbuf_reset(&tmp);
		enc_field(&tc, f, obj);
		if (tmp.err != 0 || tmp.len > UINT32_MAX) {
			wbuf_fail(c->w, tmp.err != 0 ? tmp.err : MO_ETOOBIG);
			break;
		}
		wbuf_put_uvarint(c->w, (uint32_t)f->tag);
		wbuf_put_uvarint(c->w, (uint32_t)tmp.len);
		wbuf_put(c->w, tmp.data, tmp.len);
	}
	wbuf_clear(&tmp);
}

static void
enc_struct(const struct kp_ectx *c, const struct kp_struct *s,
    const void *obj)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct kp_field *f = &s->fields[i];

		if (field_mode(f, c->ver, c->flex) == KP_REGULAR)
			enc_field(c, f, obj);
	}
	if (c->flex)
		enc_tags(c, s, obj);
}

int
kp_encode(struct wbuf *w, const struct kp_struct *s, int16_t version,
    bool flexible, const void *obj)
{
	struct kp_ectx c = { w, version, flexible, NULL };

	enc_struct(&c, s, obj);
	return w->err;
}

int
kp_encode_holes(struct wbuf *w, const struct kp_struct *s, int16_t version,
    bool flexible, const void *obj, struct kp_holes *holes)
{
	struct kp_ectx c = { w, version, flexible, holes };

	enc_struct(&c, s, obj);
	return w->err;
}

void
kp_holes_clear(struct kp_holes *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/*
 * Headers.
 */

int
kp_req_hdr_version(int16_t api_key, int16_t version)
{
	const struct kp_msg *m = kp_msg_get(api_key);

	if (m == NULL)
		return 1;
	if (api_key == KP_API_CONTROLLED_SHUTDOWN && version == 0)
		return 0;
	return kp_flexible(m, version) ? 2 : 1;
}

int
kp_resp_hdr_version(int16_t api_key, int16_t version)
{
	const struct kp_msg *m = kp_msg_get(api_key);

	if (m == NULL || api_key == KP_API_API_VERSIONS)
		return 0;
	return kp_flexible(m, version) ? 1 : 0;
}

int
kp_req_hdr_decode(struct rd *r, struct kp_req_hdr *h)
{
	struct kp_dctx c = { r, 0, false, NULL };
	int hv;

	memset(h, 0, sizeof(*h));
	h->client_id.len = -1;
	if (rd_i16(r, &h->api_key) != 0 || rd_i16(r, &h->api_version) != 0 ||
	    rd_i32(r, &h->correlation_id) != 0)
		return r->err;
	hv = kp_req_hdr_version(h->api_key, h->api_version);
	if (hv >= 1 && dec_blob(&c, false, true, &h->client_id) != 0)
		return r->err;
	if (hv >= 2)
		return dec_tags(&c, NULL, NULL);
	return r->err;
}

void
kp_req_hdr_encode(struct wbuf *w, const struct kp_req_hdr *h)
{
	struct kp_ectx c = { w, 0, false, NULL };
	int hv = kp_req_hdr_version(h->api_key, h->api_version);

	wbuf_put_i16(w, h->api_key);
	wbuf_put_i16(w, h->api_version);
	wbuf_put_i32(w, h->correlation_id);
	if (hv >= 1)
		enc_blob(&c, false, true, &h->client_id);
	if (hv >= 2)
		wbuf_put_uvarint(w, 0);
}

void
kp_resp_hdr_encode(struct wbuf *w, int hdr_version, int32_t corr_id)
{
	wbuf_put_i32(w, corr_id);
	if (hdr_version >= 1)
		wbuf_put_uvarint(w, 0);
}
