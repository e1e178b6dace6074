"""The seed's reports and the CI formats (docs/formats.md): each writer returns text or data.

The CLI decides where the text goes (`files.write_reports` places them under tmp/benchmarks).
"""
