"""Certificate sources: one sub-package per source, each a client plus a pure mapper."""
