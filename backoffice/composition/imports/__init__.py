"""Importing platform exports: the runner (batches, one transaction, the report) and the order of
the appliers each app registers. The parsing is the kernel's (``backoffice.imports``)."""
