-- Auth extras (docs/API.md §2).  A session deleted while live (an admin purge
-- cascades from users) is announced on session_revoked like a revoked
-- one, so every worker's revocation cache drops it at once.
CREATE FUNCTION sessions_notify_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('session_revoked', OLD.id::text);
    RETURN OLD;
END $$;
CREATE TRIGGER sessions_deleted_notify AFTER DELETE ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL)
    EXECUTE FUNCTION sessions_notify_deleted();

-- Whoever deactivates or soft-deletes a user (the API, an admin, a DBA
-- with psql), their sessions end in the same transaction, and the
-- revocation trigger above tells every worker.
CREATE FUNCTION users_end_sessions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NOT NEW.is_active AND OLD.is_active) OR
       (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL) THEN
        UPDATE sessions SET revoked_at = now(),
               revoke_reason = coalesce(revoke_reason, 'user_disabled')
         WHERE user_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_end_sessions AFTER UPDATE OF is_active, deleted_at
    ON users FOR EACH ROW EXECUTE FUNCTION users_end_sessions();
