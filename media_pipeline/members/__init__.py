"""Member import: a member list (.xlsx) uploaded, read in a limited child process
(spreadsheet/), validated and applied by the `excel.import` job. Depends on the job
engine, never on videos."""
