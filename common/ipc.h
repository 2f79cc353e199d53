/*
 * imsg-style framed messages between the processes of a node over Unix
 * stream sockets.  A frame is a 16-byte header { u32 type, len, peerid,
 * pid } in network order (len counts the header too) and a payload that is
 * encoded with a wbuf and decoded with an rd.  The first message each way
 * is IPC_HELLO carrying IPC_VERSION; any other version closes the peer.
 *
 * The codec half (frames, payloads) is pure and used by the CLI and the
 * fuzzer; the peer half (ipc_peer_*) runs a socket on a libevent base.
 */
#ifndef MO_IPC_H
#define MO_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_msg.h"
#include "rd.h"
#include "wbuf.h"

#define IPC_HDR_LEN		16
#define IPC_MAX_FRAME		(64u * 1024)	/* header included */
#define IPC_MAX_STR		1024
#define IPC_MAX_LISTENERS	16
#define IPC_MAX_CHILDREN	8

struct ipc_hdr {
	uint32_t	type;
	uint32_t	len;		/* whole frame, header included */
	uint32_t	peerid;
	uint32_t	pid;
};

/* A borrowed string of a payload: never NUL-terminated in place. */
struct ipc_str {
	const char	*p;
	size_t		 len;
};

/* One child in a status reply. */
struct ipc_child_status {
	struct ipc_str	role;		/* "broker" */
	struct ipc_str	state;		/* "running", "backoff", ... */
	int32_t		pid;		/* 0: none */
	int64_t		uptime_ms;	/* of the current process, 0: none */
	uint32_t	restarts;
	struct ipc_str	last_exit;	/* "" before the first exit */
	struct ipc_str	detail;		/* listeners, or why not available */
};

/*
 * IPC_CTL_STATUS: i32 pid, i64 uptime_ms, str state, str config,
 * [ str role, str state, i32 pid, i64 uptime_ms, u32 restarts,
 *   str last_exit, str detail ]
 */
struct ipc_status {
	int32_t			pid;
	int64_t			uptime_ms;
	struct ipc_str		state;
	struct ipc_str		config;
	size_t			nchildren;
	struct ipc_child_status	children[IPC_MAX_CHILDREN];
};

/* ---- codec (ipc.c) ---- */

/* Append a whole frame; the payload may be NULL when len is 0. */
void	ipc_frame_put(struct wbuf *, uint32_t type, uint32_t peerid,
	    const void *payload, size_t len);
/*
 * Look at the start of a byte stream: 0 with *h set when a whole frame is
 * there (h->len bytes), MO_ESHORT when more bytes are needed, MO_ETOOBIG
 * or MO_EMALFORMED for a header that can never be valid (close the peer).
 */
int	ipc_frame_parse(const uint8_t *, size_t, struct ipc_hdr *);

void	ipc_put_str(struct wbuf *, const char *);
int	ipc_get_str(struct rd *, struct ipc_str *);
/* Copy s into buf (size > 0) as a C string, cut to fit. */
void	ipc_str_copy(char *buf, size_t size, const struct ipc_str *s);
bool	ipc_str_eq(const struct ipc_str *, const char *);

void	ipc_hello_put(struct wbuf *, const char *name);
int	ipc_hello_get(struct rd *, uint32_t *version, struct ipc_str *name);
void	ipc_strs_put(struct wbuf *, const char *const *, size_t);
int	ipc_strs_get(struct rd *, struct ipc_str *, size_t max, size_t *n);
void	ipc_status_put(struct wbuf *, const struct ipc_status *);
int	ipc_status_get(struct rd *, struct ipc_status *);
const char *ipc_type_name(uint32_t);

/* ---- peers on an event loop (ipc_event.c) ---- */

struct event_base;
struct ipc_peer;

/*
 * A message after the HELLO exchange; payload covers exactly its bytes.
 * Return 0, or -1 to drop the peer (malformed or unexpected message); the
 * callback must not free the peer.
 */
typedef int	ipc_msg_fn(struct ipc_peer *, const struct ipc_hdr *,
		    struct rd *payload, void *arg);
/*
 * The peer is gone (EOF, error, bad frame or version): called once with
 * why; the owner frees the peer here or later, and sends nothing more.
 */
typedef void	ipc_close_fn(struct ipc_peer *, const char *why, void *arg);

/*
 * Run fd (a connected stream socket, taken) on base and send our HELLO
 * naming self.  name names the other side in log messages.
 */
struct ipc_peer	*ipc_peer_new(struct event_base *, int fd, const char *self,
		    const char *name, ipc_msg_fn *, ipc_close_fn *, void *arg);
void	ipc_peer_free(struct ipc_peer *);
/* Queue a message (payload may be NULL); -1 after the peer closed. */
int	ipc_send(struct ipc_peer *, uint32_t type, const struct wbuf *payload);
/* The other side's HELLO name ("" before it arrived) and pid. */
const char *ipc_peer_name(const struct ipc_peer *);
uint32_t ipc_peer_pid(const struct ipc_peer *);
bool	ipc_peer_ready(const struct ipc_peer *);

#endif
