/*
 * The JSON Schema subset of jschema.h: a recursive walk over value,
 * bounded in depth, reporting each violation once with its path.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jschema.h"

struct js {
	struct verr	*v;
	int		 n;
};

static void	js_walk(struct js *, const json_t *, const json_t *,
		    const char *, int);
static void	js_string(struct js *, const json_t *, const json_t *,
		    const char *);
static void	js_number(struct js *, const json_t *, const json_t *,
		    const char *);
static void	js_array(struct js *, const json_t *, const json_t *,
		    const char *, int);
static void	js_object(struct js *, const json_t *, const json_t *,
		    const char *, int);
static int	js_type_ok(const json_t *, const json_t *);
static int	js_type_is(const char *, const json_t *);
static void	js_add(struct js *, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static void	js_type_name(const json_t *, char *, size_t);

int
jschema_check(const json_t *schema, const json_t *value, const char *path,
    struct verr *v)
{
	struct js	js;

	js.v = v;
	js.n = 0;
	js_walk(&js, schema, value, path, 0);
	if (js.n > JSCHEMA_MAX_ERRORS)
		verr_add(v, path, "too_many_errors", "%d more violations not "
		    "listed", js.n - JSCHEMA_MAX_ERRORS);
	return (js.n);
}

static void
js_walk(struct js *js, const json_t *schema, const json_t *value,
    const char *path, int depth)
{
	const json_t	*t, *e;
	char		 tn[64];
	size_t		 i, n;

	if (!json_is_object(schema))
		return;
	if (depth > JSCHEMA_MAX_DEPTH) {
		js_add(js, path, "too_deep", "%s is nested too deeply", path);
		return;
	}
	t = json_object_get(schema, "type");
	if (t != NULL && !js_type_ok(t, value)) {
		js_type_name(t, tn, sizeof(tn));
		js_add(js, path, "wrong_type", "%s must be %s", path, tn);
		return;
	}
	if ((e = json_object_get(schema, "enum")) != NULL &&
	    json_is_array(e)) {
		n = 0;
		for (i = 0; i < json_array_size(e); i++)
			if (json_equal(json_array_get(e, i), value))
				n++;
		if (n == 0)
			js_add(js, path, "invalid_choice",
			    "%s is not an allowed value", path);
	}
	if (json_is_string(value))
		js_string(js, schema, value, path);
	if (json_is_number(value))
		js_number(js, schema, value, path);
	if (json_is_array(value))
		js_array(js, schema, value, path, depth);
	if (json_is_object(value))
		js_object(js, schema, value, path, depth);
}

/* minLength, maxLength (code points); no NUL inside. */
static void
js_string(struct js *js, const json_t *schema, const json_t *value,
    const char *path)
{
	const json_t	*e;
	size_t		 n;

	n = jsonx_codepoints(json_string_value(value));
	if (strlen(json_string_value(value)) != json_string_length(value))
		js_add(js, path, "invalid", "%s must not contain NUL", path);
	if ((e = json_object_get(schema, "minLength")) != NULL &&
	    json_is_integer(e) && (json_int_t)n < json_integer_value(e))
		js_add(js, path, n == 0 ? "blank" : "too_short",
		    "%s must be at least %lld characters", path,
		    (long long)json_integer_value(e));
	if ((e = json_object_get(schema, "maxLength")) != NULL &&
	    json_is_integer(e) && (json_int_t)n > json_integer_value(e))
		js_add(js, path, "too_long",
		    "%s must be at most %lld characters", path,
		    (long long)json_integer_value(e));
}

static void
js_number(struct js *js, const json_t *schema, const json_t *value,
    const char *path)
{
	const json_t	*e;
	double		 d;

	d = json_number_value(value);
	if ((e = json_object_get(schema, "minimum")) != NULL &&
	    json_is_number(e) && d < json_number_value(e))
		js_add(js, path, "out_of_range", "%s must be at least %g",
		    path, json_number_value(e));
	if ((e = json_object_get(schema, "maximum")) != NULL &&
	    json_is_number(e) && d > json_number_value(e))
		js_add(js, path, "out_of_range", "%s must be at most %g",
		    path, json_number_value(e));
}

