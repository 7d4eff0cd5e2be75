/*
 * Analytics (API.md §8).  analytics_init parses AI_PRICE_TABLE once, in
 * the parent, and exits with a message when it is malformed.
 */
#ifndef ELENCHUS_ANALYTICS_H
#define ELENCHUS_ANALYTICS_H

void	analytics_init(void);

#endif
