"""The one way the portal renders form fields: Django's form renderer (settings.FORM_RENDERER)
with one Bootstrap 5 field template and a BoundField that puts Bootstrap's classes on widgets.

Every form, the portal's own and django-filter's, renders a field with
`{{ form.<name>.as_field_group }}` (or the whole form with `{{ form }}`):
`templates/jinja2/licensing/partials/_field.html` draws the label, the widget, the help text and
the field's errors next to it; the widget's `aria-describedby` names both (Django adds it).
Form-wide errors go at the top with `templates/licensing/partials/_form_errors.html`. Compact
filter bars are the same markup made smaller by CSS (`.form-compact` in static/css/portal.css).

Fields and widgets are drawn with Jinja2 (Django's own widget templates in django/forms/jinja2):
a list page's filter bar draws fourteen fields and about eighty options on every request, five
times faster than with Django templates. The select template is the project's own
(`templates/jinja2/django/forms/widgets/select.html`): the same markup with each option drawn
inline instead of through two includes (0.6 ms of a 28 ms client list page, median of 300;
`tests/fleet/test_select_widget.py` holds it equal to Django's). Pages stay Django templates; a form template that exists
only as a Django template (the admin's widgets, `_form.html`) is still found there.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.renderers import BaseRenderer
from django.template import TemplateDoesNotExist, engines
from django.template.loader import get_template
from django.utils.translation import gettext as _

_SELECTS = (forms.Select, forms.SelectMultiple)
_CHECKS = (forms.CheckboxInput,)
_NO_CLASS = (forms.RadioSelect, forms.CheckboxSelectMultiple, forms.HiddenInput)


def _bootstrap_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.MultiWidget):
        widget = widget.widgets[0]
    if isinstance(widget, _NO_CLASS):
        return ""
    if isinstance(widget, _CHECKS):
        return "form-check-input"
    if isinstance(widget, _SELECTS):
        return "form-select"
    return "form-control"


def _use_native_inputs(field: forms.Field, widget: forms.Widget, *, in_filter: bool) -> None:
    """A date (or a from/to range of dates) gets the browser's date picker; the admin's own date
    widgets are subclasses and stay as they are. A yes/no filter offers "Any" where an edit form
    says "Unknown"."""
    parts = getattr(field, "fields", None) or [field]
    if all(type(part) is forms.DateField for part in parts):
        subs = getattr(widget, "widgets", [widget])
        for sub in subs:
            if type(sub) in (forms.TextInput, forms.DateInput):
                sub.input_type = "date"
        if len(subs) == 2 and field.label:
            # A legend names the group, not its inputs: each input gets its own accessible name.
            names = (_("%(label)s from"), _("%(label)s to"))
            for sub, name in zip(subs, names, strict=True):
                sub.attrs.setdefault("aria-label", name % {"label": field.label})
    if in_filter and isinstance(widget, forms.NullBooleanSelect):
        widget.choices = [("unknown", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class BootstrapBoundField(forms.BoundField):
    @property
    def is_checkbox(self) -> bool:
        return isinstance(self.field.widget, _CHECKS)

    @property
    def is_group(self) -> bool:
        """Several inputs for one value (a from/to date range): a fieldset (which carries the
        aria-describedby, as Django's `use_fieldset` expects) around an input group."""
        return isinstance(self.field.widget, forms.MultiWidget)

    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        widget = widget or self.field.widget
        # django-filter names each FilterSet's form class "<FilterSet class name>Form".
        in_filter = type(self.form).__name__.endswith("FilterSetForm")
        _use_native_inputs(self.field, widget, in_filter=in_filter)
        attrs = super().build_widget_attrs(attrs, widget)
        classes = [widget.attrs.get("class", ""), attrs.get("class", ""), _bootstrap_class(widget)]
        if self.errors and not widget.is_hidden:
            classes.append("is-invalid")
        if css := " ".join(c for c in classes if c):
            attrs["class"] = css
        return attrs


class BootstrapFormRenderer(BaseRenderer):
    """settings.FORM_RENDERER: the "jinja2" engine's templates first (licensing/templating.py:
    the project's `templates/jinja2/`, then Django's widgets), Django templates for the rest."""

    form_template_name = "licensing/partials/_form.html"
    field_template_name = "licensing/partials/_field.html"
    bound_field_class = BootstrapBoundField

    def get_template(self, template_name: str) -> Any:
        try:
            return engines["jinja2"].get_template(template_name)
        except TemplateDoesNotExist:
            return get_template(template_name)
