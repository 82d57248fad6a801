-- labvault schema version 4: identity (people, sessions, SMART backend-services clients).
--
-- A person may belong to several labs, so what identifies them is owned by no lab: it is sealed
-- with the data key of the system tenant, lab 0 (created here; the adapter makes its key on first
-- use, and keys rotate and re-wrap like every other data key). Lab 0 holds no clinical data and
-- is not listed among the labs. Tokens, recovery codes and assertion ids are stored only as
-- hashes: a copy of this database lets no one log in.

INSERT INTO labs (id, code, name, created_at) VALUES (0, '@system', 'labvault system tenant', 0);

CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username_index BLOB NOT NULL UNIQUE,  -- blind index of the normalized username
  profile BLOB NOT NULL,                -- sealed: username, display name, email, phone
  credentials BLOB NOT NULL,            -- sealed: Argon2id hash, TOTP secret
  totp_confirmed INTEGER NOT NULL DEFAULT 0,  -- clear: MFA enrollment finished
  totp_last_step INTEGER NOT NULL DEFAULT 0,  -- clear: a time step counter (replay guard)
  system_admin INTEGER NOT NULL DEFAULT 0,    -- clear: manages labs and admins, reads no PHI
  failed_logins INTEGER NOT NULL DEFAULT 0,   -- clear: lockout counter
  locked_until INTEGER NOT NULL DEFAULT 0,    -- clear: µs; 0 = not locked by failures
  admin_locked INTEGER NOT NULL DEFAULT 0,    -- clear: locked by an administrator
  password_changed_at INTEGER NOT NULL,       -- clear: operational time
  created_at INTEGER NOT NULL
) STRICT;

-- A person's role in each lab they belong to.
CREATE TABLE user_labs (
  user_id INTEGER NOT NULL REFERENCES users(id),
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  role TEXT NOT NULL,                   -- clear: a role code
  PRIMARY KEY (user_id, lab_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_labs_by_lab ON user_labs(lab_id);

-- Single-use MFA recovery codes: keyed hashes of high-entropy random codes.
CREATE TABLE recovery_codes (
  user_id INTEGER NOT NULL REFERENCES users(id),
  code_hash BLOB NOT NULL,
  used_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,          -- SHA-256 of the 256-bit token
  user_id INTEGER NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  reauth_at INTEGER NOT NULL,
  mfa_done INTEGER NOT NULL,            -- 0: may only enroll MFA
  ended_at INTEGER NOT NULL DEFAULT 0,
  end_reason TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_open_by_user ON sessions(user_id) WHERE ended_at = 0;

CREATE TABLE clients (
  id INTEGER PRIMARY KEY,
  client_id TEXT NOT NULL UNIQUE,       -- clear: a system's registered id, not PHI
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  name TEXT NOT NULL,                   -- clear: the system's name
  public_keys TEXT NOT NULL,            -- clear: public keys (PEM or JWKS) are not secret
  scopes TEXT NOT NULL,                 -- clear: SMART scopes it may be granted
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Assertion ids (jti) seen until they expire: a replayed assertion is refused.
CREATE TABLE client_assertions (
  client_id INTEGER NOT NULL REFERENCES clients(id),
  jti_hash BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (client_id, jti_hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX client_assertions_expiry ON client_assertions(expires_at);

CREATE TABLE access_tokens (
  token_hash BLOB PRIMARY KEY,
  client_id INTEGER NOT NULL REFERENCES clients(id),
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  scopes TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
