from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from backoffice.views import GraphQLView, csrf_token

admin.site.site_header = "Seller back-office"
admin.site.site_title = "Seller back-office"
admin.site.index_title = "Stores, orders, disputes and money"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    # The sign-in page for every user, sign-out, password change and reset (Django's views:
    # login, logout, password_change, password_reset, password_reset_confirm, ...).
    path("accounts/", include("django.contrib.auth.urls")),
    path("auth/csrf/", csrf_token, name="csrf"),
    path(
        "graphql/",
        GraphQLView.as_view(graphql_ide="graphiql" if settings.DEBUG else None),
        name="graphql",
    ),
]
