/*
 * A subset of JSON Schema for workflow inputs: type (object, array,
 * string, integer, number, boolean, null, or a list of them), required,
 * properties, enum, minLength / maxLength (code points), items,
 * minItems / maxItems, minimum / maximum.  Other keywords are ignored;
 * properties not listed are accepted.  Every violation is reported, not
 * only the first, under a path such as "input.parties[2].name".
 */
#ifndef JSCHEMA_H
#define JSCHEMA_H

#include <jansson.h>

#include "jsonx.h"

/* Deepest nesting of value checked; deeper values are refused. */
#define JSCHEMA_MAX_DEPTH	16
/* Longest field path reported, in bytes. */
#define JSCHEMA_PATH_MAX	256
/* Violations reported at most (the rest are summed up in one). */
#define JSCHEMA_MAX_ERRORS	50

/* Check value against schema; adds to v.  Returns the violations added. */
int	jschema_check(const json_t *schema, const json_t *value,
	    const char *path, struct verr *v);

#endif
