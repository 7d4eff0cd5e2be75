-- Hardening (issue 10).

-- A login attempt, recorded before the password is checked.  One email's
-- attempts are serialised by an advisory lock held to commit; each
-- statement below sees the attempts committed before it (PL/pgSQL takes
-- a snapshot per statement), so concurrent wrong passwords never get more
-- than p_threshold guesses.  The attempt stays as a failure unless the
-- login succeeds (which deletes the email's failures).
--   locked:  no attempt recorded; retry is the seconds left
--   reached: this attempt is the one that brought the count to the
--            threshold (its failure audits account_locked, once)
CREATE FUNCTION login_attempt(p_email citext, p_ip text, p_threshold int,
    p_window int, OUT locked boolean, OUT retry bigint,
    OUT reached boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n       bigint;
    oldest  timestamptz;
    newest  timestamptz;
    win     interval := make_interval(secs => p_window);
BEGIN
    PERFORM pg_advisory_xact_lock(1011, hashtext(lower(p_email::text)));
    SELECT count(*), min(at), max(at) INTO n, oldest, newest
      FROM (SELECT at FROM login_failures WHERE email = p_email
            ORDER BY at DESC LIMIT p_threshold) f;
    IF n >= p_threshold AND newest - oldest < win
       AND clock_timestamp() < newest + win THEN
        locked := true;
        reached := false;
        retry := ceil(extract(epoch FROM newest + win - clock_timestamp()));
        RETURN;
    END IF;
    INSERT INTO login_failures (email, ip, at)
        VALUES (p_email, p_ip, clock_timestamp());
    SELECT count(*), min(at), max(at) INTO n, oldest, newest
      FROM (SELECT at FROM login_failures WHERE email = p_email
            ORDER BY at DESC LIMIT p_threshold) f;
    locked := false;
    retry := 0;
    reached := n >= p_threshold AND newest - oldest < win;
END
$$;

-- A change of role or admin right, by any writer (the API, an admin, a
-- DBA with psql), ends the user's sessions like a deactivation does:
-- their tokens carry the old claims.  The revocation trigger on sessions
-- tells every worker.
CREATE OR REPLACE FUNCTION users_end_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NOT NEW.is_active AND OLD.is_active) OR
       (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL) THEN
        UPDATE sessions SET revoked_at = now(),
               revoke_reason = coalesce(revoke_reason, 'user_disabled')
         WHERE user_id = NEW.id AND revoked_at IS NULL;
    ELSIF NEW.is_superuser IS DISTINCT FROM OLD.is_superuser OR
          NEW.role IS DISTINCT FROM OLD.role THEN
        UPDATE sessions SET revoked_at = now(),
               revoke_reason = coalesce(revoke_reason, 'account_changed')
         WHERE user_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER users_end_sessions ON users;
CREATE TRIGGER users_end_sessions
    AFTER UPDATE OF is_active, deleted_at, is_superuser, role
    ON users FOR EACH ROW EXECUTE FUNCTION users_end_sessions();

-- Who rotated a refresh token (md5 of client ip and user agent): a
-- refresh inside the reuse grace window is honoured only for that client.
ALTER TABLE refresh_tokens ADD COLUMN rotated_client text;
