"""Journey analytics pages in the admin: one page per report, with filters, charts, tables and CSV."""
