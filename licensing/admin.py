"""Django admin for superusers. Secrets are never shown or editable here: keys go through the
portal's services, which encrypt, fingerprint and audit them."""

from typing import Any

from django.contrib import admin
from django.db import transaction

from licensing import models as m
from licensing.services import audit


class AuditedAdmin(admin.ModelAdmin):
    """The one base of every ModelAdmin of the portal. Edits made in the admin bypass services,
    so each add, change and deletion (the delete page, the bulk "Delete selected" action and
    inline rows) is recorded in the audit trail here, in the same transaction as the change."""

    def _audit(self, request: Any, obj: Any, what: str, changes: dict | None = None) -> None:
        audit.record(
            action=f"admin.{obj._meta.model_name}.{what}",
            actor=request.user,
            organisation=_organisation_of(obj),
            obj=obj,
            changes=changes,
            ip_address=audit.client_ip(request),
        )

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            self._audit(
                request, obj, "change" if change else "add", {"fields": sorted(form.changed_data)}
            )

    def delete_model(self, request: Any, obj: Any) -> None:
        with transaction.atomic():
            self._audit(request, obj, "delete")
            super().delete_model(request, obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset.iterator(chunk_size=500):
                self._audit(request, obj, "delete")
            super().delete_queryset(request, queryset)

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            for obj in formset.new_objects:
                self._audit(request, obj, "add")
            for obj, fields in formset.changed_objects:
                self._audit(request, obj, "change", {"fields": sorted(fields)})
            for obj in formset.deleted_objects:
                self._audit(request, obj, "delete")


def _organisation_of(obj: Any) -> int | None:
    if isinstance(obj, m.Organisation):
        return obj.pk
    if getattr(obj, "organisation_id", None) is not None:
        return obj.organisation_id
    pool = getattr(obj, "pool", None)  # MAK keys and activation requests belong via their pool
    return getattr(pool, "organisation_id", None)


class MembershipInline(admin.TabularInline):
    model = m.Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(m.Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ["name", "slug", "at_risk_days", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(m.Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__username", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(m.Edition)
class EditionAdmin(AuditedAdmin):
    list_display = [
        "name",
        "version",
        "product",
        "gvlk",
        "sku_id",
        "kms_product_group",
        "is_builtin",
    ]
    list_filter = ["version", "product", "is_builtin"]
    search_fields = ["name", "gvlk"]


@admin.register(m.MakPool)
class MakPoolAdmin(AuditedAdmin):
    list_display = ["organisation", "edition", "low_water_mark"]
    list_filter = ["organisation"]


@admin.register(m.MakKey)
class MakKeyAdmin(AuditedAdmin):
    list_display = ["masked", "pool", "activation_limit", "activations_used", "status"]
    list_filter = ["status"]
    readonly_fields = [
        "pool",
        "last5",
        "activation_limit",
        "activations_used",
        "status",
        "created_at",
    ]
    exclude = ["ciphertext", "fingerprint"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # keys are added through the portal, which encrypts and audits them

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(m.KmsHost)
class KmsHostAdmin(AuditedAdmin):
    list_display = [
        "fqdn",
        "organisation",
        "port",
        "product_group",
        "state",
        "current_count",
        "next_poll_at",
    ]
    list_filter = ["state", "product_group", "organisation"]
    search_fields = ["fqdn"]
    readonly_fields = [
        "host_key_last5",
        "state",
        "current_count",
        "last_polled_at",
        "last_report_at",
    ]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        # A host never moves between organisations: its reporter tokens, polls and reports
        # belong to the organisation it was registered in.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "organisation"] if obj is not None else fields


@admin.register(m.Client)
class ClientAdmin(AuditedAdmin):
    list_display = [
        "hostname",
        "organisation",
        "edition",
        "activation_method",
        "license_status",
        "compliance_flag",
    ]
    list_filter = ["compliance_flag", "activation_method"]
    search_fields = ["=hostname", "=cmid"]
    show_full_result_count = False  # no COUNT(*) over a million rows
    raw_id_fields = ["kms_host", "mak_key", "edition"]


@admin.register(m.ActivationRequest)
class ActivationRequestAdmin(AuditedAdmin):
    list_display = [
        "pk",
        "pool",
        "quantity",
        "status",
        "requested_by",
        "decided_by",
        "requested_at",
    ]
    list_filter = ["status"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # requests are made through the portal (a row born decided skips four eyes)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # decisions go through the approval services (four eyes, exactly once)


@admin.register(m.AuditEvent)
class AuditEventAdmin(AuditedAdmin):
    list_display = ["at", "actor_label", "action", "object_repr", "organisation"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_repr"]
    show_full_result_count = False

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(m.ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ["name", "organisation", "scope", "prefix", "expires_at", "revoked_at"]
    exclude = ["digest"]
    readonly_fields = [
        "prefix",
        "scope",
        "user",
        "kms_host",
        "organisation",
        "created_at",
        "expires_at",
        "last_used_at",
    ]

    def has_add_permission(self, request: Any) -> bool:
        return False


# The admins of other apps (users, groups, django-axes lockouts) are registered before this
# module runs (licensing is the last installed app): give each the same audit.
for _model, _model_admin in list(admin.site._registry.items()):
    if not isinstance(_model_admin, AuditedAdmin):
        admin.site.unregister(_model)
        _cls = type(_model_admin)
        admin.site.register(_model, type(f"Audited{_cls.__name__}", (AuditedAdmin, _cls), {}))
