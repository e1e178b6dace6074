"""spanbench: where every millisecond of a PostgreSQL + PGMQ workflow goes."""

__version__ = "0.1.0"
