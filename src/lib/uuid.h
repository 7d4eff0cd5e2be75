/*
 * UUID strings: shape check, parsing and random (version 4) generation.
 */
#ifndef ELENCHUS_UUID_H
#define ELENCHUS_UUID_H

/* Canonical text form 8-4-4-4-12, without the NUL. */
#define UUID_STRLEN		36

#include <stdint.h>

int	uuid_valid(const char *);
/* The 16 bytes of a UUID in text form (uuid_valid): 0, or -1. */
int	uuid_parse(const char *, uint8_t [16]);
int	uuid_generate(char [UUID_STRLEN + 1]);
/* 16 bytes in text form, NUL-terminated. */
void	uuid_format(const uint8_t [16], char [UUID_STRLEN + 1]);

#endif
