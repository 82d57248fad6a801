-- labvault schema version 5: what the access policy needs to know at decision time.
-- Care-team assignments (a clinician's relationship to a patient, with a validity window) and
-- grants (break-glass and just-in-time unmask), each pointing at the audit record that holds its
-- reason (sealed there with the patient's key), so that no free text is kept twice.

CREATE TABLE care_assignments (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER NOT NULL,          -- clear: internal id (no foreign key: purges keep history)
  valid_from INTEGER NOT NULL,
  valid_until INTEGER NOT NULL,
  assigned_by TEXT NOT NULL,            -- clear: actor id
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX care_by_user_patient ON care_assignments(user_id, patient_id);

CREATE TABLE access_grants (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('break-glass', 'unmask')),
  user_id INTEGER NOT NULL REFERENCES users(id),
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER NOT NULL,
  category TEXT NOT NULL DEFAULT '',    -- unmask: the sensitive category code
  audit_seq INTEGER NOT NULL,           -- the audit record with the (sealed) reason
  granted_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  reviewed_at INTEGER NOT NULL DEFAULT 0,
  reviewer TEXT NOT NULL DEFAULT '',    -- clear: actor id
  disposition TEXT NOT NULL DEFAULT ''  -- clear: justified, unjustified, ...
) STRICT;
CREATE INDEX grants_by_user_patient ON access_grants(user_id, patient_id, expires_at);
CREATE INDEX grants_to_review ON access_grants(lab_id, granted_at)
  WHERE kind = 'break-glass' AND reviewed_at = 0;

-- A person's department in a lab (ED, ICU, ...), for rules that require the same department as
-- the encounter a result belongs to.
ALTER TABLE user_labs ADD COLUMN department TEXT NOT NULL DEFAULT '';

-- A person with the patient role, linked to their own record in a lab (the portal's "my results").
CREATE TABLE patient_links (
  user_id INTEGER NOT NULL REFERENCES users(id),
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER NOT NULL,
  linked_at INTEGER NOT NULL,
  linked_by TEXT NOT NULL,             -- clear: actor id
  PRIMARY KEY (user_id, lab_id)
) STRICT, WITHOUT ROWID;
