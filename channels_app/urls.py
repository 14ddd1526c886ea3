"""Page URLs of this app."""

from django.urls import path

from channels_app import views

app_name = "channels_app"

urlpatterns = [
    path("kanal/", views.channel_list, name="list"),
    path("kanal/baru/", views.channel_create, name="create"),
    path("kanal/cari/", views.search, name="search"),
    path("kanal/<int:channel_id>/", views.channel_detail, name="channel"),
    path("kanal/<int:channel_id>/arsip/", views.channel_archive, name="archive"),
    path("kanal/<int:channel_id>/anggota/", views.channel_member_add, name="member_add"),
    path("kanal/<int:channel_id>/anggota/<int:user_id>/hapus/", views.channel_member_remove,
         name="member_remove"),
    path("kanal/utas/<int:thread_id>/", views.thread_detail, name="thread"),
    path("kanal/utas/<int:thread_id>/pesan/", views.thread_messages, name="thread_messages"),
    path("kanal/utas/<int:thread_id>/selesai/", views.thread_resolve, name="thread_resolve"),
    path("kanal/pesan/<int:message_id>/", views.message_fragment, name="message"),
    path("kanal/pesan/<int:message_id>/ubah/", views.message_edit, name="message_edit"),
    path("kanal/pesan/<int:message_id>/hapus/", views.message_delete, name="message_delete"),
    path("kanal/pesan/<int:message_id>/sembunyikan/", views.message_hide, name="message_hide"),
    path("kanal/pesan/<int:message_id>/resmi/", views.message_official, name="message_official"),
    path("kanal/pesan/<int:message_id>/riwayat/", views.message_history, name="message_history"),
    path("kanal/pengumuman/<int:announcement_id>/", views.announcement_thread,
         name="announcement_thread"),
]
