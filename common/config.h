/*
 * Configuration: one YAML tree parsed once (libyaml) into an immutable
 * struct mo_config.  Keys are "section.key" where section is the top-level
 * mapping (node, cluster, broker, ...) and key is the Kafka property name
 * inside it (broker: { num.partitions: 3 } is "broker.num.partitions").
 * Errors name file:line and key, e.g.
 *   etc/moldau.yaml:12: broker.num.partitions: must be 1..100000 (got 0)
 */
#ifndef MO_CONFIG_H
#define MO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mo_strlist {
	char	**v;
	size_t	  n;
};

struct mo_config {
	/* node */
	int32_t			node_id;		/* node.id */
	char			*data_dir;		/* node.data_dir */
	char			*run_dir;		/* node.run_dir */
	struct mo_strlist	roles;			/* node.roles */
	char			*log_level;		/* node.log_level */
	char			*log_dir;		/* node.log_dir, "": off */
	int64_t			 log_max_bytes;		/* node.log_max_bytes */
	int32_t			 log_keep;		/* node.log_keep */
	bool			 auto_format;		/* node.auto_format */
	/* cluster */
	struct mo_strlist	controllers;		/* cluster.controllers */
	char			*cluster_id;		/* cluster.id */
	/* cluster.metadata.log.max.record.bytes.between.snapshots */
	int64_t			 metadata_snapshot_bytes;
	/* cluster.metadata.log.max.snapshot.interval.ms, 0 off */
	int64_t			 metadata_snapshot_interval_ms;
	int32_t			 broker_session_timeout_ms;	/* cluster.broker.session.timeout.ms */
	/* broker (Kafka property names) */
	struct mo_strlist	listeners;		/* broker.listeners */
	struct mo_strlist	advertised_listeners;	/* broker.advertised.listeners */
	int32_t			num_partitions;		/* broker.num.partitions */
	int32_t			default_replication_factor;
	bool			auto_create_topics_enable;
	bool			delete_topic_enable;
	int32_t			socket_request_max_bytes;
	int32_t			message_max_bytes;
	int64_t			log_retention_hours;
	int64_t			log_retention_minutes;	/* -1 unset */
	int64_t			log_retention_ms;	/* -1 unset */
	int64_t			log_retention_bytes;
	int64_t			log_segment_bytes;
	int64_t			log_segment_ms;		/* log.roll.ms, -1 unset */
	int64_t			log_flush_interval_messages;
	int64_t			log_flush_interval_ms;	/* -1 unset */
	int64_t			log_cache_window_bytes;	/* 0: keep all */
	int64_t			log_cache_max_bytes;	/* 0: no total */
	int64_t			producer_id_expiration_ms;
	int64_t			producer_id_expiration_check_interval_ms;
	char			*log_message_timestamp_type; /* CreateTime */
	char			*compression_type;	/* producer */
	int32_t			num_io_threads;
	int32_t			offsets_topic_num_partitions;
	int32_t			offsets_topic_replication_factor;
	int64_t			replica_lag_time_max_ms;
	char			*broker_rack;		/* "": none */
	char			*ssl_keystore_type;	/* PEM */
	char			*ssl_keystore_location;	/* "": none */
	char			*ssl_key_password;
	char			*ssl_truststore_location;
	char			*ssl_client_auth;	/* none|requested|required */
	struct mo_strlist	sasl_enabled_mechanisms;
	struct mo_strlist	sasl_users;		/* "user:password" */
	char			*authorizer_class_name;	/* "": no ACLs */
	char			*super_users;		/* "User:a;User:b" */
	bool			 allow_everyone_if_no_acl_found;
	int32_t			broker_heartbeat_interval_ms;
	int32_t			group_initial_rebalance_delay_ms;
	int32_t			group_min_session_timeout_ms;
	int32_t			group_max_session_timeout_ms;
	int64_t			offsets_retention_minutes;
	int64_t			offsets_retention_check_interval_ms;
	/* connect, streams, metrics */
	char			*connect_rest;		/* connect.rest */
	char			*connect_connectors_dir; /* connect.connectors_dir */
	char			*streams_topologies_dir; /* streams.topologies_dir */
	char			*metrics_listen;	/* metrics.listen */
};

/*
 * Load path (NULL: the embedded defaults only), then apply each "key=value"
 * of sets in order.  On error returns -1, *out is NULL and *errs holds every
 * error found, one per line, each ending in a newline (caller frees); on
 * success returns 0, *out is the config and *errs is NULL.  Every string
 * field of a loaded config is non-NULL (possibly "").
 */
int	config_load(const char *path, char *const *sets, size_t nsets,
	    struct mo_config **out, char **errs);
/*
 * config_load, then each conf.d/NAME.yaml beside path (sorted by name; a
 * missing conf.d is fine) on top, then the sets: a key set in a later file
 * overrides an earlier one.  Errors name the file they come from.
 */
int	config_load_tree(const char *path, char *const *sets, size_t nsets,
	    struct mo_config **out, char **errs);
/*
 * Write every key of cfg as one YAML document that config_load reads back
 * to an equal config (the supervisor hands children what it validated).
 */
int	config_write(const struct mo_config *, FILE *);
void	config_free(struct mo_config *);
/* Parse YAML from memory (name is used in error messages); for fuzzing. */
int	config_load_mem(const char *name, const char *buf, size_t len,
	    struct mo_config **out, char **errs);

#endif
