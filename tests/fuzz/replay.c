/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * replay.c - a main() for a fuzz target built without libFuzzer: runs the
 * target's entry point once on each file named on the command line, or on
 * each file of a directory named there (in name order), and says how
 * many it ran.  A failed check aborts; an empty directory is fine (a
 * target whose regressions are all fixed elsewhere may have none).
 */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned int ran;

static void replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0, got;

	if (!fp) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	do {
		if (size == cap) {
			cap = cap ? cap * 2 : 4096;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		got = fread(data + size, 1, cap - size, fp);
		size += got;
	} while (got);
	if (ferror(fp)) {
		fprintf(stderr, "%s: read error\n", path);
		exit(1);
	}
	fclose(fp);
	printf("replay %s (%zu bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	ran++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		exit(1);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names || asprintf(&names[n], "%s/%s", dir, e->d_name) < 0)
			abort();
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		replay_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			replay_dir(argv[i]);
		else
			replay_file(argv[i]);
	}
	printf("%u inputs replayed\n", ran);
	return 0;
}
