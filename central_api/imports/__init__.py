"""Bulk imports into central: each file all or nothing, bad rows reported by line."""
