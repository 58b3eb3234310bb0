"""API serializers, one module per area (fleet, mak, kms, inventory): explicit fields only;
secrets are write-only and never serialised."""
