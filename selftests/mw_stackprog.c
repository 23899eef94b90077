// SPDX-License-Identifier: GPL-2.0
/*
 * The workload of ctl_stacks.py: code whose call stacks memwatch must
 * name, built -O2 -fomit-frame-pointer, as Debian builds its libraries, so
 * that only CFI unwinding can get past a frame.
 *
 *   mw_stackprog OUT [wait] run every case, write what it did to OUT; with
 *                           "wait", then wait for stdin to close
 *
 * Each line of OUT is "NAME ADDRESS": where the cases' regions are and
 * where the functions that must appear in their stacks start, taken by the
 * program itself (the truth the report is checked against):
 *
 *   region ADDR              make_region_here()'s 4 MiB mmap
 *   make_region_here ADDR    the function, then outer() and main()
 *   arena ADDR               a block arena_thread() malloc()ed in its new
 *                            glibc arena (made by mmap inside malloc)
 *   arena_thread ADDR        that thread's function
 *   fill_region ADDR         a 2 MiB mmap (small pages) that fill_here()
 *   fill_here ADDR           writes with memset() (libc, no frame pointer)
 *   twin_region ADDR         a 2 MiB mmap whose first half twin_fill_a()
 *   twin_fill_a ADDR         and second half twin_fill_b() write through
 *   twin_fill_b ADDR         fill_here(): memset()'s faults under each run
 *   twin_sp_a ADDR           at the same program counter and at the stack
 *   twin_sp_b ADDR           pointer the twins had before the call
 *   lib_region ADDR          the mmap of mw_lib_make_region(), from a
 *   mw_lib_make_region ADDR  library dlopen()ed, then dlclose()d
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static FILE *out;

static void note(const char *name, const void *p)
{
	fprintf(out, "%s %#lx\n", name, (unsigned long)(uintptr_t)p);
}

/* The stack of this mmap must read make_region_here, outer, main. */
__attribute__((noinline)) static void *make_region_here(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* keep the call from becoming a tail call */
	__asm__ volatile("" : : "r"(p) : "memory");
	return p == MAP_FAILED ? NULL : p;
}

__attribute__((noinline)) static void *outer(size_t len)
{
	void *p = make_region_here(len);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

/* Its first write faults in through memset(), whose stack is sampled. */
__attribute__((noinline)) static void fill_here(char *p, size_t len)
{
	memset(p, 0x5a, len);
	__asm__ volatile("" : : "r"(p) : "memory");
}

static unsigned long twin_sp[2];

/*
 * Two callers alike but for their name and the slot of twin_sp[] they
 * write: their calls to fill_here() are made at the same stack pointer, so
 * the faults in memset() under each come at the same program counter and
 * stack pointer, and only the return address into one twin or the other
 * tells their stacks apart.
 */
#define TWIN_FILL(name, i)						\
__attribute__((noinline)) static void name(char *p, size_t len)	\
{									\
	unsigned long sp;						\
									\
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));			\
	twin_sp[i] = sp;						\
	fill_here(p, len);						\
	__asm__ volatile("" : : "r"(p) : "memory");			\
}

TWIN_FILL(twin_fill_a, 0)
TWIN_FILL(twin_fill_b, 1)

static void *arena_block;

/* Its malloc() makes the thread a glibc arena, by mmap inside libc. */
__attribute__((noinline)) static void *arena_thread(void *arg)
{
	char *p = malloc(4096);

	(void)arg;
	if (p)
		memset(p, 1, 4096);
	arena_block = p;
	__asm__ volatile("" : : "r"(p) : "memory");
	return NULL;
}

int main(int argc, char **argv)
{
	void *(*lib_fn)(size_t);
	pthread_t th;
	void *lib, *p;
	char path[4096];

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "wait"))) {
		fprintf(stderr, "usage: mw_stackprog OUT [wait]\n");
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out)
		return 1;

	p = outer(4 << 20);
	if (!p)
		return 1;
	note("region", p);
	note("make_region_here", (void *)make_region_here);
	note("outer", (void *)outer);
	note("main", (void *)main);

	/* room for an arena per thread, whatever the number of CPUs */
	mallopt(M_ARENA_MAX, 8);
	if (pthread_create(&th, NULL, arena_thread, NULL) ||
	    pthread_join(th, NULL) || !arena_block)
		return 1;
	note("arena", arena_block);
	note("arena_thread", (void *)arena_thread);

	p = make_region_here(2 << 20);
	if (!p)
		return 1;
	/* 512 faults, not one huge page: sampling has something to do */
	madvise(p, 2 << 20, MADV_NOHUGEPAGE);
	fill_here(p, 2 << 20);
	note("fill_region", p);
	note("fill_here", (void *)fill_here);

	p = make_region_here(2 << 20);
	if (!p)
		return 1;
	madvise(p, 2 << 20, MADV_NOHUGEPAGE);
	twin_fill_a(p, 1 << 20);
	twin_fill_b((char *)p + (1 << 20), 1 << 20);
	note("twin_region", p);
	note("twin_fill_a", (void *)twin_fill_a);
	note("twin_fill_b", (void *)twin_fill_b);
	note("twin_sp_a", (void *)twin_sp[0]);
	note("twin_sp_b", (void *)twin_sp[1]);

	/* the library lies beside the program */
	snprintf(path, sizeof(path), "%s", argv[0]);
	*strrchr(path, '/') = '\0';
	strncat(path, "/libmwstack.so", sizeof(path) - strlen(path) - 1);
	lib = dlopen(path, RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "mw_stackprog: %s\n", dlerror());
		return 1;
	}
	lib_fn = (void *(*)(size_t))dlsym(lib, "mw_lib_make_region");
	if (!lib_fn)
		return 1;
	p = lib_fn(3 << 20);
	note("lib_region", p);
	note("mw_lib_make_region", (void *)lib_fn);
	dlclose(lib);

	fclose(out);
	if (argc == 3)
		while (getchar() != EOF)
			;
	return 0;
}
