/*
 * Reading a query's answer (db.h): whether it came, rows and values,
 * the binary forms of db_start_rbin, and why it failed.
 */
#include <string.h>

#include "db.h"

#include "lib/uuid.h"

/* busy lasts from the start until the owner has seen the outcome. */
int
db_poll(struct http_request *req, struct dbq *q)
{
	(void)req;
	if (q->busy && q->outcome == 0)
		return (DB_WAIT);
	q->busy = 0;
	return (q->outcome != 0 ? q->outcome : DB_FAIL);
}

int
db_rows(const struct dbq *q)
{
	return (q->res ? PQntuples(q->res) : 0);
}

const char *
db_val(const struct dbq *q, int row, int col)
{
	if (q->res == NULL || PQgetisnull(q->res, row, col))
		return (NULL);
	return (PQgetvalue(q->res, row, col));
}

int
db_len(const struct dbq *q, int row, int col)
{
	return (q->res ? PQgetlength(q->res, row, col) : 0);
}

int
db_isnull(const struct dbq *q, int row, int col)
{
	return (q->res == NULL || PQgetisnull(q->res, row, col));
}

/* Big-endian 8 bytes (int8, timestamptz); 0 when NULL or not 8 bytes. */
int64_t
db_int8(const struct dbq *q, int row, int col)
{
	const unsigned char	*p;
	u_int64_t		 v;
	int			 i;

	if (db_isnull(q, row, col) || db_len(q, row, col) != 8)
		return (0);
	p = (const unsigned char *)PQgetvalue(q->res, row, col);
	for (v = 0, i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return ((int64_t)v);
}

int
db_bool(const struct dbq *q, int row, int col)
{
	return (!db_isnull(q, row, col) && db_len(q, row, col) == 1 &&
	    PQgetvalue(q->res, row, col)[0] != 0);
}

int
db_uuid(const struct dbq *q, int row, int col, char out[37])
{
	out[0] = '\0';
	if (db_isnull(q, row, col) || db_len(q, row, col) != 16)
		return (0);
	uuid_format((const uint8_t *)PQgetvalue(q->res, row, col), out);
	return (1);
}

int
db_unavailable(const struct dbq *q)
{
	return (q->lost);
}

int
db_sqlstate_is(const struct dbq *q, const char *state)
{
	return (!strcmp(q->sqlstate, state));
}

int
db_constraint_is(const struct dbq *q, const char *name)
{
	return (!strcmp(q->constraint, name));
}
