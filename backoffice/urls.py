from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from backoffice.views import GraphQLView

admin.site.site_header = "Seller back-office"
admin.site.site_title = "Seller back-office"
admin.site.index_title = "Stores, orders, disputes and money"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path(
        "graphql/",
        GraphQLView.as_view(graphql_ide="graphiql" if settings.DEBUG else None),
        name="graphql",
    ),
]
