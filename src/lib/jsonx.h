/*
 * Bounded JSON input (jansson underneath) and the validation error list
 * that becomes details.fields in a 400 answer.
 */
#ifndef ELENCHUS_JSONX_H
#define ELENCHUS_JSONX_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define JSONX_MAX_DEPTH		32

enum jsonx_err {
	JSONX_OK = 0,
	JSONX_INVALID,		/* malformed JSON: invalid_json */
	JSONX_NOT_OBJECT,	/* valid JSON, but not an object */
	JSONX_TOO_DEEP,		/* nesting deeper than JSONX_MAX_DEPTH */
	JSONX_BAD_UTF8,		/* a string that is not valid UTF-8 */
	JSONX_EMPTY,		/* no body at all */
};

/* Field flags for the jsonx_get_* helpers. */
#define JF_REQUIRED	0x01	/* absent → missing */
#define JF_NULLABLE	0x02	/* JSON null accepted (out stays NULL) */
#define JF_NOTBLANK	0x04	/* a string of only whitespace → blank */

struct verr {
	json_t		*fields;	/* array of {field, issue, message} */
};

/*
 * Parse buf[0..len) into an object.  *out is a new reference the caller
 * must json_decref; on error *out is NULL and the code tells why.
 */
int		 jsonx_parse_object(const char *buf, size_t len, json_t **out);
void		 jsonx_wipe_on_free(void);
const char	*jsonx_err_message(int err);
int		 jsonx_depth_ok(const char *buf, size_t len, int max);

void		 verr_init(struct verr *v);
void		 verr_add(struct verr *v, const char *field, const char *issue,
		    const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
int		 verr_count(const struct verr *v);
json_t		*verr_take(struct verr *v);	/* caller owns the array */
void		 verr_clear(struct verr *v);

/*
 * Field readers: on a problem they add to v and return 0.  Strings are
 * borrowed from obj.  Lengths count Unicode code points.
 */
int	jsonx_get_str(json_t *obj, const char *key, int flags, size_t min,
	    size_t max, struct verr *v, const char **out);
int	jsonx_get_bool(json_t *obj, const char *key, int flags,
	    struct verr *v, int *out, int *present);
int	jsonx_get_int(json_t *obj, const char *key, int flags, int64_t min,
	    int64_t max, struct verr *v, int64_t *out, int *present);
int	jsonx_get_enum(json_t *obj, const char *key, int flags,
	    const char *const *allowed, struct verr *v, const char **out);
int	jsonx_get_object(json_t *obj, const char *key, int flags,
	    struct verr *v, json_t **out);

size_t	jsonx_codepoints(const char *s);

#endif
