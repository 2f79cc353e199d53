#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *log_proc = "moldau";
static enum log_level log_lvl = LOG_LVL_INFO;

static log_tee_fn *log_tee;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *procname, enum log_level lvl)
{
	log_proc = procname;
	log_lvl = lvl;
}

void
log_set_level(enum log_level lvl)
{
	log_lvl = lvl;
}

void
log_set_tee(log_tee_fn *fn)
{
	log_tee = fn;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void log_vemit(enum log_level, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
log_vemit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char msg[2048], line[2400];
	char ts[32];
	int n;
	struct timespec now;
	struct tm tm;

	if (lvl > log_lvl)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0)
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s: %s: %s\n",
		    ts, now.tv_nsec / 1000000, log_proc, log_names[lvl], msg,
		    strerror(errnum));
	else
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s: %s\n", ts,
		    now.tv_nsec / 1000000, log_proc, log_names[lvl], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fwrite(line, 1, (size_t)n, stderr);
	fflush(stderr);
	if (log_tee != NULL)
		log_tee(line, (size_t)n);
}

#define LOG_FN(fn, lvl, errexpr)                                        \
	void fn(const char *fmt, ...)                                   \
	{                                                               \
		va_list ap;                                             \
		int e = (errexpr);                                      \
		va_start(ap, fmt);                                      \
		log_vemit(lvl, e, fmt, ap);                             \
		va_end(ap);                                             \
	}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_warn, LOG_LVL_WARN, errno)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
