// SPDX-License-Identifier: GPL-2.0
/*
 * ctl/unwind.c against the truth of this very program, TAP output. Built
 * -O2 -fomit-frame-pointer: only CFI can walk its stacks, as only CFI can
 * walk Debian 12's glibc. Each case captures its own stack the way the
 * module does (capture.h) and logs its code maps from /proc/self/maps the
 * way the module logs them, then unwinds with nothing live: the expected
 * functions come from the compiler (function addresses, sizes from nm),
 * not from libdwfl.
 *
 *   own frames       make_region_here <- outer <- main
 *   through glibc    a qsort() comparator <- libc's msort_with_tmp (the
 *                    merge sort of qsort_r, recursive) <- qsort_r <- main
 *   dlclose          a dlopen'ed library's function, unwound after dlclose
 *   remapped         a second library at the first one's addresses: each
 *                    sample gets the library mapped at its time, and none
 *                    before the first was mapped
 *   deleted          a file logged as unlinked is not opened by its name
 *   spaces           13 epochs of maps: a bounded number of Dwfls, rebuilt
 *   JIT              a /tmp/perf-PID.map symbol
 *   garbage          random registers and stacks: no crash, bounded
 *
 * Diagnostics give the frames and the mean cost of a cold unwind (the
 * Dwfl built first) and of a warm one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"

#define MAX_FRAMES 64
#define MAX_MAPS 512

static struct mw_code_map maps[MAX_MAPS];
static size_t nmaps;
static uint64_t stack_end;
static char exe[PATH_MAX], dir[PATH_MAX];
static int test_nr, failed;

static struct capture own, sorted, lib_a, lib_b;

int main(void);

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void result(bool ok, const char *name)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++test_nr, name);
	if (!ok)
		failed++;
}

static void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static bool known_map(uint64_t start, uint64_t end, uint64_t off,
		      const char *path)
{
	for (size_t i = 0; i < nmaps; i++)
		if (maps[i].start == start && maps[i].end == end &&
		    maps[i].pgoff == off && !strcmp(maps[i].path, path))
			return true;
	return false;
}

/*
 * The module's log: each executable file mapping once, with the time it
 * was first seen. Also finds the end of the main thread's stack.
 */
static void log_maps(uint64_t ns)
{
	char line[PATH_MAX + 128], perm[8], *path;
	uint64_t start, end, off;
	FILE *f = fopen("/proc/self/maps", "re");
	int at;

	if (!f)
		die("/proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64
			   " %*s %*u %n", &start, &end, perm, &off, &at) < 4)
			continue;
		path = line + at;
		if (!strcmp(path, "[stack]"))
			stack_end = end;
		if (perm[2] != 'x' || path[0] != '/' ||
		    known_map(start, end, off, path) || nmaps == MAX_MAPS)
			continue;
		maps[nmaps++] = (struct mw_code_map){
			.start = start, .end = end, .pgoff = off, .ns = ns,
			.path = strdup(path),
		};
	}
	fclose(f);
}

static bool mapped_now(const char *path)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/maps", "re");
	bool found = false;

	if (!f)
		die("/proc/self/maps");
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, path) != NULL;
	fclose(f);
	return found;
}

/* The size nm gives sym in file: the compiler's own account. */
static uint64_t nm_size(const char *file, const char *sym)
{
	char cmd[PATH_MAX + 64], line[512], name[256];
	uint64_t val, size, found = 0;
	char type;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", file);
	p = popen(cmd, "r");
	if (!p)
		die("nm");
	/* Lines without a size have three fields: skipped. */
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %c %255s", &val,
			   &size, &type, name) == 4 && !strcmp(name, sym))
			found = size;
	pclose(p);
	return found;
}

static void print_frames(const struct mw_frame *f, int n)
{
	for (int i = 0; i < n; i++)
		diag("  #%-2d 0x%016" PRIx64 " %s+0x%" PRIx64 " (%s)", i,
		     f[i].addr, f[i].symbol ? f[i].symbol : "[unknown]",
		     f[i].offset, f[i].module ? f[i].module : "?");
}

/*
 * Frame i is fn, by name and by address: its pc (less one above the first
 * frame, a return address) lies in [fn, fn + size), size from nm of file.
 */
