"""Domain exceptions, raised in services and translated once at each edge (HTTP, Dash, CLI)."""


class DomainError(Exception):
    """Base of the product's expected errors; the message is one sentence for a user."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is outside the viewer's scope)."""


class Forbidden(DomainError):
    """The viewer may not do this."""


class InvalidInput(DomainError):
    """The input is malformed or out of range."""


class Unavailable(DomainError):
    """A dependency (the database, the model) is not available right now."""


class TooLarge(InvalidInput):
    """The input is larger than the product accepts (an upload over its limit); answered 413 over HTTP."""
