class ReportBuilderError(Exception):
    """A problem the user can fix. The CLI prints its message on one line and exits 1."""
