"""PDF documents (invoices, quotes, statements) drawn with fpdf2 in the account's branding.

Each module has an ``async load_*`` that gathers what the document shows (inside the
caller's scope) and a pure ``render_*`` that turns it into bytes; rendering is CPU work
and may run in a worker thread.
"""
