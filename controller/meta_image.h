/*
 * The metadata image: what the committed metadata log says, in memory.
 *
 * A log entry's payload is one or more metadata records, each framed as in
 * KIP-631 (unsigned varints: frame version 0, record type = the record
 * schema's apiKey, record version; then the record in the flexible
 * encoding).  Records of several types in one entry are applied in order;
 * the entry is the unit of atomicity.  Unknown record types are skipped
 * when the rest of the entry can still be read, so newer logs stay readable.
 *
 * Arrays are kept sorted (brokers by id, topics by name, partitions by
 * index, configs by resource then name), so two images built from the same
 * records are equal field by field and export the same records.
 */
#ifndef MO_META_IMAGE_H
#define MO_META_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kproto.h"
#include "wbuf.h"

/* Metadata record types (the schemas' apiKey). */
#define MI_REC_REGISTER_BROKER		0
#define MI_REC_UNREGISTER_BROKER	1
#define MI_REC_TOPIC			2
#define MI_REC_PARTITION		3
#define MI_REC_CONFIG			4
#define MI_REC_PARTITION_CHANGE		5
#define MI_REC_FENCE_BROKER		7
#define MI_REC_UNFENCE_BROKER		8
#define MI_REC_REMOVE_TOPIC		9
#define MI_REC_FEATURE_LEVEL		12
#define MI_REC_PRODUCER_IDS		15
#define MI_REC_BROKER_REG_CHANGE	17
#define MI_REC_ACL			18	/* AccessControlEntryRecord */
#define MI_REC_REMOVE_ACL		19
#define MI_REC_NO_OP			20
#define MI_REC_SCRAM			11	/* UserScramCredentialRecord */
#define MI_REC_REMOVE_SCRAM		22

struct mi_endpoint {
	char		*name;
	char		*host;
	uint16_t	 port;
	int16_t		 protocol;
};

struct mi_broker {
	int32_t			 id;
	int64_t			 epoch;
	struct kuuid		 incarnation;
	bool			 fenced;
	bool			 shutdown;	/* in controlled shutdown */
	char			*rack;		/* NULL: none */
	struct mi_endpoint	*eps;
	size_t			 neps;
};

struct mi_ints {
	int32_t	*v;
	size_t	 n;
};

struct mi_partition {
	int32_t		id;
	struct mi_ints	replicas;
	struct mi_ints	isr;
	int32_t		leader;		/* -1: none */
	int32_t		leader_epoch;
	int32_t		partition_epoch;
	/* A reassignment in progress (empty otherwise); not yet in snapshots,
	   meta_image_equal or the digest. */
	struct mi_ints	adding;
	struct mi_ints	removing;
	int8_t		recovery;	/* LeaderRecoveryState: 1 recovering */
};

struct mi_topic {
	char			*name;
	struct kuuid		 id;
	struct mi_partition	*parts;
	size_t			 nparts;
};

struct mi_config {
	int8_t	 type;		/* ConfigResource type: 2 topic, 4 broker */
	char	*resource;
	char	*name;
	char	*value;
};

/* An ACL binding (AccessControlEntryRecord), by id. */
struct mi_acl {
	struct kuuid	 id;
	int8_t		 resource_type;	/* 2 topic, 3 group, 4 cluster, ... */
	char		*resource;
	int8_t		 pattern;	/* 3 literal, 4 prefixed */
	char		*principal;	/* "User:alice", "User:*" */
	char		*host;		/* "*" or an address */
	int8_t		 operation;	/* AclOperation */
	int8_t		 permission;	/* 2 deny, 3 allow */
};

/* SCRAM mechanisms as the protocol numbers them. */
#define MI_SCRAM_SHA_256	1
#define MI_SCRAM_SHA_512	2
#define MI_SCRAM_KEY_MAX	64	/* SHA-512 */

/* A user's SCRAM credential for one mechanism (UserScramCredentialRecord). */
struct mi_scram {
	char	*user;
	int8_t	 mechanism;	/* MI_SCRAM_SHA_256, MI_SCRAM_SHA_512 */
	int32_t	 iterations;
	uint8_t	*salt;
	size_t	 salt_len;
	uint8_t	 stored_key[MI_SCRAM_KEY_MAX];
	uint8_t	 server_key[MI_SCRAM_KEY_MAX];
	size_t	 key_len;	/* 32 or 64: the mechanism's digest size */
};

/* The digest size of a SCRAM mechanism, 0 if it is none we know. */
size_t	mi_scram_key_len(int8_t mechanism);

struct meta_image {
	struct mi_broker	*brokers;
	size_t			 nbrokers;
	struct mi_topic		*topics;
	size_t			 ntopics;
	struct mi_config	*configs;
	size_t			 nconfigs;
	struct mi_acl		*acls;		/* sorted by id */
	size_t			 nacls;
	struct mi_scram		*scram;		/* by user, then mechanism */
	size_t			 nscram;
	int64_t			 next_producer_id;
	int16_t			 metadata_version;	/* 0: not set */
	/* Log position: entries below end_offset are applied; last_epoch is
	   the epoch of entry end_offset - 1 (a snapshot's id). */
	int64_t			 end_offset;
	int32_t			 last_epoch;
};

struct meta_image *meta_image_new(void);
void	meta_image_free(struct meta_image *);
struct meta_image *meta_image_dup(const struct meta_image *);

/* Apply one entry's records; MO_EMALFORMED when they cannot be read (the
   records before the bad one are applied). */
int	meta_image_apply(struct meta_image *, const uint8_t *, size_t);
/* Same contents (the log position is not compared). */
bool	meta_image_equal(const struct meta_image *, const struct meta_image *);
/* A 64-bit FNV-1a digest of the contents, for comparing nodes in logs. */
uint64_t meta_image_digest(const struct meta_image *);

const struct mi_broker *meta_image_broker(const struct meta_image *,
	    int32_t id);
const struct mi_topic *meta_image_topic(const struct meta_image *,
	    const char *name, size_t len);
const struct mi_topic *meta_image_topic_by_id(const struct meta_image *,
	    const struct kuuid *);
size_t	meta_image_fenced(const struct meta_image *);
/* user's credential for mechanism, or NULL. */
const struct mi_scram *meta_image_scram(const struct meta_image *,
	    const char *user, size_t len, int8_t mechanism);
/* Add (or replace) one credential, as the record would. */
void	meta_image_scram_put(struct meta_image *, const struct mi_scram *);

/* Append one framed record to w. */
int	meta_record_put(struct wbuf *, int16_t type, int16_t version,
	    const struct kp_struct *, const void *rec);

#endif
