"""The API's filter backend: the FilterSets of licensing/filters.py, with one API rule on top:
a well-formed id in an object filter (`?edition=`, `?pool=`, ...) that names nothing of yours
is an empty list, not a 400 (it is a valid request; only a malformed value is a 400)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from rest_framework.exceptions import ValidationError


def _unknown_ids_only(filterset: Any) -> bool:
    form = filterset.form
    for name, errors in form.errors.as_data().items():
        field = form.fields.get(name)
        if not isinstance(field, forms.ModelChoiceField | forms.ModelMultipleChoiceField):
            return False
        if any(e.code not in ("invalid_choice", "invalid_pk_value") for e in errors):
            return False
        values = form.data.getlist(name) if hasattr(form.data, "getlist") else []
        if not all(v.isascii() and v.lstrip("-").isdigit() for v in values):
            return False
    return True


class ApiFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            if _unknown_ids_only(filterset):
                return queryset.none()
            raise ValidationError(translate_validation(filterset.errors).detail)
        return filterset.qs
