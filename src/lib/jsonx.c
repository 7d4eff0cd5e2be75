/*
 * Bounded JSON parsing and field validation.  jansson checks UTF-8 and
 * refuses NUL in strings; the depth bound is checked first with a scan
 * that is linear in the input and needs no memory.
 */
#include <ctype.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "utf8.h"

#define JSONX_MSG_MAX	256

static int	jsonx_field(json_t *, const char *, int, struct verr *,
		    const char *, json_t **);

/*
 * Memory jansson frees is cleared first: its lexer keeps the text of the
 * last string token it read (a password, say) in a buffer it frees
 * without clearing, out of reach of the caller's wiping.
 */
static void
jsonx_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void
jsonx_wipe_on_free(void)
{
	json_set_alloc_funcs(malloc, jsonx_free);
}

int
jsonx_depth_ok(const char *buf, size_t len, int max)
{
	size_t		i;
	int		depth, instr, esc;

	depth = instr = esc = 0;
	for (i = 0; i < len; i++) {
		if (instr) {
			if (esc)
				esc = 0;
			else if (buf[i] == '\\')
				esc = 1;
			else if (buf[i] == '"')
				instr = 0;
			continue;
		}
		switch (buf[i]) {
		case '"':
			instr = 1;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return (0);
			break;
		case ']':
		case '}':
			depth--;
			break;
		}
	}
	return (1);
}

int
jsonx_parse_object(const char *buf, size_t len, json_t **out)
{
	json_error_t	err;
	json_t		*j;
	size_t		i;

	*out = NULL;
	for (i = 0; i < len && isspace((unsigned char)buf[i]); i++)
		;
	if (i == len)
		return (JSONX_EMPTY);
	if (!jsonx_depth_ok(buf, len, JSONX_MAX_DEPTH))
		return (JSONX_TOO_DEEP);

	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &err);
	if (j == NULL) {
		if (json_error_code(&err) == json_error_invalid_utf8)
			return (JSONX_BAD_UTF8);
		return (JSONX_INVALID);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return (JSONX_NOT_OBJECT);
	}
	*out = j;
	return (JSONX_OK);
}

const char *
jsonx_err_message(int err)
{
	switch (err) {
	case JSONX_INVALID:
		return ("Request body is not valid JSON");
	case JSONX_NOT_OBJECT:
		return ("Request body must be a JSON object");
	case JSONX_TOO_DEEP:
		return ("Request body is nested too deeply");
	case JSONX_BAD_UTF8:
		return ("Request body is not valid UTF-8");
	case JSONX_EMPTY:
		return ("Request body is empty");
	}
	return ("Invalid request body");
}

void
verr_init(struct verr *v)
{
	v->fields = json_array();
}

void
verr_add(struct verr *v, const char *field, const char *issue,
    const char *fmt, ...)
{
	char		msg[JSONX_MSG_MAX];
	va_list		ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	(void)json_array_append_new(v->fields, json_pack("{s:s, s:s, s:s}",
	    "field", field, "issue", issue, "message", msg));
}

int
verr_count(const struct verr *v)
{
	return ((int)json_array_size(v->fields));
}

json_t *
verr_take(struct verr *v)
{
	json_t		*f;

	f = v->fields;
	v->fields = NULL;
	return (f);
}

void
verr_clear(struct verr *v)
{
	json_decref(v->fields);
	v->fields = NULL;
}

size_t
jsonx_codepoints(const char *s)
{
	ssize_t		n;

	/* jansson has checked the UTF-8 of every string it parsed. */
	n = utf8_codepoints(s, strlen(s));
	return (n < 0 ? 0 : (size_t)n);
}

