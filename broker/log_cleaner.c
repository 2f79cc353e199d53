/*
 * The log cleaner (compaction) thread.
 */
#include <stdlib.h>

#include "broker.h"
#include "log_service.h"
#include "xmalloc.h"

struct cleaner {
	struct event_base	*base;
};

struct cleaner *
cleaner_new(struct event_base *base)
{
	struct cleaner *c = xcalloc(1, sizeof(*c));

	c->base = base;
	return c;
}

void
cleaner_free(struct cleaner *c)
{
	free(c);
}

void
cleaner_consider(struct cleaner *c, struct plog *pl, int64_t now)
{
	(void)c;
	(void)pl;
	(void)now;
}

void
cleaner_forget(struct cleaner *c, struct plog *pl)
{
	(void)c;
	(void)pl;
}
