-- The user service's schema, the same on SQLite and PostgreSQL. Identifiers are UUIDv7 text
-- (they sort by creation time, which the cursor pagination uses); times are RFC 3339 UTC
-- text written by the service ("2026-11-26T03:00:00.000Z"), which sorts as time does.
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,             -- NFC, as registered; erased on deletion
  email_key TEXT NOT NULL,         -- NFKC_Casefold of email: one account per address
  password_hash TEXT NOT NULL,     -- argon2id PHC string; '' once deleted
  display_name TEXT NOT NULL,
  display_name_key TEXT NOT NULL,  -- NFKC_Casefold of display_name, for admin search
  roles TEXT NOT NULL DEFAULT '',  -- space-separated role names
  status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'disabled', 'deleting', 'deleted')),
  version BIGINT NOT NULL DEFAULT 1,  -- the profile's ETag; +1 on every change
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CONSTRAINT users_email_key_unique UNIQUE (email_key)
);

CREATE TABLE user_addresses (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id),
  label TEXT NOT NULL,
  line1 TEXT NOT NULL,
  line2 TEXT NOT NULL,
  city TEXT NOT NULL,
  region TEXT NOT NULL,
  postal_code TEXT NOT NULL,
  country TEXT NOT NULL,  -- ISO 3166-1 alpha-2
  created_at TEXT NOT NULL
);
CREATE INDEX user_addresses_by_user ON user_addresses (user_id, id);

-- Data exports: requested by the user, written to object storage by a worker.
CREATE TABLE user_exports (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
  object_key TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  completed_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX user_exports_by_user ON user_exports (user_id, id);

-- What happened to an account, kept after its personal data is erased.
CREATE TABLE user_audit (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  action TEXT NOT NULL,  -- registered, disabled, roles_changed, deletion_requested, deleted, ...
  actor TEXT NOT NULL,   -- the user id (or service) that did it
  detail TEXT NOT NULL DEFAULT '',
  at TEXT NOT NULL
);
CREATE INDEX user_audit_by_user ON user_audit (user_id, id);