static bool frame_is(const struct mw_frame *f, int i, const void *fn,
		     const char *name, const char *file)
{
	uint64_t at = f[i].addr - (i ? 1 : 0), start = (uintptr_t)fn;
	uint64_t size = nm_size(file, name);

	if (!size) {
		diag("nm has no size for %s in %s", name, file);
		return false;
	}
	if (at < start || at >= start + size) {
		diag("frame %d at 0x%" PRIx64 " is not in %s [0x%" PRIx64
		     ", 0x%" PRIx64 ")", i, at, name, start, start + size);
		return false;
	}
	if (!f[i].symbol || strcmp(f[i].symbol, name)) {
		diag("frame %d is named %s, not %s", i,
		     f[i].symbol ? f[i].symbol : "[unknown]", name);
		return false;
	}
	return true;
}

/* Index of the first frame from 'from' that is inside fn, or -1. */
static int find_fn(const struct mw_frame *f, int n, int from, const void *fn,
		   const char *file, const char *name)
{
	uint64_t start = (uintptr_t)fn, size = nm_size(file, name);

	for (int i = from; i < n; i++)
		if (f[i].addr - (i ? 1 : 0) >= start &&
		    f[i].addr - (i ? 1 : 0) < start + size)
			return i;
	return -1;
}

/* Debian's separate debug info for a build id, where libdwfl looks. */
static bool has_debug_file(const char *build_id)
{
	char path[128];

	if (!build_id || strlen(build_id) < 3)
		return false;
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug",
		 build_id, build_id + 2);
	return access(path, R_OK) == 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ---- the samples ---- */

