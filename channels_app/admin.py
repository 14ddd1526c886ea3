"""Read-mostly admin views: the write paths are the services (pages, API, gateway)."""

from django.contrib import admin

from channels_app.models import Channel, Message, OfficialAnswer, Thread


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "unit", "read_only", "archived_at", "last_activity_at")
    list_filter = ("kind", "read_only")
    search_fields = ("name", "unit__code")
    raw_id_fields = ("unit", "created_by", "archived_by")
    filter_horizontal = ("member_units",)


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("title", "channel", "announcement", "last_activity_at", "resolved_at")
    search_fields = ("title",)
    raw_id_fields = ("channel", "announcement", "created_by", "resolved_by")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "thread", "author", "created_at", "edited_at", "deleted_at",
                    "hidden_at")
    raw_id_fields = ("thread", "author", "reply_to", "deleted_by", "hidden_by")
    readonly_fields = ("body_html",)


@admin.register(OfficialAnswer)
class OfficialAnswerAdmin(admin.ModelAdmin):
    list_display = ("message", "announcement", "version_number", "key_id", "signed_at")
    readonly_fields = [f.name for f in OfficialAnswer._meta.fields]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

