"""The seed's reports (SPEC.md §1–§4 and CI formats): each writer returns text or data.

The CLI decides where the text goes (`files.write_reports` places them under tmp/benchmarks).
"""
