"""User-facing errors: the pipeline prints their message on one line and exits non-zero."""


class CoinError(Exception):
    """A problem with the user's input (params, data, files), stated in one line."""


class ParamsError(CoinError):
    """A missing, unknown or invalid key in params.yaml."""


class DataError(CoinError):
    """A data file or source that does not match its contract."""


class MachineError(Exception):
    """The machine, not the input, stopped a stage (a full disk while writing an output): the pipeline
    prints the one-line message and exits with code 1. `path`: the output that was being written."""

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = path
