"""Pages of the accounts app: directory, unit administration, invitations, profile and tokens.

Views parse input, call `access_*` and the services, and render; they write nothing themselves.
"""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from allauth.account.utils import perform_login
from allauth.account.views import EmailView as AllauthEmailView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import importer, selectors, services
from accounts.forms import (
    AcceptInvitationForm,
    ImportForm,
    InvitationForm,
    PeopleSearchForm,
    RolesForm,
    TokenForm,
)
from accounts.models import (
    MFA_ROLES,
    ApiToken,
    ImportJob,
    Invitation,
    Membership,
    TokenScope,
    Unit,
)
from accounts.permissions import (
    access_unit,
    access_user,
    administered_codes,
    can_administer,
    directory_scope,
    user_has_mfa,
)
from common.client_ip import client_address
from common.errors import NotFound, ServiceError


def client_ip(request: HttpRequest) -> str | None:
    """The client's address (common.client_ip: REMOTE_ADDR and TRUSTED_PROXY_COUNT)."""
    return client_address(request)


def _form_errors(form, exc: ServiceError) -> None:
    """Put a service refusal onto the form: on the named fields, else on the form itself."""
    placed = False
    for name, errors in exc.fields.items():
        for error in errors:
            if name in form.fields:
                form.add_error(name, error)
                placed = True
    if not placed:
        form.add_error(None, exc.message)


def _refuse(request: HttpRequest, exc: ServiceError, status: int | None = None) -> HttpResponse:
    """A refusal rendered as a page (404s stay 404s, so outsiders learn nothing)."""
    return render(request, "accounts/refused.html", {"error": exc}, status=status or exc.status)


# --- Directory -------------------------------------------------------------------------------


@login_required
@require_GET
def unit_tree(request: HttpRequest) -> HttpResponse:
    province = Unit.objects.filter(parent__isnull=True).first()
    children = selectors.child_units(province.code) if province else []
    return render(request, "accounts/unit_tree.html", {
        "province": province,
        "opds": [u for u in children if u.kind == "provincial_opd"],
        "regions": [u for u in children if u.kind in ("regency", "city")],
    })


@login_required
@require_GET
def unit_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        unit = access_unit(request.user, code)
    except NotFound as exc:
        return _refuse(request, exc)
    ancestors = list(Unit.objects.filter(code__in=unit.ancestor_codes[:-1]).order_by("depth"))
    people = selectors.directory_users(
        scope=directory_scope(request.user), unit_code=unit.code, limit=100
    )
    return render(request, "accounts/unit_detail.html", {
        "unit": unit,
        "ancestors": ancestors,
        "children": selectors.child_units(unit.code),
        "people": people,
        "is_admin": can_administer(request.user, unit),
    })


@login_required
@require_GET
def people_search(request: HttpRequest) -> HttpResponse:
    form = PeopleSearchForm(request.GET or None)
    people = []
    if form.is_valid():
        people = selectors.directory_users(
            scope=directory_scope(request.user), unit_code=form.cleaned_data["unit"] or None,
            q=form.cleaned_data["q"],
        )
    template = "accounts/_people_rows.html" if request.htmx else "accounts/people_search.html"
    return render(request, template, {"form": form, "people": people})


@login_required
@require_GET
def person_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        person = access_user(request.user, user_id)
    except NotFound as exc:
        return _refuse(request, exc)
    memberships = selectors.unit_roles_of(person)
    # One role form per unit the viewer administers where the person has (or could have) roles.
    units = {m.unit.code: m.unit for m in memberships}
    if person.home_unit is not None:
        units.setdefault(person.home_unit.code, person.home_unit)
    role_forms = []
    for code in sorted(units):
        if can_administer(request.user, units[code]):
            current = [m.role for m in memberships if m.unit.code == code]
            role_forms.append((units[code], RolesForm(initial={"roles": current})))
    manageable = person.home_unit is not None and can_administer(request.user, person.home_unit)
    return render(request, "accounts/person_detail.html", {
        "person": person,
        "memberships": memberships,
        "manageable": manageable and person.pk != request.user.pk,
        "role_forms": role_forms,
        "viewer_has_mfa": user_has_mfa(request.user),
    })


# --- Unit administration ------------------------------------------------------------------


def _admin_unit_choices(user) -> list[tuple[str, str]]:
    codes = administered_codes(user)
    units = Unit.objects.none()
    for code in codes:
        units = units | Unit.objects.subtree(code)
    return [(u.code, f"{u.code} — {u.name}") for u in units.order_by("code")]


