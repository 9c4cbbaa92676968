"""What the kiosk's screens do, without the screens: each controller takes what a screen
hands it (a scan, a tap), works through ``edge_sync.EdgeClient``, and returns what to
show. No GUI toolkit here, so every rule is tested without a display."""
