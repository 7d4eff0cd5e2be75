/*
 * Statement kinds for src/db.c.
 */
#ifndef ELENCHUS_SQLRO_H
#define ELENCHUS_SQLRO_H

/* 1: a plain SELECT, which waits for no row lock; 0: anything else. */
int	sql_readonly(const char *);

#endif
