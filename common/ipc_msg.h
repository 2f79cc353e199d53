/*
 * Messages between moldau processes of one node (common/ipc.c frames).
 * Types are ranged per process pair; IPC_VERSION changes whenever a type
 * is added, removed or changes its payload.  Payload layouts are written
 * beside each type: u16/u32/i32/i64 big-endian, str = u16 length + bytes
 * (no NUL), [x] = u16 count + that many x.
 */
#ifndef MO_IPC_MSG_H
#define MO_IPC_MSG_H

#define IPC_VERSION		1

enum ipc_type {
	/* Any pair; the first message each way. */
	IPC_HELLO		= 1,	/* u32 version, str name */

	/* Supervisor <-> child daemon: 0x100.. */
	IPC_CHILD_READY		= 0x100, /* child: [str listener] */
	IPC_CHILD_HEALTH_REQ	= 0x101, /* supervisor: u32 seq */
	IPC_CHILD_HEALTH	= 0x102, /* child: u32 seq */
	IPC_CHILD_STOP		= 0x103, /* supervisor: (empty) */
	IPC_CHILD_LOG_LEVEL	= 0x104, /* supervisor: str level */

	/* Control client (moldau status) <-> supervisor: 0x200.. */
	IPC_CTL_STATUS_REQ	= 0x200, /* client: (empty) */
	IPC_CTL_STATUS		= 0x201, /* supervisor: see ipc_status */
};

#endif
