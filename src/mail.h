/*
 * Sending one email: the console sender (a JSON line on the server log)
 * or SMTP through libcurl inside a Kore task, so the event loop never
 * waits on the mail server.  The shape of src/sms.h.
 */
#ifndef ELENCHUS_MAIL_H
#define ELENCHUS_MAIL_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#define MAIL_ADDR_MAX		256
#define MAIL_SUBJECT_MAX	128
#define MAIL_BODY_MAX		2048
#define MAIL_ERR_MAX		256
#define MAIL_CONNECT_TIMEOUT_S	5
#define MAIL_TIMEOUT_S		20

enum mail_result {
	MAIL_PENDING = 0,
	MAIL_SENT,	/* accepted by the mail server (or logged) */
	MAIL_REJECTED,	/* the server refused the recipient for good (5xx) */
	MAIL_FAILED,	/* transport error, temporary refusal, any other */
};

struct mail_job {
	struct kore_task	task;
	struct http_request	*req;	/* NULL once the request is gone */
	int			tasked;
	int			result;
	long			smtp_code;	/* the server's last reply */
	char			to[MAIL_ADDR_MAX];
	char			subject[MAIL_SUBJECT_MAX];
	char			*msg;	/* the RFC 5322 message (kore) */
	size_t			len;
	size_t			off;	/* read by curl, in the task */
	char			err[MAIL_ERR_MAX];
};

/*
 * Start sending a plain-text message (subject, body) to the address to
 * for req.  The job belongs to the caller until mail_release; while
 * mail_done is false the handler returns KORE_RESULT_RETRY.
 */
struct mail_job	*mail_start(struct http_request *, const char *,
		    const char *, const char *);
int		 mail_done(struct mail_job *);
/* Release a job: now if it finished, else when its task ends. */
void		 mail_release(struct mail_job *);
/* Log a failed job as a JSON line: request id, SMTP reply, no secret. */
void		 mail_log_failure(struct mail_job *, const char *);
/* The sender as configured: "console" or "smtp". */
const char	*mail_provider(void);
/* 1 when addr can go into an envelope and a header line as is. */
int		 mail_addr_ok(const char *);

#endif
