#!/usr/bin/env python3
"""Writes matrix.csv: the expected decision of the shipped access policy for every cell of
role x action x resource kind x same/other lab x care relationship x sensitive x break-glass.

This is the specification, written from issue 8 and DESIGN.md independently of the C++ engine;
src/access/policy_matrix_test.cpp runs every row against Policy::decide. Change a row only when
the policy is meant to change. For the patient role the care column means "their own record".
Each role acts for its natural purpose of use (HL7 v3 PurposeOfUse).
"""
import csv
import itertools
import pathlib

CLINICAL = ["Patient", "Observation", "DiagnosticReport", "Specimen", "ServiceRequest"]
KINDS = CLINICAL + ["AuditEvent", "User", "Config"]
ACTIONS = ["read", "search", "create", "export", "admin"]
PURPOSE = {
    "ordering-provider": "TREAT", "care-team-clinician": "TREAT", "pathologist": "TREAT",
    "lab-technologist": "TREAT", "billing": "HPAYMT", "release-of-information": "PATRQT",
    "privacy-officer": "HOPERAT", "lab-admin": "HOPERAT", "researcher": "HRESCH",
    "patient": "PATRQT", "client": "TREAT", "system-admin": "HOPERAT",
}
# The client holds system/Observation.rs system/DiagnosticReport.rs system/Patient.r
CLIENT_SCOPES = {"Observation": "rs", "DiagnosticReport": "rs", "Patient": "r"}


def expect(role, action, kind, same_lab, care, break_glass):
    """(decision, view, by_break_glass) under the shipped policy."""
    if role == "system-admin":
        if kind in ("User", "Config") and action in ("admin", "read", "search"):
            return "permit", "administrative", False
        return "not-found", "", False  # no role in any lab: administrators read no PHI
    if not same_lab:
        return "not-found", "", False  # lab isolation: another lab's data does not exist
    reads = action in ("read", "search")
    if role in ("ordering-provider", "care-team-clinician"):
        if kind in CLINICAL and reads:
            if care:
                return "permit", "clinical", False
            if break_glass:
                return "permit", "clinical", True
        return "deny", "", False
    if role == "pathologist":
        return ("permit", "clinical", False) if kind in CLINICAL and reads else ("deny", "", False)
    if role == "lab-technologist":
        ok = kind in CLINICAL and action in ("read", "search", "create")
        return ("permit", "technologist", False) if ok else ("deny", "", False)
    if role == "billing":
        return ("permit", "billing", False) if kind in CLINICAL and reads else ("deny", "", False)
    if role == "release-of-information":
        ok = kind in CLINICAL and action in ("read", "search", "export")
        return ("permit", "clinical", False) if ok else ("deny", "", False)
    if role == "privacy-officer":
        ok = kind == "AuditEvent" and action in ("read", "search", "export")
        return ("permit", "administrative", False) if ok else ("deny", "", False)
    if role == "lab-admin":
        ok = kind in ("User", "Config") and action in ("admin", "read", "search")
        return ("permit", "administrative", False) if ok else ("deny", "", False)
    if role == "researcher":
        ok = kind in CLINICAL and action in ("read", "search", "export")
        return ("permit", "deidentified", False) if ok else ("deny", "", False)
    if role == "patient":
        ok = kind in CLINICAL and reads and care
        return ("permit", "patient", False) if ok else ("deny", "", False)
    if role == "client":
        letter = {"read": "r", "search": "s", "create": "c"}.get(action)
        ok = letter is not None and letter in CLIENT_SCOPES.get(kind, "")
        return ("permit", "clinical", False) if ok else ("deny", "", False)
    raise ValueError(role)


def main():
    out = pathlib.Path(__file__).with_name("matrix.csv")
    with out.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["role", "purpose", "action", "kind", "lab", "care", "sensitive", "break_glass",
                    "decision", "view", "flagged", "masked"])
        for role, action, kind, same, care, sensitive, bg in itertools.product(
                PURPOSE, ACTIONS, KINDS, (True, False), (True, False), (True, False),
                (True, False)):
            decision, view, flagged = expect(role, action, kind, same, care, bg)
            masked = "hiv" if decision == "permit" and sensitive and kind in CLINICAL else "-"
            w.writerow([role, PURPOSE[role], action, kind, "same" if same else "other",
                        "yes" if care else "no", "yes" if sensitive else "no",
                        "yes" if bg else "no", decision, view or "-", "yes" if flagged else "no",
                        masked])


if __name__ == "__main__":
    main()
