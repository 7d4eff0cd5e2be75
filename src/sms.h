/*
 * Sending one SMS: the console sender (a line on the server log) or
 * Twilio's Messages API, called with libcurl inside a Kore task so the
 * event loop never waits on the provider.
 */
#ifndef ELENCHUS_SMS_H
#define ELENCHUS_SMS_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "lib/phone.h"

#define SMS_BODY_MAX		320
#define SMS_ERR_MAX		256
#define SMS_SID_MAX		64
#define SMS_CONNECT_TIMEOUT_S	5
#define SMS_TIMEOUT_S		15
#define SMS_RESP_MAX		(64 * 1024)

enum sms_result {
	SMS_PENDING = 0,
	SMS_SENT,	/* accepted by the provider (or logged) */
	SMS_REJECTED,	/* the provider refused the number itself */
	SMS_FAILED,	/* transport error or any other provider error */
};

struct sms_job {
	struct kore_task	task;
	struct http_request	*req;	/* NULL once the request is gone */
	int			tasked;
	int			result;
	long			http_status;
	long			provider_code;
	char			to[PHONE_SIZE];
	char			body[SMS_BODY_MAX];
	char			sid[SMS_SID_MAX];
	char			err[SMS_ERR_MAX];
};

/*
 * Start sending body to the E.164 number to for req.  The job belongs to
 * the caller until sms_release; while sms_done is false the handler
 * returns KORE_RESULT_RETRY (the request sleeps and is woken when the
 * provider answered).
 */
struct sms_job	*sms_start(struct http_request *, const char *,
		    const char *);
int		 sms_done(struct sms_job *);
/* Release a job: now if it finished, else when its task ends. */
void		 sms_release(struct sms_job *);
/* Log a failed job as a JSON line: number masked, request id. */
void		 sms_log_failure(struct sms_job *, const char *, const char *);
/* The provider's name as configured: "console" or "twilio". */
const char	*sms_provider(void);

#endif