__attribute__((noinline, noclone))
static void *make_region_here(struct capture *c)
{
	void *p;

	CAPTURE(c, stack_end);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

__attribute__((noinline, noclone))
static int outer(struct capture *c)
{
	void *p = make_region_here(c);

	/* Work after the call: it must not become a tail call. */
	__asm__ volatile("" : : "r"(p) : "memory");
	return p == MAP_FAILED ? -1 : munmap(p, 1 << 20);
}

static int captured_cmp;

/* qsort's comparator: called from inside libc, it captures once. */
__attribute__((noinline, noclone))
static int cmp_capture(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (!captured_cmp++)
		CAPTURE(&sorted, stack_end);
	return (x > y) - (x < y);
}

/*
 * libc's own qsort(): under ASan, qsort() is an interceptor that calls the
 * comparator itself first, and the stack would not go through libc.
 */
static void libc_qsort(void *base, size_t n, size_t size,
		       int (*cmp)(const void *, const void *))
{
	void (*fn)(void *, size_t, size_t, int (*)(const void *, const void *));
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	fn = libc ? dlsym(libc, "qsort") : NULL;
	if (!fn) {
		printf("Bail out! libc's qsort: %s\n", dlerror());
		exit(1);
	}
	fn(base, n, size, cmp);
	dlclose(libc);
}

typedef void *(*lib_fn)(struct capture *c, uint64_t stack_end);

__attribute__((noinline, noclone))
static void *call_lib(lib_fn fn, struct capture *c)
{
	void *p = fn(c, stack_end);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

/* dlopen, capture at ns + 1, dlclose: returns fn's address, for the truth. */
static void *sample_lib(const char *lib, const char *sym, struct capture *c,
			uint64_t ns)
{
	/* Not on the stack: main must stay within the 4 KiB captured. */
	static char path[PATH_MAX + 64];
	void *h, *fn, *p;

	snprintf(path, sizeof(path), "%s/%s", dir, lib);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("Bail out! dlopen %s: %s\n", path, dlerror());
		exit(1);
	}
	log_maps(ns);
	fn = dlsym(h, sym);
	if (!fn) {
		printf("Bail out! dlsym %s: %s\n", sym, dlerror());
		exit(1);
	}
	p = call_lib((lib_fn)fn, c);
	c->s.ns = ns + 1;
	if (p != MAP_FAILED)
		munmap(p, 1 << 20);
	dlclose(h);
	return fn;
}

/* ---- the cases ---- */

static void test_own(struct mw_unwinder *u)
{
	struct mw_frame f[MAX_FRAMES];
	int n = mw_unwind(u, &own.s, f, MAX_FRAMES);

	diag("own frames (%d):", n);
	print_frames(f, n);
	result(n >= 3 &&
	       frame_is(f, 0, (void *)make_region_here, "make_region_here", exe) &&
	       frame_is(f, 1, (void *)outer, "outer", exe) &&
	       frame_is(f, 2, (void *)main, "main", exe),
	       "own frames: make_region_here <- outer <- main, -O2 -fomit-frame-pointer");
	result(n > 0 && f[0].build_id && strlen(f[0].build_id) == 40 &&
	       f[0].module && !strcmp(f[0].module, exe),
	       "own frames: module and build id of the test program");
	if (n > 0)
		mw_frames_release(f, n);

	n = mw_unwind(u, &own.s, f, 2);
	result(n == 2, "max_frames 2 gives 2 frames");
	if (n > 0)
		mw_frames_release(f, n);
}

static void test_libc(struct mw_unwinder *u)
{
	struct mw_frame f[MAX_FRAMES];
	int n = mw_unwind(u, &sorted.s, f, MAX_FRAMES);
	int in_libc = 0, at_main = -1;
	bool named = true;

	diag("through qsort (%d):", n);
	print_frames(f, n);
	if (n > 0)
		at_main = find_fn(f, n, 1, (void *)main, exe, "main");
	for (int i = 1; i < at_main; i++) {
		if (f[i].module && strstr(f[i].module, "/libc.so.6"))
			in_libc++;
		named &= f[i].symbol != NULL;
	}
	result(n > 0 && frame_is(f, 0, (void *)cmp_capture, "cmp_capture", exe) &&
	       in_libc > 0 && at_main > 0 && in_libc == at_main - 1 &&
	       frame_is(f, at_main, (void *)main, "main", exe),
	       "through glibc: cmp_capture <- libc's qsort frames <- main");
	/* Its static functions are named only by its separate debug info. */
	if (in_libc > 0 && !has_debug_file(f[1].build_id))
		printf("ok %d - # SKIP no debug symbols for libc (libc6-dbg)\n",
		       ++test_nr);
	else
		result(named && in_libc > 0,
		       "through glibc: libc's frames are named (libc6-dbg)");
	if (n > 0)
		mw_frames_release(f, n);
}

static void test_lib(struct mw_unwinder *u, struct capture *c, void *fn,
		     const char *lib, const char *sym, const char *what)
{
	struct mw_frame f[MAX_FRAMES];
	static char path[PATH_MAX + 64], name[256];
	int n = mw_unwind(u, &c->s, f, MAX_FRAMES);
	int at_main = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, lib);
	diag("%s (%d):", what, n);
	print_frames(f, n);
	if (n > 0)
		at_main = find_fn(f, n, 1, (void *)main, exe, "main");
	snprintf(name, sizeof(name), "%s: %s <- call_lib <- ... <- main", what, sym);
	result(n > 2 && frame_is(f, 0, fn, sym, path) && f[0].module &&
	       !strcmp(f[0].module, path) &&
	       frame_is(f, 1, (void *)call_lib, "call_lib", exe) && at_main > 1,
	       name);
	if (n > 0)
		mw_frames_release(f, n);
}

/*
 * lib_b went where lib_a was (the usual case after dlclose): then lib_a's
 * sample, moved to a time after lib_b was mapped, must come out as lib_b's
 * function. That shows the time of a sample selects its maps.
 */
static void test_remap(struct mw_unwinder *u, void *fn_a, void *fn_b)
{
	struct mw_raw_stack late = lib_a.s;
	struct mw_frame f[MAX_FRAMES];
	unsigned long built;
	unsigned int live;
	int n;

	if (fn_a != fn_b) {
		printf("ok %d - # SKIP lib_b was not mapped where lib_a was\n",
		       ++test_nr);
		return;
	}
	late.ns = lib_b.s.ns;
	n = mw_unwind(u, &late, f, MAX_FRAMES);
	diag("lib_a's sample at lib_b's time (%d):", n);
	print_frames(f, n);
	mw_unwinder_stats(u, &built, &live);
	diag("Dwfls built %lu, live %u", built, live);
	result(n > 0 && f[0].symbol && !strcmp(f[0].symbol, "lib_b_make_region") &&
	       built >= 2,
	       "remapped: the same address names the library of the sample's time");
	if (n > 0)
		mw_frames_release(f, n);
}

