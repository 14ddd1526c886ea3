"""Page URLs of this app (paths in Indonesian: they are what ASN see and share)."""

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("direktori/", views.unit_tree, name="unit_tree"),
    path("direktori/unit/<str:code>/", views.unit_detail, name="unit_detail"),
    path("direktori/orang/", views.people_search, name="people_search"),
    path("direktori/orang/<int:user_id>/", views.person_detail, name="person_detail"),
    path("kelola/", views.manage, name="manage"),
    path("kelola/undangan/<int:invitation_id>/cabut/", views.invitation_revoke,
         name="invitation_revoke"),
    path("kelola/orang/<int:user_id>/nonaktifkan/", views.person_deactivate,
         name="person_deactivate"),
    path("kelola/orang/<int:user_id>/aktifkan/", views.person_reactivate,
         name="person_reactivate"),
    path("kelola/orang/<int:user_id>/peran/", views.person_roles, name="person_roles"),
    path("kelola/impor/", views.import_start, name="import_start"),
    path("kelola/impor/<int:job_id>/", views.import_job, name="import_job"),
    path("undangan/<str:secret>/", views.invitation_accept, name="invitation_accept"),
    path("profil/", views.profile, name="profile"),
    path("profil/token/", views.token_create, name="token_create"),
    path("profil/token/<int:token_id>/cabut/", views.token_revoke, name="token_revoke"),
]
