/*
 * sqlro.c: reads are told from statements that may wait for a row lock.
 */
#include <criterion/criterion.h>

#include "sqlro.h"

Test(sqlro, plain_selects_are_reads)
{
	cr_expect_eq(sql_readonly("SELECT id FROM todos WHERE id = $1"), 1);
	cr_expect_eq(sql_readonly("  select user_json(u) FROM users u"), 1);
	cr_expect_eq(sql_readonly("\n\tSELECT 1"), 1);
}

Test(sqlro, writes_and_locking_reads_are_not)
{
	cr_expect_eq(sql_readonly("INSERT INTO todos (title) VALUES ($1)"),
	    0);
	cr_expect_eq(sql_readonly("WITH d AS (DELETE FROM todos RETURNING id) "
	    "SELECT count(*) FROM d"), 0);
	cr_expect_eq(sql_readonly("WITH x AS (SELECT 1) SELECT * FROM x"), 0);
	cr_expect_eq(sql_readonly("SELECT id FROM jobs FOR UPDATE SKIP LOCKED"),
	    0);
	cr_expect_eq(sql_readonly("SELECT 1 FROM users FOR KEY SHARE"), 0);
	cr_expect_eq(sql_readonly("SELECT login_attempt($1, $2)"), 0);
	cr_expect_eq(sql_readonly("SELECT phone_code_issue($1)"), 0);
	cr_expect_eq(sql_readonly("SELECT llm_reserve($1, $2)"), 0);
	cr_expect_eq(sql_readonly("SELECTED"), 0);
	cr_expect_eq(sql_readonly(""), 0);
}
