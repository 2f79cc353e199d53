/* Logging to stderr: one line per event, "time proc level: message". */
#ifndef MO_LOG_H
#define MO_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(const char *procname, enum log_level);
void	log_set_level(enum log_level);
/* Also hand every emitted line (newline included) to fn; NULL: stop. */
typedef void	log_tee_fn(const char *line, size_t len);
void	log_set_tee(log_tee_fn *);
int	log_level_parse(const char *, enum log_level *);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#define MO_ASSERT(x)                                                    \
	do {                                                            \
		if (!(x))                                               \
			fatalx("assertion failed: %s (%s:%d)", #x,      \
			    __FILE__, __LINE__);                        \
	} while (0)

#endif
