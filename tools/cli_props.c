/*
 * Client properties files (--command-config), as Kafka's tools read them:
 * KEY=VALUE or KEY:VALUE lines, '#' and '!' comments, a line ending in an
 * odd number of backslashes continuing on the next; and the options of a
 * sasl.jaas.config entry.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xmalloc.h"

#define PROP_MAX_LINE	(64 * 1024)

char *
cli_jaas_opt(const char *s, const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return NULL;
	for (const char *p = s; (p = strstr(p, name)) != NULL; p += n) {
		const char *q = p + n;
		char *v, *o;

		if (p > s && !isspace((unsigned char)p[-1]))
			continue;
		q += strspn(q, " \t");
		if (*q++ != '=')
			continue;
		q += strspn(q, " \t");
		if (*q != '"')
			return xstrndup(q, strcspn(q, " \t;"));
		/* the quotes and escapes only shorten it */
		for (o = v = xmalloc(strlen(q)), q++; *q != '"'; q++) {
			if (*q == '\\' && q[1] != '\0')
				q++;
			if (*q == '\0') {
				free(v);
				return NULL;
			}
			*o++ = *q;
		}
		*o = '\0';
		return v;
	}
	return NULL;
}

/* One logical line: KEY=VALUE or KEY:VALUE, blanks around either. */
static int
props_line(const char *tool, const char *where, char *s, cli_prop_fn *set,
    void *arg)
{
	char *sep = strpbrk(s, "=:"), *k = s, *v, *end;

	if (sep == NULL || sep == s) {
		cli_err(tool, "%s: want KEY=VALUE", where);
		return -1;
	}
	for (end = sep; end > k && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	for (v = sep + 1; isspace((unsigned char)*v); v++)
		;
	for (end = v + strlen(v); end > v && isspace((unsigned char)end[-1]);
	    end--)
		;
	*end = '\0';
	return set(arg, where, k, v);
}

int
cli_props_read(const char *tool, FILE *f, const char *name, cli_prop_fn *set,
    void *arg)
{
	char *buf, *line = NULL, where[300];
	size_t cap = 0, len = 0, lineno = 0, bs;
	ssize_t n;
	bool more = false;
	int rc = 0;

	buf = xmalloc(PROP_MAX_LINE + 1);
	while (rc == 0 && (n = getline(&line, &cap, f)) != -1) {
		char *p = line;
		size_t l = (size_t)n;

		lineno++;
		while (l > 0 && (p[l - 1] == '\n' || p[l - 1] == '\r'))
			l--;
		for (; l > 0 && isspace((unsigned char)*p); l--)
			p++;
		if (!more && (l == 0 || *p == '#' || *p == '!'))
			continue;
		if (!more) {
			len = 0;
			snprintf(where, sizeof(where), "%s:%zu", name, lineno);
		}
		for (bs = 0; bs < l && p[l - 1 - bs] == '\\'; bs++)
			;
		more = bs % 2 == 1;
		l -= more;
		if (len + l > PROP_MAX_LINE) {
			cli_err(tool, "%s: line too long", where);
			rc = -1;
			break;
		}
		memcpy(buf + len, p, l);
		len += l;
		buf[len] = '\0';
		if (memchr(buf, '\0', len) != NULL) {
			cli_err(tool, "%s: NUL byte in the line", where);
			rc = -1;
			break;
		}
		if (!more)
			rc = props_line(tool, where, buf, set, arg);
	}
	if (rc == 0 && ferror(f)) {
		cli_err(tool, "%s: %s", name, strerror(errno));
		rc = -1;
	} else if (rc == 0 && more) {
		rc = props_line(tool, where, buf, set, arg);
	}
	free(line);
	free(buf);
	return rc;
}

int
cli_props_load(const char *tool, const char *path, cli_prop_fn *set,
    void *arg)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		cli_err(tool, "--command-config %s: %s", path, strerror(errno));
		return -1;
	}
	rc = cli_props_read(tool, f, path, set, arg);
	fclose(f);
	return rc;
}
