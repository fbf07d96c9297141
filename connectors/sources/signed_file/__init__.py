"""A signed file (JSON or CSV, UTF-8 or Shift_JIS) with a detached JWS, uploaded by a training body."""
