-- labvault schema version 1: the clinical records.
--
-- Rule (DESIGN.md invariant 2): every value that is or may contain PHI sits in a sealed BLOB
-- (AES-256-GCM, src/crypto/aead.hpp) whose associated data is "table/column/row id/lab id", under
-- the data key of the patient it belongs to (the lab's key for lab-level data). Lookups go
-- through blind indexes (HMAC-SHA-256, 16 bytes). Each clear column below says why it may be
-- clear; ids are internal row numbers that mean nothing outside this database.

CREATE TABLE labs (
  id INTEGER PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,        -- clear: the operator's tenant id, not PHI
  name TEXT NOT NULL,               -- clear: the laboratory's name, not PHI
  created_at INTEGER NOT NULL       -- clear: operational time (µs since epoch)
);

-- Data keys, each wrapped by a KEK from the keyring file (never stored here in clear).
CREATE TABLE data_keys (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  owner TEXT NOT NULL CHECK (owner IN ('lab', 'patient')),  -- clear: key hierarchy
  patient_id INTEGER,               -- clear: internal id of the owning patient
  version INTEGER NOT NULL,         -- clear: data key version carried in every ciphertext
  kek_version INTEGER NOT NULL,     -- clear: which KEK wrapped it, to find keys to re-wrap
  wrapped BLOB,                     -- wrapped key; NULL once shredded (crypto-shredding)
  created_at INTEGER NOT NULL,
  shredded_at INTEGER               -- clear: when the key was destroyed
);
CREATE INDEX data_keys_kek ON data_keys(kek_version) WHERE wrapped IS NOT NULL;

CREATE TABLE patients (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),
  name_dob_index BLOB,              -- blind index of family + first given name + birth date
  demographics BLOB NOT NULL,       -- sealed: identifiers, names, birth date, sex, addresses, phones
  created_at INTEGER NOT NULL,      -- clear: when labvault first saw the patient (operational)
  updated_at INTEGER NOT NULL
);
CREATE INDEX patients_name_dob ON patients(lab_id, name_dob_index);

-- One row per identifier (MRN, ...) of a patient: blind index of authority + value.
CREATE TABLE patient_identifiers (
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  identifier_index BLOB NOT NULL,
  patient_id INTEGER NOT NULL REFERENCES patients(id),
  PRIMARY KEY (lab_id, identifier_index)
) WITHOUT ROWID;

CREATE TABLE encounters (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER NOT NULL REFERENCES patients(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),
  visit_index BLOB,                 -- blind index of the visit number (PV1-19)
  detail BLOB NOT NULL,             -- sealed: class, location, visit number, attending, admit time
  created_at INTEGER NOT NULL
);
CREATE INDEX encounters_visit ON encounters(lab_id, visit_index);

CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER NOT NULL REFERENCES patients(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),
  accession_index BLOB NOT NULL,    -- blind index of the filler (else placer) order number
  service_system TEXT NOT NULL,     -- clear: ordered test code system, for routing
  service_code TEXT NOT NULL,       -- clear: ordered test code (LOINC or local), for routing
  detail BLOB NOT NULL,             -- sealed: order numbers, provider, times, priority, AOE, notes
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (lab_id, accession_index)
);
CREATE INDEX orders_patient ON orders(lab_id, patient_id);

CREATE TABLE reports (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER NOT NULL REFERENCES patients(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),
  report_index BLOB NOT NULL,       -- blind index of filler order number + service code
  service_system TEXT NOT NULL,     -- clear: report code system, for routing and search
  service_code TEXT NOT NULL,       -- clear: report code, for routing and search
  status TEXT NOT NULL,             -- clear: HL7 table 0123 status, for routing and search
  detail BLOB NOT NULL,             -- sealed: numbers, times, section, parent, interpreters, notes
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (lab_id, report_index)
);
CREATE INDEX reports_patient ON reports(lab_id, patient_id);

CREATE TABLE specimens (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER NOT NULL REFERENCES patients(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),
  order_id INTEGER REFERENCES orders(id),
  report_id INTEGER REFERENCES reports(id),
  detail BLOB NOT NULL,             -- sealed: specimen id, type, method, site, collected, received
  created_at INTEGER NOT NULL
);
CREATE INDEX specimens_report ON specimens(report_id);
CREATE INDEX specimens_order ON specimens(order_id);

CREATE TABLE observations (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER NOT NULL REFERENCES patients(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),
  report_id INTEGER NOT NULL REFERENCES reports(id),
  position INTEGER NOT NULL,        -- clear: order within the report
  code_system TEXT NOT NULL,        -- clear: LOINC (or local) code system, for routing and search
  code TEXT NOT NULL,               -- clear: LOINC (or local) code, for routing and search
  status TEXT NOT NULL,             -- clear: HL7 table 0085 status, for routing and search
  sensitivity TEXT NOT NULL,        -- clear: category, so masking is decided before decrypting
  result BLOB NOT NULL,             -- sealed: value, units, range, flags, times, performers, notes
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX observations_report ON observations(report_id, position);
CREATE INDEX observations_patient_code ON observations(lab_id, patient_id, code);

-- Superseded versions of an observation (corrections never erase what a clinician saw).
CREATE TABLE observation_history (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  observation_id INTEGER NOT NULL REFERENCES observations(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),
  seq INTEGER NOT NULL,             -- clear: 1 = oldest
  version BLOB NOT NULL,            -- sealed: value, status and times of that version
  replaced_at INTEGER NOT NULL,     -- clear: when labvault received the correction
  UNIQUE (observation_id, seq)
);

CREATE TABLE inbound_messages (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  patient_id INTEGER REFERENCES patients(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),
  sender TEXT NOT NULL,             -- clear: sending application^facility, a system identity
  control_index BLOB NOT NULL,      -- blind index of MSH-10 (senders sometimes embed accessions)
  format TEXT NOT NULL,             -- clear: hl7, csv or fhir
  message_type TEXT NOT NULL,       -- clear: e.g. ORU^R01, for routing
  received_at INTEGER NOT NULL,     -- clear: arrival time, operational
  header BLOB NOT NULL,             -- sealed: MSH fields incl. control id and sent time
  extras BLOB NOT NULL,             -- sealed: patient notes and unmapped segments
  raw BLOB NOT NULL,                -- sealed: the message bytes as received
  UNIQUE (lab_id, sender, control_index)
);
CREATE INDEX inbound_messages_patient ON inbound_messages(lab_id, patient_id);
