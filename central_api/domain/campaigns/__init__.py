"""Campaigns at central: the model (``model``), its records (``records``), the lists
pushed to the stores (``push``), attribution (``attribution``, ``reads``) and the
marketer's reports (``reports``)."""
