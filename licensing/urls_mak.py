"""Page URLs of the mak area (included by licensing/urls.py under the licensing: namespace)."""

from django.urls import path

from licensing.views import mak

urlpatterns: list = [
    path("pools/", mak.pool_list, name="pool_list"),
    path("pools/export.csv", mak.pool_export, name="pool_export"),
    path("pools/keys-export.csv", mak.key_export, name="key_export"),
    path("pools/<int:pk>/", mak.pool_detail, name="pool_detail"),
    path("pools/<int:pk>/settings/", mak.pool_settings, name="pool_settings"),
    path("pools/<int:pk>/activations/", mak.pool_activations, name="pool_activations"),
    path("pools/<int:pk>/activations/record/", mak.activation_record, name="activation_record"),
    path("pools/<int:pk>/keys/add/", mak.key_add, name="key_add"),
    path("pools/<int:pk>/keys/import/", mak.key_import, name="key_import"),
    path("pools/<int:pk>/request/", mak.request_create, name="request_create"),
    path("keys/<int:pk>/block/", mak.key_block, name="key_block"),
    path("keys/<int:pk>/unblock/", mak.key_unblock, name="key_unblock"),
    path(
        "keys/<int:pk>/microsoft-remaining/",
        mak.key_microsoft_remaining,
        name="key_microsoft_remaining",
    ),
    path("keys/<int:pk>/reveal/", mak.key_reveal, name="key_reveal"),
    path("confirm-password/", mak.password_confirm, name="password_confirm"),
    path("approvals/", mak.approval_queue, name="approval_queue"),
    path("requests/", mak.request_list, name="request_list"),
    path("requests/export.csv", mak.request_export, name="request_export"),
    path("requests/<int:pk>/approve/", mak.request_approve, name="request_approve"),
    path("requests/<int:pk>/reject/", mak.request_reject, name="request_reject"),
    path("requests/<int:pk>/cancel/", mak.request_cancel, name="request_cancel"),
    path("requests/<int:pk>/grant/", mak.request_grant, name="request_grant"),
]
