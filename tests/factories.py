from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from licensing import models as m
from licensing.crypto import seal_product_key

_KEY_CHARS = "BCDFGHJKMPQRTVWXY2346789"


def product_key(n: int) -> str:
    """A deterministic, valid-looking (fake) product key for test number n."""
    chars = []
    value = n * 7919 + 104729
    for _ in range(25):
        chars.append(_KEY_CHARS[value % len(_KEY_CHARS)])
        value = value // len(_KEY_CHARS) + n * 31 + 17
    compact = "".join(chars)
    return "-".join(compact[i : i + 5] for i in range(0, 25, 5))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct-horse-battery")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Organisation
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    dns_domains = factory.LazyAttribute(lambda o: [f"{o.slug}.example"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = m.Role.ADMIN


def edition(name: str = "Office LTSC Professional Plus 2024") -> m.Edition:
    return m.Edition.objects.get(name=name)


class MakPoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.MakPool

    organisation = factory.SubFactory(OrganisationFactory)
    edition = factory.LazyFunction(edition)
    low_water_mark = 5


class MakKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.MakKey

    pool = factory.SubFactory(MakPoolFactory)
    activation_limit = 10
    activations_used = 0
    key = factory.Sequence(product_key)  # the clear key; only its sealed form is stored

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        sealed = seal_product_key(kwargs.pop("key"))
        kwargs.update(
            ciphertext=sealed.ciphertext, last5=sealed.last5, fingerprint=sealed.fingerprint
        )
        return super()._create(model_class, *args, **kwargs)


def activations(
    keys: m.MakKey | Sequence[m.MakKey], clients: Iterable[m.Client], ages: Iterable[timedelta]
) -> list[m.MakActivation]:
    """First activations written in one insert: each client on `keys` (one key for all, or the
    key at the client's place), activated its age ago. The ledger as the burn-rate and paging
    tests need it, without going through allocation one activation at a time."""
    clients = list(clients)
    if isinstance(keys, m.MakKey):
        keys = [keys] * len(clients)
    now = timezone.now()
    return m.MakActivation.objects.bulk_create(
        m.MakActivation(
            key=key, pool_id=key.pool_id, client=client, reason="first", activated_at=now - age
        )
        for key, client, age in zip(keys, clients, ages, strict=True)
    )


class KmsHostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.KmsHost

    organisation = factory.SubFactory(OrganisationFactory)
    fqdn = factory.Sequence(lambda n: f"kms{n}.example.test")
    product_group = m.KmsProductGroup.OFFICE_2024


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Client

    organisation = factory.SubFactory(OrganisationFactory)
    hostname = factory.Sequence(lambda n: f"pc-{n:06d}")
    fqdn = factory.LazyAttribute(lambda c: f"{c.hostname}.example.test")
    edition = factory.LazyFunction(edition)
    activation_method = m.ActivationMethod.KMS
    license_status = m.LicenseStatus.LICENSED
    installed_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=300))
    last_activation_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=200))
    last_renewal_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=2))
    last_seen_at = factory.LazyFunction(timezone.now)


def webhook_delivery(destination: m.WebhookDestination, **fields) -> m.WebhookDelivery:
    """A delivery of a KMS state change to `destination`, as the outbox would have queued it;
    `fields` set its status, attempts and last answer."""
    values = {
        "event": "kms.state_change",
        "once_key": f"k{m.WebhookDelivery.objects.count() + 1}",
        "subject": "[KMS] kms01.contoso.example",
        "text": "-",
        **fields,
    }
    return m.WebhookDelivery.objects.create(
        destination=destination, organisation_id=destination.organisation_id, **values
    )
