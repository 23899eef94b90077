// SPDX-License-Identifier: GPL-2.0
/*
 * Raw samples unwound and named with libdwfl (unwind.h says what for).
 *
 * libdwfl keeps one address space per Dwfl and lets a Dwfl be attached
 * to a thread source once, so each Dwfl here (a "space") stands for one
 * set of maps that do not overlap. The maps are sorted by the time they
 * were mapped and cut into epochs: a map that overlaps one still in force
 * (dlclose, then dlopen at the same address) starts a new epoch, which
 * holds the maps in force then, less the ones it replaces. A sample uses
 * the epoch in force at its time; within it, modules mapped after the
 * sample count as absent (each module remembers when it was mapped). A
 * process that never maps over old code thus needs one space, however
 * many libraries it loads as it goes.
 *
 * Spaces are built when a sample first needs their epoch and kept, the
 * least recently used one ended beyond MW_UNWIND_SPACES: building one
 * opens every file of the epoch and parses CFI on demand, which costs far
 * more than an unwind.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unwind.h"

/* x86-64 pages: mappings and load biases are multiples of this. */
#define UNWIND_PAGE 4096ULL
/* What d_path() appends to the path of an unlinked file. */
#define DELETED " (deleted)"
#define DELETED_LEN (sizeof(DELETED) - 1)
/* The one thread a space holds; libdwfl wants a nonzero id. */
#define UNWIND_TID 1

struct map {
	uint64_t start, end, pgoff, ns;
	char *path;
	size_t order;		/* index in the caller's array: a stable sort */
};

/*
 * A function symbol, its name inside libdwfl's copy of the ELF file; rank
 * orders symbols at one address, lowest first (see sym_rank()).
 */
struct sym {
	uint64_t start, end;
	const char *name;
	unsigned int rank;
};

/*
 * What a space keeps of a module, as its libdwfl userdata: the map that
 * brought it in first, for its time, and its functions sorted by address.
 * libdwfl's own dwfl_module_addrinfo() scans the whole symbol table for
 * each lookup (0.188), a tenth of a millisecond and more a frame in libc
 * with its debug symbols: a sorted copy makes a lookup a binary search.
 */
struct modinfo {
	const struct map *map;
	struct sym *syms;
	size_t nsyms;
	bool loaded;		/* syms were read (there may be none) */
	struct modinfo *next;
};

/* A Dwfl for one epoch; it is also the dwfl_arg of its thread callbacks. */
struct space {
	Dwfl *dwfl;
	struct modinfo *mods;		/* one for each module, to free */
	bool attached;			/* dwfl_attach_state() worked */
	const struct mw_raw_stack *s;	/* the sample being unwound */
	unsigned long used;		/* the unwinder's clock at last use */
};

struct epoch {
	size_t first;		/* index in maps[] of the map that opened it */
	size_t *idx;		/* the maps in force, as indexes in maps[] */
	size_t n;
	struct space *spc;	/* NULL until a sample needs it */
};

struct jit_sym {
	uint64_t start, end;
	size_t line;		/* a later line wins over an earlier one */
	char *name;
};

struct mw_unwinder {
	struct map *maps;	/* sorted by ns */
	size_t nmaps;
	struct epoch *epochs;	/* sorted by first; at least one */
	size_t nepochs;
	struct jit_sym *jit;	/* sorted by start */
	size_t njit;
	char jit_module[32];
	unsigned long clock, built;
	unsigned int live;
};

/* One unwind in progress, for the frame callback. */
struct walk {
	struct mw_unwinder *u;
	Dwfl *dwfl;
	const struct mw_raw_stack *s;
	struct mw_frame *frames;
	size_t max, n;
	uint64_t prev_sp, prev_pc;
	int err;
};

