from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """Last time a periodic component ran ("beat", "sweep", ...), for /readyz and the ops page."""

    name = models.CharField(max_length=40, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"


class OutboxMessage(models.Model):
    """A Celery task that a transaction queued (`licensing.services.outbox.enqueue`): written
    in that transaction, published after it commits, deleted once the broker took it. A row
    that stays here is waiting for the broker; the beat task `licensing.outbox.publish`
    publishes it later. Arguments are ids only (never a secret) and never logged."""

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    # Not before this time: the immediate publish gets a head start, and failures back off.
    available_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)  # the exception class name only

    class Meta:
        indexes = [models.Index(fields=["available_at"], name="outbox_available_idx")]

    def __str__(self) -> str:
        return f"{self.task_name} (attempts {self.attempts})"


class SentNotification(models.Model):
    """One row per notification sent, keyed by what it is about (e.g. "kms.state_change:42"):
    a message delivered twice (a republished outbox row, a redelivered task) sends once."""

    key = models.CharField(max_length=200, primary_key=True)
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key
