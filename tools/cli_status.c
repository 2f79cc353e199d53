/*
 * moldau status: ask the node's supervisor (moldaud) over its control
 * socket, node.run_dir/moldaud.sock, for the state of each child.
 *
 *   moldau status [--config FILE] [--set k=v]... [--socket PATH] [--json]
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "ipc.h"

#define STATUS_TOOL		"moldau status"
#define STATUS_TIMEOUT_MS	5000

static const char status_help[] =
    "Usage: moldau status [--config FILE] [--set section.key=value]...\n"
    "                     [--socket PATH] [--json]\n\n"
    "Shows the node's supervisor (moldaud) and each of its processes:\n"
    "state, pid, uptime, restart count and why it last exited.  The\n"
    "control socket is node.run_dir/moldaud.sock of the config (default\n"
    "/etc/moldau/moldau.yaml when it exists), or --socket.\n";

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
status_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		cli_err(STATUS_TOOL, "socket path %s is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		cli_err(STATUS_TOOL, "cannot reach moldaud at %s: %s (is it "
		    "running?)", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static int
status_write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read frames until a STATUS arrives; buf keeps the bytes. */
static int
status_exchange(int fd, uint8_t *buf, size_t bufsz, struct ipc_status *st)
{
	int64_t deadline = mono_ms() + STATUS_TIMEOUT_MS;
	bool hello = false;
	size_t have = 0;
	struct ipc_hdr h;
	struct ipc_str name;
	uint32_t version;
	struct rd r;
	int rc;

	for (;;) {
		rc = ipc_frame_parse(buf, have, &h);
		if (rc == 0) {
			rd_init(&r, buf + IPC_HDR_LEN, h.len - IPC_HDR_LEN);
			if (!hello) {
				if (h.type != IPC_HELLO ||
				    ipc_hello_get(&r, &version, &name) != 0 ||
				    version != IPC_VERSION) {
					cli_err(STATUS_TOOL, "moldaud speaks "
					    "another protocol version");
					return -1;
				}
				hello = true;
			} else if (h.type == IPC_CTL_STATUS) {
				if (ipc_status_get(&r, st) != 0) {
					cli_err(STATUS_TOOL, "malformed status "
					    "from moldaud");
					return -1;
				}
				return 0;
			}
			/* Status views borrow buf: only drop earlier frames. */
			memmove(buf, buf + h.len, have - h.len);
			have -= h.len;
			continue;
		}
		if (rc != MO_ESHORT) {
			cli_err(STATUS_TOOL, "bad frame from moldaud");
			return -1;
		}
		int64_t left = deadline - mono_ms();
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			cli_err(STATUS_TOOL, "no answer from moldaud within "
			    "%d ms", STATUS_TIMEOUT_MS);
			return -1;
		}
		n = read(fd, buf + have, bufsz - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cli_err(STATUS_TOOL, "moldaud closed the connection");
			return -1;
		}
		have += (size_t)n;
	}
}

static void
fmt_duration(char *out, size_t sz, int64_t ms)
{
	int64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, sz, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(out, sz, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, sz, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    s / 60 % 60);
	else
		snprintf(out, sz, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    s / 3600 % 24);
}

static json_t *
json_view(const struct ipc_str *s)
{
	return json_stringn(s->p, s->len);
}

