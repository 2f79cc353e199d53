/*
 * Stand-alone driver for the fuzz targets when not built with libFuzzer:
 * runs LLVMFuzzerTestOneInput over every file named on the command line or
 * found (non-recursively) in the directories named.  Options starting with
 * '-' (libFuzzer's, such as -runs=0) are ignored.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
run_file(const char *path, size_t *count)
{
	struct stat st;
	uint8_t *buf;
	size_t len;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) != 0 || st.st_size < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		fclose(fp);
		return -1;
	}
	len = (size_t)st.st_size;
	/* Exactly len bytes, so that ASan sees any overread. */
	if ((buf = malloc(len == 0 ? 1 : len)) == NULL ||
	    fread(buf, 1, len, fp) != len) {
		fprintf(stderr, "%s: short read\n", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	(*count)++;
	return 0;
}

static int
run_dir(const char *dir, size_t *count)
{
	struct dirent *de;
	char path[4096];
	struct stat st;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path)) {
			rc = -1;
			continue;
		}
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(path, count) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	struct stat st;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (run_file(argv[i], &count) != 0)
			rc = 1;
	}
	fprintf(stderr, "%s: %zu inputs\n", argv[0], count);
	if (count == 0)
		rc = 1;
	return rc;
}
