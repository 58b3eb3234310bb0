"""The header search page: one box, results grouped by kind (services/daily/search.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from licensing.services.daily.search import search


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "licensing/search/results.html",
        {"results": search(request.user, request.GET.get("q", ""))},
    )