static const Dwfl_Callbacks dwfl_callbacks = {
	/* Only for debug files: dwfl_report_elf() gets the main file. */
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static int map_cmp(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool overlaps(const struct map *a, const struct map *b)
{
	return a->start < b->end && b->start < a->end;
}

static int add_epoch(struct mw_unwinder *u, size_t first, const size_t *idx,
		     size_t n)
{
	struct epoch *e;

	e = reallocarray(u->epochs, u->nepochs + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	u->epochs = e;
	e += u->nepochs;
	*e = (struct epoch){ .first = first, .n = n };
	e->idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!e->idx)
		return -ENOMEM;
	if (n)
		memcpy(e->idx, idx, n * sizeof(*idx));
	u->nepochs++;
	return 0;
}

/* Cuts the ns-sorted maps into epochs of maps that do not overlap. */
static int make_epochs(struct mw_unwinder *u)
{
	size_t *cur, ncur = 0, first = 0;
	int err = 0;

	cur = malloc((u->nmaps ? u->nmaps : 1) * sizeof(*cur));
	if (!cur)
		return -ENOMEM;
	for (size_t i = 0; i < u->nmaps && !err; i++) {
		size_t kept = 0;
		bool clash = false;

		for (size_t j = 0; j < ncur && !clash; j++)
			clash = overlaps(&u->maps[cur[j]], &u->maps[i]);
		if (clash) {
			/* The epoch so far ends; the next keeps what i spares. */
			err = add_epoch(u, first, cur, ncur);
			first = i;
			for (size_t j = 0; j < ncur; j++)
				if (!overlaps(&u->maps[cur[j]], &u->maps[i]))
					cur[kept++] = cur[j];
			ncur = kept;
		}
		cur[ncur++] = i;
	}
	if (!err)
		err = add_epoch(u, first, cur, ncur);
	free(cur);
	return err;
}

/*
 * The load bias of the file behind m: the PT_LOAD segment that holds file
 * offset m->pgoff sits at m->start. A segment the offset does not fall in,
 * a bias that is not page aligned or an ET_EXEC file not at its own
 * address means the file changed since it was mapped: -ESTALE.
 */
static int map_bias(int fd, const struct map *m, uint64_t *bias)
{
	GElf_Ehdr ehdr;
	GElf_Phdr ph, best = { 0 };
	size_t phnum = 0;
	bool found = false;
	Elf *elf;
	uint64_t vaddr;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
	    elf_getphdrnum(elf, &phnum)) {
		elf_end(elf);
		return -ENOEXEC;
	}
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (m->pgoff < (ph.p_offset & ~(UNWIND_PAGE - 1)) ||
		    m->pgoff >= ph.p_offset + ph.p_filesz)
			continue;
		/* Two candidates: the executable segment is the one mapped. */
		if (!found || (ph.p_flags & PF_X)) {
			best = ph;
			found = true;
		}
	}
	elf_end(elf);
	if (!found)
		return -ESTALE;
	vaddr = best.p_vaddr - (best.p_offset - m->pgoff);
	*bias = m->start - vaddr;
	if (*bias & (UNWIND_PAGE - 1))
		return -ESTALE;
	if (ehdr.e_type == ET_EXEC && *bias)
		return -ESTALE;
	return 0;
}

/*
 * Reports m's file to dwfl. A file that is gone or changed is left out:
 * its frames come out unknown, which is all that can be said of them.
 */
static void report_map(struct space *spc, const struct map *m)
{
	struct modinfo *mi;
	Dwfl_Module *mod;
	uint64_t bias;
	void **ud;
	size_t len = strlen(m->path);
	int fd;

	/*
	 * d_path() says the file was unlinked: what has its name now, if
	 * anything, is another file, and would name frames wrongly.
	 */
	if (len > DELETED_LEN && !strcmp(m->path + len - DELETED_LEN, DELETED))
		return;
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (map_bias(fd, m, &bias)) {
		close(fd);
		return;
	}
	/* With add_p_vaddr, base is the bias; libdwfl owns fd on success. */
	mod = dwfl_report_elf(spc->dwfl, m->path, m->path, fd, bias, true);
	if (!mod) {
		close(fd);
		return;
	}
	dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	mi = *ud;
	if (!mi) {
		/* Without it the module stays, unnamed and timeless. */
		mi = calloc(1, sizeof(*mi));
		if (!mi)
			return;
		mi->next = spc->mods;
		spc->mods = mi;
		*ud = mi;
	}
	/* A file mapped twice is one module: it counts from the first map. */
	if (!mi->map || mi->map->ns > m->ns)
		mi->map = m;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = arg;
	return UNWIND_TID;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	if (tid != UNWIND_TID)
		return false;
	*thread_argp = arg;
	return true;
}

