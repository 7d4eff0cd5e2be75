/*
 * The module's configuration, read from the environment once in the
 * parent before the workers fork (src/elenchus.c); read-only afterwards.
 */
#ifndef ELENCHUS_CFG_H
#define ELENCHUS_CFG_H

#include "lib/config.h"

extern struct config	cfg;

#endif
