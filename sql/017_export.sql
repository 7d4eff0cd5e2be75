-- Data export (docs/API.md §3, GET /api/v1/users/me/export, src/export.c).
--
-- The export reads every section a page at a time by (created_at, id)
-- after the last row written.  EXPLAIN of those pages: todos, documents,
-- analyses, workflow runs and audit events are served by the indexes
-- they have (an index scan on (user_id, created_at [DESC] ...) that stops
-- after the page), messages by messages_conversation (conversation_id,
-- seq).  Conversations had only the partial index of the list (live
-- conversations, by last activity): a page of them was a sequential scan
-- of the table, hence this index.
CREATE INDEX conversations_user_created ON conversations
    (user_id, created_at, id);

-- Start an export for uid: at most max_n in any win_s seconds.  The
-- audit_events rows 'user.export' are the count (a sliding window that
-- outlives the minute windows of rate_limits); the per-user advisory
-- lock makes the check and the insert one step under concurrent
-- requests (each statement of a plpgsql function sees what committed
-- before it).  Returns 0 and records the event, or the seconds until the
-- oldest export of the window leaves it.
CREATE FUNCTION export_begin(uid uuid, p_ip text, p_ua text, max_n int,
    win_s int, OUT retry_after int)
LANGUAGE plpgsql AS $$
DECLARE
    n       int;
    oldest  timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('user.export'),
        hashtext(uid::text));
    SELECT count(*), min(created_at) INTO n, oldest FROM audit_events
     WHERE user_id = uid AND event = 'user.export'
       AND created_at > clock_timestamp() - make_interval(secs => win_s);
    IF n >= max_n THEN
        retry_after := greatest(1, ceil(extract(epoch FROM oldest +
            make_interval(secs => win_s) - clock_timestamp())))::int;
        RETURN;
    END IF;
    INSERT INTO audit_events (user_id, event, ip, user_agent, details)
    VALUES (uid, 'user.export', p_ip, p_ua,
            jsonb_build_object('format', 'json'));
    retry_after := 0;
END $$;
