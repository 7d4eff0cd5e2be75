/*
 * Passwords.  The policy is docs/API.md section 2: 8 to 128 code points, a
 * letter and a digit, not the email (nor its local part), not a common
 * password.  Hashing is bcrypt ($2b$) through libxcrypt's re-entrant
 * calls, so it is safe from task threads; it is slow on purpose and must
 * never run on a worker's event loop.
 *
 * bcrypt uses at most the first 72 bytes of a password.  We hand it
 * exactly those bytes: the hash is the one any bcrypt implementation
 * computes for the full password, and a 128-character password of 4-byte
 * code points stays under libxcrypt's 512-byte passphrase limit.
 */

#include <sys/types.h>

#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "passwd.h"
#include "passwd_common.h"
#include "utf8.h"

/* Longest byte string that can still be PASSWD_MAX_CHARS code points. */
#define PASSWD_MAX_BYTES	(PASSWD_MAX_CHARS * 4)
/* Random bytes crypt_gensalt_rn wants for a bcrypt salt. */
#define PASSWD_SALT_BYTES	16
/* Random bytes behind the dummy hash's password. */
#define PASSWD_DUMMY_BYTES	32

static int	passwd_has_letter_digit(const char *, size_t, int *, int *);
static int	passwd_is_letter(unsigned int);
static int	passwd_casecmp(const char *, size_t, const char *, size_t);
static int	passwd_same_as_email(const char *, size_t, const char *);
static int	passwd_bcrypt_shape(const char *);
static char	*passwd_crypt(const char *, const char *, struct crypt_data *);

static const struct {
	int		 issue;
	const char	*code;
	const char	*message;
} passwd_issues[] = {
	{ PASSWD_ISSUE_TOO_SHORT, "too_short",
	    "must be at least 8 characters" },
	{ PASSWD_ISSUE_TOO_LONG, "too_long",
	    "must be at most 128 characters" },
	{ PASSWD_ISSUE_NEEDS_LETTER, "needs_letter",
	    "must contain a letter" },
	{ PASSWD_ISSUE_NEEDS_DIGIT, "needs_digit",
	    "must contain a digit" },
	{ PASSWD_ISSUE_SAME_AS_EMAIL, "same_as_email",
	    "must not be the email address" },
	{ PASSWD_ISSUE_TOO_COMMON, "too_common",
	    "is too common" },
	{ PASSWD_ISSUE_INVALID_UTF8, "invalid_utf8",
	    "must be valid UTF-8" },
};

/*
 * Letters beyond ASCII, as code point ranges: the main alphabetic and
 * ideographic blocks.  An approximation of Unicode's Alphabetic property
 * that is good enough to tell an accented or Cyrillic password from
 * "12345678".
 */
static const struct {
	unsigned int	lo, hi;
} passwd_letters[] = {
	{ 0x00c0, 0x00d6 }, { 0x00d8, 0x00f6 }, { 0x00f8, 0x02af },
	{ 0x0370, 0x03ff }, { 0x0400, 0x052f }, { 0x0531, 0x0587 },
	{ 0x05d0, 0x05ea }, { 0x0620, 0x064a }, { 0x0671, 0x06d3 },
	{ 0x0904, 0x0939 }, { 0x0e01, 0x0e30 }, { 0x10a0, 0x10ff },
	{ 0x1100, 0x11ff }, { 0x1e00, 0x1fff }, { 0x3041, 0x3096 },
	{ 0x30a1, 0x30fa }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
	{ 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0x20000, 0x2ffff },
};

static pthread_mutex_t	passwd_dummy_lock = PTHREAD_MUTEX_INITIALIZER;
/* One dummy per cost, written once under the lock, then read-only. */
static char		passwd_dummy[PASSWD_COST_MAX + 1][PASSWD_HASH_SIZE];

/*
 * Checks pw against the policy; email (may be NULL) is the account's
 * address.  Sets *issues to the mask of every PASSWD_ISSUE_* that applies
 * (0 when none) and returns 1 when pw is acceptable, 0 when it is not.
 * Invalid UTF-8 is reported alone, since nothing else can be judged.
 */
int
passwd_policy(const char *pw, const char *email, int *issues)
{
	size_t		len;
	ssize_t		chars;
	int		letter, digit;

	*issues = 0;
	if (pw == NULL) {
		*issues = PASSWD_ISSUE_TOO_SHORT;
		return (0);
	}

	/* More bytes than 128 4-byte code points: too long, stop reading. */
	if ((len = strnlen(pw, PASSWD_MAX_BYTES + 1)) > PASSWD_MAX_BYTES) {
		*issues = PASSWD_ISSUE_TOO_LONG;
		return (0);
	}

	if ((chars = utf8_codepoints(pw, len)) < 0) {
		*issues = PASSWD_ISSUE_INVALID_UTF8;
		return (0);
	}

	if (chars < PASSWD_MIN_CHARS)
		*issues |= PASSWD_ISSUE_TOO_SHORT;
	if (chars > PASSWD_MAX_CHARS)
		*issues |= PASSWD_ISSUE_TOO_LONG;

	(void)passwd_has_letter_digit(pw, len, &letter, &digit);
	if (!letter)
		*issues |= PASSWD_ISSUE_NEEDS_LETTER;
	if (!digit)
		*issues |= PASSWD_ISSUE_NEEDS_DIGIT;

	if (email != NULL && passwd_same_as_email(pw, len, email))
		*issues |= PASSWD_ISSUE_SAME_AS_EMAIL;
	if (passwd_is_common(pw))
		*issues |= PASSWD_ISSUE_TOO_COMMON;

	return (*issues == 0);
}