/*
 * lib_a's sample moved before lib_a was mapped: nothing was at its pc
 * then, so the pc is unknown and the walk ends there.
 */
static void test_early(struct mw_unwinder *u)
{
	struct mw_raw_stack early = lib_a.s;
	struct mw_frame f[MAX_FRAMES];
	int n;

	early.ns = 500;
	n = mw_unwind(u, &early, f, MAX_FRAMES);
	diag("lib_a's sample before lib_a was mapped (%d):", n);
	print_frames(f, n);
	result(n == 1 && !f[0].symbol && !f[0].module &&
	       f[0].addr == early.regs[MW_UNWIND_REG_PC],
	       "a sample before its library was mapped: pc unknown, no walk");
	if (n > 0)
		mw_frames_release(f, n);
}

/*
 * lib_a's map as d_path() gives an unlinked file: whatever has the name
 * now may be another file, so lib_a's frame is unknown.
 */
static void test_deleted(void)
{
	static struct mw_code_map copy[MAX_MAPS];
	static char path[PATH_MAX + 64];
	struct mw_frame f[MAX_FRAMES];
	struct mw_unwinder *u;
	int n, changed = 0;

	memcpy(copy, maps, nmaps * sizeof(*maps));
	for (size_t i = 0; i < nmaps; i++)
		if (strstr(maps[i].path, "/unwind-lib-a.so")) {
			snprintf(path, sizeof(path), "%s (deleted)", maps[i].path);
			copy[i].path = path;
			changed++;
		}
	u = mw_unwinder_new(copy, nmaps, 0);
	if (!u)
		die("mw_unwinder_new");
	n = mw_unwind(u, &lib_a.s, f, MAX_FRAMES);
	result(changed == 1 && n >= 1 && !f[0].symbol && !f[0].module,
	       "a file unlinked when it was logged is not opened by its old name");
	if (n > 0)
		mw_frames_release(f, n);
	mw_unwinder_free(u);
}

/*
 * Twelve epochs: the program's own code map logged again and again, each
 * time replacing the one before. Every sample names its function; no more
 * than MW_UNWIND_SPACES Dwfls stay, and an evicted one is
 * built again when needed.
 */
static void test_spaces(void)
{
	static struct mw_code_map copy[MAX_MAPS + 12];
	struct mw_frame f[MAX_FRAMES];
	unsigned long built, rebuilt;
	struct mw_unwinder *u;
	unsigned int live;
	size_t n = nmaps;
	int named = 0;

	memcpy(copy, maps, nmaps * sizeof(*maps));
	for (size_t i = 0; i < nmaps && n == nmaps; i++)
		if (!strcmp(maps[i].path, exe) && maps[i].start <= own.s.regs[MW_UNWIND_REG_PC] &&
		    own.s.regs[MW_UNWIND_REG_PC] < maps[i].end)
			for (int k = 1; k <= 12; k++) {
				copy[n] = maps[i];
				copy[n++].ns = 10000 * k;
			}
	u = mw_unwinder_new(copy, n, 0);
	if (!u)
		die("mw_unwinder_new");
	for (int k = 0; k <= 12; k++) {
		struct mw_raw_stack s = own.s;
		int got;

		s.ns = 10000 * k + 1;
		got = mw_unwind(u, &s, f, MAX_FRAMES);
		named += got >= 3 && f[0].symbol &&
			 !strcmp(f[0].symbol, "make_region_here") &&
			 f[2].symbol && !strcmp(f[2].symbol, "main");
		if (got > 0)
			mw_frames_release(f, got);
	}
	mw_unwinder_stats(u, &built, &live);
	{
		struct mw_raw_stack s = own.s;
		int got;

		s.ns = 1;	/* the first epoch's Dwfl was evicted */
		got = mw_unwind(u, &s, f, MAX_FRAMES);
		if (got > 0)
			mw_frames_release(f, got);
	}
	mw_unwinder_stats(u, &rebuilt, &live);
	mw_unwinder_free(u);
	diag("13 epochs: %d samples named, %lu Dwfls built, %lu after one more, %u live",
	     named, built, rebuilt, live);
	result(n == nmaps + 12 && named == 13 && built == 13 &&
	       rebuilt == 14 && live == MW_UNWIND_SPACES,
	       "13 epochs: every sample named, at most MW_UNWIND_SPACES Dwfls kept");
}

