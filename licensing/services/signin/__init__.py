"""Sign-in: local passwords, single sign-on (OpenID Connect), Active Directory / LDAP, second
factors, and the group -> organisation + role mapping. django-allauth and django-auth-ldap do
the protocols; this package holds only the portal's rules (docs/sign-in.md)."""
