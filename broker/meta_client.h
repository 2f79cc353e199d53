/*
 * The broker's link to the controller quorum, its only source of metadata:
 * BrokerRegistration, a BrokerHeartbeat every 2 s, the metadata log
 * followed as a Raft observer (Fetch v12 of __cluster_metadata with the
 * broker id as replica id, only committed entries applied to a
 * meta_image), the topic registry reconciled with that image, and
 * CreateTopics / DeleteTopics / CreatePartitions forwarded to the
 * controller and answered once the broker's image has caught up.
 */
#ifndef MO_META_CLIENT_H
#define MO_META_CLIENT_H

#include <stdint.h>

struct broker;
struct meta_client;
struct meta_image;
struct req;

/* Called with the controller's decoded answer (in r's arena) once the
 * broker's image has caught up with it, or with NULL when the controller
 * could not be reached within 30 s. */
typedef void meta_client_done(struct broker *, struct req *, void *resp);

/* NULL with a log line when cluster.controllers has no usable entry. */
struct meta_client *meta_client_start(struct broker *);
void	meta_client_free(struct meta_client *);
/* Send a parsed topic admin request to the controller; answers r later. */
void	meta_client_forward(struct meta_client *, struct req *);
/* Send msg (in r's arena) as api/version to the controller on behalf of
 * r, which stays parked until done is called. */
void	meta_client_call(struct meta_client *, struct req *, int16_t api,
	    int16_t version, const void *msg, meta_client_done *done);
/* The image once caught up with the metadata log, else NULL. */
const struct meta_image *meta_client_image(const struct meta_client *);
/* A broker clients can reach, as Metadata and DescribeCluster list it. */
struct mc_broker {
	int32_t		 id;
	const char	*host;		/* owned by the image or the broker */
	int32_t		 port;
	const char	*rack;		/* NULL: none */
};

/* The unfenced brokers of the image with an endpoint on listener lsn's
 * name (this one always included, first); *out is malloc'ed. */
struct listener;
size_t	meta_client_brokers(const struct meta_client *,
	    const struct listener *lsn, struct mc_broker **out);
/* Broker id's endpoint on listener name (NULL: its first); -1 if it has
 * none or is unknown. */
int	meta_client_broker_addr(const struct meta_client *, int32_t id,
	    const char *name, const char **host, int *port);
/* Ask the controller for a new ISR of p (AlterPartition); the result comes
 * with the metadata.  -1 when not connected or registered. */
struct partition;
int	meta_client_alter_partition(struct meta_client *, struct partition *,
	    int32_t *isr, size_t n);
/*
 * Controlled shutdown: heartbeat with want_shut_down until the controller
 * has moved every leadership away (should_shut_down), then done(b).  At
 * once when not registered; after 30 s regardless.
 */
void	meta_client_shutdown(struct meta_client *,
	    void (*done)(struct broker *));
/* Brokers registered in the image, fenced or not (at least 1). */
size_t	meta_client_registered(const struct meta_client *);
/* The epoch of this broker's registration, or -1. */
int64_t	meta_client_broker_epoch(const struct meta_client *);
/* The controller this broker talks to, or -1. */
int32_t	meta_client_controller(const struct meta_client *);

#endif
