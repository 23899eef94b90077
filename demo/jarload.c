// SPDX-License-Identifier: GPL-2.0
/*
 * jarload: the start-up of the service in the-case, in C.
 *
 * A framework's class loader inflates JAR entries through zlib from many
 * threads at once. zlib's state and the inflated bytes come from glibc
 * malloc, so each loader thread gets its own malloc arena: a 64 MiB
 * PROT_NONE reservation made usable piece by piece. The loaders free most
 * of the inflated bytes once the classes are defined, but some stay in use,
 * and glibc cannot give an arena's pages back below the last chunk in use.
 * malloc's
 * own accounting drops; the pages stay resident.
 *
 * Loader N inflates ENTRIES * (1 + N % 8) entries of 64 to 96 KiB (ENTRIES
 * is 32 by default), so the arenas end up anywhere from lightly to mostly
 * touched.
 *
 *   jarload [-t THREADS] [-e ENTRIES] [-w]
 *
 * -w waits for a line on stdin before loading (so a watch can start first).
 * Prints what malloc says is in use, then stays up until stdin closes.
 */

#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define ENTRY_MAX	(96 * 1024)	/* below the mmap threshold: arena */
#define ENTRY_MIN	(64 * 1024)
static int nr_entries = 32;
static unsigned char *jar;		/* one compressed entry */
static uLong jar_len;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A class file: compressible but not trivially so. */
static void make_entry(unsigned char *buf, size_t len)
{
	unsigned int x = 2463534242u;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = "abcdefghijklmnop"[x & 15];
	}
}

/*
 * Inflates this loader's entries and holds their bytes until all its classes
 * are defined, then frees them, keeping one entry in eight (and the last):
 * the classes that stay referenced. The freed chunks lie between kept ones,
 * so glibc keeps them in its bins and the pages stay resident.
 */
static void *loader(void *arg)
{
	long id = (long)arg;
	int entries = nr_entries * (1 + id % 8);
	unsigned char **bytes;
	z_stream zs = { 0 };
	char name[16];
	int i;

	/*
	 * Named before its first malloc, which creates its arena: zlib's, in
	 * inflateInit2_(), as a JVM thread's Inflater makes its arena.
	 */
	snprintf(name, sizeof(name), "jar-loader-%ld", id);
	pthread_setname_np(pthread_self(), name);
	if (inflateInit(&zs) != Z_OK)
		die("inflateInit");
	bytes = calloc(entries, sizeof(*bytes));
	if (!bytes)
		die("calloc");
	for (i = 0; i < entries; i++) {
		size_t size = ENTRY_MIN + (size_t)i * (ENTRY_MAX - ENTRY_MIN) / entries;
		int ret;

		bytes[i] = malloc(size);
		if (!bytes[i])
			die("malloc");
		if (inflateReset(&zs) != Z_OK)
			die("inflateReset");
		zs.next_in = jar;
		zs.avail_in = jar_len;
		zs.next_out = bytes[i];
		zs.avail_out = size;
		ret = inflate(&zs, Z_NO_FLUSH);
		if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
			die("inflate");
	}
	inflateEnd(&zs);
	for (i = 0; i < entries; i++) {
		if (i % 8 != 7 && i != entries - 1) {
			free(bytes[i]);
			bytes[i] = NULL;
		}
	}
	return bytes;
}

int main(int argc, char **argv)
{
	int threads = 16, wait = 0, opt;
	unsigned char *entry;
	pthread_t *tid;
	struct mallinfo2 mi;
	char line[16];
	long i;

	while ((opt = getopt(argc, argv, "t:e:w")) != -1) {
		switch (opt) {
		case 't':
			threads = atoi(optarg);
			break;
		case 'e':
			nr_entries = atoi(optarg);
			break;
		case 'w':
			wait = 1;
			break;
		default:
			fprintf(stderr, "usage: jarload [-t THREADS] [-e ENTRIES] [-w]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > 1024 || nr_entries < 1) {
		fprintf(stderr, "jarload: -t takes 1..1024, -e at least 1\n");
		return 2;
	}
	if (wait && !fgets(line, sizeof(line), stdin))
		return 0;

	entry = malloc(ENTRY_MAX);
	jar_len = compressBound(ENTRY_MAX);
	jar = malloc(jar_len);
	if (!entry || !jar)
		die("malloc");
	make_entry(entry, ENTRY_MAX);
	if (compress(jar, &jar_len, entry, ENTRY_MAX) != Z_OK)
		die("compress");
	free(entry);

	tid = calloc(threads, sizeof(*tid));
	if (!tid)
		die("calloc");
	for (i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, loader, (void *)i))
			die("pthread_create");
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);

	mi = mallinfo2();
	printf("jarload: %d loader threads inflated %d to %d entries each; malloc has %zu KiB in use, %zu KiB in arenas\n",
	       threads, nr_entries, nr_entries * 8, mi.uordblks / 1024, mi.arena / 1024);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
