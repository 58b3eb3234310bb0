"""Every page URL of the portal (the API lives in licensing/api/urls.py), grouped by area."""

from django.urls import path

from licensing.views import (
    audit,
    dashboard,
    fleet,
    home,
    inventory,
    kms,
    licences,
    mak,
    offline,
    organisation,
    reports,
    search,
    signin,
    tokens,
    webhooks,
)

app_name = "licensing"

urlpatterns = [
    # --- dashboard, organisation, personal API tokens ------------------------------------------
    path("", dashboard.dashboard, name="home"),
    path("organisation/switch/", home.switch_organisation, name="switch_organisation"),
    path("organisation/choose/", home.choose_organisation, name="choose_organisation"),
    path(
        "organisation/settings/", organisation.organisation_settings, name="organisation_settings"
    ),
    path("organisation/sign-in/", signin.sign_in_settings, name="sign_in_settings"),
    path(
        "organisation/sign-in/groups/<int:pk>/remove/",
        signin.group_mapping_remove,
        name="group_mapping_remove",
    ),
    path("account/", signin.account, name="account"),
    path("account/language/", signin.account_language, name="account_language"),
    path("organisation/webhooks/", webhooks.webhook_list, name="webhook_list"),
    path("organisation/webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook_detail"),
    path("organisation/webhooks/<int:pk>/test/", webhooks.webhook_test, name="webhook_test"),
    path("organisation/webhooks/<int:pk>/delete/", webhooks.webhook_delete, name="webhook_delete"),
    path("account/notifications/", webhooks.notification_choices, name="notification_choices"),
    path("search/", search.search_page, name="search"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("agent/vlp-agent.ps1", tokens.agent_script, name="agent_script"),
    # --- fleet: clients, audit log, reports ------------------------------------------------------
    path("global/", dashboard.global_overview, name="global_overview"),
    path("clients/", fleet.client_list, name="client_list"),
    path("clients/export.csv", fleet.client_export, name="client_export"),
    path("clients/<int:pk>/", fleet.client_detail, name="client_detail"),
    path("clients/retire/", fleet.client_set_retired, {"retire": True}, name="client_retire"),
    path("clients/restore/", fleet.client_set_retired, {"retire": False}, name="client_restore"),
    path("clients/recheck/", fleet.client_recheck, name="client_recheck"),
    path(
        "clients/export-selection/", fleet.client_export_selection, name="client_export_selection"
    ),
    path("clients/views/", fleet.saved_view_save, name="saved_view_save"),
    path("clients/views/<int:pk>/delete/", fleet.saved_view_delete, name="saved_view_delete"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/<int:pk>/", audit.audit_detail, name="audit_detail"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("reports/", reports.reports, name="reports"),
    path("editions/export.csv", licences.edition_export, name="edition_export"),
    # --- MAK: pools, keys, activations, requests, approvals -------------------------------------
    path("pools/", mak.pool_list, name="pool_list"),
    path("pools/export.csv", mak.pool_export, name="pool_export"),
    path("pools/keys-export.csv", mak.key_export, name="key_export"),
    path("pools/activations-export.csv", mak.activation_export, name="activation_export"),
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
    path("confirm-password/", signin.confirm, name="password_confirm"),
    path("approvals/", mak.approval_queue, name="approval_queue"),
    path("requests/", mak.request_list, name="request_list"),
    path("requests/export.csv", mak.request_export, name="request_export"),
    path("requests/<int:pk>/approve/", mak.request_approve, name="request_approve"),
    path("requests/<int:pk>/reject/", mak.request_reject, name="request_reject"),
    path("requests/<int:pk>/cancel/", mak.request_cancel, name="request_cancel"),
    path("requests/<int:pk>/grant/", mak.request_grant, name="request_grant"),
    # --- KMS: hosts, status reports, DNS discovery -----------------------------------------------
    path("kms/hosts/", kms.host_list, name="host_list"),
    path("kms/hosts/new/", kms.host_create, name="host_create"),
    path("kms/hosts/export.csv", kms.host_export, name="host_export"),
    path("kms/findings/export.csv", kms.finding_export, name="finding_export"),
    path("kms/hosts/<int:pk>/", kms.host_detail, name="host_detail"),
    path("kms/hosts/<int:pk>/edit/", kms.host_edit, name="host_edit"),
    path("kms/hosts/<int:pk>/retire/", kms.host_retire, name="host_retire"),
    path("kms/hosts/<int:pk>/poll/", kms.host_poll_now, name="host_poll_now"),
    path("kms/hosts/<int:pk>/reveal-key/", kms.host_reveal_key, name="host_reveal_key"),
    path("kms/hosts/<int:pk>/tokens/", kms.host_token_create, name="host_token_create"),
    path("kms/hosts/<int:pk>/report/", kms.host_report_upload, name="host_report_upload"),
    path(
        "kms/hosts/<int:pk>/reports/<int:report_id>/",
        kms.host_report_detail,
        name="host_report_detail",
    ),
    path("kms/dns/", kms.dns_settings, name="kms_dns_settings"),
    path("kms/dns/scan/", kms.dns_scan, name="kms_dns_scan"),
    # --- licences: the position, agreements, entitlements, true-up, editions --------------------
    path("licences/", licences.licence_position, name="licence_position"),
    path("licences/export.csv", licences.licence_position_export, name="licence_position_export"),
    path("licences/agreements/", licences.agreement_list, name="agreement_list"),
    path("licences/agreements/new/", licences.agreement_create, name="agreement_create"),
    path("licences/agreements/<int:pk>/", licences.agreement_detail, name="agreement_detail"),
    path("licences/agreements/<int:pk>/edit/", licences.agreement_edit, name="agreement_edit"),
    path(
        "licences/agreements/<int:pk>/delete/", licences.agreement_delete, name="agreement_delete"
    ),
    path(
        "licences/agreements/<int:pk>/import/",
        licences.entitlement_import,
        name="entitlement_import",
    ),
    path(
        "licences/agreements/<int:pk>/true-up.csv", licences.true_up_export, name="true_up_export"
    ),
    path("licences/agreements/<int:pk>/true-up/", licences.true_up_record, name="true_up_record"),
    path("licences/lines/<int:pk>/edit/", licences.entitlement_edit, name="entitlement_edit"),
    path("licences/lines/<int:pk>/delete/", licences.entitlement_delete, name="entitlement_delete"),
    path("licences/editions/", licences.edition_list, name="edition_list"),
    path("licences/editions/<int:pk>/delete/", licences.edition_delete, name="edition_delete"),
    # --- inventory imports ----------------------------------------------------------------------
    path("imports/", inventory.import_list, name="import_list"),
    path("imports/export.csv", inventory.import_export, name="import_export"),
    path("imports/csv/", inventory.import_csv_upload, name="import_csv_upload"),
    path("imports/csv/map/<str:token>/", inventory.import_csv_map, name="import_csv_map"),
    path("imports/events/", inventory.import_events_upload, name="import_events_upload"),
    path("imports/vamt/", inventory.import_cil_upload, name="import_cil_upload"),
    # --- offline (proxy) activation -------------------------------------------------------------
    path("offline/", offline.offline_list, name="offline_list"),
    path("offline/<int:pk>/confirm/", offline.offline_confirm, name="offline_confirm"),
    path("offline/<int:pk>/cancel/", offline.offline_cancel, name="offline_cancel"),
    path("offline/export.cilx", offline.offline_export, name="offline_export"),
    path("offline/import/", offline.offline_import, name="offline_import"),
    path("imports/<int:pk>/", inventory.import_detail, name="import_detail"),
    path(
        "imports/<int:pk>/rejected.csv",
        inventory.import_rejections_csv,
        name="import_rejections_csv",
    ),
]
