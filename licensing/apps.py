from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Volume licensing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from licensing import checks  # noqa: F401 (registers the system checks)
        from licensing.services import filter_bar, notify, webhooks  # noqa: F401 (receivers)
        from licensing.services.signin import events  # noqa: F401 (sign-in audit receivers)

        # Webhooks are notify's second channel, after e-mail (licensing/services/notify.py).
        if webhooks.queue_deliveries not in notify.CHANNELS:
            notify.CHANNELS.append(webhooks.queue_deliveries)