int
jsonx_get_str(json_t *obj, const char *key, int flags, size_t min,
    size_t max, struct verr *v, const char **out)
{
	json_t		*j;
	int		r;
	const char	*s, *p;
	size_t		n;

	*out = NULL;
	if ((r = jsonx_field(obj, key, flags, v, "string", &j)) <= 0)
		return (r == 0);
	if (!json_is_string(j)) {
		verr_add(v, key, "wrong_type", "%s must be a string", key);
		return (0);
	}
	s = json_string_value(j);
	if (strlen(s) != json_string_length(j)) {
		verr_add(v, key, "invalid", "%s must not contain NUL", key);
		return (0);
	}
	if (flags & JF_NOTBLANK) {
		for (p = s; *p != '\0' && isspace((unsigned char)*p); p++)
			;
		if (*p == '\0' && min > 0) {
			verr_add(v, key, "blank", "%s must not be blank", key);
			return (0);
		}
	}
	n = jsonx_codepoints(s);
	if (n < min) {
		verr_add(v, key, n == 0 ? "blank" : "too_short",
		    "%s must be at least %zu characters", key, min);
		return (0);
	}
	if (n > max) {
		verr_add(v, key, "too_long",
		    "%s must be at most %zu characters", key, max);
		return (0);
	}
	*out = s;
	return (1);
}

int
jsonx_get_bool(json_t *obj, const char *key, int flags, struct verr *v,
    int *out, int *present)
{
	json_t		*j;
	int		r;

	*present = 0;
	if ((r = jsonx_field(obj, key, flags, v, "boolean", &j)) <= 0)
		return (r == 0);
	if (!json_is_boolean(j)) {
		verr_add(v, key, "wrong_type", "%s must be a boolean", key);
		return (0);
	}
	*out = json_is_true(j);
	*present = 1;
	return (1);
}

int
jsonx_get_int(json_t *obj, const char *key, int flags, int64_t min,
    int64_t max, struct verr *v, int64_t *out, int *present)
{
	json_t		*j;
	int		r;
	json_int_t	n;

	*present = 0;
	if ((r = jsonx_field(obj, key, flags, v, "integer", &j)) <= 0)
		return (r == 0);
	if (!json_is_integer(j)) {
		verr_add(v, key, "wrong_type", "%s must be an integer", key);
		return (0);
	}
	n = json_integer_value(j);
	if (n < min || n > max) {
		verr_add(v, key, "out_of_range",
		    "%s must be between %lld and %lld", key,
		    (long long)min, (long long)max);
		return (0);
	}
	*out = n;
	*present = 1;
	return (1);
}

int
jsonx_get_enum(json_t *obj, const char *key, int flags,
    const char *const *allowed, struct verr *v, const char **out)
{
	json_t		*j;
	int		r;
	const char	*s;
	int		i;

	*out = NULL;
	if ((r = jsonx_field(obj, key, flags, v, "string", &j)) <= 0)
		return (r == 0);
	if (!json_is_string(j)) {
		verr_add(v, key, "wrong_type", "%s must be a string", key);
		return (0);
	}
	s = json_string_value(j);
	for (i = 0; allowed[i] != NULL; i++) {
		if (!strcmp(allowed[i], s)) {
			*out = allowed[i];
			return (1);
		}
	}
	verr_add(v, key, "invalid_choice", "%s is not an allowed value", key);
	return (0);
}

int
jsonx_get_object(json_t *obj, const char *key, int flags, struct verr *v,
    json_t **out)
{
	json_t		*j;
	int		r;

	*out = NULL;
	if ((r = jsonx_field(obj, key, flags, v, "object", &j)) <= 0)
		return (r == 0);
	if (!json_is_object(j)) {
		verr_add(v, key, "wrong_type", "%s must be an object", key);
		return (0);
	}
	*out = j;
	return (1);
}

/*
 * Find key in obj: 1 with *out set when there is a value to check, 0 when
 * it is absent or null and that is allowed, -1 (recorded in v) when not.
 */
static int
jsonx_field(json_t *obj, const char *key, int flags, struct verr *v,
    const char *type, json_t **out)
{
	json_t		*j;

	*out = NULL;
	j = json_object_get(obj, key);
	if (j == NULL) {
		if (flags & JF_REQUIRED) {
			verr_add(v, key, "missing", "%s is required", key);
			return (-1);
		}
		return (0);
	}
	if (json_is_null(j)) {
		if (!(flags & JF_NULLABLE)) {
			verr_add(v, key, "wrong_type", "%s must be a %s", key,
			    type);
			return (-1);
		}
		return (0);
	}
	*out = j;
	return (1);
}
