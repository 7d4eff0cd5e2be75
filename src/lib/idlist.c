/*
 * Bulk id lists: a JSON array of UUIDs into a PostgreSQL array literal.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "idlist.h"

int
idlist_get(json_t *obj, const char *key, size_t max, struct verr *v,
    char out[IDLIST_TEXT_MAX])
{
	json_t		*arr, *el;
	const char	*s;
	char		 field[64];
	size_t		 i, j, off, bad;

	out[0] = '\0';
	if (max > IDLIST_MAX)
		max = IDLIST_MAX;
	if ((arr = json_object_get(obj, key)) == NULL) {
		verr_add(v, key, "missing", "%s is required", key);
		return (0);
	}
	if (!json_is_array(arr)) {
		verr_add(v, key, "wrong_type", "%s must be an array of ids",
		    key);
		return (0);
	}
	if (json_array_size(arr) == 0) {
		verr_add(v, key, "too_short", "%s must name at least one id",
		    key);
		return (0);
	}
	if (json_array_size(arr) > max) {
		verr_add(v, key, "too_long", "%s holds at most %zu ids", key,
		    max);
		return (0);
	}

	bad = 0;
	off = 0;
	out[off++] = '{';
	json_array_foreach(arr, i, el) {
		s = json_string_value(el);
		if (s == NULL || !uuid_valid(s)) {
			(void)snprintf(field, sizeof(field), "%s[%zu]", key, i);
			verr_add(v, field, "invalid", "%s must be a UUID",
			    field);
			bad++;
			continue;
		}
		if (i > 0)
			out[off++] = ',';
		for (j = 0; j < UUID_STRLEN; j++)
			out[off++] = (char)tolower((unsigned char)s[j]);
	}
	out[off++] = '}';
	out[off] = '\0';
	if (bad > 0) {
		out[0] = '\0';
		return (0);
	}
	return ((int)json_array_size(arr));
}