/* minItems, maxItems (past it the items are not looked at), items. */
static void
js_array(struct js *js, const json_t *schema, const json_t *value,
    const char *path, int depth)
{
	const json_t	*e, *sub;
	char		 sub_path[JSCHEMA_PATH_MAX];
	size_t		 i, n;

	n = json_array_size(value);
	if ((e = json_object_get(schema, "minItems")) != NULL &&
	    json_is_integer(e) && (json_int_t)n < json_integer_value(e))
		js_add(js, path, "too_short", "%s must have at least %lld "
		    "items", path, (long long)json_integer_value(e));
	if ((e = json_object_get(schema, "maxItems")) != NULL &&
	    json_is_integer(e) && (json_int_t)n > json_integer_value(e)) {
		js_add(js, path, "too_long", "%s must have at most %lld "
		    "items", path, (long long)json_integer_value(e));
		return;
	}
	sub = json_object_get(schema, "items");
	for (i = 0; sub != NULL && i < n; i++) {
		(void)snprintf(sub_path, sizeof(sub_path), "%s[%zu]", path,
		    i);
		js_walk(js, sub, json_array_get(value, i), sub_path,
		    depth + 1);
	}
}

/* required, then properties (others are ignored). */
static void
js_object(struct js *js, const json_t *schema, const json_t *value,
    const char *path, int depth)
{
	const json_t	*e, *sub, *req;
	const char	*key;
	json_t		*pv;
	char		 sub_path[JSCHEMA_PATH_MAX];
	size_t		 i;

	req = json_object_get(schema, "required");
	for (i = 0; json_is_array(req) && i < json_array_size(req); i++) {
		key = json_string_value(json_array_get(req, i));
		if (key == NULL)
			continue;
		pv = json_object_get(value, key);
		if (pv == NULL || json_is_null(pv)) {
			(void)snprintf(sub_path, sizeof(sub_path), "%s.%s",
			    path, key);
			js_add(js, sub_path, "missing", "%s is required",
			    sub_path);
		}
	}
	sub = json_object_get(schema, "properties");
	if (!json_is_object(sub))
		return;
	json_object_foreach((json_t *)(uintptr_t)value, key, pv) {
		e = json_object_get(sub, key);
		if (e == NULL)
			continue;
		/* An optional property may be null: "not given". */
		if (json_is_null(pv) && !js_type_is("null",
		    json_object_get(e, "type")))
			continue;
		(void)snprintf(sub_path, sizeof(sub_path), "%s.%s", path,
		    key);
		js_walk(js, e, pv, sub_path, depth + 1);
	}
}

static int
js_type_is(const char *name, const json_t *t)
{
	size_t		i;

	if (json_is_string(t))
		return (strcmp(json_string_value(t), name) == 0);
	for (i = 0; json_is_array(t) && i < json_array_size(t); i++)
		if (json_is_string(json_array_get(t, i)) &&
		    strcmp(json_string_value(json_array_get(t, i)), name) == 0)
			return (1);
	return (0);
}

static int
js_type_ok(const json_t *t, const json_t *value)
{
	if (!json_is_string(t) && !json_is_array(t))
		return (1);
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return (js_type_is("object", t));
	case JSON_ARRAY:
		return (js_type_is("array", t));
	case JSON_STRING:
		return (js_type_is("string", t));
	case JSON_INTEGER:
		return (js_type_is("integer", t) || js_type_is("number", t));
	case JSON_REAL:
		return (js_type_is("number", t));
	case JSON_TRUE:
	case JSON_FALSE:
		return (js_type_is("boolean", t));
	case JSON_NULL:
		return (js_type_is("null", t));
	}
	return (0);
}

/* "a string", "an object", or "one of string, null". */
static void
js_type_name(const json_t *t, char *buf, size_t len)
{
	size_t		i, o;
	const char	*s;

	if (json_is_string(t)) {
		s = json_string_value(t);
		(void)snprintf(buf, len, "%s %s", strchr("aeiou", s[0]) &&
		    s[0] != '\0' ? "an" : "a", s);
		return;
	}
	o = (size_t)snprintf(buf, len, "one of");
	for (i = 0; i < json_array_size(t) && o < len; i++) {
		s = json_string_value(json_array_get(t, i));
		o += (size_t)snprintf(buf + o, len - o, "%s %s",
		    i ? "," : "", s ? s : "?");
	}
}

static void
js_add(struct js *js, const char *field, const char *issue,
    const char *fmt, ...)
{
	char		msg[512];
	va_list		ap;

	if (++js->n > JSCHEMA_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	verr_add(js->v, field, issue, "%s", msg);
}
