// SPDX-License-Identifier: GPL-2.0
/*
 * status: the module's version, limits, memory and probes
 * (MEMWATCH_CMD_GET_STATUS).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <linux/memwatch.h>

#include "memwatchctl.h"
#include "nl.h"

/* "ENOENT" reads better than its message in a table column. */
static const char *error_name(uint32_t err)
{
	static char buf[24];
	const char *name = NULL;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	name = strerrorname_np((int)err);
#endif
	if (!name) {
		snprintf(buf, sizeof(buf), "errno %u", err);
		name = buf;
	}
	return name;
}

static void print_json(const struct mw_status *st)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_open_object(&j, NULL, false);
	json_string(&j, "module_version", st->module_version);
	json_u64(&j, "protocol_version", st->version);
	json_string(&j, "kernel", st->kernel);
	json_u64(&j, "watches", st->watches);
	json_u64(&j, "max_watches", st->max_watches);
	json_u64(&j, "regions", st->regions);
	json_u64(&j, "max_regions", st->max_regions);
	json_u64(&j, "memory_bytes", st->mem_bytes);
	json_open_array(&j, "probes", false);
	for (i = 0; i < st->nr_probes; i++) {
		const struct mw_probe *p = &st->probes[i];

		json_open_object(&j, NULL, true);
		json_string(&j, "symbol", p->symbol);
		json_boolean(&j, "attached", p->attached);
		json_u64(&j, "error", p->error);
		json_u64(&j, "hits", p->hits);
		json_u64(&j, "missed", p->missed);
		json_string(&j, "mechanism",
			    mw_probe_mechanism_name(p->mechanism));
		json_close(&j);
	}
	json_end(&j);
}

static void print_table(const struct mw_status *st)
{
	char size[SIZE_BUF], attached[48];
	int width = (int)strlen("PROBE");
	size_t i;

	printf("module version:    %s\n", st->module_version);
	printf("protocol version:  %u", st->version);
	if (st->version != MEMWATCH_GENL_VERSION)
		printf(" (this memwatchctl speaks %d)", MEMWATCH_GENL_VERSION);
	printf("\nkernel:            %s\n", st->kernel);
	printf("watches:           %u (at most %u)\n", st->watches,
	       st->max_watches);
	printf("regions:           %" PRIu64 " (at most %u per process)\n",
	       st->regions, st->max_regions);
	printf("memory:            %s\n", format_size(size, st->mem_bytes));

	if (!st->nr_probes)
		return;
	for (i = 0; i < st->nr_probes; i++)
		if ((int)strlen(st->probes[i].symbol) > width)
			width = (int)strlen(st->probes[i].symbol);

	printf("\n%-*s  %-16s %-10s %12s %12s\n", width, "PROBE", "ATTACHED",
	       "MECHANISM", "HITS", "MISSED");
	for (i = 0; i < st->nr_probes; i++) {
		const struct mw_probe *p = &st->probes[i];

		if (p->attached)
			snprintf(attached, sizeof(attached), "yes");
		else if (p->error)
			snprintf(attached, sizeof(attached), "no (%s)",
				 error_name(p->error));
		else
			snprintf(attached, sizeof(attached), "no");
		printf("%-*s  %-16s %-10s %12" PRIu64 " %12" PRIu64 "\n",
		       width, p->symbol, attached,
		       mw_probe_mechanism_name(p->mechanism), p->hits,
		       p->missed);
	}
}

int cmd_status(int argc, char **argv)
{
	struct mw_status st;
	bool json = false;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return unknown_argument(argv[i]);
	}

	ret = mw_get_status(&st);
	if (ret)
		return ret;
	if (json)
		print_json(&st);
	else
		print_table(&st);
	mw_status_free(&st);
	return 0;
}