static void test_jit(void)
{
	struct mw_raw_stack s = { .ns = 1 };
	struct mw_frame f[4];
	char path[64];
	uint8_t *code;
	struct mw_unwinder *u;
	FILE *out;
	int n;

	code = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		die("mmap");
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	out = fopen(path, "we");
	if (!out)
		die(path);
	fprintf(out, "%" PRIx64 " 100 jit_stub\nnot a symbol line\n"
		"%" PRIx64 " 80 Interpreted java.util.zip.Inflater::inflate(byte[])\n",
		(uint64_t)(uintptr_t)code, (uint64_t)(uintptr_t)code + 0x100);
	fclose(out);
	s.regs[MW_UNWIND_REG_PC] = (uintptr_t)code + 0x110;
	u = mw_unwinder_new(maps, nmaps, getpid());
	unlink(path);
	if (!u)
		die("mw_unwinder_new");
	n = mw_unwind(u, &s, f, 4);
	print_frames(f, n);
	snprintf(path, sizeof(path), "[perf-%d.map]", getpid());
	result(n >= 1 && f[0].symbol &&
	       !strcmp(f[0].symbol, "Interpreted java.util.zip.Inflater::inflate(byte[])") &&
	       f[0].offset == 0x10 && f[0].module && !strcmp(f[0].module, path),
	       "JIT: a perf map symbol, name with spaces, offset and module");
	if (n > 0)
		mw_frames_release(f, n);
	mw_unwinder_free(u);

	u = mw_unwinder_new(maps, nmaps, 0);
	if (!u)
		die("mw_unwinder_new");
	n = mw_unwind(u, &s, f, 4);
	result(n == 1 && !f[0].symbol && !f[0].module &&
	       f[0].addr == s.regs[MW_UNWIND_REG_PC],
	       "JIT: without a perf map the pc is unknown");
	if (n > 0)
		mw_frames_release(f, n);
	mw_unwinder_free(u);
	munmap(code, 8192);
}

static uint64_t rnd64(void)
{
	return (uint64_t)random() << 33 ^ (uint64_t)random() << 11 ^
	       (uint64_t)random();
}

/* Random registers and stacks, some near real ones: never a crash. */
static void test_garbage(struct mw_unwinder *u)
{
	static uint8_t junk[CAPTURE_BYTES];
	struct mw_frame f[MAX_FRAMES];
	int bad = 0, most = 0;

	srandom(53);
	for (int i = 0; i < 3000; i++) {
		struct mw_raw_stack s = own.s;
		int n;

		for (size_t j = 0; j < sizeof(junk); j++)
			junk[j] = (uint8_t)random();
		if (i % 3 == 0) {	/* a real pc on a random stack */
			s.data = junk;
		} else if (i % 3 == 1) {	/* a real stack, corrupted */
			memcpy(junk, own.data, own.s.size);
			for (int k = 0; k < 16; k++)
				junk[random() % own.s.size] = (uint8_t)random();
			s.data = junk;
			s.regs[MW_UNWIND_REG_PC] += random() % 64;
		} else {		/* nothing real */
			for (int r = 0; r < MW_UNWIND_NREGS; r++)
				s.regs[r] = rnd64();
			s.data = i % 2 ? junk : NULL;
			s.size = random() % (CAPTURE_BYTES + 1);
			s.ns = rnd64();
		}
		n = mw_unwind(u, &s, f, MAX_FRAMES);
		if (n < 0 || n > MAX_FRAMES)
			bad++;
		if (n > most)
			most = n;
		if (n > 0)
			mw_frames_release(f, n);
	}
	diag("garbage: 3000 samples, longest stack %d frames", most);
	result(!bad, "garbage samples give 1..max_frames frames");

	/* A stack of one return address repeated: bounded by max_frames. */
	for (size_t j = 0; j + 8 <= sizeof(junk); j += 8) {
		uint64_t ra = own.s.regs[MW_UNWIND_REG_PC];

		memcpy(junk + j, &ra, 8);
	}
	{
		struct mw_raw_stack s = own.s;
		int n;

		s.data = junk;
		s.size = sizeof(junk);
		n = mw_unwind(u, &s, f, 16);
		diag("repeated return address: %d frames", n);
		result(n >= 1 && n <= 16, "a looping stack stops at max_frames");
		if (n > 0)
			mw_frames_release(f, n);
	}
	result(mw_unwind(u, NULL, f, 4) == -EINVAL &&
	       mw_unwind(u, &own.s, f, 0) == -EINVAL,
	       "NULL sample and max_frames 0 are -EINVAL");
}

