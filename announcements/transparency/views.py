"""The public page of the transparency log."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from announcements.transparency import checkpoints
from announcements.transparency import selectors as log_selectors


def transparency_page(request: HttpRequest) -> HttpResponse:
    """The latest signed checkpoint and which witnesses cosigned up to which size."""
    checkpoint = log_selectors.latest_checkpoint()
    context = {"checkpoint": checkpoint, "witnesses": log_selectors.witness_status(),
               "tree_size": log_selectors.tree_size(), "note": None, "vkey": None}
    if checkpoint is not None:
        key = checkpoint.log_key
        context["note"] = log_selectors.checkpoint_note(checkpoint)
        context["vkey"] = checkpoints.verifier_key(key.name, bytes(key.public_key))
    return render(request, "transparency/log.html", context)
