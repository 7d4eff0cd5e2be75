/*
 * A list of ids in a request body ({"ids": ["<uuid>", …]}), for the bulk
 * operations: checked, and written as one PostgreSQL uuid[] literal so
 * the whole list is a single statement parameter.  Pure code.
 */
#ifndef ELENCHUS_IDLIST_H
#define ELENCHUS_IDLIST_H

#include <stddef.h>

#include "jsonx.h"
#include "uuid.h"

/* At most this many ids per request. */
#define IDLIST_MAX		100
/* "{" + IDLIST_MAX ids with "," + "}" + NUL. */
#define IDLIST_TEXT_MAX		(IDLIST_MAX * (UUID_STRLEN + 1) + 3)

/*
 * The array under key in obj (required, 1..max UUID strings, max at
 * most IDLIST_MAX) as "{id,id,…}" (lower case) in out.  A problem is
 * added to v (field key, or key[i] for one element) and 0 returned;
 * otherwise the number of ids.  Duplicates are kept; the query folds
 * them.
 */
int	idlist_get(json_t *obj, const char *key, size_t max, struct verr *v,
	    char out[IDLIST_TEXT_MAX]);

#endif