static void cost(const struct mw_raw_stack *s, const char *what)
{
	struct mw_frame f[MAX_FRAMES];
	double t0, cold = 0, warm;
	struct mw_unwinder *u;
	int n, rounds = 10, warm_rounds = 2000;

	for (int i = 0; i < rounds; i++) {
		u = mw_unwinder_new(maps, nmaps, 0);
		if (!u)
			die("mw_unwinder_new");
		t0 = now_us();
		n = mw_unwind(u, s, f, MAX_FRAMES);
		cold += now_us() - t0;
		if (n > 0)
			mw_frames_release(f, n);
		mw_unwinder_free(u);
	}
	u = mw_unwinder_new(maps, nmaps, 0);
	if (!u)
		die("mw_unwinder_new");
	n = mw_unwind(u, s, f, MAX_FRAMES);
	if (n > 0)
		mw_frames_release(f, n);
	t0 = now_us();
	for (int i = 0; i < warm_rounds; i++) {
		n = mw_unwind(u, s, f, MAX_FRAMES);
		if (n > 0)
			mw_frames_release(f, n);
	}
	warm = (now_us() - t0) / warm_rounds;
	mw_unwinder_free(u);
	diag("cost, %s (%d frames, %zu maps): cold %.0f us (Dwfl built), warm %.1f us",
	     what, n, nmaps, cold / rounds, warm);
}

int main(void)
{
	int numbers[64];
	void *fn_a, *fn_b;
	struct mw_unwinder *u;
	ssize_t len;

	/* No debuginfod downloads: the test sees what is on this machine. */
	unsetenv("DEBUGINFOD_URLS");
	setvbuf(stdout, NULL, _IOLBF, 0);
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len < 0)
		die("/proc/self/exe");
	exe[len] = '\0';
	memcpy(dir, exe, (size_t)len + 1);
	*strrchr(dir, '/') = '\0';
	log_maps(0);
	if (!stack_end)
		die("no [stack] in /proc/self/maps");

	/* Take every sample first, then unwind with nothing live. */
	if (outer(&own))
		die("mmap");
	for (int i = 0; i < 64; i++)
		numbers[i] = (i * 37) % 64;
	libc_qsort(numbers, 64, sizeof(*numbers), cmp_capture);
	fn_a = sample_lib("unwind-lib-a.so", "lib_a_make_region", &lib_a, 1000);
	fn_b = sample_lib("unwind-lib-b.so", "lib_b_make_region", &lib_b, 2000);

	printf("TAP version 13\n");
	diag("libs at %p and %p; %zu code maps logged", fn_a, fn_b, nmaps);
	result(!mapped_now("unwind-lib-a.so") && !mapped_now("unwind-lib-b.so"),
	       "the libraries are unmapped before unwinding");
	u = mw_unwinder_new(maps, nmaps, 0);
	if (!u)
		die("mw_unwinder_new");
	test_own(u);
	test_libc(u);
	test_lib(u, &lib_a, fn_a, "unwind-lib-a.so", "lib_a_make_region",
		 "dlclose'd library");
	test_lib(u, &lib_b, fn_b, "unwind-lib-b.so", "lib_b_make_region",
		 "dlclose'd library mapped second");
	test_remap(u, fn_a, fn_b);
	test_early(u);
	test_deleted();
	test_spaces();
	test_jit();
	test_garbage(u);
	mw_unwinder_free(u);

	cost(&own.s, "own frames");
	cost(&sorted.s, "through qsort");
	printf("1..%d\n", test_nr);
	return failed ? 1 : 0;
}
