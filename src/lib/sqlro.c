/*
 * Which statements can wait for a row lock: src/db.c pipelines the ones
 * that cannot and gives the others a connection of their own.
 */
#include <string.h>
#include <strings.h>

#include "sqlro.h"

/*
 * A plain SELECT: under MVCC it waits for no row lock (only for a DDL
 * lock).  Anything else may: INSERT, UPDATE, DELETE, a CTE that writes,
 * SELECT ... FOR UPDATE, and a SELECT of a function that writes (named
 * below; a name missing here costs speed under a lock, not correctness).
 */
int
sql_readonly(const char *query)
{
	static const char *const	writers[] = { "INSERT ", "UPDATE ",
	    "DELETE ", " FOR UPDATE", " FOR SHARE", " FOR NO KEY",
	    " FOR KEY", "nextval(", "pg_advisory",
	    /* The SQL functions that write (sql/), called by a SELECT. */
	    "login_attempt(", "llm_reserve(", "llm_usage_", "_code_issue(",
	    "_code_check(", "export_begin(", "job_outcome_count(", NULL };
	int				i;

	while (*query == ' ' || *query == '\n' || *query == '\t')
		query++;
	if (strncasecmp(query, "SELECT ", 7) != 0)
		return (0);
	for (i = 0; writers[i] != NULL; i++) {
		if (strstr(query, writers[i]) != NULL)
			return (0);
	}
	return (1);
}
