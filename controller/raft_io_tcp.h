/*
 * Raft messages between controllers over TCP as Kafka requests (Vote,
 * BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot) encoded with the generated
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
/* Answer another API: encode the response body into w and return 0; -1
   closes; RIO_DEFER: the answer comes later with rio_answer(token).  The
   connection reads no further request until then, so answers keep the
   order of the requests. */
#define RIO_DEFER	1
typedef int (*rio_api_fn)(const struct kp_req_hdr *, struct rd *,
	    struct wbuf *, uint64_t token, void *);

struct rio *rio_new(struct event_base *, int32_t self_id, rio_recv_fn,
	    rio_api_fn, void *arg);
/* Listen on host:port (0: ephemeral); the bound port or -1. */
int	rio_listen(struct rio *, const char *host, int port);
/* Also accept on a Unix socket (the broker of the same node); -1 fails. */
int	rio_listen_unix(struct rio *, const char *path);
int	rio_add_peer(struct rio *, int32_t id, const char *host, int port);
/* Send one message; takes its contents. */
void	rio_send(struct rio *, struct raft_msg *);
/* The deferred answer (response body) to the request of token; dropped
   when its connection is gone. */
void	rio_answer(struct rio *, uint64_t token, const struct wbuf *);
void	rio_free(struct rio *);

/* What peers send, decoded as the transport does (for the fuzzer): a
   request body of a Raft API at version (-1 unless it is the version we
   speak), or the body of a response to our request of api. */
int	rio_decode_request(struct rd *, int16_t api, int16_t version,
	    struct raft_msg *, struct kp_arena *);
int	rio_decode_response(struct rd *, int16_t api, struct raft_msg *,
	    struct kp_arena *);

#endif
