"""The pure scoring, grading and threshold engine (no database)."""
