/*
 * Usernames: the one place their syntax is decided.  A username is an
 * optional public handle, unique without regard to case (the database
 * enforces that; see sql/015_accounts.sql).
 */
#ifndef ELENCHUS_USERNAME_H
#define ELENCHUS_USERNAME_H

#define USERNAME_MIN		3
#define USERNAME_MAX		30

/*
 * NULL when s is a valid username: USERNAME_MIN to USERNAME_MAX ASCII
 * letters, digits, '_', '.' and '-', starting with a letter, ending with
 * a letter or a digit, no two punctuation marks in a row, and not a
 * reserved name.  Otherwise the issue code ("too_short", "too_long",
 * "invalid", "reserved"), with a sentence for people in *msg.
 */
const char	*username_check(const char *s, const char **msg);

#endif
