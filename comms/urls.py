from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views
from accounts.api import router as accounts_router
from announcements.api import router as announcements_router
from announcements.receipts.api import router as receipts_router
from announcements.transparency.api import router as log_router
from announcements.verification.api import check_router
from announcements.verification.api import router as verification_router
from channels_app.api import router as channels_router
from comms import views
from comms.api import api

api.add_router("", accounts_router, tags=["accounts"])
api.add_router("", announcements_router, tags=["announcements"])
api.add_router("", verification_router, tags=["announcements"])
api.add_router("", log_router, tags=["transparency"])
api.add_router("", check_router, tags=["transparency"])  # /check, after the log as before
api.add_router("", receipts_router, tags=["receipts"])
api.add_router("", channels_router, tags=["channels"])

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # allauth's e-mail page with the platform's rules on primary addresses (accounts.views).
    path("accounts/email/", accounts_views.EmailView.as_view(), name="account_email"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("announcements.urls")),
    path("", include("announcements.verification.urls")),
    path("", include("announcements.receipts.urls")),
    path("", include("channels_app.urls")),
    path("admin/", admin.site.urls),
]
