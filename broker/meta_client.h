/*
 * The broker's link to the controller quorum (broker.controller.enable):
 * BrokerRegistration, a BrokerHeartbeat every 2 s, the metadata log
 * followed as a Raft observer (Fetch v12 of __cluster_metadata with the
 * broker id as replica id, only committed entries applied to a
 * meta_image), the topic registry reconciled with that image, and
 * CreateTopics / DeleteTopics / CreatePartitions forwarded to the
 * controller and answered once the broker's image has caught up.
 */
#ifndef MO_META_CLIENT_H
#define MO_META_CLIENT_H

struct broker;
struct meta_client;
struct req;

/* NULL with a log line when cluster.controllers has no usable entry. */
struct meta_client *meta_client_start(struct broker *);
void	meta_client_free(struct meta_client *);
/* Send a parsed topic admin request to the controller; answers r later. */
void	meta_client_forward(struct meta_client *, struct req *);

#endif