/* Stack words come from the sample's copy only: nothing else is known. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			void *arg)
{
	const struct mw_raw_stack *s = ((struct space *)arg)->s;
	uint64_t sp = s->regs[MW_UNWIND_REG_SP];

	(void)dwfl;
	if (!s->data || addr < sp || addr - sp > s->size ||
	    s->size - (addr - sp) < sizeof(*result))
		return false;
	memcpy(result, s->data + (addr - sp), sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct mw_raw_stack *s = ((struct space *)thread_arg)->s;

	if (!dwfl_thread_state_registers(thread, 0, MW_UNWIND_NREGS, s->regs))
		return false;
	dwfl_thread_state_register_pc(thread, s->regs[MW_UNWIND_REG_PC]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static void space_free(struct space *spc)
{
	if (!spc)
		return;
	dwfl_end(spc->dwfl);
	while (spc->mods) {
		struct modinfo *mi = spc->mods;

		spc->mods = mi->next;
		free(mi->syms);
		free(mi);
	}
	free(spc);
}

static void evict_oldest(struct mw_unwinder *u)
{
	struct epoch *old = NULL;

	for (size_t i = 0; i < u->nepochs; i++)
		if (u->epochs[i].spc &&
		    (!old || u->epochs[i].spc->used < old->spc->used))
			old = &u->epochs[i];
	if (!old)
		return;
	space_free(old->spc);
	old->spc = NULL;
	u->live--;
}

/* e's space, built if need be; NULL only when memory ran out. */
static struct space *space_get(struct mw_unwinder *u, struct epoch *e)
{
	struct space *spc = e->spc;

	if (spc) {
		spc->used = ++u->clock;
		return spc;
	}
	if (u->live >= MW_UNWIND_SPACES)
		evict_oldest(u);
	spc = calloc(1, sizeof(*spc));
	if (!spc)
		return NULL;
	spc->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!spc->dwfl) {
		free(spc);
		return NULL;
	}
	dwfl_report_begin(spc->dwfl);
	for (size_t i = 0; i < e->n; i++)
		report_map(spc, &u->maps[e->idx[i]]);
	if (dwfl_report_end(spc->dwfl, NULL, NULL)) {
		space_free(spc);
		return NULL;
	}
	/*
	 * With no ELF given, libdwfl takes the architecture from a module;
	 * with none (every file gone) it cannot unwind, and only the pc is
	 * named.
	 */
	spc->attached = dwfl_attach_state(spc->dwfl, NULL, UNWIND_TID,
					  &thread_callbacks, spc);
	spc->used = ++u->clock;
	e->spc = spc;
	u->live++;
	u->built++;
	return spc;
}

/* The epoch in force at ns: that of the last map mapped at or before it. */
static struct epoch *epoch_at(struct mw_unwinder *u, uint64_t ns)
{
	size_t lo = 0, hi = u->nmaps, k, e_lo = 0, e_hi;

	while (lo < hi) {	/* k: how many maps are mapped by ns */
		size_t mid = lo + (hi - lo) / 2;

		if (u->maps[mid].ns <= ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	k = lo;
	if (!k)
		return &u->epochs[0];
	e_hi = u->nepochs;
	while (e_hi - e_lo > 1) {	/* the last epoch with first <= k - 1 */
		size_t mid = e_lo + (e_hi - e_lo) / 2;

		if (u->epochs[mid].first <= k - 1)
			e_lo = mid;
		else
			e_hi = mid;
	}
	return &u->epochs[e_lo];
}

static const struct jit_sym *jit_find(const struct mw_unwinder *u,
				      uint64_t addr)
{
	size_t lo = 0, hi = u->njit;

	while (lo < hi) {	/* lo: entries starting at or before addr */
		size_t mid = lo + (hi - lo) / 2;

		if (u->jit[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < u->jit[lo - 1].end)
		return &u->jit[lo - 1];
	return NULL;
}

static char *hex(const unsigned char *bits, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(len * 2 + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[bits[i] >> 4];
		s[2 * i + 1] = digits[bits[i] & 15];
	}
	s[2 * len] = '\0';
	return s;
}

/*
 * Of symbols at one address the lowest rank is named: sized before
 * sizeless, plain before versioned (foo@@GLIBC_2.34), global before weak
 * before local, then fewer leading underscores (printf, not _IO_printf),
 * much as perf chooses.
 */
static unsigned int sym_rank(const GElf_Sym *sym, const char *name)
{
	unsigned int rank = 0, under = (unsigned int)strspn(name, "_");

	if (!sym->st_size)
		rank += 64;
	if (strchr(name, '@'))
		rank += 32;
	switch (GELF_ST_BIND(sym->st_info)) {
	case STB_GLOBAL:
		break;
	case STB_WEAK:
		rank += 8;
		break;
	default:
		rank += 16;
	}
	return rank + (under < 7 ? under : 7);
}

/* By address; at one address the best ranked last, for lookups from above. */
static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->rank > y->rank ? -1 : x->rank < y->rank;
}

static bool is_code(const GElf_Sym *sym, GElf_Word shndx)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (shndx == SHN_UNDEF || shndx == SHN_ABS || shndx == (GElf_Word)-1)
		return false;
	return type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_NOTYPE;
}

static int load_syms(Dwfl_Module *mod, struct modinfo *mi)
{
	int n = dwfl_module_getsymtab(mod);

	mi->loaded = true;
	if (n <= 0)
		return 0;
	mi->syms = calloc((size_t)n, sizeof(*mi->syms));
	if (!mi->syms)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *name;
		GElf_Word shndx;
		GElf_Addr addr;
		GElf_Sym sym;

		name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx,
					       NULL, NULL);
		if (!name || !*name || !is_code(&sym, shndx))
			continue;
		mi->syms[mi->nsyms++] = (struct sym){
			.start = addr, .end = addr + sym.st_size, .name = name,
			.rank = sym_rank(&sym, name),
		};
	}
	qsort(mi->syms, mi->nsyms, sizeof(*mi->syms), sym_cmp);
	return 0;
}

