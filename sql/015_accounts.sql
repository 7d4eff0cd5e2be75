-- Accounts, continued (README "Accounts and sessions"): an optional
-- username, one verified phone per active account, email verification.

-- A handle unique without regard to case (citext), like the email over
-- live and soft-deleted rows: an admin purge frees it.  Its syntax is
-- checked in one place, src/lib/username.c.
ALTER TABLE users ADD COLUMN username citext;
ALTER TABLE users ADD CONSTRAINT users_username_key UNIQUE (username);

-- Accounts created before verification existed start unverified.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

-- A phone number is the verified phone of one active account at most.
-- Where the past allowed more, the oldest account keeps it.
UPDATE users u SET phone_verified = false
 WHERE u.phone_verified AND u.is_active AND u.deleted_at IS NULL
   AND EXISTS (SELECT 1 FROM users o WHERE o.phone = u.phone
       AND o.phone_verified AND o.is_active AND o.deleted_at IS NULL
       AND (o.created_at, o.id) < (u.created_at, u.id));
CREATE UNIQUE INDEX users_phone_verified ON users (phone)
    WHERE phone_verified AND is_active AND deleted_at IS NULL;

-- An account coming back (reactivated) while another active account has
-- verified its phone in the meantime loses the verification instead of
-- failing the update.
CREATE FUNCTION users_phone_release() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.phone_verified AND NEW.is_active AND NEW.deleted_at IS NULL
       AND NOT (OLD.is_active AND OLD.deleted_at IS NULL)
       AND EXISTS (SELECT 1 FROM users o WHERE o.phone = NEW.phone
           AND o.id <> NEW.id AND o.phone_verified AND o.is_active
           AND o.deleted_at IS NULL) THEN
        NEW.phone_verified := false;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_phone_release BEFORE UPDATE OF is_active, deleted_at
    ON users FOR EACH ROW EXECUTE FUNCTION users_phone_release();

-- The user object (API.md §3) gains username and email_verified; the C
-- twin is AUTH_USER_JSON in src/auth.h.
CREATE OR REPLACE FUNCTION user_json(u users) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', u.id,
        'email', u.email,
        'email_verified', u.email_verified,
        'username', u.username,
        'full_name', u.full_name,
        'phone', u.phone,
        'phone_verified', u.phone_verified,
        'organization', u.organization,
        'role', u.role,
        'is_active', u.is_active,
        'is_superuser', u.is_superuser,
        'preferences', u.preferences,
        'created_at', rfc3339(u.created_at),
        'updated_at', rfc3339(u.updated_at),
        'last_login', rfc3339(u.last_login))
$$;

-- Email verification codes: the phone codes' rules (src/vcode.h), keyed
-- hashes bound to the address they were sent to.
CREATE TABLE email_codes (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email         citext NOT NULL,
    code_hash     text NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    expires_at    timestamptz NOT NULL,
    consumed_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_codes_email ON email_codes (email, created_at DESC);
CREATE INDEX email_codes_user ON email_codes (user_id, created_at DESC);

-- Issue a code for user uid at its current address: at most max_n codes
-- per address in win_s seconds and gap_s seconds apart (serialised per
-- address by an advisory lock).  retry_after 0 and the code's id and
-- address, or the seconds to wait.  verified: nothing to do (no code).
CREATE FUNCTION email_code_issue(uid uuid, h text, ttl_s int, max_n int,
    win_s int, gap_s int, OUT retry_after int, OUT code_id uuid,
    OUT address text, OUT verified boolean)
LANGUAGE plpgsql AS $$
DECLARE
    n       int;
    oldest  timestamptz;
    newest  timestamptz;
BEGIN
    retry_after := 0;
    SELECT email, email_verified INTO address, verified FROM users
     WHERE id = uid AND deleted_at IS NULL;
    IF NOT FOUND OR verified THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(
        'email_code:' || lower(address), 0));
    SELECT count(*), min(created_at), max(created_at)
      INTO n, oldest, newest
      FROM email_codes
     WHERE email = address AND created_at > now() - make_interval(secs => win_s);
    IF n >= max_n THEN
        retry_after := ceil(extract(epoch FROM
            oldest + make_interval(secs => win_s) - now()))::int;
    ELSIF newest IS NOT NULL AND
          newest > now() - make_interval(secs => gap_s) THEN
        retry_after := ceil(extract(epoch FROM
            newest + make_interval(secs => gap_s) - now()))::int;
    END IF;
    IF retry_after > 0 THEN
        RETURN;
    END IF;
    retry_after := 0;
    UPDATE email_codes SET consumed_at = now()
     WHERE user_id = uid AND consumed_at IS NULL;
    INSERT INTO email_codes (user_id, email, code_hash, expires_at)
    VALUES (uid, address, h, now() + make_interval(secs => ttl_s))
    RETURNING id INTO code_id;
END $$;

-- Check hash h (of the code bound to the user's current address) for
-- user uid.  result: 'ok' (the address is now verified, audited),
-- 'invalid' (tries_left more), 'expired' (no live code), 'verified'
-- (already verified).
CREATE FUNCTION email_code_check(uid uuid, h text, max_tries int,
    aip text, aua text, OUT result text, OUT tries_left int)
LANGUAGE plpgsql AS $$
DECLARE
    c   email_codes;
    u   users;
BEGIN
    tries_left := 0;
    SELECT * INTO u FROM users WHERE id = uid AND deleted_at IS NULL;
    IF NOT FOUND THEN
        result := 'expired';
        RETURN;
    END IF;
    IF u.email_verified THEN
        result := 'verified';
        RETURN;
    END IF;
    SELECT * INTO c FROM email_codes
     WHERE user_id = uid AND email = u.email AND consumed_at IS NULL
     ORDER BY created_at DESC LIMIT 1 FOR UPDATE;
    IF NOT FOUND OR c.expires_at <= now() OR c.attempts >= max_tries THEN
        result := 'expired';
        RETURN;
    END IF;
    IF c.code_hash <> h THEN
        UPDATE email_codes SET attempts = attempts + 1,
            consumed_at = CASE WHEN attempts + 1 >= max_tries
                THEN now() END
         WHERE id = c.id;
        result := 'invalid';
        tries_left := max_tries - c.attempts - 1;
        RETURN;
    END IF;
    UPDATE email_codes SET consumed_at = now() WHERE id = c.id;
    UPDATE users SET email_verified = true, updated_at = now()
     WHERE id = uid;
    INSERT INTO audit_events (user_id, event, ip, user_agent, details)
    VALUES (uid, 'email_verified', aip, aua,
            jsonb_build_object('email', u.email::text));
    result := 'ok';
END $$;
