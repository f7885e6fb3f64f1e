"""Database layer: engine and sessions, typed models, migrations, the embedded server."""
