/*
 * UUID strings: shape check and random (version 4) generation.
 */
#ifndef ELENCHUS_UUID_H
#define ELENCHUS_UUID_H

/* Canonical text form 8-4-4-4-12, without the NUL. */
#define UUID_STRLEN		36

int	uuid_valid(const char *);
int	uuid_generate(char [UUID_STRLEN + 1]);

#endif
