/*
 * Topic configuration: the table of Kafka's topic config names (type,
 * validation, default derived from the broker config), and each topic's
 * overrides, persisted in <data_dir>/<topic>-0/topic.config.
 */
#ifndef MO_TCONFIG_H
#define MO_TCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct topic;

/* Values are Kafka's DescribeConfigs config_type. */
enum tconfig_type {
	TC_BOOLEAN = 1,
	TC_STRING = 2,
	TC_INT = 3,
	TC_LONG = 5,
	TC_DOUBLE = 6,
	TC_LIST = 7
};

/* Values are Kafka's DescribeConfigs config_source. */
enum tconfig_source {
	TC_SRC_DYNAMIC_TOPIC = 1,
	TC_SRC_DYNAMIC_BROKER = 2,
	TC_SRC_STATIC_BROKER = 4,
	TC_SRC_DEFAULT = 5
};

struct tconfig_def {
	const char		*name;
	uint8_t			 type;		/* enum tconfig_type */
	const char		*synonym;	/* broker property or NULL */
	const char		*dflt;		/* Kafka's default */
	int			 cfgkey;	/* broker config field, 0 none */
	int64_t			 min, max;	/* INT/LONG/DOUBLE range */
	const char *const	*choices;	/* NULL-terminated, or NULL */
	const char		*doc;
};

/* One config as DescribeConfigs shows it. */
struct tconfig_value {
	const struct tconfig_def *def;
	const char	*value;		/* effective value */
	int8_t		 source;	/* enum tconfig_source */
	const char	*base;		/* value without the topic override */
	int8_t		 base_source;
};

struct tconfig;

size_t	tconfig_ndefs(void);
const struct tconfig_def *tconfig_def_at(size_t);
/* Index of a config name, or -1. */
int	tconfig_index(const char *, size_t);

/* Broker defaults only, not backed by a file (a staging copy). */
struct tconfig *tconfig_new(const struct mo_config *);
/* A topic's config: defaults plus the overrides saved in its directory. */
struct tconfig *tconfig_open(const struct mo_config *, const char *data_dir,
	    const char *topic);
struct tconfig *tconfig_dup(const struct tconfig *);
void	tconfig_rebase(struct tconfig *, const struct mo_config *);
void	tconfig_free(struct tconfig *);

/*
 * Edit overrides.  Each returns KERR_NONE or KERR_INVALID_CONFIG with a
 * message in msg (for unknown names and invalid values).
 */
int16_t	tconfig_set(struct tconfig *, const char *name, size_t nlen,
	    const char *val, size_t vlen, char *msg, size_t msgsz);
int16_t	tconfig_delete(struct tconfig *, const char *name, size_t nlen,
	    char *msg, size_t msgsz);
/* LIST configs: add or remove the comma-separated items of val. */
int16_t	tconfig_append(struct tconfig *, const char *name, size_t nlen,
	    const char *val, size_t vlen, bool subtract, char *msg,
	    size_t msgsz);
/* Take the overrides of src into dst and persist them; frees src. */
int	tconfig_replace(struct tconfig *dst, struct tconfig *src);

void	tconfig_value_at(const struct tconfig *, size_t,
	    struct tconfig_value *);
/* Number of topic overrides. */
bool	tconfig_same_overrides(const struct tconfig *, const struct tconfig *);
size_t	tconfig_noverrides(const struct tconfig *);

/* Effective value of a topic config; NULL for an unknown name. */
const char *tconfig_get(const struct topic *, const char *name);
int64_t	tconfig_get_i64(const struct topic *, const char *name);
double	tconfig_get_double(const struct topic *, const char *name);
bool	tconfig_get_bool(const struct topic *, const char *name);

#endif