@login_required
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest) -> HttpResponse:
    """The unit admin's page: invite, pending invitations, recent imports."""
    codes = administered_codes(request.user)
    if not codes:
        return _refuse(request, ServiceError("forbidden", _("Anda bukan admin unit."), status=403))
    form = InvitationForm(request.POST or None, unit_choices=_admin_unit_choices(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _secret = services.invitation_create(
                actor=request.user, ip=client_ip(request), **form.cleaned_data
            )
        except ServiceError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Undangan dikirim ke %s.") % invitation.email)
            return redirect("accounts:manage")
    pending = Invitation.objects.filter(
        unit__in=Unit.objects.filter(code__in=[c for c, _n in _admin_unit_choices(request.user)]),
        accepted_at=None, revoked_at=None,
    ).select_related("unit")[:100]
    return render(request, "accounts/manage.html", {
        "form": form,
        "codes": codes,
        "pending": pending,
        "has_mfa": user_has_mfa(request.user),
        "jobs": ImportJob.objects.filter(actor=request.user)[:5],
    })


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    try:
        services.invitation_revoke(
            actor=request.user, invitation_id=invitation_id, ip=client_ip(request)
        )
    except ServiceError as exc:
        return _refuse(request, exc)
    messages.success(request, _("Undangan dicabut."))
    return redirect("accounts:manage")


@login_required
@require_POST
def person_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        person = services.user_deactivate(
            actor=request.user, user_id=user_id, ip=client_ip(request)
        )
    except ServiceError as exc:
        return _refuse(request, exc)
    messages.success(request, _("%s dinonaktifkan.") % person.full_name)
    return redirect("accounts:person_detail", user_id=user_id)


@login_required
@require_POST
def person_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        person = services.user_reactivate(
            actor=request.user, user_id=user_id, ip=client_ip(request)
        )
    except ServiceError as exc:
        return _refuse(request, exc)
    messages.success(request, _("%s diaktifkan kembali.") % person.full_name)
    return redirect("accounts:person_detail", user_id=user_id)


@login_required
@require_POST
def person_roles(request: HttpRequest, user_id: int) -> HttpResponse:
    form = RolesForm(request.POST)
    unit_code = request.POST.get("unit_code", "")
    if not form.is_valid():
        return _refuse(request, ServiceError("invalid", _("Peran tidak valid.")))
    try:
        services.membership_set_roles(
            actor=request.user, user_id=user_id, unit_code=unit_code,
            roles=form.cleaned_data["roles"], ip=client_ip(request),
        )
    except ServiceError as exc:
        return _refuse(request, exc)
    messages.success(request, _("Peran diperbarui."))
    return redirect("accounts:person_detail", user_id=user_id)


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = importer.import_job_start(
                actor=request.user, upload=form.cleaned_data["file"],
                dry_run=form.cleaned_data["dry_run"], ip=client_ip(request),
            )
        except ServiceError as exc:
            return _refuse(request, exc)
        return redirect("accounts:import_job", job_id=job.pk)
    return render(request, "accounts/import.html", {
        "form": form, "codes": administered_codes(request.user),
    })


@login_required
@require_GET
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = ImportJob.objects.filter(pk=job_id, actor=request.user).first()
    if job is None:
        return _refuse(request, NotFound())
    template = "accounts/_import_progress.html" if request.htmx else "accounts/import_job.html"
    return render(request, template, {"job": job})


# --- Invitations (the invitee, not signed in) -------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, secret: str) -> HttpResponse:
    try:
        invitation = services.invitation_for_secret(secret)
    except ServiceError as exc:
        return _refuse(request, exc)
    form = AcceptInvitationForm(
        request.POST or None, initial={"full_name": invitation.full_name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                secret=secret, password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"], ip=client_ip(request),
            )
        except ServiceError as exc:
            if exc.code == "invitation_invalid":
                return _refuse(request, exc)
            _form_errors(form, exc)
        else:
            # Signers and unit admins must enrol a second factor before acting: send them
            # straight to it (allauth asks for the new password once more first).
            next_url = (reverse("mfa_activate_totp") if invitation.role in MFA_ROLES
                        else reverse("accounts:profile"))
            messages.success(request, _("Akun Anda aktif. Selamat datang!"))
            return perform_login(request, user, redirect_url=next_url)
    return render(request, "accounts/invitation_accept.html", {
        "form": form, "invitation": invitation,
    })


# --- Profile and API tokens -----------------------------------------------------------------


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", {
        "memberships": selectors.unit_roles_of(request.user),
        "has_mfa": user_has_mfa(request.user),
        "needs_mfa": Membership.objects.filter(user=request.user, role__in=MFA_ROLES).exists(),
        "tokens": ApiToken.objects.filter(user=request.user),
        "form": TokenForm(),
        "new_secret": request.session.pop("new_token_secret", None),
    })


def _wants_publish(request: HttpRequest) -> bool:
    return TokenScope.PUBLISH in request.POST.getlist("scopes")


@login_required
@require_POST
@reauthentication_required(enabled=_wants_publish)
def token_create(request: HttpRequest) -> HttpResponse:
    # A `publish` token can sign announcements without a second factor at hand, so allauth's
    # re-authentication (password, or the second factor) gates it; the decorator suspends
    # this POST and replays it after the person re-authenticates.
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            _token, secret = services.api_token_create(
                actor=request.user, name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_days=form.cleaned_data["expires_days"],
                reauthenticated=_wants_publish(request), ip=client_ip(request),
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            # Shown once, on the next page load, then gone from the session.
            request.session["new_token_secret"] = secret
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("accounts:profile")


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.api_token_revoke(
            actor=request.user, token_id=token_id, ip=client_ip(request)
        )
    except ServiceError as exc:
        return _refuse(request, exc)
    messages.success(request, _("Token “%s” dicabut.") % token.name)
    return redirect("accounts:profile")


# --- E-mail addresses (allauth's page, with this platform's rules) ---------------------------


@method_decorator(login_required, name="dispatch")
class EmailView(AllauthEmailView):
    """allauth's e-mail page, where an address becomes primary only once verified and only if
    it is no one else's (services.email_primary_check; issue 14, items 4 and 19).

    allauth lets an unverified address become primary while the person has no verified one,
    which is every imported or invited person: a member could take an address before its real
    owner was imported, and the import would then hand the owner's role to them.
    """

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            services.email_addresses_sync(user=request.user)
        return super().dispatch(request, *args, **kwargs)

    def _action_primary(self, request: HttpRequest, *args, **kwargs) -> HttpResponse | None:
        try:
            services.email_primary_check(user=request.user, email=request.POST.get("email", ""))
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("account_email")
        return super()._action_primary(request, *args, **kwargs)
