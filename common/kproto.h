/*
 * Kafka protocol codec: one generic walker over generated descriptor tables
 * (kproto_gen.[ch], written by tools/gen-kproto from the message schemas).
 *
 * Every message and nested struct has a C struct and a struct kp_struct
 * describing its fields.  Decoding borrows strings and bytes from the input
 * (views never outlive the buffer) and allocates arrays from an arena.
 * All-zero is a valid value of every struct except where a field's schema
 * default is non-zero: kp_init() applies those defaults.
 */
#ifndef MO_KPROTO_H
#define MO_KPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rd.h"
#include "wbuf.h"

/* String view; len -1 is null.  Zero value is the empty string. */
struct kstr {
	const char	*p;
	int32_t		 len;
};

/* A view of the C string s (NULL: null). */
static inline struct kstr
kstr_c(const char *s)
{
	struct kstr k = { s, s != NULL ? (int32_t)strlen(s) : -1 };

	return k;
}

/* Same string (two nulls are the same). */
static inline bool
kstr_eq(struct kstr a, struct kstr b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p,
	    (size_t)a.len) == 0);
}

/* Bytes view (also "records"); len -1 is null. */
struct kbytes {
	const uint8_t	*p;
	int32_t		 len;
};

struct kuuid {
	uint8_t	b[16];
};

/* Generic view of a generated array field { T *v; int32_t n; }; n -1 null. */
struct karr {
	void	*v;
	int32_t	 n;
};

enum kp_type {
	KP_T_BOOL,
	KP_T_INT8,
	KP_T_INT16,
	KP_T_UINT16,
	KP_T_INT32,
	KP_T_INT64,
	KP_T_FLOAT64,
	KP_T_UUID,
	KP_T_STRING,
	KP_T_BYTES,
	KP_T_RECORDS,
	KP_T_STRUCT,	/* embedded by pointer: T *name (NULL = null) */
	KP_T_ARRAY	/* { T *v; int32_t n; }, elem type in kp_field.elem */
};

#define KP_VMAX	INT16_MAX	/* "N+" version ranges */
#define KP_NONE	(-1)		/* no versions (nullable/tagged) */

struct kp_struct;

struct kp_field {
	const char		*name;
	uint8_t			 type;	/* enum kp_type */
	uint8_t			 elem;	/* element type of KP_T_ARRAY */
	int16_t			 vmin, vmax;	/* versions present */
	int16_t			 nvmin, nvmax;	/* nullable versions */
	int16_t			 tvmin, tvmax;	/* tagged versions */
	int32_t			 tag;
	uint32_t		 off;	/* offsetof in the C struct */
	int64_t			 def;	/* default of numbers and bools */
	bool			 def_null;	/* default of strings is null */
	const struct kp_struct	*sub;	/* struct, or array of struct */
};

struct kp_struct {
	const char		*name;
	size_t			 size;	/* sizeof the C struct */
	const struct kp_field	*fields;
	size_t			 nfields;
};

struct kp_msg {
	const char		*name;	/* "Produce" */
	int16_t			 api_key;
	int16_t			 vmin, vmax;	/* validVersions */
	int16_t			 flex_min;	/* first flexible version or -1 */
	const struct kp_struct	*req;
	const struct kp_struct	*resp;
};

/* Bump allocator for decoded arrays and nested structs. */
struct kp_arena_chunk;
struct kp_arena {
	struct kp_arena_chunk	*head;
};

void	*kp_arena_alloc(struct kp_arena *, size_t);	/* zeroed */
void	 kp_arena_clear(struct kp_arena *);

/* Messages indexed by API key; NULL slots for unknown keys. */
const struct kp_msg *kp_msg_get(int16_t api_key);

static inline bool
kp_flexible(const struct kp_msg *m, int16_t version)
{
	return m->flex_min >= 0 && version >= m->flex_min;
}

/* Apply schema defaults (recursively for embedded structs). */
void	kp_init(const struct kp_struct *, void *obj);

/*
 * Decode obj (already any memory; it is overwritten) of the given version.
 * Returns 0 or MO_E*; the reader's error is set too.
 */
int	kp_decode(struct rd *, const struct kp_struct *, int16_t version,
	    bool flexible, void *obj, struct kp_arena *);
int	kp_encode(struct wbuf *, const struct kp_struct *, int16_t version,
	    bool flexible, const void *obj);

/*
 * Encoding with holes: a KP_T_RECORDS field whose p is NULL and len > 0
 * gets its length prefix written and no bytes; the hole (where the bytes
 * belong in w, and which field) is recorded so the caller can send other
 * bytes there (file ranges with sendfile).  Holes come in output order.
 */
struct kp_hole {
	size_t			 at;	/* offset in the wbuf */
	const struct kbytes	*field;
};

struct kp_holes {
	struct kp_hole	*v;
	size_t		 n, cap;
};

int	kp_encode_holes(struct wbuf *, const struct kp_struct *,
	    int16_t version, bool flexible, const void *obj, struct kp_holes *);
void	kp_holes_clear(struct kp_holes *);

/* Request header v0-v2 (client_id stays a non-compact nullable string). */
struct kp_req_hdr {
	int16_t		api_key;
	int16_t		api_version;
	int32_t		correlation_id;
	struct kstr	client_id;
};

/* Header version for a request/response of this API and version. */
int	kp_req_hdr_version(int16_t api_key, int16_t version);
int	kp_resp_hdr_version(int16_t api_key, int16_t version);

/* Decode a request header: reads key and version, then the rest. */
int	kp_req_hdr_decode(struct rd *, struct kp_req_hdr *);
void	kp_req_hdr_encode(struct wbuf *, const struct kp_req_hdr *);
/* Response header: correlation id, plus empty tagged fields in v1. */
void	kp_resp_hdr_encode(struct wbuf *, int hdr_version, int32_t corr_id);

#endif
