-- A version for each user's todos, for the list's page cache (src/todos.c,
-- src/lib/vcache.h): the counter rows of 014 gain ver, which every write
-- of a user's todos raises (by one a row inserted or updated, one a
-- statement that deletes), in the writing transaction.  The user's version
-- is the sum over the slots.
--
-- Two snapshots with the same sum see the same todos: the transactions a
-- snapshot sees only grow with time, each write adds at least one, and
-- nothing takes any away (a TRUNCATE raises the versions too; a user's
-- rows go only with the user).  So a worker that keeps a page with the
-- version read in the page's snapshot may answer with it again whenever
-- a later read of the version gives the same number.

ALTER TABLE todo_counts ADD COLUMN ver bigint NOT NULL DEFAULT 0;

-- Inserts are counted per row now: the API inserts one todo a statement,
-- and for one row a row trigger's upsert costs less than the statement
-- trigger's transition table and aggregate (pgbench, the create statement
-- for one user, 3 rounds alternated: 16 clients 7,200-8,400 tps with the
-- statement trigger, 7,500-8,800 per row; 64 clients 6,500-6,800 and
-- 6,400-8,000; 9,700-10,300 at 16 without counting).
-- Deletes stay per statement: an account purge or a bulk delete is one
-- upsert per user, not one per todo.
DROP TRIGGER todo_counts_insert ON todos;
DROP FUNCTION todo_counts_insert();

CREATE FUNCTION todo_counts_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO todo_counts AS c (user_id, slot, total, done, ver)
    VALUES (NEW.user_id, pg_backend_pid() % 64, 1, NEW.completed::int, 1)
    ON CONFLICT (user_id, slot) DO UPDATE
        SET total = c.total + 1, done = c.done + excluded.done,
            ver = c.ver + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER todo_counts_insert AFTER INSERT ON todos
    FOR EACH ROW EXECUTE FUNCTION todo_counts_insert();

CREATE OR REPLACE FUNCTION todo_counts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO todo_counts AS c (user_id, slot, total, done, ver)
    SELECT o.user_id, pg_backend_pid() % 64, -count(*),
           -count(*) FILTER (WHERE o.completed), 1
    FROM todos_old o
    WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id)
    GROUP BY o.user_id
    ON CONFLICT (user_id, slot) DO UPDATE
        SET total = c.total + excluded.total, done = c.done + excluded.done,
            ver = c.ver + 1;
    RETURN NULL;
END $$;

-- Updates raise the version too, every one of them now (a new title is
-- a new page as much as a completed todo is), per row as inserts: a
-- PATCH changes one todo (pgbench, a title change, 16 clients, 3 rounds
-- alternated: 7,000-8,800 tps before versions, when a title change
-- fired nothing; 5,500-7,200 per row; 5,000-5,600 per statement from
-- the transition tables), and a bulk change of 50 todos costs 3 ms per
-- row against 1.4 ms per statement.
DROP TRIGGER todo_counts_update ON todos;
DROP FUNCTION todo_counts_update();

CREATE FUNCTION todo_counts_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    s smallint := pg_backend_pid() % 64;
BEGIN
    IF OLD.user_id = NEW.user_id THEN
        INSERT INTO todo_counts AS c (user_id, slot, total, done, ver)
        VALUES (NEW.user_id, s, 0, NEW.completed::int - OLD.completed::int,
                1)
        ON CONFLICT (user_id, slot) DO UPDATE
            SET done = c.done + excluded.done, ver = c.ver + 1;
        RETURN NULL;
    END IF;
    -- Moved to another user: out of one, into the other, both raised
    -- (two rows of different users: the upsert touches each once).
    INSERT INTO todo_counts AS c (user_id, slot, total, done, ver)
    VALUES (OLD.user_id, s, -1, -OLD.completed::int, 1),
           (NEW.user_id, s, 1, NEW.completed::int, 1)
    ON CONFLICT (user_id, slot) DO UPDATE
        SET total = c.total + excluded.total,
            done = c.done + excluded.done, ver = c.ver + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER todo_counts_update AFTER UPDATE ON todos
    FOR EACH ROW EXECUTE FUNCTION todo_counts_update();

CREATE OR REPLACE FUNCTION todo_counts_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE todo_counts SET total = 0, done = 0, ver = ver + 1;
    RETURN NULL;
END $$;
