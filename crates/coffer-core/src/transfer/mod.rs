//! Import and export: formats, duplicate handling, reports.
