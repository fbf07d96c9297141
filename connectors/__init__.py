"""Certificate sources and import pipeline (issue 5)."""
