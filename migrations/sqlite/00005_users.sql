-- +goose Up
-- Staff accounts, console sessions and failed sign-ins (DESIGN §18), owned
-- by internal/auth; the same tables as the MySQL/MariaDB migration of the
-- same number, which explains them.
CREATE TABLE users (
  id                      TEXT     NOT NULL PRIMARY KEY,
  name                    TEXT     NOT NULL,
  role                    TEXT     NOT NULL,
  org                     TEXT     NOT NULL DEFAULT '',
  password_hash           TEXT     NOT NULL,
  created_at              INTEGER  NOT NULL,
  password_set_at         INTEGER  NOT NULL,
  disabled_at             INTEGER  NULL
) STRICT;
CREATE UNIQUE INDEX users_name ON users (name);

CREATE TABLE sessions (
  id                      TEXT     NOT NULL PRIMARY KEY,
  user_id                 TEXT     NOT NULL,
  created_at              INTEGER  NOT NULL,
  last_seen_at            INTEGER  NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_seen ON sessions (last_seen_at);

CREATE TABLE login_failures (
  id                      TEXT     NOT NULL PRIMARY KEY,
  name                    TEXT     NOT NULL,
  at                      INTEGER  NOT NULL
) STRICT;
CREATE INDEX login_failures_name ON login_failures (name, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE users;