/*
 * The function at addr: the best ranked sized symbol around it among the
 * nearest ones below (nested symbols are rare and close), else a sizeless
 * label at the nearest address below, as dwfl_module_addrinfo() would.
 */
static const struct sym *sym_find(const struct modinfo *mi, uint64_t addr)
{
	size_t lo = 0, hi = mi->nsyms, top;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mi->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	top = lo;
	for (size_t j = top; j-- > 0 && top - j <= 32;)
		if (mi->syms[j].end > addr)
			return &mi->syms[j];
	for (size_t j = top; j-- > 0 && mi->syms[j].start == mi->syms[top - 1].start;)
		if (mi->syms[j].start == mi->syms[j].end)
			return &mi->syms[j];
	return NULL;
}

/* Fills f from mod: lookup is pc, or pc - 1 for a return address. */
static int name_from_module(struct mw_frame *f, Dwfl_Module *mod,
			    struct modinfo *mi, uint64_t lookup)
{
	const unsigned char *bits;
	const struct sym *sym;
	const char *name;
	GElf_Addr id_vaddr;
	int len;

	name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (name && !(f->module = strdup(name)))
		return -ENOMEM;
	len = dwfl_module_build_id(mod, &bits, &id_vaddr);
	if (len > 0 && !(f->build_id = hex(bits, (size_t)len)))
		return -ENOMEM;
	if (!mi)
		return 0;
	if (!mi->loaded && load_syms(mod, mi))
		return -ENOMEM;
	sym = sym_find(mi, lookup);
	if (sym) {
		f->symbol = strdup(sym->name);
		if (!f->symbol)
			return -ENOMEM;
		f->offset = f->addr - sym->start;
	}
	return 0;
}

/*
 * Names the frame at pc. *absent is set when pc lies in a module that was
 * not mapped yet at the sample's time: its CFI must not be used.
 */
static int name_frame(struct walk *w, struct mw_frame *f, uint64_t pc,
		      bool activation, bool *absent)
{
	uint64_t lookup = activation ? pc : pc - 1;
	const struct jit_sym *j;
	struct modinfo *mi = NULL;
	Dwfl_Module *mod = NULL;
	void **ud;

	*f = (struct mw_frame){ .addr = pc };
	if (w->dwfl)
		mod = dwfl_addrmodule(w->dwfl, lookup);
	if (mod) {
		dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		mi = *ud;
		if (mi && mi->map && mi->map->ns > w->s->ns) {
			*absent = true;
			mod = NULL;
		}
	}
	if (mod)
		return name_from_module(f, mod, mi, lookup);
	j = jit_find(w->u, lookup);
	if (!j)
		return 0;
	f->symbol = strdup(j->name);
	f->module = strdup(w->u->jit_module);
	if (!f->symbol || !f->module)
		return -ENOMEM;
	f->offset = pc - j->start;
	return 0;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	bool activation = false, absent = false;
	Dwarf_Addr pc;
	Dwarf_Word sp;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* A caller's frame is above its callee's: anything else loops. */
	if (dwfl_frame_reg(state, MW_UNWIND_REG_SP, &sp) == 0) {
		if (w->n && (sp < w->prev_sp ||
			     (sp == w->prev_sp && pc == w->prev_pc)))
			return DWARF_CB_ABORT;
		w->prev_sp = sp;
	}
	w->prev_pc = pc;
	w->err = name_frame(w, &w->frames[w->n], pc, activation, &absent);
	w->n++;
	if (w->err || absent || w->n == w->max)
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

int mw_unwind(struct mw_unwinder *u, const struct mw_raw_stack *s,
	      struct mw_frame *frames, size_t max_frames)
{
	struct space *spc;
	struct walk w = {
		.u = u, .s = s, .frames = frames, .max = max_frames,
	};
	bool absent;

	if (!u || !s || !frames || !max_frames)
		return -EINVAL;
	spc = space_get(u, epoch_at(u, s->ns));
	if (!spc)
		return -ENOMEM;
	w.dwfl = spc->dwfl;
	if (spc->attached) {
		spc->s = s;
		/* Its -1 is also how a walk ends: the frames tell. */
		dwfl_getthread_frames(spc->dwfl, UNWIND_TID, frame_cb, &w);
		spc->s = NULL;
	}
	if (!w.n && !w.err) {
		/* No walk: still name the pc. */
		w.err = name_frame(&w, &frames[0], s->regs[MW_UNWIND_REG_PC],
				   true, &absent);
		w.n = 1;
	}
	if (w.err) {
		mw_frames_release(frames, w.n);
		return w.err;
	}
	return (int)w.n;
}

void mw_frames_release(struct mw_frame *frames, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(frames[i].symbol);
		free(frames[i].module);
		free(frames[i].build_id);
		frames[i] = (struct mw_frame){ 0 };
	}
}

