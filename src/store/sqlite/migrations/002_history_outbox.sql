-- labvault schema version 2: conversion history (which file produced which message and which
-- records) and the transactional outbox for delivery to subscribers.

CREATE TABLE imports (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  key_id INTEGER NOT NULL REFERENCES data_keys(id),  -- the lab's data key
  kind TEXT NOT NULL,               -- clear: hl7, csv or fhir
  source BLOB NOT NULL,             -- sealed: the file name (names sometimes carry a patient)
  started_at INTEGER NOT NULL,      -- clear: operational
  finished_at INTEGER,              -- clear: operational
  messages INTEGER NOT NULL DEFAULT 0,  -- clear: counts only
  errors INTEGER NOT NULL DEFAULT 0
);

ALTER TABLE inbound_messages ADD COLUMN import_id INTEGER REFERENCES imports(id);

-- Every record a message created or changed. Ids only: no PHI.
CREATE TABLE provenance (
  message_id INTEGER NOT NULL REFERENCES inbound_messages(id),
  record_table TEXT NOT NULL,
  record_id INTEGER NOT NULL,
  PRIMARY KEY (message_id, record_table, record_id)
) WITHOUT ROWID;
CREATE INDEX provenance_record ON provenance(record_table, record_id);

-- Deliveries owed to subscribers, written in the same transaction as the message so that a
-- stored message is never forgotten and a rolled-back one never delivered. The payload is built
-- at delivery time from the records (with the subscriber's view), so no PHI is kept here.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  lab_id INTEGER NOT NULL REFERENCES labs(id),
  subscriber TEXT NOT NULL,         -- clear: configured subscriber name
  message_id INTEGER NOT NULL REFERENCES inbound_messages(id),
  patient_id INTEGER REFERENCES patients(id),
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL, -- clear: scheduling
  last_error TEXT,                  -- clear: an error code, never a payload
  created_at INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
