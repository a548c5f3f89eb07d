from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from backoffice.composition.health import HealthView
from backoffice.composition.views import GraphQLView, csrf_token
from backoffice.i18n import set_language

admin.site.site_header = _("Seller back-office")
admin.site.site_title = _("Seller back-office")
admin.site.index_title = _("Stores, orders, disputes and money")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    # The sign-in page for every user, sign-out, password change and reset (Django's views:
    # login, logout, password_change, password_reset, password_reset_confirm, ...).
    path("accounts/", include("django.contrib.auth.urls")),
    path("auth/csrf/", csrf_token, name="csrf"),
    # The admin's language switcher: a cookie, and the signed-in user's saved language.
    path("i18n/setlang/", set_language, name="set_language"),
    # GraphiQL (GET with Accept: text/html) only when GRAPHIQL_ENABLED: see the view.
    path("graphql/", GraphQLView.as_view(graphql_ide="graphiql"), name="graphql"),
    # Database, cache, queue and deadline heartbeats (backoffice/composition/health.py).
    path("health/", HealthView.as_view(), name="health"),
]

# On /graphql/ even Django's own refusals answer JSON (backoffice/composition/views.py).
handler400 = "backoffice.composition.views.bad_request"
# The admin-styled refusal naming the roles that may (backoffice/composition/admin_refusal.py).
handler403 = "backoffice.composition.admin_refusal.permission_denied"
handler500 = "backoffice.composition.views.server_error"
