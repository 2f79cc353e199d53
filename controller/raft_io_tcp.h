/*
 * Raft messages between controllers over TCP as Kafka requests (Vote,
 * BeginQuorumEpoch, EndQuorumEpoch, Fetch) encoded with the generated
 * codec.  Requests go out on one connection per peer; responses come back
 * on it.  Requests from peers arrive on accepted connections and are
 * answered there, matched by the core's req_id.  DescribeQuorum and other
 * APIs are passed to a handler.
 */
#ifndef MO_RAFT_IO_TCP_H
#define MO_RAFT_IO_TCP_H

#include <stdint.h>

#include "kproto.h"
#include "raft.h"

struct event_base;
struct rio;

#define RIO_TOPIC	"__cluster_metadata"

typedef void (*rio_recv_fn)(const struct raft_msg *, void *);
/* Answer another API: encode the response body into w; -1 closes. */
typedef int (*rio_api_fn)(const struct kp_req_hdr *, struct rd *,
	    struct wbuf *, void *);

struct rio *rio_new(struct event_base *, int32_t self_id, rio_recv_fn,
	    rio_api_fn, void *arg);
/* Listen on host:port (0: ephemeral); the bound port or -1. */
int	rio_listen(struct rio *, const char *host, int port);
int	rio_add_peer(struct rio *, int32_t id, const char *host, int port);
/* Send one message; takes its contents. */
void	rio_send(struct rio *, struct raft_msg *);
void	rio_free(struct rio *);

#endif