/*
 * Returns 1 when pw is on the common-password list, compared without
 * regard to ASCII case.
 */
int
passwd_is_common(const char *pw)
{
	size_t		lo, hi, mid, len;
	int		cmp;

	if (pw == NULL)
		return (0);

	len = strlen(pw);
	lo = 0;
	hi = sizeof(passwd_common) / sizeof(passwd_common[0]);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = passwd_casecmp(pw, len, passwd_common[mid],
		    strlen(passwd_common[mid]));
		if (cmp == 0)
			return (1);
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}

	return (0);
}

/*
 * Returns the API issue code ("too_short" ...) of one PASSWD_ISSUE_* bit,
 * or NULL for anything else.  The string is static.
 */
const char *
passwd_issue_code(int issue)
{
	size_t		i;

	for (i = 0; i < sizeof(passwd_issues) / sizeof(passwd_issues[0]); i++) {
		if (passwd_issues[i].issue == issue)
			return (passwd_issues[i].code);
	}

	return (NULL);
}

/*
 * Returns a human message ("must contain a digit") for one PASSWD_ISSUE_*
 * bit, or NULL.  The string is static.
 */
const char *
passwd_issue_message(int issue)
{
	size_t		i;

	for (i = 0; i < sizeof(passwd_issues) / sizeof(passwd_issues[0]); i++) {
		if (passwd_issues[i].issue == issue)
			return (passwd_issues[i].message);
	}

	return (NULL);
}

/*
 * Hashes pw with bcrypt ($2b$) at the given cost and a fresh random salt
 * into out (outlen >= PASSWD_HASH_SIZE), NUL-terminated.  Thread-safe.
 * Returns 0, or -1 on a bad argument or a library failure (out is then an
 * empty string if outlen > 0).  The caller owns out.
 */
int
passwd_hash(const char *pw, int cost, char *out, size_t outlen)
{
	struct crypt_data	*cd;
	unsigned char		 rnd[PASSWD_SALT_BYTES];
	char			 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h;
	int			 ret;

	if (outlen > 0)
		out[0] = '\0';
	if (pw == NULL || cost < PASSWD_COST_MIN || cost > PASSWD_COST_MAX ||
	    outlen < PASSWD_HASH_SIZE)
		return (-1);

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return (-1);
	h = crypt_gensalt_rn("$2b$", (unsigned long)cost, (const char *)rnd,
	    sizeof(rnd), setting, sizeof(setting));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (h == NULL)
		return (-1);

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return (-1);

	ret = -1;
	h = passwd_crypt(pw, setting, cd);
	if (h != NULL && h[0] != '*' &&
	    strnlen(h, PASSWD_HASH_SIZE) == PASSWD_HASH_LEN) {
		memcpy(out, h, PASSWD_HASH_SIZE);
		ret = 0;
	}

	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return (ret);
}

/*
 * Returns 1 when pw matches hash (a bcrypt hash: $2a$, $2b$ or $2y$), 0
 * otherwise, including for NULLs and anything that is not a bcrypt hash.
 * The final comparison is constant-time.  Thread-safe.
 */
int
passwd_verify(const char *pw, const char *hash)
{
	struct crypt_data	*cd;
	const char		*h;
	int			 ok;

	if (pw == NULL || !passwd_bcrypt_shape(hash))
		return (0);
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return (0);

	ok = 0;
	h = passwd_crypt(pw, hash, cd);
	if (h != NULL && strnlen(h, PASSWD_HASH_SIZE) == PASSWD_HASH_LEN &&
	    CRYPTO_memcmp(h, hash, PASSWD_HASH_LEN) == 0)
		ok = 1;

	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return (ok);
}

/*
 * Returns the cost of a bcrypt hash, or -1 when hash is not one; lets a
 * login re-hash a password whose cost is below the configured one.
 */
int
passwd_hash_cost(const char *hash)
{
	if (!passwd_bcrypt_shape(hash))
		return (-1);

	return ((hash[4] - '0') * 10 + (hash[5] - '0'));
}

/*
 * Returns a bcrypt hash of a random, never-stored password at the given
 * cost, made on first use for that cost and the same ever after.  A login
 * for an unknown email verifies against it so that it costs the same time
 * as a wrong password.  The string is static and must not be freed;
 * returns NULL on a bad cost or a library failure.  Thread-safe.
 */
