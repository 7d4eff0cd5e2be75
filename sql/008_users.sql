-- Users, settings and phone verification (docs/API.md §2 phone, §3).
--
-- For other handlers: user_json(users) is THE user object of docs/API.md §3
-- (never a password hash); reuse it wherever a user is answered
-- (register, login, refresh, /auth/me), e.g.
--     SELECT user_json(u) FROM users u WHERE u.id = $1
-- or, from a CTE that RETURNING *'s a users row:  user_json(x::users).
-- user_admin_json adds what only admins see.

CREATE OR REPLACE FUNCTION user_json(u users) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', u.id,
        'email', u.email,
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

CREATE OR REPLACE FUNCTION user_admin_json(u users) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (user_json(u)::jsonb || jsonb_build_object(
        'token_quota_daily', u.token_quota_daily,
        'deleted_at', rfc3339(u.deleted_at)))::json
$$;

-- The settings document with a default for every field not stored.
CREATE OR REPLACE FUNCTION user_settings(s jsonb) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'language', coalesce(s->>'language', 'en'),
        'timezone', coalesce(s->>'timezone', 'UTC'),
        'theme', coalesce(s->>'theme', 'system'),
        'notifications', coalesce(s->'notifications', '{}'::jsonb),
        'privacy', json_build_object(
            'data_retention_days',
            coalesce((s->'privacy'->>'data_retention_days')::int, 365),
            'share_usage',
            coalesce((s->'privacy'->>'share_usage')::boolean, false)))
$$;

CREATE INDEX IF NOT EXISTS users_created ON users (created_at DESC, id);

-- Issue a phone code for user uid: at most max_n codes per phone in
-- win_s seconds and gap_s seconds between two, for every user together
-- (the limits protect the phone's owner).  The per-phone advisory lock
-- serialises concurrent requests, so the checks hold under load.
-- Returns retry_after 0 and the new code's id, or the seconds to wait.
-- The caller audits phone_code_sent once the provider took the SMS.
CREATE OR REPLACE FUNCTION phone_code_issue(uid uuid, p text, h text,
    ttl_s int, max_n int, win_s int, gap_s int,
    OUT retry_after int, OUT code_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    n       int;
    oldest  timestamptz;
    newest  timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('phone_code:' || p, 0));
    SELECT count(*), min(created_at), max(created_at)
      INTO n, oldest, newest
      FROM phone_codes
     WHERE phone = p AND created_at > now() - make_interval(secs => win_s);
    retry_after := 0;
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
    -- Only the newest code of a user counts: older ones stop working.
    UPDATE phone_codes SET consumed_at = now()
     WHERE user_id = uid AND consumed_at IS NULL;
    INSERT INTO phone_codes (user_id, phone, code_hash, expires_at)
    VALUES (uid, p, h, now() + make_interval(secs => ttl_s))
    RETURNING id INTO code_id;
END $$;

-- Check a code for user uid and phone p against hash h.  On a match the
-- code is spent and the phone becomes the user's verified phone; on a
-- mismatch attempts grows and the max_tries-th failure burns the code.
-- result: 'ok' | 'invalid' | 'expired' (no live code: none sent,
-- expired, burned or used).
CREATE OR REPLACE FUNCTION phone_code_check(uid uuid, p text, h text,
    max_tries int, aip text, aua text, adet jsonb,
    OUT result text, OUT tries_left int)
LANGUAGE plpgsql AS $$
DECLARE
    c   phone_codes;
BEGIN
    SELECT * INTO c FROM phone_codes
     WHERE user_id = uid AND phone = p AND consumed_at IS NULL
     ORDER BY created_at DESC LIMIT 1 FOR UPDATE;
    tries_left := 0;
    IF NOT FOUND OR c.expires_at <= now() OR c.attempts >= max_tries THEN
        result := 'expired';
        RETURN;
    END IF;
    IF c.code_hash <> h THEN
        UPDATE phone_codes SET attempts = attempts + 1,
            consumed_at = CASE WHEN attempts + 1 >= max_tries
                THEN now() END
         WHERE id = c.id;
        result := 'invalid';
        tries_left := max_tries - c.attempts - 1;
        RETURN;
    END IF;
    UPDATE phone_codes SET consumed_at = now() WHERE id = c.id;
    UPDATE users SET phone = p, phone_verified = true, updated_at = now()
     WHERE id = uid;
    INSERT INTO audit_events (user_id, event, ip, user_agent, details)
    VALUES (uid, 'phone_verified', aip, aua, adet);
    result := 'ok';
END $$;
