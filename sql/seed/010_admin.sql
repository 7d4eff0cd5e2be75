-- The first admin from ADMIN_EMAIL / ADMIN_PASSWORD (psql variables set
-- by scripts/migrate.sh).  Creates the account once; never overwrites a
-- password an admin has since changed.  bcrypt through pgcrypto ($2a$,
-- which libxcrypt verifies).
SELECT (:'admin_email' <> '' AND :'admin_password' <> '') AS seed_admin \gset
\if :seed_admin
INSERT INTO users (email, password_hash, full_name, role, is_superuser)
VALUES (:'admin_email',
        crypt(:'admin_password', gen_salt('bf', :bcrypt_cost)),
        'Administrator', 'admin', true)
ON CONFLICT (email) DO NOTHING;
\endif
