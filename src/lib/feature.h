/*
 * Feature toggles: FEATURE_<NAME>=on|off in the environment switches a
 * whole area of the API on or off.  A switched-off area answers 404
 * feature_disabled on every route it owns.  Which routes an area owns
 * follows from the route's path template, so a route added later to an
 * area is gated without being listed anywhere.  Pure code.
 */
#ifndef ELENCHUS_FEATURE_H
#define ELENCHUS_FEATURE_H

enum feature {
	FEATURE_REGISTRATION = 0,
	FEATURE_PHONE_VERIFICATION,
	FEATURE_TODOS,
	FEATURE_CHAT,
	FEATURE_DOCUMENTS,
	FEATURE_WORKFLOWS,
	FEATURE_ANALYTICS,
	FEATURE_COUNT
};

#define FEATURE_BIT(f)		(1u << (f))
#define FEATURE_ALL		((1u << FEATURE_COUNT) - 1)

enum feature_err {
	FEATURE_OK = 0,
	FEATURE_BAD_VALUE,
};

/* "documents", and the variable that switches it: "FEATURE_DOCUMENTS". */
const char	*feature_name(int);
const char	*feature_env(int);

/* on|off, true|false, yes|no, 1|0, enabled|disabled (any case). */
int		 feature_switch(const char *, int *);

/*
 * The set of enabled features from the environment through env (every
 * feature is on unless its variable says off).  On error, *what names
 * the variable at fault.
 */
int		 feature_load(unsigned int *,
		    const char *(*)(const char *), const char **);

/*
 * The features a route needs, from its path template
 * ("/api/v1/chat/conversations/{conversation_id}/documents" needs chat
 * and documents); 0 for a route no toggle gates.
 */
unsigned int	 feature_route_mask(const char *);

#endif
