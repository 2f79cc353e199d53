/*
 * Small helpers for request handlers building responses in the request's
 * arena (they live as long as the request).
 */
#ifndef MO_API_UTIL_H
#define MO_API_UTIL_H

#include <string.h>

#include "broker.h"

/* n elements of a generated struct, each with its schema defaults. */
static inline void *
api_new(struct req *r, const struct kp_struct *d, size_t n)
{
	uint8_t *v = kp_arena_alloc(&r->arena, (n == 0 ? 1 : n) * d->size);

	for (size_t i = 0; i < n; i++)
		kp_init(d, v + i * d->size);
	return v;
}

/* A view of a C string (which must outlive the response). */
static inline struct kstr
api_kstr(const char *s)
{
	struct kstr k = { s, (int32_t)strlen(s) };

	return k;
}

static inline struct kstr
api_kstr_null(void)
{
	struct kstr k = { NULL, -1 };

	return k;
}

/* A copy of s in the request's arena, as a view. */
static inline struct kstr
api_kstr_dup(struct req *r, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = kp_arena_alloc(&r->arena, n);

	memcpy(p, s, n);
	return api_kstr(p);
}

/* A NUL-terminated copy of a view in the request's arena ("" for null). */
static inline const char *
api_cstr(struct req *r, struct kstr k)
{
	size_t n = k.len > 0 ? (size_t)k.len : 0;
	char *p = kp_arena_alloc(&r->arena, n + 1);

	if (n > 0)
		memcpy(p, k.p, n);
	return p;
}

static inline bool
api_kstr_eq(struct kstr a, struct kstr b)
{
	return kstr_eq(a, b);
}

#endif
