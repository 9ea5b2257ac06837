"""Small shared utilities every layer may use: errors, atomic writes, validation, resources, orphan-proof workers."""
