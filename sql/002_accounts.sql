-- Accounts and sessions (docs/API.md §2, §3).

CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE users (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Unique over live and soft-deleted rows: a soft-deleted user's
    -- email is freed only by an admin purge (docs/API.md §3).
    email             citext NOT NULL UNIQUE,
    password_hash     text NOT NULL,
    full_name         text NOT NULL,
    phone             text,
    phone_verified    boolean NOT NULL DEFAULT false,
    organization      text,
    role              text NOT NULL DEFAULT 'user',
    is_active         boolean NOT NULL DEFAULT true,
    is_superuser      boolean NOT NULL DEFAULT false,
    preferences       jsonb NOT NULL DEFAULT '{}',
    settings          jsonb NOT NULL DEFAULT '{}',
    token_quota_daily bigint CHECK (token_quota_daily >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    last_login        timestamptz,
    deleted_at        timestamptz
);

-- A session is one login on one device: the family of its rotating
-- refresh tokens.  Access tokens carry its id (sid).
CREATE TABLE sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    ip            text,
    user_agent    text,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX sessions_user ON sessions (user_id, created_at DESC);
CREATE INDEX sessions_revoked ON sessions (revoked_at)
    WHERE revoked_at IS NOT NULL;

-- Refresh tokens are stored only as SHA-256 hashes.  rotated_at is set
-- when the token is exchanged; presenting it again after the grace
-- period is reuse and revokes the session.
CREATE TABLE refresh_tokens (
    token_hash    text PRIMARY KEY,
    session_id    uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    rotated_at    timestamptz,
    replaced_by   text
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Every worker of every instance LISTENs here and drops the session from
-- its cache of live sessions at once (logout that bites everywhere).
CREATE FUNCTION sessions_notify_revoked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
        PERFORM pg_notify('session_revoked', NEW.id::text);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sessions_revoked_notify AFTER UPDATE OF revoked_at
    ON sessions FOR EACH ROW EXECUTE FUNCTION sessions_notify_revoked();

-- Audit rows outlive a purged user: no foreign key on user_id.
CREATE TABLE audit_events (
    id            bigserial PRIMARY KEY,
    user_id       uuid,
    event         text NOT NULL,
    ip            text,
    user_agent    text,
    details       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_user ON audit_events (user_id, created_at DESC);
CREATE INDEX audit_events_event ON audit_events (event, created_at DESC);

-- Failed logins by email (known or not, so lockout reveals nothing).
CREATE TABLE login_failures (
    email         citext NOT NULL,
    ip            text,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (email, at DESC);

-- Fixed-window counters shared by every worker and instance.  Unlogged:
-- no WAL on the hot path; a crash only forgets the current minute.
CREATE UNLOGGED TABLE rate_limits (
    key           text NOT NULL,
    window_start  timestamptz NOT NULL,
    count         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (key, window_start)
);

-- Phone verification codes, stored as keyed hashes.
CREATE TABLE phone_codes (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    phone         text NOT NULL,
    code_hash     text NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    expires_at    timestamptz NOT NULL,
    consumed_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX phone_codes_phone ON phone_codes (phone, created_at DESC);
CREATE INDEX phone_codes_user ON phone_codes (user_id, created_at DESC);
