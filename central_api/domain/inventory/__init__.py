"""Products, stores and their stock at central: checks, writes with versions, nearby
search and availability (docs/decisions.md, "Catalog, stock and stores at central")."""
