-- +goose Up
-- Staff accounts of the console (DESIGN §18), owned by internal/auth. A
-- user's name is their actor name, shared with API tokens of the same name
-- (a token and a user named fin-wang are one person to the approval rule).
-- password_hash is an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$key):
-- the parameters travel with the hash, so they can be raised later without
-- invalidating existing passwords.
CREATE TABLE users (
  id              CHAR(26)     NOT NULL PRIMARY KEY,
  name            VARCHAR(64)  NOT NULL,
  role            VARCHAR(16)  NOT NULL,
  org             VARCHAR(64)  NOT NULL DEFAULT '',
  password_hash   VARCHAR(255) NOT NULL,
  created_at      BIGINT       NOT NULL,
  password_set_at BIGINT       NOT NULL,
  disabled_at     BIGINT       NULL,
  UNIQUE KEY users_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A console session: only the SHA-256 of the random session id is stored,
-- so a database leak reveals no usable cookie. A session ends at sign-out,
-- when its user is disabled or reset, after idleness (last_seen_at) and at
-- an absolute limit (created_at).
CREATE TABLE sessions (
  id           CHAR(64)  NOT NULL PRIMARY KEY,
  user_id      CHAR(26)  NOT NULL,
  created_at   BIGINT    NOT NULL,
  last_seen_at BIGINT    NOT NULL,
  KEY sessions_user (user_id),
  KEY sessions_seen (last_seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Failed sign-ins by name, for the lockout (a number of failures within a
-- window); rows older than the window are deleted as new ones come.
CREATE TABLE login_failures (
  id   CHAR(26)    NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  at   BIGINT      NOT NULL,
  KEY login_failures_name (name, at),
  KEY login_failures_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE users;
