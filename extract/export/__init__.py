"""Spans out of the Parquet store in the formats other tools read: OTLP JSON lines, Jaeger JSON."""
