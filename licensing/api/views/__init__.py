"""API viewsets, one module per area (fleet, mak, kms, inventory), registered in api/urls.py.

Every tenant-owned viewset derives from `base.OrganisationScopedViewSet`; the organisation of
a list or a create comes from `licensing.scoping.resolve_organisation` (the one rule)."""
