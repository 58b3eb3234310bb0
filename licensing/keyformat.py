"""Product key shape, importable without Django (logging filters load before apps)."""

# Microsoft's product key alphabet (24 characters) plus the single data-carrying N of
# pkey2009 keys; see shared DOMAIN.md section 7.
KEY_ALPHABET = "BCDFGHJKMNPQRTVWXY2346789"
PRODUCT_KEY_REGEX = rf"^([{KEY_ALPHABET}]{{5}}-){{4}}[{KEY_ALPHABET}]{{5}}$"
