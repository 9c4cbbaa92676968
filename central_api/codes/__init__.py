"""Printable and servable codes: QR images, label sheets, posters."""
