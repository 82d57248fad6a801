-- labvault schema version 3: the audit log (DESIGN.md invariants 4 and 5).
-- Append-only: the triggers stop UPDATE and DELETE from labvault itself and any ordinary SQL
-- session. They do not stop INSERT OR REPLACE (its deletion fires no trigger unless the session
-- enables recursive triggers; an insert trigger checking the order cost a quarter of the append
-- rate), nor anyone who drops them: that is what the hash chain, the Merkle tree and the signed
-- checkpoints are for (`labvault audit verify` finds a replaced record like a changed one). STRICT keeps a column from holding
-- another type that would read back as the same value yet escape the privacy officer's queries.
-- No PHI in clear: the columns hold internal ids and codes only; free text (a break-glass reason)
-- is sealed inside `entry` with the lab's data key.

CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,          -- clear: gap-free record number, the Merkle leaf index + 1
  time_us INTEGER NOT NULL,         -- clear: when, UTC microseconds (queries by time range)
  lab_id INTEGER NOT NULL,          -- clear: internal lab id, 0 for system administration. No
                                    -- foreign key: the audit record outlives what it describes
  actor TEXT NOT NULL,              -- clear: internal subject id ("user:12"), never a name
  patient_id INTEGER NOT NULL,      -- clear: internal patient id, 0 for none ("who saw patient 7")
  action TEXT NOT NULL,             -- clear: read, search, login-failed, break-glass, ...
  outcome TEXT NOT NULL,            -- clear: success, denied, error
  entry BLOB NOT NULL,              -- the canonical record that is hashed; free text sealed
  chain BLOB NOT NULL               -- SHA-256(previous chain || leaf of the canonical record)
) STRICT;
-- The privacy officer's two questions: who touched this patient, what did this user do. Narrow
-- keys on purpose: every append pays for them (a wider (lab, patient, time) key cost a third of
-- the append rate); lab and time are filtered on the few rows an id selects. Patient ids are
-- unique across labs.
CREATE INDEX audit_by_patient ON audit_log(patient_id) WHERE patient_id != 0;
CREATE INDEX audit_by_actor ON audit_log(actor);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Signed tree heads. Clear: sizes, times, hashes and signatures are not PHI.
CREATE TABLE audit_checkpoints (
  tree_size INTEGER PRIMARY KEY,
  time_us INTEGER NOT NULL,
  root BLOB NOT NULL,
  key_id TEXT NOT NULL,
  signature BLOB NOT NULL,
  frontier BLOB NOT NULL,           -- the writer's compact tree at tree_size, to resume appending
  chain BLOB NOT NULL               -- chain hash of record tree_size, to resume the chain
) STRICT;
CREATE TRIGGER audit_checkpoints_grow BEFORE INSERT ON audit_checkpoints
WHEN NEW.tree_size <= (SELECT coalesce(max(tree_size), 0) FROM audit_checkpoints)
BEGIN SELECT RAISE(ABORT, 'audit checkpoints only grow'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
