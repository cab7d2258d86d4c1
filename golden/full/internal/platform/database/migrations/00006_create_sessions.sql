-- +goose Up
-- Sessions of signed-in users (platform table: a session belongs to a
-- user, not to a tenant). The token column holds the SHA-256 of the cookie's
-- token, never the token itself; data is the session's JSON.
CREATE TABLE sessions (
    token  text        PRIMARY KEY,
    data   jsonb       NOT NULL,
    expiry timestamptz NOT NULL
);

-- The periodic sweep of expired sessions.
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