static int jit_cmp(const void *a, const void *b)
{
	const struct jit_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int jit_add(struct mw_unwinder *u, const char *line, size_t nr)
{
	uint64_t start, size;
	struct jit_sym *j;
	int at = 0;
	size_t len;

	/* START SIZE name: hex without 0x; the name may hold spaces. */
	if (sscanf(line, "%" SCNx64 " %" SCNx64 " %n", &start, &size,
		   &at) < 2 || !at || !size || start + size < start)
		return 0;	/* not a symbol line: perf skips it too */
	len = strcspn(line + at, "\n");
	j = reallocarray(u->jit, u->njit + 1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	u->jit = j;
	j += u->njit;
	*j = (struct jit_sym){ .start = start, .end = start + size, .line = nr };
	j->name = strndup(line + at, len);
	if (!j->name)
		return -ENOMEM;
	u->njit++;
	return 0;
}

/* /tmp/perf-PID.map, as JIT runtimes write it; absent is no error. */
static int read_perf_map(struct mw_unwinder *u, pid_t pid)
{
	char path[64], *line = NULL;
	size_t cap = 0, nr = 0;
	int err = 0;
	FILE *f;

	snprintf(u->jit_module, sizeof(u->jit_module), "[perf-%d.map]",
		 (int)pid);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!err && getline(&line, &cap, f) > 0)
		err = jit_add(u, line, nr++);
	free(line);
	fclose(f);
	if (u->njit)
		qsort(u->jit, u->njit, sizeof(*u->jit), jit_cmp);
	return err;
}

static int copy_maps(struct mw_unwinder *u, const struct mw_code_map *maps,
		     size_t nmaps)
{
	u->maps = calloc(nmaps ? nmaps : 1, sizeof(*u->maps));
	if (!u->maps)
		return -ENOMEM;
	for (size_t i = 0; i < nmaps; i++) {
		const struct mw_code_map *c = &maps[i];
		struct map *m = &u->maps[i];

		if (c->end <= c->start || !c->path)
			return -EINVAL;
		*m = (struct map){ .start = c->start, .end = c->end,
				   .pgoff = c->pgoff, .ns = c->ns, .order = i };
		m->path = strdup(c->path);
		u->nmaps++;
		if (!m->path)
			return -ENOMEM;
	}
	qsort(u->maps, u->nmaps, sizeof(*u->maps), map_cmp);
	return 0;
}

struct mw_unwinder *mw_unwinder_new(const struct mw_code_map *maps,
				    size_t nmaps, pid_t perf_map_pid)
{
	struct mw_unwinder *u;
	int err;

	if (nmaps && !maps) {
		errno = EINVAL;
		return NULL;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	err = copy_maps(u, maps, nmaps);
	if (!err)
		err = make_epochs(u);
	if (!err && perf_map_pid)
		err = read_perf_map(u, perf_map_pid);
	if (err) {
		mw_unwinder_free(u);
		errno = -err;
		return NULL;
	}
	return u;
}

void mw_unwinder_free(struct mw_unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nepochs; i++) {
		space_free(u->epochs[i].spc);
		free(u->epochs[i].idx);
	}
	free(u->epochs);
	for (size_t i = 0; i < u->nmaps; i++)
		free(u->maps[i].path);
	free(u->maps);
	for (size_t i = 0; i < u->njit; i++)
		free(u->jit[i].name);
	free(u->jit);
	free(u);
}

void mw_unwinder_stats(const struct mw_unwinder *u, unsigned long *built,
		       unsigned int *live)
{
	*built = u->built;
	*live = u->live;
}
