"""Codes opened on a phone: what ``GET /q/{token}`` answers (``opening``) and how often
each campaign's codes were opened (``report``)."""
