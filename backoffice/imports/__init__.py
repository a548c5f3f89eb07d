"""Reading platform export files (SPEC.md in shared/platform-exports): pure parsing, no models.

``reading`` streams rows from CSV/XLSX, ``headers`` maps header names to fields, ``values`` and
``choices`` parse one cell, ``rows`` one row with its cross-field rules, ``parse`` a whole file.
"""
