"""Attendance rules of issue 16 as pure functions (docs/domain.md "Working time, overtime and 建退共 days"):
gate events in, working days, overtime findings and 建退共 days out. No database, no clock of its own: the
caller passes the events, the sites' and employers' settings and ``now``."""
