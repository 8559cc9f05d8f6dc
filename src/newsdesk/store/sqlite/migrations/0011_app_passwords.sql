-- App passwords: what a reader app (Google Reader API clients) logs in with instead of the
-- login password, one per app, each revocable. Stored as SHA-256 (hex) like API tokens: the
-- password itself (ClientLogin) and the Auth token derived from it (`accounts.app_auth_token`,
-- what the app sends on every request afterwards), so removing the row ends both.
CREATE TABLE app_passwords (
    password_hash TEXT PRIMARY KEY,
    auth_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX app_passwords_user ON app_passwords (user_id);
