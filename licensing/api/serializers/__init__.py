"""API serializers, one module per area (fleet, mak, kms, inventory): explicit fields only;
secrets are write-only and never serialised."""

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers


class ChoiceLabelField(serializers.CharField):
    """The label of a choices column (`source` names the column): "Licensed" for 1, what
    `source="get_<column>_display"` gives, read from a dict. DRF inspects the signature of a
    bound `get_..._display` for every row, a tenth of the time of a 100-client page."""

    def __init__(self, choices: Iterable[tuple[Any, Any]], **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)
        self.labels = dict(choices)  # labels stay lazy: translated when a response is drawn

    def to_representation(self, value: Any) -> str:
        return str(self.labels.get(value, value))
