"""The project's Jinja2 select template (templates/jinja2/django/forms/widgets/select.html) draws
its options inline, where Django's includes a template per option and another per option's
attributes (a client list's filter bar draws about seventy options on every page). It must draw
exactly what Django's own templates draw."""

from __future__ import annotations

from pathlib import Path

import django
import pytest
from django import forms
from django.template import engines
from jinja2 import Environment, FileSystemLoader

DJANGOS_OWN = Environment(
    loader=FileSystemLoader(Path(django.__file__).parent / "forms" / "jinja2"), autoescape=True
)

WIDGETS = [
    forms.Select(choices=[("", "Any"), ("a", "Alpha & <b>"), ("b", 'Beta "quoted"')]),
    forms.Select(
        choices=[("", "---"), ("Office", [("1", "Pro Plus"), ("2", "Standard")]), ("3", "Visio")],
        attrs={"class": "form-select", "data-x": "1", "aria-describedby": "id_help"},
    ),
    forms.SelectMultiple(choices=[("1", "One"), ("2", "Two"), ("3", "Three")]),
    forms.NullBooleanSelect(),
]
VALUES = ["a", "2", ["1", "3"], True]


def test_our_select_template_is_the_one_the_renderer_finds():
    template = engines["jinja2"].get_template("django/forms/widgets/select.html")
    assert "templates/jinja2/django/forms/widgets/select.html" in template.origin.name


@pytest.mark.parametrize(("widget", "value"), list(zip(WIDGETS, VALUES, strict=True)))
def test_options_are_drawn_as_djangos_own_templates_draw_them(widget, value):
    context = widget.get_context("field", value, {"id": "id_field", "required": True})
    ours = engines["jinja2"].get_template("django/forms/widgets/select.html").render(context)
    theirs = DJANGOS_OWN.get_template("django/forms/widgets/select.html").render(context)
    assert ours == theirs
    assert ours.count("<option") == sum(len(group[1]) for group in context["widget"]["optgroups"])
    assert "selected" in ours