const char *
passwd_dummy_hash(int cost)
{
	unsigned char	 rnd[PASSWD_DUMMY_BYTES];
	char		 pw[PASSWD_DUMMY_BYTES * 2 + 1];
	const char	*ret;
	size_t		 i;

	if (cost < PASSWD_COST_MIN || cost > PASSWD_COST_MAX)
		return (NULL);

	ret = NULL;
	if (pthread_mutex_lock(&passwd_dummy_lock) != 0)
		return (NULL);

	if (passwd_dummy[cost][0] != '\0') {
		ret = passwd_dummy[cost];
		goto out;
	}

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	for (i = 0; i < sizeof(rnd); i++) {
		pw[i * 2] = "0123456789abcdef"[rnd[i] >> 4];
		pw[i * 2 + 1] = "0123456789abcdef"[rnd[i] & 0x0f];
	}
	pw[sizeof(pw) - 1] = '\0';

	if (passwd_hash(pw, cost, passwd_dummy[cost],
	    sizeof(passwd_dummy[cost])) == 0)
		ret = passwd_dummy[cost];

	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(pw, sizeof(pw));

out:
	(void)pthread_mutex_unlock(&passwd_dummy_lock);
	return (ret);
}

/* Finds whether the len bytes of valid UTF-8 at pw hold a letter, a digit. */
static int
passwd_has_letter_digit(const char *pw, size_t len, int *letter, int *digit)
{
	size_t		off, n;
	unsigned int	cp;

	*letter = *digit = 0;
	for (off = 0; off < len; off += n) {
		if ((n = utf8_decode(pw + off, len - off, &cp)) == 0)
			return (-1);
		if (cp >= '0' && cp <= '9')
			*digit = 1;
		else if (passwd_is_letter(cp))
			*letter = 1;
	}

	return (0);
}

static int
passwd_is_letter(unsigned int cp)
{
	size_t		i;

	if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
		return (1);

	for (i = 0; i < sizeof(passwd_letters) / sizeof(passwd_letters[0]);
	    i++) {
		if (cp >= passwd_letters[i].lo && cp <= passwd_letters[i].hi)
			return (1);
	}

	return (0);
}

/*
 * Compares a (alen bytes) with b (blen bytes) byte by byte after folding
 * ASCII upper case to lower case; locale-free on purpose.
 */
static int
passwd_casecmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t		i;
	unsigned char	ca, cb;

	for (i = 0; i < alen && i < blen; i++) {
		ca = (unsigned char)a[i];
		cb = (unsigned char)b[i];
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return (ca < cb ? -1 : 1);
	}

	if (alen == blen)
		return (0);
	return (alen < blen ? -1 : 1);
}

static int
passwd_same_as_email(const char *pw, size_t len, const char *email)
{
	size_t		elen, at;

	elen = strnlen(email, PASSWD_MAX_BYTES + 1);
	if (elen == 0 || elen > PASSWD_MAX_BYTES)
		return (0);

	if (passwd_casecmp(pw, len, email, elen) == 0)
		return (1);

	/* A quoted local part may hold '@': the domain follows the last. */
	for (at = elen; at > 0 && email[at - 1] != '@'; at--)
		;
	if (at > 1 && passwd_casecmp(pw, len, email, at - 1) == 0)
		return (1);

	return (0);
}

/* Returns 1 when s looks like a bcrypt hash: $2[aby]$NN$ + 53 chars. */
static int
passwd_bcrypt_shape(const char *s)
{
	if (s == NULL || strnlen(s, PASSWD_HASH_SIZE) != PASSWD_HASH_LEN)
		return (0);
	if (s[0] != '$' || s[1] != '2' ||
	    (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') || s[3] != '$')
		return (0);
	if (s[4] < '0' || s[4] > '3' || s[5] < '0' || s[5] > '9' ||
	    s[6] != '$')
		return (0);

	return ((s[4] - '0') * 10 + (s[5] - '0') >= PASSWD_COST_MIN &&
	    (s[4] - '0') * 10 + (s[5] - '0') <= PASSWD_COST_MAX);
}

/*
 * Runs crypt_rn on at most the first PASSWD_BCRYPT_MAX_BYTES of pw.  The
 * result lives in cd, which the caller owns and wipes.
 */
static char *
passwd_crypt(const char *pw, const char *setting, struct crypt_data *cd)
{
	char		phrase[PASSWD_BCRYPT_MAX_BYTES + 1];
	char		*h;
	size_t		len;

	len = strnlen(pw, PASSWD_BCRYPT_MAX_BYTES);
	memcpy(phrase, pw, len);
	phrase[len] = '\0';

	h = crypt_rn(phrase, setting, cd, sizeof(*cd));
	OPENSSL_cleanse(phrase, sizeof(phrase));

	return (h);
}