static void
status_print_json(const struct ipc_status *st)
{
	json_t *root = json_object(), *arr = json_array();

	json_object_set_new(root, "pid", json_integer(st->pid));
	json_object_set_new(root, "uptime_ms", json_integer(st->uptime_ms));
	json_object_set_new(root, "state", json_view(&st->state));
	json_object_set_new(root, "config", json_view(&st->config));
	for (size_t i = 0; i < st->nchildren; i++) {
		const struct ipc_child_status *c = &st->children[i];
		json_t *o = json_object();

		json_object_set_new(o, "role", json_view(&c->role));
		json_object_set_new(o, "state", json_view(&c->state));
		json_object_set_new(o, "pid", json_integer(c->pid));
		json_object_set_new(o, "uptime_ms",
		    json_integer(c->uptime_ms));
		json_object_set_new(o, "restarts",
		    json_integer(c->restarts));
		json_object_set_new(o, "last_exit", json_view(&c->last_exit));
		json_object_set_new(o, "detail", json_view(&c->detail));
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "children", arr);
	json_dumpf(root, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(root);
}

static void
status_print(const struct ipc_status *st)
{
	char up[32], pid[16];

	fmt_duration(up, sizeof(up), st->uptime_ms);
	printf("moldaud pid %" PRId32 ": %.*s, up %s, config %.*s\n",
	    st->pid, (int)st->state.len, st->state.p, up,
	    (int)st->config.len, st->config.p);
	printf("%-11s %-12s %-8s %-8s %-8s %s\n", "ROLE", "STATE", "PID",
	    "UPTIME", "RESTARTS", "DETAIL / LAST EXIT");
	for (size_t i = 0; i < st->nchildren; i++) {
		const struct ipc_child_status *c = &st->children[i];

		snprintf(pid, sizeof(pid), "%" PRId32, c->pid);
		if (c->pid > 0)
			fmt_duration(up, sizeof(up), c->uptime_ms);
		printf("%-11.*s %-12.*s %-8s %-8s %-8" PRIu32 " %.*s%s%.*s\n",
		    (int)c->role.len, c->role.p, (int)c->state.len,
		    c->state.p, c->pid > 0 ? pid : "-",
		    c->pid > 0 ? up : "-", c->restarts,
		    (int)c->detail.len, c->detail.p,
		    c->detail.len > 0 && c->last_exit.len > 0 ? "; " : "",
		    (int)c->last_exit.len, c->last_exit.p);
	}
}

/* The control socket named by the config (or the default config). */
static char *
status_socket_path(const char *config, char **sets, size_t nsets)
{
	struct mo_config *cfg;
	char *errs = NULL, *path = NULL;

	if (config == NULL && access("/etc/moldau/moldau.yaml", R_OK) == 0)
		config = "/etc/moldau/moldau.yaml";
	if (config_load_tree(config, sets, nsets, &cfg, &errs) != 0) {
		fputs(errs, stderr);
		free(errs);
		return NULL;
	}
	if (asprintf(&path, "%s/moldaud.sock", cfg->run_dir) < 0)
		abort();
	config_free(cfg);
	return path;
}

int
tool_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = NULL, *sock = NULL;
	char **sets = NULL, *path = NULL;
	size_t nsets = 0, bufsz = IPC_MAX_FRAME * 2;
	struct wbuf w = { 0 };
	struct ipc_status st;
	uint8_t *buf = NULL;
	bool json = false;
	int c, fd = -1, rc = CLI_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:s:S:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
			if ((sets = realloc(sets, (nsets + 1) *
			    sizeof(*sets))) == NULL)
				abort();
			sets[nsets++] = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			free(sets);
			return cli_help(status_help);
		default:
			free(sets);
			return cli_bad_option(STATUS_TOOL, argc, argv, c);
		}
	}
	if (optind != argc) {
		free(sets);
		return cli_usage_err(STATUS_TOOL, "unexpected argument %s",
		    argv[optind]);
	}
	if (sock == NULL &&
	    (path = status_socket_path(config, sets, nsets)) == NULL)
		goto out;
	if ((fd = status_connect(sock != NULL ? sock : path)) == -1)
		goto out;
	ipc_hello_put(&w, "moldau status");
	{
		struct wbuf f = { 0 };

		ipc_frame_put(&f, IPC_HELLO, 0, w.data, w.len);
		ipc_frame_put(&f, IPC_CTL_STATUS_REQ, 0, NULL, 0);
		if (f.err != 0 || status_write_all(fd, f.data, f.len) != 0) {
			cli_err(STATUS_TOOL, "cannot send to moldaud: %s",
			    strerror(errno));
			wbuf_clear(&f);
			goto out;
		}
		wbuf_clear(&f);
	}
	if ((buf = malloc(bufsz)) == NULL)
		abort();
	if (status_exchange(fd, buf, bufsz, &st) != 0)
		goto out;
	if (json)
		status_print_json(&st);
	else
		status_print(&st);
	rc = CLI_OK;
out:
	if (fd != -1)
		close(fd);
	wbuf_clear(&w);
	free(buf);
	free(path);
	free(sets);
	return rc;
}
