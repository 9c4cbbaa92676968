"""The software version, one place for it: pyproject.toml reads it from here (setuptools'
dynamic version), the kiosk's status screen shows it. A constant, not a lookup of the
installed package's metadata, which costs a kiosk's start about 35 ms of imports.
"""

VERSION = "0.1.0"
