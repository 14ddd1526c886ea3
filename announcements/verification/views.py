"""Public verification pages: `/v/<code>` and `/cek`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from announcements.verification import api as check
from announcements.verification.api import verification_answer
from common.errors import ServiceError


@require_GET
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """Public: anyone holding a code (or scanning the QR) learns the status; the text only if
    the announcement is public or they may read it."""
    answer = verification_answer(code, request.user)
    return render(request, "announcements/verify.html", {"answer": answer, "code": code},
                  status=200 if answer["status"] != "unknown" else 404)


def check_page(request: HttpRequest) -> HttpResponse:
    """Paste a forwarded copy (or type its code) and get asli / diubah / kedaluwarsa /
    dicabut / tidak dikenal."""
    context: dict = {"text": "", "code": request.GET.get("kode", "")[:40], "result": None,
                     "error": None}
    status = 200
    if request.method == "POST":
        context["text"] = request.POST.get("text", "")
        context["code"] = request.POST.get("code", "")[:40]
        try:
            context["result"] = check.check_text_request(
                request, text=context["text"], code=context["code"]
            )
        except ServiceError as error:
            context["error"] = error
            status = error.status
            if error.code == "too_long":
                context["text"] = ""  # do not echo a megabyte back into the page
    elif request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return render(request, "transparency/cek.html", context, status=status)
