"""Click-and-collect orders at central: placed through the API, made ready with a
one-time pickup code, collected at a store (a device's ``pickup.confirmed``), or a
no-show or cancelled; each outcome announced by webhook (docs/decisions.md,
"Click-and-collect at central")."""
