"""Django admin for units, users, memberships, and (read-only) the audit trail."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken, AuditEvent, Invitation, Membership, Unit, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["unit"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "depth"]
    list_filter = ["kind", "depth"]
    search_fields = ["code", "name", "short_name"]
    autocomplete_fields = ["parent"]
    ordering = ["code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["full_name"]
    list_display = ["full_name", "email", "nip", "position", "home_unit", "is_active"]
    list_filter = ["is_active", "is_staff", "email_changed_by_owner", "home_unit__kind"]
    search_fields = ["full_name", "email", "nip", "position"]
    autocomplete_fields = ["home_unit"]
    inlines = [MembershipInline]
    fieldsets = (
        # An administrator who has checked the person may clear the flag that makes imports
        # report their account as a conflict (docs/accounts.md § E-mail addresses).
        (None, {"fields": ("email", "email_changed_by_owner", "password")}),
        (_("Data ASN"), {"fields": ("full_name", "nip", "position", "home_unit")}),
        (_("Hak akses"), {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                     "user_permissions")}),
        (_("Waktu"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("email", "full_name", "nip", "home_unit", "password1", "password2")}),
    )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "unit", "role", "created_at"]
    list_filter = ["role", "unit__kind"]
    search_fields = ["user__full_name", "user__email", "user__nip", "unit__code"]
    autocomplete_fields = ["user", "unit"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "unit", "role", "created_at", "expires_at", "accepted_at",
                    "revoked_at"]
    search_fields = ["email", "unit__code"]
    readonly_fields = ["token_hash", "accepted_at", "accepted_user", "invited_by"]
    autocomplete_fields = ["unit"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "hint", "scopes", "expires_at", "revoked_at", "last_used_at"]
    search_fields = ["name", "user__email", "hint"]
    readonly_fields = ["token_hash", "hint", "created_at", "last_used_at"]
    raw_id_fields = ["user"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail is evidence: readable here, never editable."""

    list_display = ["created_at", "actor", "action", "target_type", "target_id", "ip"]
    list_filter = ["action"]
    search_fields = ["action", "target_id", "actor__email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
