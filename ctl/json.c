// SPDX-License-Identifier: GPL-2.0
/*
 * A small streaming JSON writer: objects, arrays, strings, unsigned
 * integers and booleans, which is all memwatchctl prints. Containers are
 * indented two spaces a level, or kept on one line when opened compact.
 * Strings are escaped; bytes that are not valid UTF-8 (a process name is
 * any bytes) become U+FFFD, so the output is always valid JSON. A report
 * writes millions of small pieces and memwatchctl has one thread: they go
 * through the stream without taking its lock.
 */
#include <inttypes.h>
#include <string.h>

#include "memwatchctl.h"

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void write_escaped(struct json *j, const char *str);

static void indent(struct json *j, int depth)
{
	putc_unlocked('\n', j->f);
	while (depth-- > 0)
		fputs_unlocked("  ", j->f);
}

/* Separator, indentation and key before a value at the current depth. */
static void begin_value(struct json *j, const char *key)
{
	int d = j->depth;

	if (d > 0) {
		if (j->has_items[d])
			putc_unlocked(',', j->f);
		if (j->compact[d]) {
			if (j->has_items[d])
				putc_unlocked(' ', j->f);
		} else {
			indent(j, d);
		}
		j->has_items[d] = true;
	}
	if (key) {
		write_escaped(j, key);
		fputs_unlocked(": ", j->f);
	}
}

static void open_container(struct json *j, const char *key, bool compact,
			   char open, char close)
{
	begin_value(j, key);
	putc_unlocked(open, j->f);
	if (j->depth + 1 >= JSON_MAX_DEPTH)
		return;		/* a bug: keep the output going */
	j->depth++;
	j->has_items[j->depth] = false;
	j->compact[j->depth] = compact || j->compact[j->depth - 1];
	j->closer[j->depth] = close;
}

void json_open_object(struct json *j, const char *key, bool compact)
{
	open_container(j, key, compact, '{', '}');
}

void json_open_array(struct json *j, const char *key, bool compact)
{
	open_container(j, key, compact, '[', ']');
}

void json_close(struct json *j)
{
	int d = j->depth;

	if (d == 0)
		return;
	if (j->has_items[d] && !j->compact[d])
		indent(j, d - 1);
	putc_unlocked(j->closer[d], j->f);
	j->depth--;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* no overlong forms, no surrogates, nothing past U+10FFFF */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void write_escaped(struct json *j, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t n;

	putc_unlocked('"', j->f);
	while (*s) {
		const unsigned char *run = s;

		/* most bytes need no escape: write them a run at a time */
		while (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
			s++;
		if (s > run) {
			fwrite_unlocked(run, 1, s - run, j->f);
			continue;
		}
		switch (*s) {
		case '"':
			fputs_unlocked("\\\"", j->f);
			break;
		case '\\':
			fputs_unlocked("\\\\", j->f);
			break;
		case '\b':
			fputs_unlocked("\\b", j->f);
			break;
		case '\f':
			fputs_unlocked("\\f", j->f);
			break;
		case '\n':
			fputs_unlocked("\\n", j->f);
			break;
		case '\r':
			fputs_unlocked("\\r", j->f);
			break;
		case '\t':
			fputs_unlocked("\\t", j->f);
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				fprintf(j->f, "\\u%04x", *s);
				break;
			}
			n = utf8_len(s);
			if (!n) {
				fputs_unlocked("\\ufffd", j->f);
				break;
			}
			fwrite_unlocked(s, 1, n, j->f);
			s += n;
			continue;
		}
		s++;
	}
	putc_unlocked('"', j->f);
}

void json_string(struct json *j, const char *key, const char *s)
{
	begin_value(j, key);
	write_escaped(j, s);
}

/* Digits of @v in @base, written backwards from @end; returns the first. */
static char *digits(char *end, uint64_t v, unsigned int base)
{
	do {
		*--end = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	return end;
}

/* Reports print hundreds of thousands of numbers: no printf for them. */
void json_u64(struct json *j, const char *key, uint64_t v)
{
	char buf[24], *p = digits(buf + sizeof(buf), v, 10);

	begin_value(j, key);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, j->f);
}

void json_hex(struct json *j, const char *key, uint64_t v)
{
	char buf[24], *p = digits(buf + sizeof(buf), v, 16);

	*--p = 'x';
	*--p = '0';
	begin_value(j, key);
	putc_unlocked('"', j->f);
	fwrite_unlocked(p, 1, buf + sizeof(buf) - p, j->f);
	putc_unlocked('"', j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
	begin_value(j, key);
	fputs_unlocked(v ? "true" : "false", j->f);
}

void json_end(struct json *j)
{
	while (j->depth > 0)
		json_close(j);
	putc_unlocked('\n', j->f);
}
