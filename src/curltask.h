/*
 * Blocking libcurl work off the event loop: one Kore task per request,
 * curl's global state set up once per worker on the main thread.
 */
#ifndef ELENCHUS_CURLTASK_H
#define ELENCHUS_CURLTASK_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

void	curltask_global(void);
void	curltask_start(struct kore_task *, int (*)(struct kore_task *),
	    void (*)(struct kore_task *), struct http_request *);

#endif
