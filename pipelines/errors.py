"""PLACEHOLDER until the errors branch lands."""


class NicheflowError(Exception):
    pass


class Permanent(NicheflowError):
    pass


class Transient(NicheflowError):
    pass
