// SPDX-License-Identifier: GPL-2.0
/*
 * A small streaming JSON writer: objects, arrays, strings, unsigned
 * integers and booleans, which is all memwatchctl prints. Containers are
 * indented two spaces a level, or kept on one line when opened compact.
 * Strings are escaped; bytes that are not valid UTF-8 (a process name is
 * any bytes) become U+FFFD, so the output is always valid JSON. A report
 * writes millions of small pieces: they are gathered in the writer's own
 * buffer and handed to the stream in large blocks, at the latest by
 * json_end(); nothing else may write to the stream in between.
 */
#include <inttypes.h>
#include <string.h>

#include "memwatchctl.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->len = 0;
	j->depth = 0;
	memset(j->has_items, 0, sizeof(j->has_items));
	memset(j->compact, 0, sizeof(j->compact));
	memset(j->closer, 0, sizeof(j->closer));
}

static void flush(struct json *j)
{
	fwrite_unlocked(j->buf, 1, j->len, j->f);
	j->len = 0;
}

static inline void put(struct json *j, const void *p, size_t n)
{
	if (j->len + n > sizeof(j->buf)) {
		flush(j);
		if (n > sizeof(j->buf)) {
			fwrite_unlocked(p, 1, n, j->f);
			return;
		}
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
}

static inline void put_char(struct json *j, char c)
{
	if (j->len == sizeof(j->buf))
		flush(j);
	j->buf[j->len++] = c;
}

#define put_lit(j, s) put(j, s, sizeof(s) - 1)

static void indent(struct json *j, int depth)
{
	put_char(j, '\n');
	while (depth-- > 0)
		put_lit(j, "  ");
}

/* Separator, indentation and key before a value at the current depth. */
static void begin_value(struct json *j, const char *key)
{
	int d = j->depth;

	if (d > 0) {
		if (j->has_items[d])
			put_char(j, ',');
		if (j->compact[d]) {
			if (j->has_items[d])
				put_char(j, ' ');
		} else {
			indent(j, d);
		}
		j->has_items[d] = true;
	}
	/* keys are memwatchctl's own names: plain ASCII, nothing to escape */
	if (key) {
		put_char(j, '"');
		put(j, key, strlen(key));
		put_lit(j, "\": ");
	}
}

static void open_container(struct json *j, const char *key, bool compact,
			   char open, char close)
{
	begin_value(j, key);
	put_char(j, open);
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
	put_char(j, j->closer[d]);
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

	put_char(j, '"');
	while (*s) {
		const unsigned char *run = s;

		/* most bytes need no escape: write them a run at a time */
		while (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
			s++;
		if (s > run) {
			put(j, run, s - run);
			continue;
		}
		switch (*s) {
		case '"':
			put_lit(j, "\\\"");
			break;
		case '\\':
			put_lit(j, "\\\\");
			break;
		case '\b':
			put_lit(j, "\\b");
			break;
		case '\f':
			put_lit(j, "\\f");
			break;
		case '\n':
			put_lit(j, "\\n");
			break;
		case '\r':
			put_lit(j, "\\r");
			break;
		case '\t':
			put_lit(j, "\\t");
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				char u[8];

				snprintf(u, sizeof(u), "\\u%04x", *s);
				put(j, u, 6);
				break;
			}
			n = utf8_len(s);
			if (!n) {
				put_lit(j, "\\ufffd");
				break;
			}
			put(j, s, n);
			s += n;
			continue;
		}
		s++;
	}
	put_char(j, '"');
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
	put(j, p, buf + sizeof(buf) - p);
}

void json_hex(struct json *j, const char *key, uint64_t v)
{
	char buf[24], *p = digits(buf + sizeof(buf), v, 16);

	*--p = 'x';
	*--p = '0';
	begin_value(j, key);
	put_char(j, '"');
	put(j, p, buf + sizeof(buf) - p);
	put_char(j, '"');
}

void json_boolean(struct json *j, const char *key, bool v)
{
	begin_value(j, key);
	if (v)
		put_lit(j, "true");
	else
		put_lit(j, "false");
}

void json_end(struct json *j)
{
	while (j->depth > 0)
		json_close(j);
	put_char(j, '\n');
	flush(j);
}
