/*
 * Blocking libcurl work off the event loop (src/curltask.h): the SMS and
 * mail senders run their transfer in a Kore task, the request asleep
 * until the task's callback wakes it.  curl_global_init is not thread
 * safe, so it runs here once per worker, on the main thread, before any
 * task or the LLM client's thread uses curl.
 */
#include <curl/curl.h>

#include "cfg.h"
#include "curltask.h"

static int	curltask_ready;

void
curltask_global(void)
{
	if (curltask_ready)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl_global_init failed");
	curltask_ready = 1;
}

void
curltask_start(struct kore_task *t, int (*run)(struct kore_task *),
    void (*done)(struct kore_task *), struct http_request *req)
{
	curltask_global();
	kore_task_create(t, run);
	kore_task_bind_callback(t, done);
	http_request_sleep(req);
	kore_task_run(t);
}
